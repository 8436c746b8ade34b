"""A tiny Chrome DevTools Protocol client over `--remote-debugging-pipe`, stdlib only.

Why a pipe: no port to race for, no websocket library. Chromium reads commands on fd 3 and
writes replies on fd 4, each a JSON message ended by a NUL byte. A tiny Python trampoline puts
our pipe ends on exactly those fd numbers (no `preexec_fn`, and dash cannot name fds above 9).

    with Browser.launch() as browser:
        page = browser.new_page(width=1200, height=800)
        page.navigate(Path("plot.html").as_uri())
        assert page.evaluate("window.__localtrack.drawn") > 0
        page.screenshot("plot.png")
        assert page.console_errors == [] and page.foreign_requests() == []
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-pipe",
]


class CDPError(RuntimeError):
    """A protocol command failed, timed out, or the browser went away."""


def find_chromium() -> str | None:
    """The browser binary: $CHROMIUM if set, else chromium / chromium-browser / chrome on PATH."""
    env = os.environ.get("CHROMIUM")
    if env:
        return env if Path(env).exists() else shutil.which(env)
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


# Runs in the child: put our pipe ends on fds 3 and 4, then become the browser.
_TRAMPOLINE = (
    "import os, sys; r, w = int(sys.argv[1]), int(sys.argv[2]); "
    "os.dup2(r, 3); os.dup2(w, 4); os.close(r); os.close(w); "
    "os.execv(sys.argv[3], sys.argv[3:])"
)


def _high_fd(fd: int) -> int:
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


class Browser:
    """One headless Chromium process and the pipe to it."""

    def __init__(self, binary: str, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self._profile = tempfile.TemporaryDirectory(prefix="lt-chromium-")
        cmd_r, cmd_w = os.pipe()  # we write commands -> chromium fd 3
        ev_r, ev_w = os.pipe()  # chromium fd 4 -> we read
        # Move the child's ends above 4 so dup2 onto 3 and 4 cannot clobber them.
        cmd_r, ev_w = _high_fd(cmd_r), _high_fd(ev_w)
        args = [*FLAGS, f"--user-data-dir={self._profile.name}", "about:blank"]
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _TRAMPOLINE, str(cmd_r), str(ev_w), binary, *args],
            pass_fds=(cmd_r, ev_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        os.close(cmd_r)
        os.close(ev_w)
        self._out = os.fdopen(cmd_w, "wb", buffering=0)
        self._in = os.fdopen(ev_r, "rb", buffering=0)
        self._next_id = 0
        self._lock = threading.Lock()
        self._replies: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._sessions: dict[str, Page] = {}
        self._stderr: list[bytes] = []
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()
        self._err_reader = threading.Thread(target=self._drain_stderr, daemon=True)
        self._err_reader.start()

    @classmethod
    def launch(cls, binary: str | None = None, timeout: float = 30.0) -> Browser:
        """Start Chromium; raises CDPError when no binary is found."""
        path = binary or find_chromium()
        if not path:
            raise CDPError("chromium not found (install Debian's chromium or set $CHROMIUM)")
        return cls(path, timeout)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line)

    def _read_loop(self) -> None:
        buf = b""
        while True:
            try:
                chunk = self._in.read(65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                self._dispatch(json.loads(raw))
        for q in list(self._replies.values()):
            q.put({"error": {"message": "browser closed the pipe"}})

    def _dispatch(self, msg: dict[str, Any]) -> None:
        if "id" in msg:
            q = self._replies.get(msg["id"])
            if q is not None:
                q.put(msg)
            return
        page = self._sessions.get(msg.get("sessionId", ""))
        if page is not None:
            page._on_event(msg["method"], msg.get("params", {}))

    def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        """Send one command and wait for its reply's `result`."""
        with self._lock:
            self._next_id += 1
            mid = self._next_id
            q: queue.Queue[dict[str, Any]] = queue.Queue()
            self._replies[mid] = q
            msg: dict[str, Any] = {"id": mid, "method": method, "params": params}
            if session:
                msg["sessionId"] = session
            try:
                self._out.write(json.dumps(msg).encode() + b"\0")
            except OSError as e:
                raise CDPError(f"{method}: browser pipe closed ({e})") from e
        try:
            reply = q.get(timeout=self.timeout)
        except queue.Empty:
            raise CDPError(f"{method}: no reply within {self.timeout}s") from None
        finally:
            self._replies.pop(mid, None)
        if "error" in reply:
            raise CDPError(f"{method}: {reply['error'].get('message')}")
        return reply.get("result", {})

    def new_page(self, width: int = 1200, height: int = 800) -> Page:
        """A fresh tab with console, log, network and page events recorded from the start."""
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        page = Page(self, session)
        self._sessions[session] = page
        for domain in ("Page", "Runtime", "Log", "Network"):
            page.send(f"{domain}.enable")
        page.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        return page

    def close(self) -> None:
        """Ask the browser to quit, then make sure it has."""
        if self.proc.poll() is None:
            try:
                self.send("Browser.close")
            except CDPError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for f in (self._out, self._in):
            try:
                f.close()
            except OSError:
                pass
        if self.proc.stderr is not None:
            self._err_reader.join(timeout=5)
            self.proc.stderr.close()
        self._profile.cleanup()


class Page:
    """One tab: commands go to its session; its events are kept for assertions."""

    def __init__(self, browser: Browser, session: str) -> None:
        self.browser = browser
        self.session = session
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.console_errors: list[str] = []
        self.console_messages: list[str] = []
        self.requests: list[str] = []
        self._loaded = threading.Event()

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        return self.browser.send(method, session=self.session, **params)

    def _on_event(self, method: str, params: dict[str, Any]) -> None:
        self.events.append((method, params))
        if method == "Page.loadEventFired":
            self._loaded.set()
        elif method == "Network.requestWillBeSent":
            self.requests.append(params["request"]["url"])
        elif method == "Runtime.exceptionThrown":
            d = params.get("exceptionDetails", {})
            desc = d.get("exception", {}).get("description") or d.get("text", "")
            self.console_errors.append(f"exception: {desc}")
        elif method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
            self.console_messages.append(f"{params['type']}: {text}")
            if params["type"] in ("error", "assert"):
                self.console_errors.append(f"console.{params['type']}: {text}")
        elif method == "Log.entryAdded":
            entry = params["entry"]
            self.console_messages.append(f"log.{entry['level']}: {entry.get('text', '')}")
            if entry["level"] == "error":
                self.console_errors.append(f"log: {entry.get('text', '')} {entry.get('url', '')}")

    def navigate(self, url: str) -> None:
        """Load `url` and wait for its load event."""
        self._loaded.clear()
        result = self.send("Page.navigate", url=url)
        if result.get("errorText"):
            raise CDPError(f"navigate {url}: {result['errorText']}")
        if not self._loaded.wait(self.browser.timeout):
            raise CDPError(f"navigate {url}: no load event within {self.browser.timeout}s")

    def evaluate(self, expression: str) -> Any:
        """The value of a JS expression (returned by value; promises awaited)."""
        result = self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            d = result["exceptionDetails"]
            raise CDPError(d.get("exception", {}).get("description") or d.get("text"))
        return result["result"].get("value")

    def mouse(self, kind: str, x: float, y: float, button: str = "none", clicks: int = 0) -> None:
        """Dispatch a mouse event (kind: mouseMoved, mousePressed, mouseReleased)."""
        self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button=button, clickCount=clicks)

    def click(self, x: float, y: float, clicks: int = 1) -> None:
        self.mouse("mouseMoved", x, y)
        self.mouse("mousePressed", x, y, "left", clicks)
        self.mouse("mouseReleased", x, y, "left", clicks)

    def drag(self, x0: float, y0: float, x1: float, y1: float, steps: int = 5) -> None:
        self.mouse("mouseMoved", x0, y0)
        self.mouse("mousePressed", x0, y0, "left", 1)
        for i in range(1, steps + 1):
            t = i / steps
            self.mouse("mouseMoved", x0 + (x1 - x0) * t, y0 + (y1 - y0) * t, "left")
        self.mouse("mouseReleased", x1, y1, "left", 1)

    def screenshot(self, path: str | Path, full_page: bool = True) -> Path:
        """Save a PNG of the page (the whole scrollable page by default)."""
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=full_page)
        out = Path(path)
        out.write_bytes(base64.b64decode(data["data"]))
        return out

    def foreign_requests(self, allowed: tuple[str, ...] = ("about:", "data:")) -> list[str]:
        """Requests other than the page's own file:// URL and inline data: / about: URLs."""
        page_urls = {
            p["request"]["url"]
            for m, p in self.events
            if m == "Network.requestWillBeSent" and p.get("type") == "Document"
        }
        return [u for u in self.requests if u not in page_urls and not u.startswith(allowed)]

    def settle(self, seconds: float = 0.2) -> None:
        """Let timers and late requests fire before asserting on events."""
        time.sleep(seconds)

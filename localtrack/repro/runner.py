"""Running the wrapped command: live output, a full copy on disk, signals passed on.

The child gets its own session, so a Ctrl-C reaches it exactly once: the terminal
interrupts ``localtrack`` and we forward the signal to the child's process group (the
child and anything it started, as a terminal would). Both pipes are read by threads that
write each chunk to our own stdout/stderr at once and append it to one log file, so
memory stays bounded whatever the command prints and the log keeps arrival order.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, BinaryIO

from localtrack.errors import LaunchError

FORWARDED_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT") if hasattr(signal, name)
)
_CHUNK = 64 * 1024
_DRAIN_SECONDS = 2.0  # after the child exits, how long a grandchild may keep its pipes open


@dataclass
class ChildResult:
    """How the wrapped command ended."""

    returncode: int  # as Popen reports it: negative for death by signal
    signals: list[int] = field(default_factory=list)  # signals we received and forwarded

    @property
    def exit_code(self) -> int:
        """What a shell would report: the exit code, or 128 + N after death by signal N."""
        return 128 - self.returncode if self.returncode < 0 else self.returncode

    @property
    def interrupted(self) -> bool:
        return bool(self.signals)


class _Tee:
    """Copies one pipe to a terminal stream and to the shared log, chunk by chunk."""

    def __init__(self, pipe: IO[bytes], echo: BinaryIO | None, log: BinaryIO, lock: threading.Lock) -> None:
        self._fd = pipe.fileno()
        self._pipe = pipe
        self._echo = echo
        self._log = log
        self._lock = lock
        self.thread = threading.Thread(target=self._pump, name="localtrack-exec-tee", daemon=True)

    def _pump(self) -> None:
        try:
            while True:
                chunk = os.read(self._fd, _CHUNK)
                if not chunk:
                    break
                with self._lock:
                    self._log.write(chunk)
                if self._echo is not None:
                    try:
                        self._echo.write(chunk)
                        self._echo.flush()
                    except (OSError, ValueError):  # closed or broken terminal: keep logging
                        self._echo = None
        except (OSError, ValueError):  # the pipe or the log was closed under us
            pass
        finally:
            try:
                self._pipe.close()
            except OSError:
                pass


class _SignalForwarder:
    """While installed, signals to this process are recorded and sent on to the child's group.

    Installed before the child starts, so the child begins with default handlers (exec
    resets caught signals) and a signal arriving during the start is passed on once the
    child exists. A signal we inherited as ignored (``nohup``, a background job of a
    non-interactive shell) stays ignored for us and for the child, as without the wrapper.
    """

    def __init__(self) -> None:
        self.pid: int | None = None
        self.received: list[int] = []
        self._pending: list[int] = []
        self._previous: dict[int, object] = {}

    def __enter__(self) -> _SignalForwarder:
        if threading.current_thread() is threading.main_thread():
            for signum in FORWARDED_SIGNALS:
                try:
                    if signal.getsignal(signum) is signal.SIG_IGN:
                        continue
                    self._previous[signum] = signal.signal(signum, self._handle)
                except (OSError, ValueError):
                    pass
        return self

    def attach(self, pid: int) -> None:
        """The child now exists: forward what arrived while it was starting."""
        self.pid = pid
        pending, self._pending = self._pending, []
        for signum in pending:
            self._send(signum)

    def _handle(self, signum: int, frame: object) -> None:
        self.received.append(signum)
        if self.pid is None:
            self._pending.append(signum)
        else:
            self._send(signum)

    def _send(self, signum: int) -> None:
        assert self.pid is not None
        try:
            if hasattr(os, "killpg"):
                os.killpg(self.pid, signum)
            else:  # pragma: no cover - Windows
                os.kill(self.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def __exit__(self, *exc: object) -> None:
        for signum, previous in self._previous.items():
            try:
                signal.signal(signum, previous)  # type: ignore[arg-type]
            except (OSError, ValueError, TypeError):
                pass


def run_child(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    log: BinaryIO,
    stdout: BinaryIO | None,
    stderr: BinaryIO | None,
) -> ChildResult:
    """Run ``argv`` to completion, echoing its output live and appending it to ``log``.

    ``stdout``/``stderr`` are where the child's streams are echoed (None: not echoed).
    Raises :class:`LaunchError` when the command cannot be started.
    """
    with _SignalForwarder() as forwarder:
        try:
            proc = subprocess.Popen(
                list(argv),
                cwd=os.fspath(cwd),
                env=dict(env),
                stdin=None,  # inherited: interactive scripts and debuggers keep working
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except FileNotFoundError as exc:
            missing = exc.filename or argv[0]
            raise LaunchError(f"cannot run {argv[0]!r}: {missing!r} not found", argv[0]) from None
        except OSError as exc:
            raise LaunchError(f"cannot run {argv[0]!r}: {exc.strerror or exc}", argv[0]) from None
        forwarder.attach(proc.pid)
        lock = threading.Lock()
        assert proc.stdout is not None and proc.stderr is not None
        tees = [_Tee(proc.stdout, stdout, log, lock), _Tee(proc.stderr, stderr, log, lock)]
        for tee in tees:
            tee.thread.start()
        while True:
            try:
                returncode = proc.wait()
                break
            except KeyboardInterrupt:  # only if our handler could not be installed
                forwarder._handle(signal.SIGINT, None)
        for tee in tees:
            tee.thread.join(_DRAIN_SECONDS)
    with lock:
        log.flush()
    return ChildResult(returncode, list(forwarder.received))

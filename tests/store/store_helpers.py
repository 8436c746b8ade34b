"""Shared by the store tests: subprocess launching and plain-pyarrow reading of a store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[2]


def child_env(store: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment a child writer runs with (this checkout importable, unbuffered output)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALTRACK_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    env["PYTHONUNBUFFERED"] = "1"
    env["LOCALTRACK_FLUSH_SECONDS"] = "0.2"
    env["LOCALTRACK_SYSTEM_METRICS"] = "0"  # these tests count writers and segments; tests/system_metrics covers the sampler
    if store is not None:
        env["LOCALTRACK_DIR"] = str(store)
    env.update(extra)
    return env


def spawn(code: str, store: Path | None, cwd: Path, **env: str) -> subprocess.Popen[str]:
    """Start ``code`` in a fresh interpreter; stdout/stderr are pipes of text."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        env=child_env(store, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_code(code: str, store: Path | None, cwd: Path, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` to completion in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        env=child_env(store, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def plain_manifest(run_dir: Path) -> dict[str, Any]:
    """A manifest read with json alone, as docs/FORMAT.md promises works."""
    return json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))


def plain_points(run_dir: Path) -> list[dict[str, Any]]:
    """Every metric point of a run read with pyarrow alone, from the files its manifest names."""
    manifest = plain_manifest(run_dir)
    rows: list[dict[str, Any]] = []
    for writer in manifest["writers"].values():
        for filename in sorted(writer["segments"]):
            rows.extend(pq.read_table(run_dir / "metrics" / filename).to_pylist())
    return rows


def all_files(root: Path) -> set[str]:
    """Every path under ``root`` (relative), to prove nothing was written elsewhere."""
    return {str(p.relative_to(root)) for p in root.rglob("*")}


class Child:
    """A child interpreter whose stdout/stderr are collected by threads (no pipe can fill up).

    Use as a context manager: on exit the child is killed if still alive and its pipes closed.
    """

    def __init__(self, code: str, store: Path | None, cwd: Path, **env: str) -> None:
        import threading

        self.proc = spawn(code, store, cwd, **env)
        self.lines: list[str] = []
        self.err: list[str] = []
        self._new_line = threading.Condition()
        self._threads = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self.err), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _pump(self, stream: Any, into: list[str]) -> None:
        for line in stream:
            with self._new_line:
                into.append(line.rstrip("\n"))
                self._new_line.notify_all()

    def wait_for(self, prefix: str, timeout: float = 30) -> str:
        """Block until a stdout line starting with ``prefix`` appears; return it."""
        import time

        deadline = time.monotonic() + timeout
        with self._new_line:
            while True:
                for line in self.lines:
                    if line.startswith(prefix):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._threads[0].is_alive()):
                    raise AssertionError(f"no {prefix!r} line; stdout={self.lines[-5:]} stderr={self.stderr[-2000:]}")
                self._new_line.wait(min(left, 0.1))

    def finish(self, timeout: float = 60) -> int:
        """Wait for the child to exit and for its output to be collected; return its exit code."""
        code = self.proc.wait(timeout=timeout)
        for thread in self._threads:
            thread.join(timeout=10)
        return code

    @property
    def stderr(self) -> str:
        return "\n".join(self.err)

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.finish()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


def fail_fsync_of(name: str, monkeypatch: Any) -> None:
    """Make ``os.fsync`` fail with EIO for descriptors of files called ``name`` (as a dying
    disk would), and sync every other descriptor for real."""
    real = os.fsync

    def failing(fd: int) -> None:
        if os.readlink(f"/proc/self/fd/{fd}").endswith("/" + name):
            raise OSError(5, "Input/output error")
        real(fd)

    monkeypatch.setattr(os, "fsync", failing)


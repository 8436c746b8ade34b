"""Per-run lock and liveness checks.

Writers of one run (DDP ranks, a resumed process) update the shared manifest by
read-modify-write under an exclusive ``flock`` on ``runs/<id>/.lock``. Liveness of a writer
is judged from its pid on this host and from its heartbeat elsewhere.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from localtrack.storage.atomic import explain_os_error
from localtrack.storage.links import open_owned


@contextlib.contextmanager
def run_lock(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on one run's lock file for the duration of the block.

    The lock file and its folder are store-owned: a link at either is refused, never followed
    (``O_CREAT`` through a dangling link would create the link's target).
    """
    try:
        fd = open_owned(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise explain_os_error(exc, lock_path, "lock") from exc
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the flock


def host_name() -> str:
    """This machine's name as ``socket.gethostname()`` gives it, without importing socket
    (and selectors) on the write path where ``os.uname`` has it: every POSIX system."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket  # Windows: once, at import of the status rules or a process's first init()

    return socket.gethostname()


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def process_start_ticks(pid: int) -> int | None:
    """Start time of a process in clock ticks (Linux), to tell a live writer from a reused pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    try:
        fields = stat[stat.rindex(b")") + 2 :].split()
        return int(fields[19])
    except (ValueError, IndexError):
        return None

"""Per-run lock and liveness checks.

Writers of one run (DDP ranks, a resumed process) update the shared manifest by
read-modify-write under an exclusive ``flock`` on ``runs/<id>/.lock``. Liveness of a writer
is judged from its pid on this host and from its heartbeat elsewhere.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from localtrack.storage.atomic import explain_os_error
from localtrack.storage.links import open_owned

# The fd holding each run lock, per lock file and thread (thread-local: a thread's idents are
# reused after it ends, its locals are not), with the token of the block that holds
# it. A KeyboardInterrupt can land between any two bytecodes, including after the flock and
# before the release is reached (it did, in contextlib's __exit__); the fd then stays open and
# locked, and this thread's next acquire (``finish()`` at exit) used to open a second fd and wait
# on itself forever. With the fd recorded, that next acquire re-locks the same fd, which
# ``flock`` grants at once, and takes the record over: the suspended block, if its ``finally``
# runs later, finds another token and leaves the fd alone. Nobody nests run locks within one
# thread, so a record found at acquire is always such a leak.
_local = threading.local()


def _held() -> dict[str, tuple[int, object]]:
    held: dict[str, tuple[int, object]] | None = getattr(_local, "held", None)
    if held is None:
        held = _local.held = {}
    return held


def _forget_inherited() -> None:
    """A forked child must not re-use its parent's lock fds (they share the parent's flock)."""
    held = _held()
    for fd, _token in held.values():
        with contextlib.suppress(OSError):
            os.close(fd)
    held.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_inherited)


@contextlib.contextmanager
def run_lock(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on one run's lock file for the duration of the block.

    The lock file and its folder are store-owned: a link at either is refused, never followed
    (``O_CREAT`` through a dangling link would create the link's target). Each step of the
    acquire and release leaves a state the next acquire by this thread recovers from, wherever
    an interrupt lands (see ``_local``).
    """
    key, token, records = str(lock_path), object(), _held()
    held = records.get(key)
    if held is None:
        try:
            fd = open_owned(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise explain_os_error(exc, lock_path, "lock") from exc
    else:
        fd = held[0]
    records[key] = (fd, token)  # an interrupt before this leaks at most an fd that holds no lock
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        _release(records, key, fd, token)


def _release(records: dict[str, tuple[int, object]], key: str, fd: int, token: object) -> None:
    """Unlock, forget, close: interrupted anywhere, the lock is free or still recorded."""
    held = records.get(key)
    if held is None or held[1] is not token:
        return  # a later block on this thread took the leaked lock over (and released it)
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
    del records[key]
    os.close(fd)


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

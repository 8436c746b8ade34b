"""Many fsyncs at once: a new run's first durable point syncs its five objects together.

A run's first seal (for a short run, the one at ``finish()``) makes five new things durable:
the segment file, ``metrics/`` (the segment's name), ``manifest.json``, the run folder (the
manifest's name) and ``runs/`` (the run folder's name). One after the other, each fsync waits
for its own journal commit and disk flush; issued together from a few threads, the file
system commits them as one (ext4: 5 sequential fsyncs 7-15 ms, concurrent 1-1.5 ms on the
benchmark machine). Ordering does not matter there: until they all return the run has
acknowledged nothing (docs/FORMAT.md, "Durability").

The threads are started by :func:`prepare` on the thread calling ``init()``, never at exit or
in a signal handler; when they are missing (after ``fork()``, or never prepared) the fsyncs
run one after the other on the caller's thread, with the same result.
"""

from __future__ import annotations

import _thread
import os
import threading
from _queue import SimpleQueue  # queue.SimpleQueue itself, without importing queue.py (heapq...)
from collections.abc import Sequence
from pathlib import Path

from localtrack.storage.atomic import explain_os_error

THREADS = 4
PATIENCE_SECONDS = 60.0  # then the caller syncs everything itself: never wait on a lost thread


class _Batch:
    def __init__(self, count: int) -> None:
        self.remaining = count
        self.errors: list[tuple[int, OSError]] = []
        self.lock = threading.Lock()
        self.done = threading.Event()

    def finish_one(self, fd: int, error: OSError | None) -> None:
        with self.lock:
            if error is not None:
                self.errors.append((fd, error))
            self.remaining -= 1
            if self.remaining == 0:
                self.done.set()


_jobs: SimpleQueue[tuple[int, _Batch]] = SimpleQueue()
_threads_pid: int | None = None
_start_lock = threading.Lock()


def prepare() -> None:
    """Start the fsync threads once per process (call from ``init()``'s thread).

    ``_thread.start_new_thread``, not ``threading.Thread.start``: the latter waits until each
    new thread has run (1-2 ms apiece on a loaded machine, paid by a process's first run).
    They are daemon threads in effect, blocked on the queue when idle.
    """
    global _threads_pid, _jobs
    if _threads_pid == os.getpid():
        return
    with _start_lock:
        if _threads_pid == os.getpid():
            return
        _jobs = SimpleQueue()  # after fork() the parent's queue may hold its jobs (or a held lock)
        for _ in range(THREADS):
            _thread.start_new_thread(_work, (_jobs,))
        _threads_pid = os.getpid()


def _work(jobs: SimpleQueue[tuple[int, _Batch]]) -> None:
    while True:
        fd, batch = jobs.get()
        error: OSError | None = None
        try:
            error = _fsync_fd(fd)
        except BaseException as exc:  # never leave a batch waiting for this share
            error = OSError(f"fsync failed: {exc}")
        finally:
            batch.finish_one(fd, error)


def _open_for_sync(path: Path) -> int | OSError | None:
    """A read-only descriptor of ``path`` (never through a link); None if it vanished (a
    segment merged away meanwhile is no error); the OSError if it cannot be opened."""
    try:
        return os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        return exc


def _fsync_fd(fd: int) -> OSError | None:
    try:
        os.fsync(fd)
    except OSError as exc:
        return exc
    return None


def fsync_all(files: Sequence[Path], folders: Sequence[Path]) -> None:
    """Make ``files`` (their data) and ``folders`` (their entries) durable; return when all are.

    The caller's thread opens every path, hands all descriptors but one to the threads and
    fsyncs that one itself, so the fsyncs are issued as close together as the GIL allows
    (a thread only wakes and calls ``fsync``). A file that cannot be synced raises (its data
    may not be on disk); a folder that cannot be, as :func:`~localtrack.storage.atomic.fsync_dir`,
    is skipped (unsupported there).
    """
    targets = [*files, *folders]
    if not targets:
        return
    opened = [(path, _open_for_sync(path)) for path in targets]
    errors = [(path, fd) for path, fd in opened if isinstance(fd, OSError)]
    fds = {fd: path for path, fd in opened if isinstance(fd, int)}
    try:
        order = list(fds)
        if order and _threads_pid != os.getpid():  # after fork(), or never prepared: one after the other
            errors += [(fds[fd], error) for fd in order if (error := _fsync_fd(fd)) is not None]
        elif order:
            batch = _Batch(len(order) - 1)
            for fd in order[1:]:
                _jobs.put((fd, batch))
            first_error = _fsync_fd(order[0])  # this thread takes one share
            if batch.remaining and not batch.done.wait(PATIENCE_SECONDS):
                batch.errors = [(fd, error) for fd in order[1:] if (error := _fsync_fd(fd)) is not None]
            errors += [(fds[fd], error) for fd, error in batch.errors]
            if first_error is not None:
                errors.append((fds[order[0]], first_error))
    finally:
        for fd in fds:
            os.close(fd)
    file_set = set(files)
    for path, error in errors:
        if path in file_set:
            raise explain_os_error(error, path, "write") from error

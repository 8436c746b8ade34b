"""A run lock whose release an interrupt skipped: the same thread takes it again, nobody else can.

A Ctrl-C can land between any two bytecodes, e.g. inside ``contextlib``'s ``__exit__`` before
the lock's ``finally`` runs; the traceback keeps the suspended block alive. Then the lock fd
stays open and locked, and the ``finish()`` that runs at exit used to wait on it forever (the
crash test's SIGINT case hung ~1 time in 60 under load). These tests leave a lock held exactly
that way: ``__enter__`` without ``__exit__``, the context manager kept referenced.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable
from pathlib import Path

from store_helpers import run_code

from localtrack.storage.lease import run_lock
from localtrack.store.project import open_store
from localtrack.store.reader import load_run

LEAKED: list[object] = []  # what the interrupt's traceback would keep alive


def _leak(lock: Path) -> None:
    """Enter a run lock and never leave it."""
    block = run_lock(lock)
    block.__enter__()
    LEAKED.append(block)


def _in_thread(job: Callable[[], object], timeout: float = 10) -> object:
    """Run ``job`` on its own thread; fail instead of hanging the suite if it never returns."""
    out: list[object] = []
    worker = threading.Thread(target=lambda: out.append(job()), daemon=True)
    worker.start()
    worker.join(timeout)
    assert not worker.is_alive(), "the lock's second acquire waited on the lock its own thread leaked"
    return out[0]


def _free_for_others(lock: Path) -> bool:
    """Whether another holder (a fresh open file, as another process would have) gets the lock now."""
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def test_a_release_skipped_by_an_interrupt_does_not_block_the_same_thread(tmp_path: Path) -> None:
    lock = tmp_path / ".lock"

    def leak_then_retake() -> list[bool]:
        _leak(lock)  # the with block's exit never ran
        seen = [_free_for_others(lock)]
        with run_lock(lock):
            seen.append(_free_for_others(lock))
        seen.append(_free_for_others(lock))
        return seen

    held_after_leak, held_inside, free_after = _in_thread(leak_then_retake)  # type: ignore[misc]
    assert held_after_leak is False, "the leaked lock must still exclude others until it is retaken"
    assert held_inside is False
    assert free_after is True, "the retaken lock is released at the end of its block"


def test_a_lock_leaked_on_one_thread_still_excludes_another_thread(tmp_path: Path) -> None:
    lock = tmp_path / ".lock"
    _in_thread(lambda: _leak(lock))
    got = threading.Event()

    def other() -> None:
        with run_lock(lock):
            got.set()

    worker = threading.Thread(target=other, daemon=True)
    worker.start()
    assert not got.wait(0.3), "a second thread took a lock the first one holds"
    assert not _free_for_others(lock)


def test_a_run_whose_lock_release_was_skipped_still_finishes_at_exit(store_dir: Path, tmp_path: Path) -> None:
    code = """
        import localtrack
        from localtrack.storage.lease import run_lock
        run = localtrack.init(project="lock", id="leaky")
        run.log({"loss": 0.5})
        run.flush()
        block = run_lock(run._writer.lock_path)
        block.__enter__()  # as if Ctrl-C skipped the release (its traceback keeps the block)
        run.log({"loss": 0.25})
    """
    done = run_code(code, store_dir, tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    record = load_run(open_store(store_dir), "leaky")
    assert record.status == "finished"
    assert record.manifest["summary"]["loss"]["count"] == 2

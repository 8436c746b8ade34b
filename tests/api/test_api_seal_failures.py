"""A seal that fails (disk full, an I/O error, a bug) never drops an acknowledged point.

The points stay buffered and are written by the next seal; the error names the cause; a
``finish()`` that failed leaves the run running, and a later one completes it.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import pytest

import localtrack
from localtrack.errors import LocaltrackError
from localtrack.store import writer as writer_module
from localtrack.store.project import open_store
from localtrack.store.reader import load_run, read_metrics


class FlakyDisk:
    """``write_segment`` that fails the first ``failures`` times with ``error``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, failures: int, error: BaseException) -> None:
        self.left = failures
        self.error = error
        self.real = writer_module.write_segment
        monkeypatch.setattr(writer_module, "write_segment", self)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.left > 0:
            self.left -= 1
            raise self.error
        return self.real(*args, **kwargs)


def _points(store: Path, run_id: str) -> list[tuple[str, int, float]]:
    table = read_metrics(open_store(store), run_id)
    return sorted((r["key"], r["step"], r["value"]) for r in table.to_pylist())


@pytest.fixture()
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LOCALTRACK_FLUSH_SECONDS", "3600")  # only explicit seals
    return tmp_path / ".localtrack"


def test_disk_full_at_seal_keeps_the_points_and_names_the_cause(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = localtrack.init(dir=store, project="full", id="full")
    for step in range(10):
        run.log({"loss": float(step)})
    FlakyDisk(monkeypatch, 2, OSError(errno.ENOSPC, "No space left on device"))
    for _ in range(2):
        with pytest.raises(LocaltrackError, match="disk is full") as caught:
            run.flush()
        assert "10 points are kept in memory" in str(caught.value)
    run.log({"loss": 10.0})
    run.finish()
    assert _points(store, "full") == [("loss", s, float(s)) for s in range(11)]
    assert load_run(open_store(store), "full").manifest["status"] == "finished"


@pytest.mark.parametrize(
    "error",
    [ZeroDivisionError("division by zero"), RuntimeError("arrow said no"), MemoryError()],
    ids=["zero-division", "runtime-error", "memory-error"],
)
def test_any_seal_error_keeps_the_points(store: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    run = localtrack.init(dir=store, project="bug", id="bug")
    run.log({"a": 1.0, "b": 2.0})
    FlakyDisk(monkeypatch, 1, error)
    with pytest.raises(LocaltrackError, match=type(error).__name__):
        run.flush()
    run.finish()
    assert _points(store, "bug") == [("a", 0, 1.0), ("b", 0, 2.0)]


def test_failed_finish_leaves_the_run_running_and_a_retry_completes_it(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = localtrack.init(dir=store, project="retry", id="retry")
    run.log({"x": 1.0})
    run.config["late"] = 1
    FlakyDisk(monkeypatch, 1, OSError(errno.EIO, "Input/output error"))
    with pytest.raises(LocaltrackError, match="Input/output error"):
        run.finish()
    assert run.status == "running"
    assert localtrack.run is run  # still the current run: the exit hook would finish it
    run.log({"x": 2.0})
    run.finish()
    manifest = load_run(open_store(store), "retry").manifest
    assert manifest["status"] == "finished"
    assert manifest["config"]["late"] == 1
    assert _points(store, "retry") == [("x", 0, 1.0), ("x", 1, 2.0)]


def test_background_seal_failure_is_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALTRACK_FLUSH_SECONDS", "0.05")
    store = tmp_path / ".localtrack"
    disk = FlakyDisk(monkeypatch, 3, OSError(errno.ENOSPC, "No space left on device"))
    run = localtrack.init(dir=store, project="bg", id="bg")
    for step in range(100):
        run.log({"v": float(step)})
    import time

    deadline = time.monotonic() + 20
    while disk.left and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        run.log({"v": 100.0})
    except LocaltrackError as exc:  # the flusher's failure surfaces once, naming the cause
        assert "disk is full" in str(exc)
        run.log({"v": 100.0})
    run.finish()
    assert _points(store, "bg") == [("v", s, float(s)) for s in range(101)]


def test_empty_log_is_a_step_with_nothing_in_it(store: Path) -> None:
    run = localtrack.init(dir=store, project="empty", id="empty")
    run.log({"a": 1.0})
    run.log({})
    run.flush()
    run.log({})
    run.log({"a": 3.0})
    run.finish()
    assert _points(store, "empty") == [("a", 0, 1.0), ("a", 3, 3.0)]

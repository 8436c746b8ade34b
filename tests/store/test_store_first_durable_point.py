"""A new run's first durable point: everything it wrote is fsynced before finish() returns.

No test can cut the power; these check the rule docs/FORMAT.md states instead: by the time
``finish()`` (or the first seal) returns, the segment's data, its name in ``metrics/``, the
manifest's data, its name in the run folder and the run folder's name in ``runs/`` have each
been fsynced, and after that every seal is durable before the manifest that names it.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from store_helpers import fail_fsync_of

import localtrack
from localtrack.errors import LocaltrackError
from localtrack.storage import sync_batch


@pytest.fixture
def fsynced(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every path os.fsync is called on, from any thread, in call order."""
    seen: list[str] = []
    lock = threading.Lock()
    real = os.fsync

    def recording(fd: int) -> None:
        path = os.readlink(f"/proc/self/fd/{fd}")
        real(fd)
        with lock:
            seen.append(path)

    monkeypatch.setattr(os, "fsync", recording)
    return seen


pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads fd paths from /proc")


def _expected(run: localtrack.Run) -> set[str]:
    run_dir = Path(run.dir).resolve()
    [segment] = (run_dir / "metrics").iterdir()
    return {str(segment), str(run_dir / "metrics"), str(run_dir / "manifest.json"), str(run_dir), str(run_dir.parent)}


def test_a_short_run_syncs_its_five_objects_at_finish(tmp_path: Path, fsynced: list[str]) -> None:
    run = localtrack.init(project="p", dir=tmp_path / "store", system_metrics=False)
    before = len(fsynced)
    for step in range(50):
        run.log({"loss": 1.0 / (step + 1)})
    assert not any("/runs/" in p for p in fsynced[before:]), "init and log() sync nothing of the run"
    run.finish()
    synced = set(fsynced[before:])
    assert _expected(run) <= synced
    assert not [p for p in synced if ".tmp" in p], "temp files are renamed before the batch syncs their final names"


def test_the_first_seal_syncs_everything_and_later_seals_keep_their_order(tmp_path: Path, fsynced: list[str]) -> None:
    run = localtrack.init(project="p", dir=tmp_path / "store", system_metrics=False)
    run.log({"loss": 1.0})
    run.flush()  # the first durable point
    first = set(fsynced)
    assert _expected(run) <= first
    del fsynced[:]
    run.log({"loss": 2.0})
    run.flush()  # acknowledged run: segment, metrics/, manifest, run folder, in that order
    run_dir = str(Path(run.dir).resolve())
    kinds = ["segment" if ".parquet" in p else "metrics/" if p.endswith("/metrics") else "manifest"
             if "manifest" in p else "run folder" if p == run_dir else p for p in fsynced]
    assert kinds == ["segment", "metrics/", "manifest", "run folder"]
    run.finish()


def test_fsync_all_without_threads_syncs_in_turn(tmp_path: Path, fsynced: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sync_batch, "_threads_pid", None)  # as after fork(): no fsync threads here
    files = [tmp_path / f"f{i}" for i in range(3)]
    for path in files:
        path.write_bytes(b"x")
    sync_batch.fsync_all(files, [tmp_path])
    assert sorted(fsynced) == sorted(str(p) for p in [*files, tmp_path])


def test_fsync_all_with_threads_syncs_each_once(tmp_path: Path, fsynced: list[str]) -> None:
    sync_batch.prepare()
    files = [tmp_path / f"f{i}" for i in range(7)]
    for path in files:
        path.write_bytes(b"x")
    sync_batch.fsync_all(files, [tmp_path])
    assert sorted(fsynced) == sorted(str(p) for p in [*files, tmp_path])


def test_a_file_that_cannot_be_synced_raises_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sync_batch.prepare()
    good = tmp_path / "good"
    good.write_bytes(b"x")
    bad = tmp_path / "bad"
    bad.write_bytes(b"y")
    fail_fsync_of("bad", monkeypatch)
    with pytest.raises(LocaltrackError, match="bad"):
        sync_batch.fsync_all([good, bad], [tmp_path])
    sync_batch.fsync_all([good], [tmp_path])  # the threads survived the failure


def test_a_rank_that_joined_first_keeps_its_points_through_the_creators_first_seal(
    tmp_path: Path, fsynced: list[str]
) -> None:
    """DDP: rank 1 joins and acknowledges points before rank 0's first seal. Rank 0's manifest
    write then replaces one that records rank 1's segments: it must be durable in order
    (its temp file fsynced before the rename), not left to the batch."""
    store = tmp_path / "store"
    creator = localtrack.init(project="p", dir=store, system_metrics=False)
    joined = localtrack.init(project="p", dir=store, id=creator.id, resume="must", reinit="create_new",
                             system_metrics=False)
    joined.log({"rank1": 1.0})
    joined.flush()  # acknowledged: recorded in the manifest
    del fsynced[:]
    creator.log({"rank0": 1.0})
    creator.flush()  # the creator's first durable point
    run_dir = Path(creator.dir).resolve()
    manifest_temps = [n for n, p in enumerate(fsynced) if p.startswith(str(run_dir / "")) and ".tmp" in p
                      and "metrics" not in p]
    assert manifest_temps, fsynced
    assert str(run_dir) in fsynced[manifest_temps[0]:], "the run folder is synced after the manifest's data"
    joined.finish()
    creator.finish()

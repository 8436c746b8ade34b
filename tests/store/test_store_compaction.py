"""Compaction: many small seals become few files, and a reader racing it sees every point once."""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow.compute as pc
import pytest
from store_helpers import Child

import localtrack
from localtrack.storage.segments import live_segments, parse_segment_name
from localtrack.store.project import open_store
from localtrack.store.reader import load_run, read_metrics

pytestmark = pytest.mark.slow

SEALS = 160

# After each tier of 8 seals the writer waits (up to 60 s) until the reader has finished one
# more read, so on a loaded machine the reader still overlaps every tier instead of a lucky few;
# within a tier the two race freely.
WRITER = """
import os, time
import localtrack
run = localtrack.init(project="compact", id="compacted")
print("started", flush=True)
for step in range({seals}):
    run.log({{"a": float(step), "b": -float(step)}}, step=step)
    run.flush()  # one seal per step: tiered merges run every 8 seals
    if step % 8 == 7:
        deadline = time.monotonic() + 60
        while not os.path.exists(f"read-{{step // 8 + 1}}") and time.monotonic() < deadline:
            time.sleep(0.002)
run.finish()
print("finished", flush=True)
"""


def _prefix_length(store_dir: Path, run_id: str) -> int:
    """Read the run once; its points must be exactly steps 0..n-1 of each key, once each."""
    table = read_metrics(open_store(store_dir), run_id)
    lengths = set()
    for key in ("a", "b"):
        steps = table.filter(pc.equal(table.column("key"), key)).column("step").to_pylist()
        assert sorted(steps) == list(range(len(steps))), f"{key}: duplicate or missing point: {steps[:20]}..."
        lengths.add(len(steps))
    assert len(lengths) == 1, f"keys of one step were split: {lengths}"
    return lengths.pop()


def test_reader_during_compaction_never_sees_a_point_twice_or_misses_one(store_dir: Path, tmp_path: Path) -> None:
    metrics = store_dir / "runs" / "compacted" / "metrics"
    with Child(WRITER.format(seals=SEALS), store_dir, tmp_path) as child:
        child.wait_for("started")
        last = 0
        reads = 0
        live_counts = set()
        while child.proc.poll() is None:
            count = _prefix_length(store_dir, "compacted")
            assert count >= last, f"points went from {last} to {count}"
            last = count
            live_counts.add(len(live_segments(metrics)))
            reads += 1
            (tmp_path / f"read-{reads}").touch()  # the writer may start its next tier
        assert child.finish() == 0, child.stderr
    assert reads > 20, "the reader did not overlap the writer"
    assert len(live_counts) > 3, "the reader never saw compaction change the file set"
    assert _prefix_length(store_dir, "compacted") == SEALS
    files = live_segments(metrics)
    assert 1 <= len(files) <= 2, [f.name for f in files]
    assert sorted(p.name for p in metrics.iterdir() if p.name.endswith(".parquet")) == [f.name for f in files]
    assert len({parse_segment_name(f.name).writer for f in files}) == 1  # type: ignore[union-attr]
    record = load_run(open_store(store_dir), "compacted")
    assert record.status == "finished"
    (writer,) = record.manifest["writers"].values()
    assert sorted(writer["segments"]) == [f.name for f in files]
    assert sum(s["rows"] for s in writer["segments"].values()) == 2 * SEALS
    summary = dict(record.manifest["summary"]["a"])
    assert summary.pop("timestamp").endswith("Z")  # the last point's time (the tie-break of docs/FORMAT.md)
    assert summary == {"count": SEALS, "last": SEALS - 1.0, "max": SEALS - 1.0, "min": 0.0, "step": SEALS - 1,
                       "sum": SEALS * (SEALS - 1) / 2, "nans": 0}  # the points are 0 .. SEALS - 1


def test_in_process_reader_thread_during_merges(store_dir: Path) -> None:
    run = localtrack.init(project="compact", dir=store_dir)
    errors: list[BaseException] = []
    stop = threading.Event()
    reads = [0]

    def reader() -> None:
        last = 0
        try:
            while not stop.is_set():
                count = _prefix_length(store_dir, run.id)
                assert count >= last
                last = count
                reads[0] += 1
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for step in range(120):
            run.log({"a": float(step), "b": 0.5}, step=step)
            if step % 2:
                run.flush()
        run.finish()
    finally:
        stop.set()
        thread.join()
    assert not errors, errors[0]
    assert reads[0] > 5
    assert _prefix_length(store_dir, run.id) == 120
    assert len(live_segments(run.dir / "metrics")) == 1


def test_long_run_of_mixed_seals_ends_in_few_files(store_dir: Path) -> None:
    """Big seals, then many tiny ones: finish leaves a handful of files holding every point once."""
    from localtrack.store import writer

    run = localtrack.init(project="compact", dir=store_dir)
    rows = writer.SMALL_SEGMENT_ROWS // 2 + 1  # two keys per step
    for block in range(2):
        for step in range(block * rows, (block + 1) * rows):
            run.log({"a": 1.0, "b": 2.0}, step=step)
        run.flush()
    for step in range(2 * rows, 2 * rows + 30):
        run.log({"a": 1.0, "b": 2.0}, step=step)
        run.flush()
    run.finish()
    files = live_segments(run.dir / "metrics")
    assert 1 <= len(files) <= 3, [f.name for f in files]
    table = read_metrics(open_store(store_dir), run.id)
    assert table.num_rows == 2 * (2 * rows + 30)
    steps = table.filter(pc.equal(table.column("key"), "a")).column("step").to_pylist()
    assert steps == list(range(2 * rows + 30))


def test_failed_seal_keeps_the_buffer_in_logging_order(store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Disk full during a seal: one clear error, nothing lost, order kept once space is back."""
    import errno

    from localtrack.errors import LocaltrackError
    from localtrack.storage.atomic import explain_os_error
    from localtrack.store import writer

    real = writer.write_segment
    failures = [1]

    def full_disk(metrics_dir: Path, name: object, table: object, **options: bool) -> object:
        if failures[0]:
            failures[0] -= 1
            raise explain_os_error(OSError(errno.ENOSPC, "No space left on device"), metrics_dir, "write")
        return real(metrics_dir, name, table, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(writer, "write_segment", full_disk)
    monkeypatch.setenv("LOCALTRACK_FLUSH_SECONDS", "60")  # only the explicit flush seals
    run = localtrack.init(project="compact", dir=store_dir)
    write = run._writer.log  # the writer's own rows: repeated steps (wandb's log() would merge them)
    write({"a": 1.0, "b": 1.0}, 0)
    write({"a": 2.0}, 0)
    with pytest.raises(LocaltrackError, match="disk is full"):
        run.flush()
    write({"a": 3.0, "b": 3.0}, 0)
    write({"a": 4.0}, 1)
    run.finish()
    rows = read_metrics(open_store(store_dir), run.id).to_pylist()
    assert [(r["key"], r["step"], r["value"]) for r in rows] == [
        ("a", 0, 1.0), ("a", 0, 2.0), ("a", 0, 3.0), ("a", 1, 4.0), ("b", 0, 1.0), ("b", 0, 3.0)
    ]
    assert load_run(open_store(store_dir), run.id).status == "finished"

"""One rule for a metric's summary across writers (docs/FORMAT.md, "Summary semantics").

Two writers of one run log the same key at the same step at different times: ``last`` is
the value logged later by the clock, whichever writer (by id or by join order) logged it,
and every reader agrees: the manifest, ``RunInfo.summary``, ``Store.runs()`` (the index),
its ``to_pandas()``, and ``localtrack ls`` (the DuckDB-free listing).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import localtrack
from localtrack.cli import output
from localtrack.cli.entry import main
from localtrack.storage.manifest import read_manifest
from localtrack.store import shell_writer
from localtrack.store.project import create_store
from localtrack.store.summary import last_index, merge_writer_summaries
from localtrack.store.writer import RunWriter


def _ls_rows(root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """``localtrack ls --format json`` run in this process."""
    monkeypatch.setattr(output, "_console", None)
    monkeypatch.setattr(output, "_err_console", None)
    capsys.readouterr()
    code = main(["ls", "--format", "json", "--store", str(root)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def _clock_moves() -> None:
    """Wait until the wall clock is past the previous microsecond (points get distinct times)."""
    start = time.time()
    while time.time() - start < 0.002:
        time.sleep(0.001)


@pytest.mark.parametrize("later_id", ["aaaa", "zzzz"])
@pytest.mark.parametrize("later_joins_first", [True, False])
def test_last_is_the_point_logged_later_for_every_reader(
    tmp_path: Path, later_id: str, later_joins_first: bool, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / ".localtrack"
    layout = create_store(root)
    run_id = shell_writer.create_run(layout, project="p", name="two-writers")
    earlier_id = "zzzz" if later_id == "aaaa" else "aaaa"
    order = [later_id, earlier_id] if later_joins_first else [earlier_id, later_id]
    writers = {}
    for writer_id in order:
        writer = RunWriter(layout, run_id, writer_id)
        writer.create({}, "must")
        writers[writer_id] = writer

    writers[earlier_id].log({"acc": 1.0, "loss": 5.0}, step=3)
    writers[earlier_id].seal()
    _clock_moves()
    writers[later_id].log({"acc": 2.0, "loss": 0.5}, step=3)
    writers[later_id].seal()
    for writer in writers.values():
        writer.finish()
    shell_writer.finish_run(layout, run_id)

    manifest = read_manifest(layout.manifest_path(run_id))
    stats = manifest["summary"]["acc"]
    assert (stats["last"], stats["step"], stats["min"], stats["max"], stats["count"]) == (2.0, 3, 1.0, 2.0, 2)
    assert manifest["summary"]["loss"]["last"] == 0.5

    with localtrack.Store(root) as store:
        info = store.run(run_id)
        assert info.summary["acc"]["last"] == 2.0
        assert info.summary["acc"]["step"] == 3
        assert info.summary["acc"]["count"] == 2
        assert info.summary["loss"]["last"] == 0.5
        table = store.runs()
        assert [row["metrics"]["acc"]["last"] for row in table] == [2.0]
        frame = table.to_pandas()
        assert frame["metrics.acc"].tolist() == [2.0]
        assert frame["metrics.loss"].tolist() == [0.5]
        assert store.runs(filter="metrics.acc = 2").ids == [run_id]
    listed = _ls_rows(root, capsys, monkeypatch)
    assert [row["metrics"]["acc"]["last"] for row in listed] == [2.0]


def test_equal_step_and_time_break_by_writer_id_then_logging_order() -> None:
    # Within one writer's seal: at the last step the latest time wins; on equal times, the later logged.
    assert last_index([1, 2, 2, 2], [10, 30, 20, 30]) == 3
    assert last_index([1, 2, 2], [10, 40, 20]) == 1  # the clock stepped back: the later time still wins
    # Across writers: at an equal (step, timestamp) the larger writer id wins, in any manifest order.
    same = "2025-01-01T00:00:00.000001Z"
    for ids in (("b", "a"), ("a", "b")):
        writers = {wid: {"summary": {"x": {"last": float(ord(wid)), "min": 0.0, "max": 1.0, "count": 1,
                                           "step": 7, "timestamp": same}}} for wid in ids}
        assert merge_writer_summaries(writers)["x"]["last"] == float(ord("b"))
    # A later timestamp beats a larger writer id; a larger step beats both.
    writers = {
        "a": {"summary": {"x": {"last": 1.0, "count": 1, "step": 7, "timestamp": "2025-01-01T00:00:02.000000Z"}}},
        "b": {"summary": {"x": {"last": 2.0, "count": 1, "step": 7, "timestamp": "2025-01-01T00:00:01.000000Z"}}},
        "c": {"summary": {"x": {"last": 3.0, "count": 1, "step": 6, "timestamp": "2025-01-01T00:00:09.000000Z"}}},
    }
    assert merge_writer_summaries(writers)["x"]["last"] == 1.0


@pytest.mark.parametrize("arrow_path", [False, True])
def test_a_seal_picks_last_by_the_rule_from_its_own_rows(arrow_path: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """The summary a seal records is the row the rule picks from the sealed table itself."""
    from localtrack.store import buffer

    block = buffer.Block(("acc",))
    # (step, time, value): the clock steps back at step 4; two points share step 4 and a time
    for step, seconds, value in [(1, 10.0, 0.1), (4, 30.0, 0.2), (4, 20.0, 0.3), (4, 30.0, 0.4), (2, 40.0, 0.5)]:
        block.steps.append(step)
        block.times.append(1_700_000_000 + seconds)
        block.values.append(value)
    if arrow_path:
        monkeypatch.setattr(buffer, "SMALL_SEAL_POINTS", -1)
    table, summary = buffer.build_table_and_summary([block], steps_ordered=False)
    rows = table.to_pylist()
    best = max(range(len(rows)), key=lambda i: (rows[i]["step"], rows[i]["timestamp"], i))
    assert summary["acc"]["last"] == rows[best]["value"] == 0.4
    assert summary["acc"]["step"] == 4
    assert summary["acc"]["timestamp"] == rows[best]["timestamp"].strftime("%Y-%m-%dT%H:%M:%S.%fZ")

"""verify recomputes an ended run's summary from its points: what the writer recorded must agree,
and a summary edited in the manifest (listings trust it) is named, metric by metric."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import localtrack
from localtrack.storage.manifest import decode_float
from localtrack.store.project import open_store
from localtrack.store.verify import verify_store
from localtrack.store.verify_summary import points_summary

SPECIAL = [math.nan, math.inf, -math.inf, 0.0, -0.0]


def _manifest_path(store: Path, run_id: str) -> Path:
    return store / "runs" / run_id / "manifest.json"


def _edit(store: Path, run_id: str, change: Any) -> None:
    path = _manifest_path(store, run_id)
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True))


def _summary_findings(store: Path) -> list[str]:
    return [f.message for f in verify_store(open_store(store)).damaged if "summary" in f.message]


def _same(recorded: dict[str, dict[str, Any]], computed: dict[str, dict[str, Any]]) -> None:
    assert sorted(recorded) == sorted(computed)
    for key, stats in recorded.items():
        truth = computed[key]
        for field in ("count", "step", "timestamp"):
            assert stats[field] == truth[field], (key, field)
        for field in ("last", "min", "max"):
            a, b = decode_float(stats[field]) if stats[field] is not None else None, truth[field]  # "NaN", "Infinity"
            assert a == b or (a is not None and b is not None and math.isnan(a) and math.isnan(b)), (key, field, a, b)


def _run_with_two_writers_and_seals(store: Path) -> str:
    run = localtrack.init(dir=store, project="v", name="two-writers")
    for step in range(5):
        run.log({"loss": 1.0 / (step + 1), "acc": math.nan if step == 2 else step / 10}, step=step)
        if step == 2:
            run.flush()  # a second seal
    run.log({"loss": 9.0}, step=4)  # same step again: logged later wins on an equal timestamp only
    run.finish()
    again = localtrack.init(dir=store, project="v", id=run.id, resume="must")  # a second writer
    again.log({"loss": 0.25, "extra": math.inf}, step=10)
    again.finish()
    return run.id


def test_what_the_writers_recorded_is_what_the_points_say(tmp_path: Path) -> None:
    store = tmp_path / ".localtrack"
    run_id = _run_with_two_writers_and_seals(store)
    manifest = json.loads(_manifest_path(store, run_id).read_text())
    assert len(manifest["writers"]) == 2
    _same(manifest["summary"], points_summary(sorted((store / "runs" / run_id / "metrics").glob("*.parquet"))))
    assert verify_store(open_store(store)).ok


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda s: s["loss"].update(last=0.5), "'loss' (last)"),
        (lambda s: s["loss"].update(min=-1.0, max=100.0), "'loss' (min, max)"),
        (lambda s: s["acc"].update(count=1), "'acc' (count)"),
        (lambda s: s["acc"].update(step=99), "'acc' (step)"),
        (lambda s: s["acc"].update(timestamp="2001-01-01T00:00:00.000000Z"), "'acc' (timestamp)"),
        (lambda s: s["loss"].update(sum=s["loss"]["sum"] + 0.001), "'loss' (sum)"),  # the mean listings show
        (lambda s: s["acc"].update(nans=0), "'acc' (nans)"),
        (lambda s: s["acc"].update(sum="1.5"), "'acc' (sum)"),  # not a number a writer writes
        (lambda s: s.pop("extra"), "'extra' has points but no summary"),
        (lambda s: s.update(made_up={"count": 1, "last": 1.0, "min": 1.0, "max": 1.0, "step": 0}),
         "'made_up' is summarized but has no points"),
    ],
)
def test_an_edited_summary_is_named(tmp_path: Path, change: Any, named: str) -> None:
    store = tmp_path / ".localtrack"
    run_id = _run_with_two_writers_and_seals(store)
    _edit(store, run_id, lambda m: change(m["summary"]))
    findings = _summary_findings(store)
    assert len(findings) == 1 and named in findings[0], findings
    code = localtrack.Store(store).verify()
    assert not code.ok


def test_the_recorded_sums_are_the_sums_of_the_points(tmp_path: Path) -> None:
    """Two writers, two seals, NaN and inf: ``sum`` adds every non-NaN point, ``nans`` counts the rest."""
    store = tmp_path / ".localtrack"
    run_id = _run_with_two_writers_and_seals(store)
    summary = json.loads(_manifest_path(store, run_id).read_text())["summary"]
    import pyarrow.parquet as pq

    points: dict[str, list[float]] = {}
    for path in (store / "runs" / run_id / "metrics").glob("*.parquet"):
        table = pq.read_table(path).to_pydict()
        for key, value in zip(table["key"], table["value"], strict=True):
            points.setdefault(key, []).append(value)
    assert sorted(points) == sorted(summary) == ["acc", "extra", "loss"]
    for key, values in points.items():
        kept = [v for v in values if not math.isnan(v)]
        assert summary[key]["nans"] == len(values) - len(kept)
        assert summary[key]["count"] == len(values)
        expected = math.fsum(kept) if all(map(math.isfinite, kept)) else sum(kept)
        assert math.isclose(decode_float(summary[key]["sum"]), expected, rel_tol=1e-15), key
    assert summary["acc"]["nans"] == 1 and summary["extra"]["sum"] == "Infinity"


def test_a_summary_from_before_sums_is_not_judged_by_them(tmp_path: Path) -> None:
    """Older writers recorded no ``sum``/``nans``: nothing to check, no finding."""
    store = tmp_path / ".localtrack"
    run_id = _run_with_two_writers_and_seals(store)

    def old_format(manifest: dict[str, Any]) -> None:
        for summary in [manifest["summary"], *(w["summary"] for w in manifest["writers"].values())]:
            for stats in summary.values():
                stats.pop("sum")
                stats.pop("nans")
    _edit(store, run_id, old_format)
    assert _summary_findings(store) == []


def test_a_run_that_did_not_end_is_not_judged_by_its_summary(tmp_path: Path) -> None:
    """A crashed writer may have sealed points its summary never saw: that is not an edit."""
    store = tmp_path / ".localtrack"
    run_id = _run_with_two_writers_and_seals(store)

    def crash(manifest: dict[str, Any]) -> None:
        manifest["status"] = "crashed"
        manifest["summary"]["loss"]["count"] = 1
    _edit(store, run_id, crash)
    assert _summary_findings(store) == []


VALUES = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64), st.sampled_from(SPECIAL))


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    calls=st.lists(
        st.tuples(st.integers(0, 6), st.dictionaries(st.sampled_from(["a", "b", "c/d"]), VALUES, min_size=1),
                  st.booleans()),
        min_size=1, max_size=30,
    )
)
def test_any_logging_sequence_verifies(tmp_path_factory: pytest.TempPathFactory, calls: list[Any]) -> None:
    store = tmp_path_factory.mktemp("seq") / ".localtrack"
    run = localtrack.init(dir=store, project="v")
    for step, values, seal in calls:
        run.log(values, step=step)
        if seal:
            run.flush()
    run.finish()
    manifest = json.loads(_manifest_path(store, run.id).read_text())
    _same(manifest["summary"], points_summary(sorted((store / "runs" / run.id / "metrics").glob("*.parquet"))))
    assert _summary_findings(store) == []

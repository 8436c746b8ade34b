"""query/series.py: DuckDB-bucketed trends draw the same sparklines as the raw points would."""

from __future__ import annotations

import math
from pathlib import Path

import localtrack
from localtrack.query.series import _from_points, trend_series
from localtrack.viz.figure import sparkline


def test_buckets_match_sparkline_of_all_points(tmp_path: Path) -> None:
    store = tmp_path / ".localtrack"
    lengths = {"one": 1, "five": 5, "eight": 8, "thirty": 30, "odd": 37}
    ids = {}
    for name, n in lengths.items():
        run = localtrack.init(dir=store, name=name)
        for step in range(n):
            value = math.nan if step % 7 == 3 else math.sin(step) * (step + 1)
            run.log({"loss": value, "acc": step / max(n, 1)}, step=step * 3)
        run.finish()
        ids[name] = run.id
    reader = localtrack.Store(store)
    points = reader.metrics(keys=["loss", "acc"]).to_pylist()
    got = trend_series(reader, None, ["loss", "acc"], 8)
    assert got == _from_points(reader, None, ["loss", "acc"], 8) or all(
        math.isclose(a, b, rel_tol=1e-9) or (math.isnan(a) and math.isnan(b))
        for k in got for a, b in zip(got[k], _from_points(reader, None, ["loss", "acc"], 8)[k], strict=True)
    )
    for name, run_id in ids.items():
        for key in ("loss", "acc"):
            raw = [p["value"] for p in sorted(points, key=lambda p: p["step"]) if p["run"] == run_id and p["key"] == key]
            assert len(got[(run_id, key)]) == min(8, lengths[name])
            assert sparkline(got[(run_id, key)], 8) == sparkline(raw, 8), (name, key)
    only = trend_series(reader, [ids["five"]], ["loss"], 8)
    assert list(only) == [(ids["five"], "loss")]
    assert trend_series(reader, [], ["loss"], 8) == {} and trend_series(reader, None, [], 8) == {}

"""Metric series: short trends for sparklines (each history averaged into N buckets), and
the full per-(run, key) series a plot draws (:class:`MetricSeries`, via ``Store.series``).

``ls`` draws a sparkline per run and metric. Going through ``Store.metrics()`` would
import pyarrow (a quarter of a second cold) and move every point into Python; here DuckDB
buckets the points by step order (the same buckets ``viz.figure.sparkline`` makes) and hands back N numbers per series as plain rows. If the
index's tables ever change shape, this falls back to ``Store.metrics()``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

_BUCKETED = """
WITH pts AS (
    SELECT r.id AS run, p.key, p.value,
           row_number() OVER w AS rn, count(*) OVER (PARTITION BY p.rk, p.key) AS n
    FROM {points} p JOIN runs_t r USING (rk)
    WHERE p.key IN (SELECT unnest(?::VARCHAR[])) {runs}
    WINDOW w AS (PARTITION BY p.rk, p.key ORDER BY p.step, p."timestamp")
)
SELECT run, key, (rn * least(n, ?) + n - 1) // n - 1 AS bucket, avg(value) FILTER (WHERE isfinite(value))
FROM pts GROUP BY ALL ORDER BY run, key, bucket
"""


def trend_series(
    store: Any, run_ids: Sequence[str] | None, keys: Sequence[str], buckets: int = 8
) -> dict[tuple[str, str], list[float]]:
    """(run id, key) -> up to ``buckets`` averages in step order (NaN where a bucket has none).

    ``run_ids`` are exact ids (None: every run).
    """
    if not keys or (run_ids is not None and not run_ids):
        return {}
    try:
        import duckdb
    except ImportError:  # pragma: no cover - duckdb is a dependency
        return _from_points(store, run_ids, keys, buckets)
    params: list[Any] = [list(keys)]
    runs = ""
    if run_ids is not None:
        runs = "AND r.id IN (SELECT unnest(?::VARCHAR[]))"
        params.append(list(run_ids))
    params.append(int(buckets))
    try:
        from localtrack.query.index_load import files_of, points_sql

        def query(con: Any) -> list[Any]:
            rks = None if run_ids is None else [r[0] for r in con.execute(
                "SELECT rk FROM runs_t WHERE id IN (SELECT unnest(?::VARCHAR[]))", [list(run_ids)]).fetchall()]
            points, files = points_sql(files_of(con, rks))
            found: list[Any] = con.execute(_BUCKETED.format(runs=runs, points=points), [*files, *params]).fetchall()
            return found

        rows = store.index.retrying(query)
    except (duckdb.CatalogException, duckdb.BinderException, AttributeError):
        return _from_points(store, run_ids, keys, buckets)
    out: dict[tuple[str, str], list[float]] = {}
    for run, key, _bucket, value in rows:
        out.setdefault((run, key), []).append(math.nan if value is None else float(value))
    return out


def _from_points(
    store: Any, run_ids: Sequence[str] | None, keys: Sequence[str], buckets: int
) -> dict[tuple[str, str], list[float]]:
    """The same through the public read API (imports pyarrow)."""
    points = store.metrics(runs=None if run_ids is None else list(run_ids), keys=list(keys))
    data = points.select(["run", "key", "step", "value"]).to_pydict()
    series: dict[tuple[str, str], list[tuple[int, float]]] = {}
    wanted = None if run_ids is None else set(run_ids)
    for run, key, step, value in zip(data["run"], data["key"], data["step"], data["value"], strict=True):
        if wanted is None or run in wanted:
            series.setdefault((run, key), []).append((step, math.nan if value is None else value))
    out = {}
    for name, pts in series.items():
        values = [v for _, v in sorted(pts, key=lambda p: p[0])]
        n = len(values)
        width = min(buckets, n)
        out[name] = [_mean(values[i * n // width:(i + 1) * n // width]) for i in range(width)]
    return out


def _mean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return sum(finite) / len(finite) if finite else math.nan


@dataclass(frozen=True)
class MetricSeries:
    """Every point one run logged for one metric key, in step order (what a plot draws).

    ``timestamps`` are epoch seconds (NaN where a point has none); ``values`` hold NaN for a
    point logged without a value.
    """

    run: str
    key: str
    steps: list[int]
    timestamps: list[float]
    values: list[float]

    def __len__(self) -> int:
        return len(self.steps)


def metric_series(points: Any) -> list[MetricSeries]:
    """One :class:`MetricSeries` per (run, key) of a long metric table (run, key, step, timestamp, value)."""
    data = points.select(["run", "key", "step", "timestamp", "value"]).to_pydict()
    grouped: dict[tuple[str, str], list[tuple[int, float, float]]] = {}
    for run, key, step, ts, value in zip(
        data["run"], data["key"], data["step"], data["timestamp"], data["value"], strict=True
    ):
        seconds = ts.timestamp() if ts is not None else math.nan
        grouped.setdefault((run, key), []).append((int(step), seconds, math.nan if value is None else float(value)))
    out = []
    for (run, key), pts in grouped.items():
        pts.sort(key=lambda p: (p[0], p[1]))
        out.append(MetricSeries(run, key, [p[0] for p in pts], [p[1] for p in pts], [p[2] for p in pts]))
    return out

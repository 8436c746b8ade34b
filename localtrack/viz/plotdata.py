"""From runs and their metric series (``Store.series``) to a :class:`~localtrack.viz.figure.Figure` to draw.

The x quantity of a curve is ``step``, ``time`` (seconds since the run started), ``epoch`` or
any other metric: a point at step s takes the x metric's latest value at or before s (so a
per-epoch counter lines up with per-batch losses). ``parallel`` puts the params that vary
across the runs side by side with one metric's final value: the sweep view.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from localtrack.errors import LocaltrackError
from localtrack.ids import short_id
from localtrack.viz.figure import Dimension, Figure, ParallelData, Series

if TYPE_CHECKING:
    from localtrack.query.series import MetricSeries

MAX_PARALLEL_PARAMS = 12


def run_labels(rows: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Legend labels: the run name, with the short id added where names repeat."""
    names = [str(r.get("name") or r["id"]) for r in rows]
    labels = {}
    for row, name in zip(rows, names, strict=True):
        run_id = str(row["id"])
        labels[run_id] = name if names.count(name) == 1 else f"{name} ({short_id(run_id)})"
    return labels


def group_series(series: Sequence[MetricSeries]) -> dict[tuple[str, str], list[tuple[int, float, float]]]:
    """(run, key) -> [(step, epoch seconds, value)] in step order, from ``Store.series``."""
    return {(s.run, s.key): list(zip(s.steps, s.timestamps, s.values, strict=True)) for s in series}


def _as_of(xs: list[tuple[int, float, float]], step: int) -> float:
    """The value of an x metric at its latest step <= ``step`` (binary search)."""
    lo, hi = 0, len(xs)
    while lo < hi:
        mid = (lo + hi) // 2
        if xs[mid][0] <= step:
            lo = mid + 1
        else:
            hi = mid
    return xs[lo - 1][2] if lo else math.nan


def series_figure(
    rows: Sequence[Mapping[str, Any]],
    points: Sequence[MetricSeries],
    metrics: Sequence[str],
    *,
    x: str = "step",
    plot_type: str = "line",
    title: str | None = None,
) -> Figure:
    """Line or scatter curves: one series per (run, metric) against ``x``.

    ``points`` is what ``Store.series(rows, keys)`` returns for the metrics (and the x metric).
    """
    grouped = group_series(points)
    labels = run_labels(rows)
    if x not in ("step", "time") and not any(key == x for _, key in grouped):
        raise LocaltrackError(
            f"no selected run logged a metric {x!r} to use as x; --x takes step, time, epoch or a metric name", x
        )
    series: list[Series] = []
    for row in rows:
        run_id = str(row["id"])
        start = _start_seconds(row, grouped, run_id)
        x_points = grouped.get((run_id, x), [])
        for metric in metrics:
            pts = grouped.get((run_id, metric))
            if not pts:
                continue
            if x == "step":
                xs = [float(p[0]) for p in pts]
            elif x == "time":
                xs = [p[1] - start for p in pts]
            else:
                if not x_points:
                    continue
                xs = [_as_of(x_points, p[0]) for p in pts]
            series.append(Series(label=labels[run_id], run_id=run_id, metric=metric, x=xs, y=[p[2] for p in pts]))
    if not series:
        wanted = ", ".join(metrics) or "(none)"
        raise LocaltrackError(f"the selected runs have no points for {wanted}; `localtrack show RUN` lists a run's metrics")
    x_label = {"step": "step", "time": "seconds since start"}.get(x, x)
    y_label = metrics[0] if len(metrics) == 1 else "value"
    return Figure(
        title=title or _title(metrics, len(rows)),
        plot_type="scatter" if plot_type == "scatter" else "line",
        x_label=x_label,
        y_label=y_label,
        series=series,
    )


def _start_seconds(row: Mapping[str, Any], grouped: Mapping[tuple[str, str], list[Any]], run_id: str) -> float:
    created = row.get("created_at")
    if created is not None and hasattr(created, "timestamp"):
        return float(created.timestamp())
    if isinstance(created, str):  # a manifest's ISO text
        from datetime import datetime

        try:
            return datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    firsts = [pts[0][1] for (rid, _), pts in grouped.items() if rid == run_id and pts]
    return min(firsts) if firsts else 0.0


def _title(metrics: Sequence[str], runs: int) -> str:
    shown = ", ".join(metrics[:4]) + (" ..." if len(metrics) > 4 else "")
    return f"{shown} · {runs} run{'s' if runs != 1 else ''}"


def _last(row: Mapping[str, Any], key: str) -> float | None:
    stats = (row.get("metrics") or {}).get(key)
    value = stats.get("last") if isinstance(stats, Mapping) else None
    if isinstance(value, str):
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}.get(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def bar_figure(rows: Sequence[Mapping[str, Any]], metrics: Sequence[str], *, title: str | None = None) -> Figure:
    """Each run's final value of each metric, as bars."""
    labels = run_labels(rows)
    bars = []
    for metric in metrics:
        for row in rows:
            value = _last(row, metric)
            if value is not None:
                bars.append((labels[str(row["id"])], metric, value))
    if not bars:
        raise LocaltrackError(f"the selected runs have no values for {', '.join(metrics)}")
    return Figure(title=title or f"final {_title(metrics, len(rows))}", plot_type="bar", bars=bars)


def _dimension(name: str, values: list[Any]) -> Dimension:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return Dimension(name, [None if v is None else float(v) for v in values], "number")
    return Dimension(name, [None if v is None else _category(v) for v in values], "category")


def _category(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value, sort_keys=True)
    return str(value)


def parallel_figure(
    rows: Sequence[Mapping[str, Any]],
    metric: str,
    *,
    params: Sequence[str] | None = None,
    title: str | None = None,
) -> Figure:
    """Parallel coordinates: the params that vary across runs, then ``metric``'s final value."""
    rows = [r for r in rows if _last(r, metric) is not None]
    if not rows:
        raise LocaltrackError(f"no selected run logged {metric!r}; pass --metric with a metric the runs have", metric)
    if params is None:
        keys: dict[str, None] = {}
        for row in rows:
            for key in row.get("params") or {}:
                keys.setdefault(key, None)
        params = [
            k for k in sorted(keys)
            if len({_category((r.get("params") or {}).get(k)) for r in rows}) > 1
        ][:MAX_PARALLEL_PARAMS]
    dims = [_dimension(p, [(r.get("params") or {}).get(p) for r in rows]) for p in params]
    dims.append(Dimension(metric, [_last(r, metric) for r in rows], "number"))
    labels = run_labels(rows)
    data = ParallelData(dimensions=dims, runs=[labels[str(r["id"])] for r in rows], color_metric=metric)
    return Figure(
        title=title or f"{metric} across {len(params)} params · {len(rows)} runs",
        plot_type="parallel",
        parallel=data,
    )

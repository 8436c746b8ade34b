"""One run's :class:`RunInfo` from its manifest (read now) and its row: shared by the index's
answer (``search.run_info``) and the DuckDB-free one (``fastshow``), so both build it alike."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from localtrack.query.results import RunInfo
from localtrack.storage.manifest import decode_value, is_legacy_values
from localtrack.store.reader import RunRecord


class PointColumns:
    """A run's points as plain columns, shaped like the Arrow table ``RunInfo.metrics()``
    returns as far as ``select(...).to_pydict()`` goes: ``show`` draws its sparklines from
    them without importing pyarrow (and numpy with it), a third of a warm ``show``."""

    def __init__(self, columns: dict[str, list[Any]]) -> None:
        self.columns = columns

    def select(self, names: list[str]) -> PointColumns:
        return PointColumns({name: self.columns[name] for name in names})

    def to_pydict(self) -> dict[str, list[Any]]:
        return {name: list(values) for name, values in self.columns.items()}


def trend_cells(values: Sequence[float], width: int) -> list[float]:
    """What a sparkline ``width`` characters wide draws from ``values`` (``viz.figure.sparkline``'s
    cells): the values themselves when there are at most ``width`` of them (it stretches those),
    else the mean of each of its ``width`` buckets (NaN: a bucket without a finite value). The
    sparkline of the cells at that width is the sparkline of the values, character for
    character (tests/query/test_fastshow.py checks it against ``sparkline`` itself); ``show``
    keeps the cells of each metric instead of its points."""
    n = len(values)
    if n <= width:
        return [float(v) for v in values]
    cells: list[float] = []
    for i in range(width):
        lo = i * n // width
        hi = max((i + 1) * n // width, lo + 1)
        bucket = [float(v) for v in values[lo:hi] if math.isfinite(v)]
        cells.append(_bucket_mean(bucket) if bucket else math.nan)
    return cells


def _bucket_mean(bucket: list[float]) -> float:
    """``viz.figure._bucket_mean``: exact for a constant bucket, never overflowing."""
    first = bucket[0]
    if all(v == first for v in bucket):
        return first
    return math.fsum(v / len(bucket) for v in bucket)


def trend_points(trends: dict[str, list[float]]) -> PointColumns:
    """Each metric's trend cells as its points (steps 0, 1, ...): what ``show`` draws its
    sparklines from, as from the points themselves (see :func:`trend_cells`)."""
    keys: list[str] = []
    steps: list[int] = []
    values: list[float] = []
    for key, cells in trends.items():
        keys.extend([key] * len(cells))
        steps.extend(range(len(cells)))
        values.extend(cells)
    return PointColumns({"step": steps, "timestamp": [None] * len(keys), "key": keys, "value": values})


def build_run_info(run_id: str, record: RunRecord, base: dict[str, Any], children: list[str], problems: list[str],
                   metrics: Callable[[list[str] | None], Any]) -> RunInfo:
    """``base``: the run's row as ``Store.runs()`` gives it (empty details when not indexed)."""
    params, tags, summary = base["params"], base["tags"], base["metrics"]
    m = record.manifest
    legacy = is_legacy_values(m)  # tagged non-finite floats (docs/FORMAT.md) back to floats
    config = decode_value(m.get("config"), legacy)
    summary_values = decode_value(m.get("summary_values"), legacy)
    return RunInfo(
        id=run_id, name=record.name, project=base.get("project"), group=base.get("group"),
        parent=base.get("parent"), status=base.get("status") or record.status,
        created_at=base.get("created_at"), ended_at=base.get("ended_at"), duration=base.get("duration"),
        config=config if isinstance(config, dict) else {}, params=params, tags=tags,
        notes=notes if isinstance(notes := m.get("notes"), str) else "",
        git=m.get("git") if isinstance(m.get("git"), dict) else None,
        command=m.get("command") if isinstance(m.get("command"), dict) else None,
        environment=m.get("environment") if isinstance(m.get("environment"), dict) else None,
        summary=summary,
        summary_values=summary_values if isinstance(summary_values, dict) else {},
        artifacts=artifacts if isinstance(artifacts := m.get("artifacts"), list) else [],
        children=children, error=m.get("error"),
        writers=writers if isinstance(writers := m.get("writers"), dict) else {},
        path=record.path, manifest=m, problems=problems, _metrics=metrics,
        alerts=_alerts(m.get("alerts")),
    )


def _alerts(raw: Any) -> list[dict[str, Any]]:
    """``wandb.alert`` records (title, text, level, at); anything malformed in a tampered manifest is skipped."""
    if not isinstance(raw, list):
        return []
    keep = ("title", "text", "level", "at")
    return [
        {k: item[k] for k in keep if isinstance(item.get(k), str)}
        for item in raw[:1000]
        if isinstance(item, dict) and isinstance(item.get("title"), str)
    ]

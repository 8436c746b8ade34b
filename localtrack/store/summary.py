"""Per-metric summaries (last, min, max, count, step) and how writers' summaries merge."""

from __future__ import annotations

import math
from typing import Any

from localtrack.storage.manifest import decode_float


def _finite_or_none(value: Any) -> float | None:
    """A comparable number (±inf included), or None for NaN and non-numbers."""
    number = decode_float(value)
    if number is None or math.isnan(number):
        return None
    return number


def merge_summary(older: dict[str, Any] | None, newer: dict[str, Any]) -> dict[str, Any]:
    """Merge two summaries of one metric; the later step wins 'last' (ties go to ``newer``)."""
    if not older:
        return dict(newer)
    merged = dict(older)
    if (newer.get("step") or 0) >= (older.get("step") or 0):
        merged["last"] = newer.get("last")
        merged["step"] = newer.get("step")
    for field, pick in (("min", min), ("max", max)):
        values = [v for v in (_finite_or_none(older.get(field)), _finite_or_none(newer.get(field))) if v is not None]
        merged[field] = pick(values) if values else None
    merged["count"] = int(older.get("count") or 0) + int(newer.get("count") or 0)
    return merged


def merge_writer_summaries(writers: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The run's summary: every writer's per-metric summary merged."""
    total: dict[str, dict[str, Any]] = {}
    for writer in writers.values():
        summary = writer.get("summary") if isinstance(writer, dict) else None
        if not isinstance(summary, dict):
            continue
        for key, stats in summary.items():
            if isinstance(stats, dict):
                total[key] = merge_summary(total.get(key), stats)
    return dict(sorted(total.items()))

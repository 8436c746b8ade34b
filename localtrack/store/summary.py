"""Per-metric summaries (last, min, max, count, step) and how writers' summaries merge.

The one rule for ``last`` (docs/FORMAT.md, "Summary semantics"), used by the Python writer
and the shell writer (per seal, :func:`last_index`; across seals and writers,
:func:`merge_summary`) and written in SQL by the index (``LAST_ORDER_SQL``): the point with
the largest ``(step, timestamp)`` wins; at an equal step and timestamp (to the microsecond)
the writer with the larger id wins, and within one writer the point logged later.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from localtrack.storage.manifest import decode_float

# The index's order of a run's points for ``last`` (the same rule): ``ord`` numbers the
# points in (writer id, seal number, row) order, see query/index_refresh.py.
LAST_ORDER_SQL = '(step, "timestamp", ord)'
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


def finite_or_none(value: Any) -> float | None:
    """A comparable number (±inf included), or None for NaN and non-numbers: what a summary's
    min/max hold (they ignore NaN; a metric that only ever was NaN has none)."""
    number = decode_float(value)
    if number is None or math.isnan(number):
        return None
    return number


def last_index(steps: Sequence[int], micros: Sequence[int]) -> int:
    """Index of the ``last`` point among points sorted by step (ties in logging order):
    at the largest step, the latest timestamp; on equal timestamps, the one logged later."""
    best = len(steps) - 1
    top = steps[best]
    index = best - 1
    while index >= 0 and steps[index] == top:
        if micros[index] > micros[best]:
            best = index
        index -= 1
    return best


def iso_from_micros(micros: int) -> str:
    """A point's timestamp (integer microseconds since the epoch) as the manifest spells times."""
    return (_EPOCH + micros * _MICROSECOND).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _micros(value: Any) -> int:
    """Microseconds of a summary's ``timestamp``; -1 when absent or malformed (older manifests)."""
    if not isinstance(value, str) or len(value) > 40:
        return -1
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return -1
    if moment.tzinfo is None:
        return -1
    return (moment - _EPOCH) // _MICROSECOND


def _rank(stats: dict[str, Any]) -> tuple[int, int]:
    step = stats.get("step")
    return (step if type(step) is int else -1, _micros(stats.get("timestamp")))


def merge_summary(older: dict[str, Any] | None, newer: dict[str, Any]) -> dict[str, Any]:
    """Merge two summaries of one metric. ``last`` is the later ``(step, timestamp)``; on a
    tie ``newer`` wins (a later seal of one writer, or the writer with the larger id)."""
    if not older:
        return dict(newer)
    merged = dict(older)
    if _rank(newer) >= _rank(older):
        merged["last"] = newer.get("last")
        merged["step"] = newer.get("step")
        if "timestamp" in newer:
            merged["timestamp"] = newer["timestamp"]
        else:
            merged.pop("timestamp", None)
    for field, pick in (("min", min), ("max", max)):
        values = [v for v in (finite_or_none(older.get(field)), finite_or_none(newer.get(field))) if v is not None]
        merged[field] = pick(values) if values else None
    merged["count"] = int(older.get("count") or 0) + int(newer.get("count") or 0)
    return merged


def merge_writer_summaries(writers: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The run's summary: every writer's per-metric summary merged, in writer-id order."""
    total: dict[str, dict[str, Any]] = {}
    for _writer_id, writer in sorted(writers.items(), key=lambda item: str(item[0])):
        summary = writer.get("summary") if isinstance(writer, dict) else None
        if not isinstance(summary, dict):
            continue
        for key, stats in summary.items():
            if isinstance(stats, dict):
                total[key] = merge_summary(total.get(key), stats)
    return dict(sorted(total.items()))

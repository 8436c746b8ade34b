"""Per-metric summaries (last, min, max, count, step, sum, nans) and how writers' summaries merge.

The one rule for ``last`` (docs/FORMAT.md, "Summary semantics"), used by the Python writer
and the shell writer (per seal, :func:`last_index`; across seals and writers,
:func:`merge_summary`) and written in SQL by the index (``LAST_ORDER_SQL``): the point with
the largest ``(step, timestamp)`` wins; at an equal step and timestamp (to the microsecond)
the writer with the larger id wins, and within one writer the point logged later.

``sum`` (of the non-NaN values) and ``nans`` (how many values were NaN) give the mean,
``sum / (count - nans)``, without the points: a reader need not open a finished run's
segments to show its means. A summary from a writer that did not record them (older
localtrack) merges into one without them: a mean is never made from a partial sum.
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


def arrow_sum(values: Any, pool: Any = None) -> dict[str, Any]:
    """``{"sum", "nans"}`` of one seal's Arrow column of doubles (once per seal, never per
    ``log()``; one kernel pass when no value is NaN, the common case)."""
    import pyarrow.compute as pc

    total = pc.sum(values, memory_pool=pool).as_py()
    if total is None:
        return {"sum": 0.0, "nans": 0}
    if total == total:  # a NaN anywhere would have made the sum NaN
        return {"sum": float(total), "nans": 0}
    is_nan = pc.is_nan(values, memory_pool=pool)
    nans = pc.sum(is_nan, memory_pool=pool).as_py() or 0
    total = pc.sum(pc.filter(values, pc.invert(is_nan), memory_pool=pool), memory_pool=pool).as_py()
    return {"sum": float(total) if total is not None else 0.0, "nans": int(nans)}


def sums_agree(first: float, second: float, count: int, magnitude: float) -> bool:
    """Whether two sums of the same ``count`` values, added in different orders (the writer
    per seal, Arrow or Python; ``verify`` per segment after compaction), can both be honest:
    each addition errs by at most half an ulp of its running total, so they differ by at most
    ``2 * count * 2**-53 * magnitude`` (the sum of the values' absolute values). When the
    magnitudes overflow, whether a sum overflows depends on the order: nothing to judge."""
    if not math.isfinite(magnitude):
        return True
    if not (math.isfinite(first) and math.isfinite(second)):
        return first == second or (math.isnan(first) and math.isnan(second))
    return abs(first - second) <= 2 * max(count, 1) * 2.0**-53 * magnitude


def recorded_sum(stats: dict[str, Any]) -> float | None:
    """A summary's ``sum`` as a float (a double, or the manifest's text spelling of a
    non-finite one); None when it records none or something else."""
    raw = stats.get("sum")
    return raw if type(raw) is float else decode_float(raw) if type(raw) is str else None


def sum_and_nans(stats: dict[str, Any]) -> tuple[float, int] | None:
    """A summary's (sum, nans), or None when it records none or they are not what a writer
    writes (a hostile manifest: a reader then computes the mean from the points)."""
    nans, count = stats.get("nans"), stats.get("count")
    total = recorded_sum(stats)
    if total is None or type(nans) is not int or type(count) is not int or not 0 <= nans <= count:
        return None
    return total, nans


def mean_of(stats: dict[str, Any]) -> tuple[bool, float | None]:
    """(known, mean of the non-NaN values) from a summary's sum and nans; (False, None)
    when it records no usable sum (the mean must come from the points)."""
    found = sum_and_nans(stats)
    if found is None:
        return False, None
    total, nans = found
    count: int = stats["count"]
    return True, (total / (count - nans) if count > nans else None)


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
    older_sum, newer_sum = sum_and_nans(older), sum_and_nans(newer)
    if older_sum is None or newer_sum is None:
        merged.pop("sum", None)  # one side's points are not in it: no sum at all
        merged.pop("nans", None)
    else:
        merged["sum"] = older_sum[0] + newer_sum[0]
        merged["nans"] = older_sum[1] + newer_sum[1]
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

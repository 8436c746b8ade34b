"""``verify``'s summary check: a manifest's per-metric summary must be what its points say.

The index takes a finished run's summary (last, min, max, count, step, and the mean from
``sum`` and ``nans`` when recorded) from its manifest
rather than re-reading the points, so a summary edited by hand or by a hostile commit would
be shown as the run's metrics. ``verify`` recomputes it from the run's live segments with the
one ``last`` rule (:mod:`localtrack.store.summary`: per seal the point ``last_index`` picks, across seals
and writers :func:`merge_summary`) and names every metric that disagrees.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from localtrack.storage.manifest import decode_float
from localtrack.storage.segments import parse_segment_name
from localtrack.store.summary import (
    arrow_sum,
    finite_or_none,
    iso_from_micros,
    merge_summary,
    recorded_sum,
    sums_agree,
)

SHOWN = 5  # metrics named per run; the rest are counted


def segment_summary(path: Path) -> dict[str, dict[str, Any]]:
    """Per key of one segment: last (with its step and timestamp), min, max (NaN left out), count.

    ``last`` by the one rule, in Arrow: a stable sort by (key, step, timestamp) keeps logging
    order among equal points, so each key's final row is the one ``summary.last_index`` picks."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from localtrack.storage.arrow_columns import read_parquet

    table = read_parquet(path)
    rows = table.num_rows
    if rows == 0:
        return {}
    table = table.take(pc.sort_indices(table, sort_keys=[("key", "ascending"), ("step", "ascending"),
                                                         ("timestamp", "ascending")]))
    keys = table.column("key").combine_chunks()
    ends = pc.indices_nonzero(pc.not_equal(keys.slice(0, rows - 1), keys.slice(1))).to_pylist() if rows > 1 else []
    ends.append(rows - 1)
    lasts = table.take(ends)
    values = table.column("value").combine_chunks()
    micros = pc.cast(lasts.column("timestamp"), pa.int64()).to_pylist()
    summary: dict[str, dict[str, Any]] = {}
    start = 0
    for key, step, at, value, end in zip(lasts.column("key").to_pylist(), lasts.column("step").to_pylist(), micros,
                                         lasts.column("value").to_pylist(), ends, strict=True):
        piece = values.slice(start, end + 1 - start)
        low, high = pc.min_max(piece).values()  # NaN left out unless all NaN
        summary[key] = {"last": value, "min": finite_or_none(low.as_py()), "max": finite_or_none(high.as_py()),
                        "count": end + 1 - start, "step": step, "timestamp": iso_from_micros(at),
                        **arrow_sum(piece), MAGNITUDE: arrow_sum(pc.abs(piece))["sum"]}
        start = end + 1
    return summary


# The sum of the values' magnitudes, kept beside each recomputed sum: it bounds how far two
# honest sums of the same points (added in another order: the writer per seal, verify per
# segment after compaction) can differ.
MAGNITUDE = "_magnitude"


def points_summary(segments: list[Path]) -> dict[str, dict[str, Any]]:
    """The run's summary from its live segments, merged in (writer id, seal) order."""
    ordered = []
    for path in segments:
        name = parse_segment_name(path.name)
        if name is not None:
            ordered.append(((name.writer, path.name), path))
    total: dict[str, dict[str, Any]] = {}
    for _, path in sorted(ordered):
        for key, stats in segment_summary(path).items():
            magnitude = stats.pop(MAGNITUDE)
            merged = merge_summary(total.get(key), stats)
            merged[MAGNITUDE] = (total[key][MAGNITUDE] if key in total else 0.0) + magnitude
            total[key] = merged
    return total


def _same_sum(stats: dict[str, Any], truth: dict[str, Any]) -> bool:
    """Whether a recorded sum is the points' sum, up to the rounding of another order of
    addition (:func:`summary.sums_agree`)."""
    total = recorded_sum(stats)
    if total is None:
        return False
    return sums_agree(total, float(truth["sum"]), int(truth["count"]), float(truth.get(MAGNITUDE, 0.0)))


def _same_number(recorded: Any, computed: float | None) -> bool:
    number = decode_float(recorded) if recorded is not None else None
    if number is None or computed is None:
        return number is None and computed is None
    return number == computed or (math.isnan(number) and math.isnan(computed))


def summary_mismatches(recorded: Any, computed: dict[str, dict[str, Any]]) -> list[str]:
    """One phrase per metric whose recorded summary differs from ``computed`` (sorted by key)."""
    if not isinstance(recorded, dict):
        return [] if not computed else ["the manifest has no summary"]
    problems = []
    for key in sorted(set(recorded) | set(computed), key=str):
        stats, truth = recorded.get(key), computed.get(key)
        label = repr(str(key)[:80])
        if truth is None:
            problems.append(f"{label} is summarized but has no points")
            continue
        if not isinstance(stats, dict):
            problems.append(f"{label} has points but no summary")
            continue
        wrong = [field for field in ("last", "min", "max") if not _same_number(stats.get(field), truth[field])]
        wrong += [field for field in ("count", "step") if stats.get(field) != truth[field]]
        if "timestamp" in stats and stats["timestamp"] != truth["timestamp"]:
            wrong.append("timestamp")
        if "sum" in stats or "nans" in stats:  # older writers recorded neither: nothing to check
            wrong += [] if _same_sum(stats, truth) else ["sum"]
            wrong += [] if stats.get("nans") == truth["nans"] and type(stats.get("nans")) is int else ["nans"]
        if wrong:
            problems.append(f"{label} ({', '.join(wrong)})")
    return problems


def describe(problems: list[str]) -> str:
    """The finding's message: the first few metrics named, the rest counted."""
    named = "; ".join(problems[:SHOWN])
    more = f"; and {len(problems) - SHOWN} more" if len(problems) > SHOWN else ""
    return (f"the manifest's summary does not match the run's points: {named}{more} "
            "(the manifest was edited; listings show the manifest's values)")

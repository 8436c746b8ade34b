"""The in-memory metric buffer and its conversion to a sealed long-format table.

Calls are grouped by their key tuple ("signature"): a training loop logs the same keys step
after step, so one block holds a row-major matrix of values (one row per call) plus the step
and time of each call. The hot path costs two list comparisons (keys, value types) and three
list appends per call (Python lists: ``list.extend`` of a dict's values is ten times faster
than ``array.array.extend``); sealing converts each block's values to doubles once, cuts them
into columns with strided ``array`` copies, and hands the Parquet writer one chunk per key.

Logging order across blocks is kept with ``runs``: each time the caller switches to another
block, the block notes (its call index, the buffer's global call index). Rows of one key that
came from several blocks are sorted by (step, global call index), so within one step they are
in logging order, as docs/FORMAT.md promises.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from typing import Any

from localtrack.storage.parquet_lite import KeyedColumns
from localtrack.store.summary import arrow_sum, finite_or_none, iso_from_micros, last_index


@dataclass
class Block:
    """All buffered calls that logged exactly the keys ``keys`` (in this order)."""

    keys: tuple[str, ...]
    values: list[Any] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    runs: list[tuple[int, int]] = field(default_factory=list)  # (index in block, global call index)
    # The value types of the last plain dict validated into this block, and which of its keys
    # held ints: a call with the same keys and types needs only the int range check.
    type_list: list[type] | None = None
    int_keys: tuple[str, ...] = ()
    # Set from ``keys``: what log()'s first test compares a call's keys with ([*dict] == list
    # is the cheapest ordered comparison), and the points one call adds.
    key_list: list[str] = field(init=False)
    width: int = field(init=False)

    def __post_init__(self) -> None:
        self.key_list = list(self.keys)
        self.width = len(self.keys)

    def truncate(self, calls: int) -> None:
        """Back to its first ``calls`` calls: an exception (Ctrl-C) landing between one call's
        appends must not leave values without their step for every later call to inherit."""
        del self.values[calls * self.width:]
        del self.steps[calls:]
        del self.times[calls:]


SMALL_SEAL_POINTS = 20_000  # below this, plain Python beats Arrow kernels' per-call overhead


def _global_order(block: Block, calls: int) -> list[int]:
    """The buffer-wide call index of each of the block's first ``calls`` calls."""
    order: list[int] = []
    runs = block.runs or [(0, 0)]
    for index, (start, first) in enumerate(runs):
        if start >= calls:
            break
        end = runs[index + 1][0] if index + 1 < len(runs) else calls
        order.extend(range(first, first + min(end, calls) - start))
    return order


def build_table_and_summary(blocks: list[Block], steps_ordered: bool) -> tuple[Any, dict[str, dict[str, Any]]]:
    """The sealed table (sorted by key, then step, then logging order) and its per-key summary.

    The summary (per key: last, min, max, count, step) is computed from the columns as they
    are built, without a group-by.
    """
    if sum(len(b.values) for b in blocks) <= SMALL_SEAL_POINTS:
        return _build_small(blocks, steps_ordered)
    import pyarrow as pa
    import pyarrow.compute as pc

    from localtrack.storage import arrow_columns as columns_of
    from localtrack.storage.segments import schema

    # The system allocator: mimalloc (pyarrow's default) page-faults its way through the
    # first large seal of a process, tripling its cost. Scoped to our calls, not global.
    pool = pa.system_memory_pool()
    parts: dict[str, list[tuple[Block, int, array[float]]]] = {}
    for block in blocks:
        calls = _complete_calls(block)
        if calls == 0:
            continue
        width = len(block.keys)
        # One conversion of the block's row-major values to doubles, then a C-level strided
        # copy per key: a quarter cheaper than converting a strided list slice per key.
        whole = block.values if len(block.values) == calls * width else block.values[: calls * width]
        flat = array("d", whole)
        for column, key in enumerate(block.keys):
            parts.setdefault(key, []).append((block, calls, flat[column::width]))

    def micros_of(times: list[float]) -> Any:
        """Seconds to int64 microseconds, rounded half to even as Python's ``round`` does."""
        scaled = pc.multiply(columns_of.float64(times), columns_of.float64_scalar(1e6), memory_pool=pool)
        return pc.cast(pc.round(scaled, memory_pool=pool), pa.int64(), memory_pool=pool)

    columns: list[list[Any]] = [[], [], []]  # step, microsecond, value arrays per key, in key order
    summary: dict[str, dict[str, Any]] = {}
    shared: dict[int, tuple[Any, Any]] = {}  # per block: its steps and times, converted once for all its keys
    for key in sorted(parts):
        pieces = parts[key]
        if len(pieces) == 1:  # the usual case: steps and times are shared by the block's keys
            block, calls, values = pieces[0]
            if id(block) not in shared:
                shared[id(block)] = (columns_of.int64(block.steps[:calls]), micros_of(block.times[:calls]))
            step_array, time_array = shared[id(block)]
        else:
            steps, times, values = [], [], array("d")
            for block, calls, piece in pieces:
                steps.extend(block.steps[:calls])
                times.extend(block.times[:calls])
                values.extend(piece)
            step_array = columns_of.int64(steps)
            time_array = micros_of(times)
        value_array = columns_of.float64(values)
        if len(pieces) > 1 or not steps_ordered:
            sort_keys = {"step": step_array}
            if len(pieces) > 1:
                order: list[int] = []
                for block, calls, _ in pieces:
                    order.extend(_global_order(block, calls))
                sort_keys["order"] = columns_of.int64(order)
            indices = pc.sort_indices(pa.Table.from_arrays(list(sort_keys.values()), names=list(sort_keys)), sort_keys=[(k, "ascending") for k in sort_keys], memory_pool=pool)
            step_array, time_array, value_array = (pc.take(a, indices, memory_pool=pool) for a in (step_array, time_array, value_array))
        count = len(step_array)
        extremes = pc.min_max(value_array, memory_pool=pool)
        last, last_micros = _arrow_last(step_array, time_array)
        summary[key] = {
            "last": value_array[last].as_py(),
            "min": finite_or_none(extremes["min"].as_py()),
            "max": finite_or_none(extremes["max"].as_py()),
            "count": count,
            "step": step_array[last].as_py(),
            "timestamp": iso_from_micros(last_micros),
            **arrow_sum(value_array, pool),
        }
        columns[0].append(step_array)
        columns[1].append(time_array)
        columns[2].append(value_array)

    if not parts:
        return columns_of.empty_table(schema()), summary
    # Columns of one chunk per key, not concatenated: the Parquet writer reads the chunks in
    # turn, so a copy of every column (and the shared step/time arrays repeated) is saved.
    names = columns_of.strings(sorted(parts))
    key_chunks = [pa.repeat(names[index], len(steps), memory_pool=pool) for index, steps in enumerate(columns[0])]
    stamp = pa.timestamp("us", tz="UTC")
    table = pa.Table.from_arrays(
        [
            pa.chunked_array(columns[0], pa.int64()),
            pa.chunked_array([pc.cast(micros, stamp, memory_pool=pool) for micros in columns[1]], stamp),
            pa.chunked_array(key_chunks, pa.string()),
            pa.chunked_array(columns[2], pa.float64()),
        ],
        schema=schema(),
    )
    return table, summary


def _arrow_last(step_array: Any, micros_array: Any) -> tuple[int, int]:
    """:func:`last_index` over Arrow columns (step-sorted; times in microseconds), and that
    point's microseconds; only the run of points at the last step is converted to Python."""
    import pyarrow.compute as pc

    count = len(step_array)
    top = step_array[count - 1].as_py()
    start = count - 1
    if count > 1 and step_array[count - 2].as_py() == top:
        start = pc.index(step_array, top).as_py()
    micros = micros_array[start:].to_pylist()
    best = last_index(step_array[start:].to_pylist(), micros)
    return start + best, micros[best]


def _complete_calls(block: Block) -> int:
    """How many of the block's calls were appended whole.

    A call interrupted mid-append (a signal between two appends) never returned: it is
    dropped. A block of no keys holds nothing to seal.
    """
    width = len(block.keys)
    if width == 0:
        return 0
    return min(len(block.steps), len(block.times), len(block.values) // width)


def _build_small(blocks: list[Block], steps_ordered: bool) -> tuple[Any, dict[str, dict[str, Any]]]:
    """:func:`build_table_and_summary` for a small buffer: :func:`small_columns` as an Arrow
    table (short runs seal a few hundred points; kernels cost more than that).
    Same rows, same order, same summary as the Arrow path."""
    columns, summary = small_columns(blocks, steps_ordered)
    return columns.to_table(), summary


def small_columns(blocks: list[Block], steps_ordered: bool) -> tuple[KeyedColumns, dict[str, dict[str, Any]]]:
    """The sealed rows and summary of :func:`build_table_and_summary`, as plain Python columns
    (no pyarrow: ``storage.parquet_lite`` writes them), for any size of buffer.

    C-level work per point (one conversion of a block's values to doubles, a strided copy per
    key, min() and max() over it); Python work per call only for the times (once per block,
    shared by its keys), and per row only where rows of one key must be sorted. The columns
    stay one piece per key (a block's keys share its steps and times arrays): nothing is
    concatenated, and the writer encodes a shared page once."""
    # key -> pieces of (steps, micros, values, global call order) from each block holding it
    parts: dict[str, list[tuple[array[int], array[int], array[float], list[int] | None]]] = {}
    for block in blocks:
        calls = _complete_calls(block)
        if calls == 0:
            continue
        width = len(block.keys)
        # One conversion of the block's row-major values to doubles (ints here are exact in
        # float64: log() checked), then a C-level strided copy per key.
        flat = array("d", block.values if len(block.values) == calls * width else block.values[: calls * width])
        steps = array("q", block.steps if len(block.steps) == calls else block.steps[:calls])
        times = block.times if len(block.times) == calls else block.times[:calls]
        micros = array("q", [round(t * 1e6) for t in times])  # half to even, as the Arrow path
        order = _global_order(block, calls) if len(blocks) > 1 else None
        for column, key in enumerate(block.keys):
            parts.setdefault(key, []).append((steps, micros, flat[column::width] if width > 1 else flat, order))
    columns = KeyedColumns()
    summary: dict[str, dict[str, Any]] = {}
    for key in sorted(parts):
        pieces = parts[key]
        if len(pieces) == 1 and steps_ordered:
            steps, micros, values, _ = pieces[0]
        else:  # rows of this key from several blocks, or steps logged out of order
            rows: list[tuple[int, int, int, float]] = []
            for piece_steps, piece_micros, piece_values, order in pieces:
                ranks = order if order is not None else range(len(piece_steps))
                rows.extend(zip(piece_steps, ranks, piece_micros, piece_values, strict=True))
            rows.sort(key=lambda row: (row[0], row[1]))  # by step, then logging order
            steps = array("q", [row[0] for row in rows])
            micros = array("q", [row[2] for row in rows])
            values = array("d", [row[3] for row in rows])
        last = last_index(steps, micros)
        low: float | None = min(values)  # a NaN first makes either NaN: then leave NaNs out
        high: float | None = max(values)
        if low != low or high != high:
            finite = [v for v in values if v == v]
            low, high = (min(finite), max(finite)) if finite else (None, None)
        total, nans = sum(values, 0.0), 0
        if total != total:  # a NaN among the values (or inf + -inf): sum the others, count NaNs
            finite = [v for v in values if v == v]
            total, nans = sum(finite, 0.0), len(values) - len(finite)
        summary[key] = {
            "last": values[last],
            "min": low,
            "max": high,
            "count": len(values),
            "step": steps[last],
            "timestamp": iso_from_micros(micros[last]),
            "sum": total,
            "nans": nans,
        }
        columns.keys.append(key)
        columns.pieces.append((steps, micros, values))
    return columns, summary

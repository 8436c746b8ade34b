"""The in-memory metric buffer and its conversion to a sealed long-format table.

Calls are grouped by their key tuple ("signature"): a training loop logs the same keys step
after step, so one block holds a row-major matrix of values (one row per call) plus the step
and time of each call. The hot path then costs one dict lookup and three list appends per
call, and sealing turns each block into columns with a few Arrow kernels instead of a
per-point Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Block:
    """All buffered calls that logged exactly the keys ``keys`` (in this order)."""

    keys: tuple[str, ...]
    values: list[Any] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    times: list[float] = field(default_factory=list)


def build_table(blocks: list[Block], steps_ordered: bool) -> Any:
    """One table of (step, timestamp, key, value) rows, sorted by key then step.

    Within a key, rows keep the order they were logged in; when steps were not logged in
    increasing order (``steps_ordered`` False) rows are sorted by step, stably.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from localtrack.storage.segments import schema

    # The system allocator: mimalloc (pyarrow's default) page-faults its way through the
    # first large seal of a process, tripling its cost. Scoped to our calls, not global.
    pool = pa.system_memory_pool()
    pieces: dict[str, list[tuple[Any, Any, Any]]] = {}
    for block in blocks:
        width = len(block.keys)
        # A call interrupted mid-append (a signal between two appends) never returned: drop it.
        calls = min(len(block.steps), len(block.times), len(block.values) // width)
        if calls == 0:
            continue
        if calls < len(block.steps) or calls * width < len(block.values):
            del block.steps[calls:], block.times[calls:], block.values[calls * width :]
        steps = pa.array(block.steps, pa.int64(), memory_pool=pool)
        seconds = pa.array(block.times, pa.float64(), memory_pool=pool)
        micros = pc.cast(pc.round(pc.multiply(seconds, 1e6, memory_pool=pool), memory_pool=pool), pa.int64(), memory_pool=pool)
        times = pc.cast(micros, pa.timestamp("us", tz="UTC"), memory_pool=pool)
        values = pa.array(block.values, pa.float64(), memory_pool=pool)
        matrix = pa.FixedSizeListArray.from_arrays(values, width)
        for column, key in enumerate(block.keys):
            pieces.setdefault(key, []).append((steps, times, pc.list_element(matrix, column, memory_pool=pool)))
    columns: list[list[Any]] = [[], [], [], []]
    for key in sorted(pieces):
        parts = pieces[key]
        steps = pa.concat_arrays([p[0] for p in parts], memory_pool=pool)
        times = pa.concat_arrays([p[1] for p in parts], memory_pool=pool)
        values = pa.concat_arrays([p[2] for p in parts], memory_pool=pool)
        if len(parts) > 1 or not steps_ordered:
            order = pc.sort_indices(steps, memory_pool=pool)  # stable
            steps, times, values = (pc.take(a, order, memory_pool=pool) for a in (steps, times, values))
        columns[0].append(steps)
        columns[1].append(times)
        columns[2].append(pa.repeat(pa.scalar(key, pa.string()), len(steps), memory_pool=pool))
        columns[3].append(values)
    arrays = [pa.concat_arrays(c, memory_pool=pool) if c else pa.array([], t) for c, t in zip(columns, schema().types, strict=True)]
    return pa.Table.from_arrays(arrays, schema=schema())

"""The small-buffer (pure Python) and large-buffer (Arrow kernels) seal paths agree exactly
(the recorded sum: up to the rounding of another order of addition)."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from localtrack.store import buffer
from localtrack.store.buffer import Block
from localtrack.store.summary import sums_agree

KEYS = ("a", "b/c", "z", "é")
values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, math.nan, math.inf, -math.inf, 1e308]),
    st.integers(-(2**53), 2**53),  # log()'s fast path buffers exact ints as they are
)


@st.composite
def buffers(draw: st.DrawFn) -> tuple[list[Block], bool]:
    """Blocks as the writer builds them: calls switching between key sets, steps maybe unordered."""
    blocks: dict[tuple[str, ...], Block] = {}
    calls = draw(st.integers(1, 40))
    ordered = True
    last_step = -1
    last_keys: tuple[str, ...] | None = None
    for total in range(calls):
        keys = tuple(draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=4, unique=True)))
        step = draw(st.integers(0, 50))
        ordered = ordered and step >= last_step
        last_step = max(last_step, step)
        block = blocks.get(keys)
        if block is None:
            block = blocks[keys] = Block(keys)
        if keys != last_keys:  # switching blocks: note where this run of calls starts (as the writer does)
            block.runs.append((len(block.steps), total))
        block.values.extend(draw(values) for _ in keys)
        block.steps.append(step)
        block.times.append(1_700_000_000 + draw(st.floats(0, 1e6)))
        last_keys = keys
    return list(blocks.values()), ordered


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    return a == b


@settings(max_examples=150, deadline=None)
@given(buffers())
def test_small_and_arrow_paths_build_the_same_table_and_summary(data: tuple[list[Block], bool]) -> None:
    blocks, ordered = data
    small_table, small_summary = buffer._build_small(blocks, ordered)
    saved = buffer.SMALL_SEAL_POINTS
    buffer.SMALL_SEAL_POINTS = -1
    try:
        big_table, big_summary = buffer.build_table_and_summary(blocks, ordered)
    finally:
        buffer.SMALL_SEAL_POINTS = saved
    assert small_table.schema == big_table.schema
    for column in ("step", "timestamp", "key"):
        assert small_table.column(column).to_pylist() == big_table.column(column).to_pylist()
    small_values = small_table.column("value").to_pylist()
    big_values = big_table.column("value").to_pylist()
    assert all(_same(x, y) for x, y in zip(small_values, big_values, strict=True))
    assert small_summary.keys() == big_summary.keys()
    keys = small_table.column("key").to_pylist()
    for key, stats in small_summary.items():
        points = [v for k, v in zip(keys, small_values, strict=True) if k == key and v == v]
        magnitude = sum(abs(v) for v in points)
        # the sum of the non-NaN values: the same up to the rounding of another order of
        # addition (Arrow sums pairwise, Python left to right)
        assert stats["nans"] == big_summary[key]["nans"] == stats["count"] - len(points)
        assert sums_agree(stats["sum"], big_summary[key]["sum"], len(points), magnitude)
        exact = math.fsum(points) if math.isfinite(magnitude) else sum(points)
        assert sums_agree(stats["sum"], exact, len(points), magnitude)
        for field, value in stats.items():
            if field == "sum":
                continue
            other = big_summary[key][field]
            assert _same(value, other) or (field in ("min", "max") and value == other), (key, field, value, other)

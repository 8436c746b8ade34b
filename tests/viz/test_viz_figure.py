"""The figure model and its pure helpers: LTTB downsampling and sparklines."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localtrack.viz.figure import (
    SPARK_BLOCKS,
    Dimension,
    Figure,
    ParallelData,
    Series,
    downsample,
    sparkline,
)

NAN, INF = float("nan"), float("inf")


def test_downsample_keeps_endpoints_and_bound() -> None:
    x = [float(i) for i in range(10_000)]
    y = [math.sin(i / 50) for i in range(10_000)]
    dx, dy = downsample(x, y, 500)
    assert len(dx) == len(dy) == 500
    assert (dx[0], dy[0]) == (x[0], y[0])
    assert (dx[-1], dy[-1]) == (x[-1], y[-1])
    assert all(a < b for a, b in itertools.pairwise(dx))


def test_downsample_keeps_a_spike() -> None:
    y = [0.0] * 5000
    y[2345] = 100.0
    _, dy = downsample([float(i) for i in range(5000)], y, 50)
    assert 100.0 in dy


def test_downsample_short_input_is_returned_whole() -> None:
    assert downsample([1, 2, 3], [4, 5, 6], 10) == ([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])
    assert downsample([], [], 10) == ([], [])


def test_downsample_drops_non_finite_and_keeps_finite_endpoints() -> None:
    x = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, NAN, 7.0]
    y = [NAN, 1.0, INF, 3.0, -INF, 5.0, 6.0, 7.0]
    dx, dy = downsample(x, y, 3)
    assert dx[0] == 1.0 and dx[-1] == 7.0
    assert all(math.isfinite(v) for v in dx + dy)
    assert downsample([0.0, 1.0], [NAN, NAN], 5) == ([], [])


@pytest.mark.parametrize("k", [1, 2, 3])
def test_downsample_tiny_budgets(k: int) -> None:
    x = [float(i) for i in range(100)]
    dx, _ = downsample(x, x, k)
    assert len(dx) == k
    assert dx[0] == 0.0
    if k > 1:
        assert dx[-1] == 99.0


def test_downsample_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        downsample([1.0], [1.0], 0)
    with pytest.raises(ValueError):
        downsample([1.0, 2.0], [1.0], 5)


@given(
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=0, max_size=300),
    st.integers(min_value=1, max_value=60),
)
def test_downsample_properties(ys: list[float], k: int) -> None:
    xs = [float(i) for i in range(len(ys))]
    dx, dy = downsample(xs, ys, k)
    finite = [(x, y) for x, y in zip(xs, ys, strict=True) if math.isfinite(y)]
    assert len(dx) == len(dy) == min(k, len(finite))
    # A subsequence: x stays strictly increasing and every point is an input point.
    assert all(a < b for a, b in itertools.pairwise(dx))
    assert set(zip(dx, dy, strict=True)) <= set(finite)
    if finite:
        assert (dx[0], dy[0]) == finite[0]
        if k > 1:
            assert (dx[-1], dy[-1]) == finite[-1]


@pytest.mark.parametrize(
    ("values", "width", "expected"),
    [
        ([], 12, ""),
        ([1.0, 2.0], 0, ""),
        ([5.0, 5.0, 5.0], 4, "▄▄▄▄"),
        ([NAN, NAN], 3, "   "),
        ([0.0, 7.0], 2, "▁█"),
        ([0.0, NAN, 7.0], 3, "▁ █"),
        ([0.0, INF, 7.0], 3, "▁ █"),
        ([1.0], 3, "▄▄▄"),
        (list(range(8)), 8, SPARK_BLOCKS),
    ],
)
def test_sparkline_cases(values: list[float], width: int, expected: str) -> None:
    assert sparkline(values, width) == expected


def test_sparkline_resamples_to_width() -> None:
    line = sparkline([float(i) for i in range(1000)], 12)
    assert len(line) == 12
    assert line[0] == "▁" and line[-1] == "█"
    assert list(line) == sorted(line, key=SPARK_BLOCKS.index)


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True)), st.integers(0, 40))
def test_sparkline_never_crashes(values: list[float], width: int) -> None:
    line = sparkline(values, width)
    assert len(line) == (width if values and width > 0 else 0)
    assert set(line) <= set(SPARK_BLOCKS + " ")


def test_model_validation() -> None:
    with pytest.raises(ValueError):
        Series("a", "r", "m", [1.0], [])
    with pytest.raises(ValueError):
        Figure("t", "pie")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ParallelData([Dimension("lr", [0.1])], ["a", "b"])
    with pytest.raises(ValueError):
        Dimension("lr", [], "ordinal")  # type: ignore[arg-type]


def test_model_helpers() -> None:
    s = Series("a", "r", "loss", [0, 1, 2, 3], [1.0, NAN, INF, 2.0])
    assert s.finite_points() == [(0, 1.0), (3, 2.0)]
    fig = Figure("t", series=[s, Series("b", "r2", "acc", [], []), s])
    assert fig.metrics() == ["loss", "acc"]
    par = ParallelData([Dimension("lr", [1.0]), Dimension("acc", [0.5])], ["a"])
    assert par.color_dimension() is par.dimensions[-1]
    par.color_metric = "lr"
    assert par.color_dimension() is par.dimensions[0]
    assert Figure("b", "bar", bars=[("a", "m", 1)]).bars == [("a", "m", 1.0)]

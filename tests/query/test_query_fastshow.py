"""The trend cells ``show`` keeps instead of a run's points draw the very sparkline the points
draw (``viz.figure.sparkline``), whatever the values and the width."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from localtrack.query.run_details import trend_cells, trend_points
from localtrack.viz.figure import sparkline

VALUES = st.lists(
    st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -0.0, 1.0, 1e308, -1e308]),
              st.floats(min_value=0.1, max_value=0.1 + 1e-12)),
    max_size=200)


@given(VALUES, st.integers(min_value=1, max_value=40))
def test_trend_cells_draw_the_sparkline_of_the_values(values: list[float], width: int) -> None:
    cells = trend_cells(values, width)
    assert len(cells) == min(len(values), width)
    assert sparkline(cells, width) == sparkline(values, width)


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=32), min_size=1, max_size=60),
       st.integers(min_value=1, max_value=20))
def test_trend_cells_of_a_constant_or_short_series(values: list[float], width: int) -> None:
    constant = [values[0]] * len(values)
    assert sparkline(trend_cells(constant, width), width) == sparkline(constant, width)
    if len(values) <= width:
        assert trend_cells(values, width) == values


def test_trend_points_are_the_cells_in_step_order() -> None:
    points = trend_points({"a": [1.0, math.nan], "b": [3.0]}).select(["key", "step", "value"]).to_pydict()
    assert points["key"] == ["a", "a", "b"] and points["step"] == [0, 1, 0]
    assert points["value"][0] == 1.0 and math.isnan(points["value"][1]) and points["value"][2] == 3.0

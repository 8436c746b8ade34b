"""A constant metric draws a flat sparkline, whatever the constant and however it is bucketed.

The bug: 26 steps of ``loss = 0.1`` drew ``▁█▁█`` in ``ls``, because a bucket mean came out one
ulp off and the one-ulp range was stretched to full height.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

import localtrack
from localtrack.viz.figure import SPARK_BLOCKS, sparkline

sys.path.insert(0, str(Path(__file__).parents[1] / "cli"))
from cli_views_support import invoke

FLAT = SPARK_BLOCKS[(len(SPARK_BLOCKS) - 1) // 2]
finite = st.floats(allow_nan=False, allow_infinity=False)
widths = st.integers(1, 40)


def test_the_reported_case_is_flat() -> None:
    assert sparkline([0.1] * 26, 4) == FLAT * 4


@given(finite, st.integers(1, 500), widths)
def test_any_constant_is_flat(value: float, n: int, width: int) -> None:
    assert sparkline([value] * n, width) == FLAT * width


@given(st.sampled_from([0.1, 1e-300, 5e-324, -0.3, 1.7976931348623157e308, -1.7976931348623157e308, 3.3]),
       st.integers(1, 2000), widths)
def test_awkward_constants_are_flat(value: float, n: int, width: int) -> None:
    assert sparkline([value] * n, width) == FLAT * width


@given(finite.filter(lambda v: 1e-290 < abs(v) < 1e308), st.lists(st.integers(-4, 4), min_size=1, max_size=300), widths)
def test_float_noise_around_a_constant_is_flat(value: float, ulps: list[int], width: int) -> None:
    """A few ulps either side (0.1 + 0.2 vs 0.3, summation order): noise, not a trend."""
    noisy = []
    for k in ulps:
        v = value
        for _ in range(abs(k)):
            v = math.nextafter(v, math.inf if k > 0 else -math.inf)
        noisy.append(v)
    assert sparkline(noisy, width) == FLAT * width


@given(finite.filter(lambda v: abs(v) < 1e300), st.floats(1e-6, 1e6), st.integers(2, 300), st.integers(2, 40))
def test_a_real_rise_still_rises(start: float, relative_step: float, n: int, width: int) -> None:
    scale = max(abs(start), 1e-300)
    values = [start + i * relative_step * scale for i in range(n)]
    line = sparkline(values, width)
    assert line[0] == SPARK_BLOCKS[0] and line[-1] == SPARK_BLOCKS[-1]
    assert list(line) == sorted(line, key=SPARK_BLOCKS.index)


def test_nan_cells_stay_blank_in_a_flat_line() -> None:
    assert sparkline([0.1, math.nan, 0.1], 3) == f"{FLAT} {FLAT}"


def test_ls_draws_a_constant_metric_flat(tmp_path: Path, capsys, monkeypatch) -> None:
    """Through the real path: DuckDB averages the buckets, ``ls`` draws them."""
    store = tmp_path / ".localtrack"
    run = localtrack.init(dir=store, name="const")
    for step in range(26):
        run.log({"loss": 0.1, "lr": 1e-300}, step=step)
    run.finish()
    r = invoke(["ls", "--store", str(store)], capsys, monkeypatch, width=200)
    assert r.code == 0, r.err
    (row,) = [line for line in r.out.splitlines() if "const" in line]
    drawn = {ch for ch in row if ch in SPARK_BLOCKS}
    assert drawn == {FLAT}, row

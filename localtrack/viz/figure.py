"""What to draw, independent of where: the data model shared by the HTML and terminal renderers.

The read path builds a `Figure`; `localtrack.viz.html` and `localtrack.cli.terminal_plot` draw
it. Kept to the stdlib so a figure can be built and tested without rich or a browser. Also holds
the two pure helpers both renderers need: LTTB `downsample` and `sparkline`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Union

from localtrack.errors import InvalidArgumentError

PlotType = Literal["line", "scatter", "bar", "parallel"]
DimensionKind = Literal["number", "category"]
DimensionValue = Union[float, str, None]
PLOT_TYPES: tuple[str, ...] = ("line", "scatter", "bar", "parallel")
SPARK_BLOCKS = "▁▂▃▄▅▆▇█"


@dataclass
class Series:
    """One run's metric against an x quantity (step, seconds, epoch or another metric).

    `y` (and `x`) may hold NaN/inf: renderers skip those points rather than fail.
    """

    label: str
    run_id: str
    metric: str
    x: list[float]
    y: list[float]

    def __post_init__(self) -> None:
        if len(self.x) != len(self.y):
            raise InvalidArgumentError(
                f"series {self.label!r}: x has {len(self.x)} values, y has {len(self.y)}"
            )

    def finite_points(self) -> list[tuple[float, float]]:
        """The drawable points: both coordinates finite numbers."""
        return [(a, b) for a, b in zip(self.x, self.y, strict=True) if _finite(a) and _finite(b)]


@dataclass
class Dimension:
    """One axis of a parallel-coordinates plot: a param or the metric, one value per run."""

    name: str
    values: list[DimensionValue]
    kind: DimensionKind = "number"

    def __post_init__(self) -> None:
        if self.kind not in ("number", "category"):
            raise InvalidArgumentError(f"dimension {self.name!r}: unknown kind {self.kind!r}")


@dataclass
class ParallelData:
    """Runs × dimensions; the last dimension is normally the metric runs are coloured by."""

    dimensions: list[Dimension]
    runs: list[str]
    color_metric: str | None = None

    def __post_init__(self) -> None:
        for dim in self.dimensions:
            if len(dim.values) != len(self.runs):
                raise InvalidArgumentError(
                    f"dimension {dim.name!r} has {len(dim.values)} values for {len(self.runs)} runs"
                )

    def color_dimension(self) -> Dimension | None:
        """The dimension that colours the lines: `color_metric` if named, else the last one."""
        for dim in self.dimensions:
            if dim.name == self.color_metric:
                return dim
        return self.dimensions[-1] if self.dimensions else None


@dataclass
class Figure:
    """Everything a renderer needs: the plot type and the data for that type."""

    title: str
    plot_type: PlotType = "line"
    x_label: str = "step"
    y_label: str = "value"
    series: list[Series] = field(default_factory=list)
    parallel: ParallelData | None = None
    bars: list[tuple[str, str, float]] | None = None

    def __post_init__(self) -> None:
        if self.plot_type not in PLOT_TYPES:
            raise InvalidArgumentError(f"unknown plot type {self.plot_type!r}; expected one of {PLOT_TYPES}")
        if self.bars is not None:
            self.bars = [(str(b[0]), str(b[1]), float(b[2])) for b in self.bars]

    def metrics(self) -> list[str]:
        """Distinct metrics in first-seen order: one panel each when there are several."""
        seen: dict[str, None] = {}
        for s in self.series:
            seen.setdefault(s.metric, None)
        for _, metric, _ in self.bars or []:
            seen.setdefault(metric, None)
        return list(seen)


def _finite(v: object) -> bool:
    """True for a finite real number (numpy scalars included); False for NaN, inf, None, str."""
    try:
        return math.isfinite(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def downsample(
    x: Sequence[float], y: Sequence[float], max_points: int
) -> tuple[list[float], list[float]]:
    """Reduce a series to at most `max_points` points with largest-triangle-three-buckets.

    LTTB keeps the visual shape (peaks survive, unlike plain striding). Non-finite points cannot
    be drawn so they are dropped first; the first and last finite points are always kept and the
    result is a subsequence, so the original x order (monotonic or not) is preserved.
    """
    if max_points < 1:
        raise InvalidArgumentError(f"max_points must be >= 1, got {max_points}")
    if len(x) != len(y):
        raise InvalidArgumentError(f"x has {len(x)} values, y has {len(y)}")
    pts = [(float(a), float(b)) for a, b in zip(x, y, strict=True) if _finite(a) and _finite(b)]
    n = len(pts)
    if n <= max_points:
        return [p[0] for p in pts], [p[1] for p in pts]
    if max_points == 1:
        return [pts[0][0]], [pts[0][1]]
    if max_points == 2:
        return [pts[0][0], pts[-1][0]], [pts[0][1], pts[-1][1]]
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    out_x, out_y = [xs[0]], [ys[0]]
    every = (n - 2) / (max_points - 2)
    a = 0
    for i in range(max_points - 2):
        # Average of the next bucket is the third triangle corner.
        nxt_start = int((i + 1) * every) + 1
        nxt_end = min(int((i + 2) * every) + 1, n)
        span = nxt_end - nxt_start
        avg_x = sum(xs[nxt_start:nxt_end]) / span
        avg_y = sum(ys[nxt_start:nxt_end]) / span
        start = int(i * every) + 1
        end = int((i + 1) * every) + 1
        ax, ay = xs[a], ys[a]
        best, best_area = start, -1.0
        dx, dy = ax - avg_x, avg_y - ay
        for j in range(start, end):
            area = abs(dx * (ys[j] - ay) - (ax - xs[j]) * dy)
            if area > best_area:
                best_area, best = area, j
        out_x.append(xs[best])
        out_y.append(ys[best])
        a = best
    out_x.append(xs[-1])
    out_y.append(ys[-1])
    return out_x, out_y


# Cells closer together than this, relative to their magnitude, are one value: bucket means
# carry rounding noise (a one-ulp error turned a constant 0.1 into a full-height zigzag),
# and DuckDB's avg adds more, growing with the bucket's size. 2**-30 ~ 1e-9 is far above that
# noise and far below any change an 8-level bar could show.
FLAT_RELATIVE_SPREAD = 2.0**-30


def _bucket_mean(bucket: list[float]) -> float:
    """The mean of finite ``bucket`` values: exact for a constant bucket, never overflowing."""
    first = bucket[0]
    if all(v == first for v in bucket):
        return first
    return math.fsum(v / len(bucket) for v in bucket)


def _is_flat(lo: float, hi: float) -> bool:
    """Whether the cells' range ``lo..hi`` is float noise around one value."""
    spread = hi / 2 - lo / 2  # halved so that spans near the float64 limit do not overflow
    scale = max(abs(lo), abs(hi)) / 2
    return spread <= scale * FLAT_RELATIVE_SPREAD


def sparkline(values: Sequence[float], width: int = 12) -> str:
    """A `width`-character trend of `values` from ▁▂▃▄▅▆▇█, for tables of runs.

    Longer input is averaged per bucket, shorter input stretched. NaN/inf cells are blank; a
    constant series, or one whose cells differ by float noise only (relative spread at most
    ``FLAT_RELATIVE_SPREAD``), is a flat line; empty input (or width <= 0) gives "".
    """
    if not values or width <= 0:
        return ""
    n = len(values)
    cells: list[float | None] = []
    for i in range(width):
        lo = i * n // width
        hi = max((i + 1) * n // width, lo + 1)
        bucket = [float(v) for v in values[lo:hi] if _finite(v)]
        cells.append(_bucket_mean(bucket) if bucket else None)
    finite = [c for c in cells if c is not None]
    if not finite:
        return " " * width
    lo_v, hi_v = min(finite), max(finite)
    top = len(SPARK_BLOCKS) - 1
    if _is_flat(lo_v, hi_v):
        return "".join(" " if c is None else SPARK_BLOCKS[top // 2] for c in cells)
    out = []
    for c in cells:
        if c is None:
            out.append(" ")
        else:
            out.append(SPARK_BLOCKS[round((c / 2 - lo_v / 2) / (hi_v / 2 - lo_v / 2) * top)])
    return "".join(out)

"""Draw a `Figure` in the terminal: braille line/scatter plots, bar charts, a parallel table.

Why braille: each cell holds a 2×4 dot grid, so a 80-column terminal gives 150+ x positions.
Colour comes from rich styles, but every series also gets its own marker (on its last point
and in the legend), so the plot still reads with colour off or in a log file.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from rich import box
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.constrain import Constrain
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from localtrack.viz.figure import Dimension, Figure, Series, downsample, sparkline
from localtrack.viz.text import printable

MARKERS = "●▲■◆✚✖○△□◇"
COLORS = (
    "cyan",
    "magenta",
    "green",
    "yellow",
    "blue",
    "red",
    "bright_cyan",
    "bright_magenta",
    "bright_green",
    "bright_yellow",
)
EIGHTHS = " ▏▎▍▌▋▊▉█"
MIN_PLOT_WIDTH = 10  # cells of plot area below which we fall back to sparklines
# Braille dot bits, indexed [row][col] within a 2-wide, 4-tall cell.
_DOT = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))


def terminal_plot(fig: Figure, width: int, height: int) -> TerminalPlot:
    """A rich renderable of `fig` at most `width` columns wide and about `height` lines tall."""
    return TerminalPlot(fig, width, height)


@dataclass
class _Key:
    marker: str
    style: str


class TerminalPlot:
    """Renders lazily, so the same object prints identically on any console (colour or not)."""

    def __init__(self, fig: Figure, width: int, height: int) -> None:
        self.fig = fig
        self.width = max(1, int(width))
        self.height = max(1, int(height))

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        w = min(self.width, options.max_width)
        return Measurement(w, w)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = min(self.width, options.max_width)
        yield from self.renderables(width)

    def renderables(self, width: int) -> Iterator[RenderableType]:
        fig = self.fig
        if fig.title:
            yield _crop(Text(printable(fig.title), style="bold"), width)
        if fig.plot_type == "bar":
            yield from _bar_lines(fig, width)
        elif fig.plot_type == "parallel":
            yield from _parallel(fig, width, self.height)
        else:
            yield from _xy_lines(fig, width, self.height - (1 if fig.title else 0))


# ---- line / scatter ------------------------------------------------------------------------


def _keys(labels: Iterable[str]) -> dict[str, _Key]:
    keys: dict[str, _Key] = {}
    for label in labels:
        if label not in keys:
            i = len(keys)
            keys[label] = _Key(MARKERS[i % len(MARKERS)], COLORS[i % len(COLORS)])
    return keys


def _xy_lines(fig: Figure, width: int, height: int) -> Iterator[Text]:
    keys = _keys(s.label for s in fig.series)
    metrics: list[str] = []
    for s in fig.series:
        if s.metric not in metrics:
            metrics.append(s.metric)
    if not metrics:
        yield Text("(no data)", style="dim")
        return
    legend = _legend(keys, width)
    multi = len(metrics) > 1
    per_panel_fixed = 2 + (1 if multi else 0)  # x axis + x labels (+ panel header)
    rows = (height - len(legend) - per_panel_fixed * len(metrics)) // len(metrics)
    rows = max(2, rows)
    for metric in metrics:
        series = [s for s in fig.series if s.metric == metric]
        if multi:
            yield _crop(Text(printable(metric), style="bold"), width)
        yield from _panel(fig, series, keys, width, rows, metric if multi else fig.y_label)
    yield from legend


def _legend(keys: dict[str, _Key], width: int) -> list[Text]:
    lines: list[Text] = []
    line = Text()
    for label, key in keys.items():
        entry = Text.assemble((key.marker, key.style), " ", printable(label))
        if line.cell_len and line.cell_len + 2 + entry.cell_len > width:
            lines.append(_crop(line, width))
            line = Text()
        if line.cell_len:
            line.append("  ")
        line.append_text(entry)
    if line.cell_len:
        lines.append(_crop(line, width))
    return lines


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e6 or a < 1e-3:
        mantissa, exp = f"{v:.2e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exp)}"
    text = f"{v:.4g}"
    return "0" if text == "-0" else text


def _extent(values: list[float]) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    if lo == hi:
        d = abs(lo) * 0.05 or 1.0
        return lo - d, hi + d
    return lo, hi


def _panel(
    fig: Figure, series: list[Series], keys: dict[str, _Key], width: int, rows: int, y_name: str
) -> Iterator[Text]:
    pts = {id(s): s.finite_points() for s in series}
    all_x = [p[0] for ps in pts.values() for p in ps]
    all_y = [p[1] for ps in pts.values() for p in ps]
    if not all_x:
        yield _crop(
            Text(f"{printable(y_name or 'y')}: no finite points to draw", style="dim"), width
        )
        return
    x0, x1 = _extent(all_x) if min(all_x) == max(all_x) else (min(all_x), max(all_x))
    y0, y1 = _extent(all_y)
    ticks = _y_ticks(y0, y1, rows)
    label_w = max(len(t) for t in ticks.values())
    plot_w = width - label_w - 2
    if plot_w < MIN_PLOT_WIDTH:
        yield from _spark_fallback(series, keys, width)
        return
    canvas = _Braille(plot_w, rows)
    for s in series:
        xs, ys = downsample([p[0] for p in pts[id(s)]], [p[1] for p in pts[id(s)]], plot_w * 4)
        if not xs:
            continue
        key = keys[s.label]
        dots = [canvas.to_dot(x, y, x0, x1, y0, y1) for x, y in zip(xs, ys, strict=True)]
        if fig.plot_type == "scatter":
            for c, r in dots:
                canvas.mark(c // 2, r // 4, key)
            continue
        prev = dots[0]
        canvas.dot(*prev, key.style)
        for cur in dots[1:]:
            canvas.line(prev, cur, key.style)
            prev = cur
        canvas.mark(prev[0] // 2, prev[1] // 4, key)
    for r, line in enumerate(canvas.rows()):
        tick = ticks.get(r)
        out = Text((tick or "").rjust(label_w) + (" ┤" if tick else " │"), style="dim")
        out.append_text(line)
        yield out
    yield Text(" " * label_w + " └" + "─" * plot_w, style="dim")
    yield _x_labels(_fmt(x0), _fmt(x1), printable(fig.x_label), label_w + 2, plot_w)


def _y_ticks(y0: float, y1: float, rows: int) -> dict[int, str]:
    """Labels for the top, bottom and every ~4th row between, at each row's centre value."""
    dots = rows * 4
    picks = {0, rows - 1} | set(range(4, rows - 2, 4))
    out = {}
    for r in sorted(picks):
        d = 0 if r == 0 else dots - 1 if r == rows - 1 else r * 4 + 1.5
        out[r] = _fmt(y1 - d / max(dots - 1, 1) * (y1 - y0))
    return out


def _x_labels(left: str, right: str, name: str, indent: int, plot_w: int) -> Text:
    cells = [" "] * plot_w
    gap = plot_w - len(left) - len(right)
    if gap < 1:
        right = ""
    for i, ch in enumerate(left[:plot_w]):
        cells[i] = ch
    for i, ch in enumerate(right):
        cells[plot_w - len(right) + i] = ch
    if name and gap - 4 >= len(name):
        start = len(left) + (gap - len(name)) // 2
        cells[start : start + len(name)] = list(name)
    return Text(" " * indent + "".join(cells), style="dim")


def _spark_fallback(series: list[Series], keys: dict[str, _Key], width: int) -> Iterator[Text]:
    """Too narrow for axes: one sparkline per series, still marked and coloured."""
    spark_w = max(1, min(12, width - 4))
    for s in series:
        key = keys[s.label]
        line = Text.assemble((key.marker, key.style), " ", (sparkline(s.y, spark_w), key.style))
        line.append(f" {printable(s.label)}")
        yield _crop(line, width)


class _Braille:
    """A grid of braille cells with one style per cell (the last series to touch it wins)."""

    def __init__(self, cols: int, rows: int) -> None:
        self.cols, self.rows_n = cols, rows
        self.bits = [[0] * cols for _ in range(rows)]
        self.styles: list[list[str | None]] = [[None] * cols for _ in range(rows)]
        self.marks: dict[tuple[int, int], _Key] = {}

    def to_dot(
        self, x: float, y: float, x0: float, x1: float, y0: float, y1: float
    ) -> tuple[int, int]:
        w, h = self.cols * 2 - 1, self.rows_n * 4 - 1
        c = round((x - x0) / (x1 - x0) * w) if x1 > x0 else w // 2
        r = round((y1 - y) / (y1 - y0) * h) if y1 > y0 else h // 2
        return min(max(c, 0), w), min(max(r, 0), h)

    def dot(self, c: int, r: int, style: str) -> None:
        self.bits[r // 4][c // 2] |= _DOT[r % 4][c % 2]
        self.styles[r // 4][c // 2] = style

    def line(self, a: tuple[int, int], b: tuple[int, int], style: str) -> None:
        (c0, r0), (c1, r1) = a, b
        steps = max(abs(c1 - c0), abs(r1 - r0), 1)
        for i in range(steps + 1):
            self.dot(round(c0 + (c1 - c0) * i / steps), round(r0 + (r1 - r0) * i / steps), style)

    def mark(self, col: int, row: int, key: _Key) -> None:
        self.marks[(col, row)] = key

    def rows(self) -> Iterator[Text]:
        for r in range(self.rows_n):
            line = Text()
            for c in range(self.cols):
                key = self.marks.get((c, r))
                if key is not None:
                    line.append(key.marker, style=key.style)
                elif self.bits[r][c]:
                    line.append(chr(0x2800 + self.bits[r][c]), style=self.styles[r][c] or "")
                else:
                    line.append(" ")
            yield line


# ---- bars ----------------------------------------------------------------------------------


def _bar_lines(fig: Figure, width: int) -> Iterator[Text]:
    bars = fig.bars or []
    if not bars:
        yield Text("(no data)", style="dim")
        return
    keys = _keys(b[0] for b in bars)
    metrics = list(dict.fromkeys(b[1] for b in bars))
    label_w = min(max(len(printable(b[0])) for b in bars), max(4, width // 3))
    for metric in metrics:
        rows = [b for b in bars if b[1] == metric]
        yield _crop(Text(printable(metric), style="bold"), width)
        finite = [abs(v) for _, _, v in rows if math.isfinite(v)]
        top = max(finite, default=0.0) or 1.0
        values = [_fmt(v) if math.isfinite(v) else "n/a" for _, _, v in rows]
        val_w = max(len(v) for v in values)
        bar_w = width - label_w - val_w - 4
        for (label, _, v), shown in zip(rows, values, strict=True):
            key = keys[label]
            name = printable(label)
            name = name if len(name) <= label_w else name[: max(label_w - 1, 0)] + "…"
            line = Text.assemble((key.marker, key.style), " ", name.ljust(label_w), " ")
            if bar_w >= 2 and math.isfinite(v):
                eighths = round(abs(v) / top * bar_w * 8)
                bar = "█" * (eighths // 8) + (EIGHTHS[eighths % 8] if eighths % 8 else "")
                line.append(bar, style=key.style if v >= 0 else f"{key.style} dim")
                line.append(" " * (bar_w - len(bar)))
            elif bar_w >= 2:
                line.append(" " * bar_w)
            line.append(" " + shown.rjust(val_w))
            yield _crop(line, width)


# ---- parallel ------------------------------------------------------------------------------


def _parallel(fig: Figure, width: int, height: int) -> Iterator[RenderableType]:
    par = fig.parallel
    if par is None or not par.runs or not par.dimensions:
        yield Text("(no data)", style="dim")
        return
    cdim = par.color_dimension()
    order = list(range(len(par.runs)))
    if cdim is not None:

        def sort_key(i: int) -> tuple[int, float | str]:
            v = cdim.values[i]
            if isinstance(v, str):
                return (1, v)
            if v is None or not math.isfinite(v):
                return (2, 0.0)
            return (0, -v)

        order.sort(key=sort_key)
    limit = max(1, height - 6)
    if width < 12 * (len(par.dimensions) + 1):
        yield from _parallel_narrow(par.runs, order[:limit], cdim, width)
        if len(order) > limit:
            yield _crop(Text(f"… {len(order) - limit} more runs", style="dim"), width)
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column("run", overflow="ellipsis", no_wrap=True, max_width=max(8, width // 3))
    for d in par.dimensions:
        is_metric = d is cdim
        table.add_column(
            printable(d.name),
            justify="right" if d.kind == "number" else "left",
            style="bold" if is_metric else None,
            overflow="ellipsis",
            no_wrap=True,
        )
    for i in order[:limit]:
        cells = [_cell(d.values[i]) for d in par.dimensions]
        table.add_row(printable(par.runs[i]), *cells)
    if cdim is not None:
        yield _crop(
            Text(f"runs sorted by {printable(cdim.name)}, highest first", style="dim"), width
        )
    yield Constrain(table, width)
    if len(order) > limit:
        yield _crop(Text(f"… {len(order) - limit} more runs", style="dim"), width)


def _parallel_narrow(
    runs: list[str], order: list[int], cdim: Dimension | None, width: int
) -> Iterator[Text]:
    """Too narrow for a table: one `value  run` line per run, metric first."""
    values = [_cell(cdim.values[i]) if cdim is not None else "" for i in order]
    value_w = max((len(v) for v in values), default=0)
    for i, value in zip(order, values, strict=True):
        line = Text.assemble(
            (value.rjust(value_w), "bold"), " " if value_w else "", printable(runs[i])
        )
        yield _crop(line, width)


def _cell(v: object) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return _fmt(v) if math.isfinite(v) else str(v)
    return printable(v)


def _crop(text: Text, width: int) -> Text:
    text.no_wrap = True
    text.overflow = "crop"
    text.truncate(width, overflow="crop")
    return text

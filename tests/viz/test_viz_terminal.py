"""The terminal renderer: deterministic, readable without colour, never crashes."""

from __future__ import annotations

import pytest
from rich.cells import cell_len
from rich.console import Console
from viz_samples import bar_figure, hostile_figure, line_figure, parallel_figure, scatter_figure

from localtrack.cli.terminal_plot import MARKERS, terminal_plot
from localtrack.viz.figure import Dimension, Figure, ParallelData, Series

NAN = float("nan")


def render(fig: Figure, width: int = 80, height: int = 20) -> str:
    console = Console(width=width, color_system=None, record=True, legacy_windows=False)
    console.print(terminal_plot(fig, width, height))
    return console.export_text()


def test_line_plot_is_deterministic_with_extents_and_legend() -> None:
    fig = Figure(
        "demo",
        "line",
        "step",
        "loss",
        [
            Series("alpha", "a", "loss", [0, 50, 99], [10.0, 5.0, 2.5]),
            Series("beta", "b", "loss", [0, 99], [8.0, 4.0]),
        ],
    )
    out = render(fig)
    assert out == render(fig)
    lines = out.splitlines()
    assert lines[0] == "demo"
    assert all(len(line) <= 80 for line in lines)
    assert any(line.lstrip().startswith("10 ┤") for line in lines)  # y max
    assert any(line.lstrip().startswith("2.5 ┤") for line in lines)  # y min
    x_axis = next(i for i, line in enumerate(lines) if "└" in line)
    assert lines[x_axis + 1].split() == ["0", "step", "99"]
    assert f"{MARKERS[0]} alpha  {MARKERS[1]} beta" in out
    assert any(0x2800 <= ord(ch) <= 0x28FF for ch in out)  # braille drawn


def test_one_panel_per_metric() -> None:
    out = render(line_figure(), height=30)
    assert "train/loss" in out and "val/acc" in out
    assert out.count("└") == 2


def test_scatter_uses_markers() -> None:
    out = render(scatter_figure())
    assert out.count(MARKERS[2]) > 10
    assert "0.001" in out and "0.12" in out


def test_bar_chart() -> None:
    out = render(bar_figure())
    assert "val/acc" in out and "train/loss" in out
    assert "n/a" in out and "0.88" in out
    row = next(line for line in out.splitlines() if "run-4" in line and "0.88" in line)
    assert "█" * 20 in row


def test_parallel_table_sorted_by_metric() -> None:
    out = render(parallel_figure(), width=80, height=40)
    assert "sorted by val/acc" in out
    rows = [line for line in out.splitlines() if line.startswith("trial-")]
    assert rows[0].startswith("trial-11") and rows[-1].startswith("trial-0")
    assert "adam" in out and "–" in out  # categories shown, missing value marked


EDGE_FIGURES = {
    "empty": Figure("empty", "line"),
    "empty-series": Figure("e", "line", series=[Series("a", "a", "m", [], [])]),
    "single": Figure("one", "line", series=[Series("a", "a", "m", [3.0], [7.0])]),
    "all-nan": Figure("nan", "line", series=[Series("a", "a", "m", [0, 1], [NAN, NAN])]),
    "constant": Figure("c", "line", series=[Series("a", "a", "m", [0, 1, 2], [4.0, 4.0, 4.0])]),
    "scatter-single": Figure("s", "scatter", series=[Series("a", "a", "m", [1.0], [1.0])]),
    "bars-empty": Figure("b", "bar", bars=[]),
    "bars-nan": Figure("b", "bar", bars=[("a", "m", NAN), ("b", "m", -2.0)]),
    "parallel-empty": Figure("p", "parallel", parallel=ParallelData([], [])),
    "parallel-none": Figure("p", "parallel"),
    "parallel-cat": Figure(
        "p",
        "parallel",
        parallel=ParallelData(
            [Dimension("opt", ["a", None], "category"), Dimension("acc", [None, 1.0])], ["r1", "r2"]
        ),
    ),
    "hostile": hostile_figure(),
}


@pytest.mark.parametrize("width", [1, 5, 12, 30, 80, 200])
@pytest.mark.parametrize("name", sorted(EDGE_FIGURES))
def test_edge_cases_never_crash_or_overflow(name: str, width: int) -> None:
    out = render(EDGE_FIGURES[name], width=width, height=8)
    assert all(cell_len(line) <= width for line in out.splitlines())


def test_control_and_bidi_characters_are_made_visible() -> None:
    label = "evil\x1b[2J\u202eexe.txt"
    fig = Figure(label, "line", series=[Series(label, "r", label, [0.0, 1.0], [0.0, 1.0])])
    out = render(fig)
    assert "\x1b" not in out and "\u202e" not in out
    assert "evil<U+001B>[2J<U+202E>exe.txt" in out


def test_edge_case_messages() -> None:
    assert "no finite points" in render(EDGE_FIGURES["all-nan"])
    assert "(no data)" in render(EDGE_FIGURES["empty"])
    single = render(EDGE_FIGURES["single"])
    assert MARKERS[0] in single and "3" in single
    constant = render(EDGE_FIGURES["constant"])
    assert "⠉" * 10 in constant or "⣀" * 10 in constant or "⠤" * 10 in constant


def test_narrow_width_falls_back_to_sparklines() -> None:
    out = render(line_figure(), width=16)
    assert any(ch in out for ch in "▁▂▃▄▅▆▇█")
    assert "┤" not in out


def test_colour_styles_applied_when_colour_is_on() -> None:
    console = Console(width=80, color_system="truecolor", record=True, force_terminal=True)
    console.print(terminal_plot(line_figure(), 80, 20))
    assert "\x1b[" in console.export_text(styles=True)

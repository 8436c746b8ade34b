"""``localtrack visualize RUN...``: curves in the terminal, or one offline HTML page."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from localtrack.cli.common import StoreOption
from localtrack.cli.output import ReportFormat


class PlotType(str, Enum):
    line = "line"
    scatter = "scatter"
    bar = "bar"
    parallel = "parallel"


DEFAULT_TERMINAL_METRICS = 1
DEFAULT_HTML_METRICS = 4


def visualize_command(
    runs: Annotated[
        Optional[list[str]], typer.Argument(help="Runs: ids, prefixes, names, @latest or globs like 'sweep-*'.")
    ] = None,
    metric: Annotated[
        Optional[list[str]],
        typer.Option("--metric", "-m", help="Metric to plot (repeat or comma-separate; default: the key metric)."),
    ] = None,
    x: Annotated[str, typer.Option("--x", help="x axis: step, time (seconds since start), epoch, or a metric name.")] = "step",
    plot_type: Annotated[PlotType, typer.Option("--plot-type", "-t", help="line, scatter, bar (final values) or parallel (params vs metric).")] = PlotType.line,
    html: Annotated[Optional[Path], typer.Option("--html", help="Write one self-contained interactive HTML file instead.")] = None,
    filter: Annotated[Optional[str], typer.Option("--filter", help="Plot the runs matching this filter.")] = None,
    width: Annotated[Optional[int], typer.Option("--width", min=20, help="Terminal plot width (default: the terminal's).")] = None,
    height: Annotated[Optional[int], typer.Option("--height", min=6, help="Terminal plot height in lines.")] = None,
    fmt: Annotated[
        ReportFormat,
        typer.Option("--format", "-f", help="text: draw the plot; json: print the plot data instead (one object)."),
    ] = ReportFormat.text,
    store: StoreOption = None,
) -> None:
    """Plot metrics of runs: in the terminal, or as an offline HTML page with --html.

    --format json prints the plot data, every point, as {"title", "plot_type", "x_label", "y_label", "series": [{"label", "run_id", "metric", "x", "y"}], "bars": [[label, metric, value]], "parallel": {"dimensions": [{"name", "values", "kind"}], "runs", "color_metric"}} (plus "html": the page written, with --html; its "Wrote" line goes to stderr).

    The HTML file needs no network (hover for values, drag to zoom, double-click to reset,
    click a legend entry to hide a run). parallel draws the params that vary across the runs
    against the final value of --metric: the view for reading a sweep.

    Example:

        localtrack visualize 'logreg-*' --metric val/loss --x epoch --html curves.html
    """
    from localtrack.cli.cmd_compare import split_list
    from localtrack.cli.common import open_reader, require_logged_metrics
    from localtrack.cli.output import console, emit_json, safe, status
    from localtrack.cli.selection import select_runs
    from localtrack.query.compare import key_metrics
    from localtrack.viz import plotdata

    reader = open_reader(store)
    rows = select_runs(reader, runs, filter, what="runs to plot")
    metrics = split_list(metric)
    require_logged_metrics(rows, metrics, who="selected", option="--metric")
    if not metrics:
        limit = DEFAULT_HTML_METRICS if html and plot_type != PlotType.parallel else DEFAULT_TERMINAL_METRICS
        metrics = key_metrics(rows, limit=limit)
        if not metrics:
            raise typer.BadParameter("the selected runs logged no metrics", param_hint="RUNS")
    if plot_type == PlotType.parallel:
        if len(metrics) > 1:
            raise typer.BadParameter("parallel plots one metric against the params; give one --metric", param_hint="--metric")
        fig = plotdata.parallel_figure(rows, metrics[0])
    elif plot_type == PlotType.bar:
        fig = plotdata.bar_figure(rows, metrics)
    else:
        keys = list(dict.fromkeys([*metrics, *([x] if x not in ("step", "time") else [])]))
        series = reader.series(rows, keys)
        fig = plotdata.series_figure(rows, series, metrics, x=x, plot_type=plot_type.value)
    out = console()
    if html is not None:
        from localtrack.query.export import write_file
        from localtrack.viz.html import render_html

        write_file(html, render_html(fig).encode("utf-8"))
        status(f"Wrote {safe(html)} ({len(rows)} run{'s' if len(rows) != 1 else ''}, {plot_type.value})")
    if fmt == ReportFormat.json:
        import dataclasses

        emit_json({**dataclasses.asdict(fig), **({"html": str(html)} if html is not None else {})})
        return
    if html is not None:
        return
    from localtrack.cli.output import drawing_width
    from localtrack.cli.terminal_plot import terminal_plot

    plot_width = drawing_width(width)
    plot_height = height or max(12, min(out.height - 4, 30))
    out.print(terminal_plot(fig, plot_width, plot_height))


def register(app: typer.Typer) -> None:
    app.command("visualize")(visualize_command)

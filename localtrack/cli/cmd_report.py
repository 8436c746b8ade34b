"""``localtrack report``: a JSON report (and Markdown for a PR) with completeness checks."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from localtrack.cli.common import FormatOption, StoreOption
from localtrack.cli.output import OutputFormat

if TYPE_CHECKING:
    from rich.console import RenderableType


def report_command(
    runs: Annotated[Optional[list[str]], typer.Argument(help="Runs: ids, prefixes, names, @latest or globs.")] = None,
    filter: Annotated[Optional[str], typer.Option("--filter", help="Report on the runs matching this filter.")] = None,
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", help="Write the JSON report here (- for stdout), e.g. experiment_report.json.")
    ] = None,
    markdown: Annotated[
        Optional[Path], typer.Option("--markdown", help="Write a Markdown version here (- for stdout), e.g. for a PR.")
    ] = None,
    metrics: Annotated[Optional[list[str]], typer.Option("--metrics", "-m", help="Metrics to report (default: all).")] = None,
    maximize: Annotated[Optional[list[str]], typer.Option("--maximize", help="Metric(s) where higher is better.")] = None,
    minimize: Annotated[Optional[list[str]], typer.Option("--minimize", help="Metric(s) where lower is better.")] = None,
    fmt: FormatOption = OutputFormat.table,
    store: StoreOption = None,
) -> None:
    """Report on runs: params, final and best metrics, winners, and a completeness check per run.

    Checks: params logged, metrics at every step, checkpoints saved, environment captured,
    git state recorded, and (if it was) reproduced and verified by `localtrack reproduce`.
    --format json/csv print one row per run; -o writes the whole report document.

    Example:

        localtrack report --filter "tags.sweep = 'demo'" -o experiment_report.json --markdown report.md
    """
    import json
    import sys

    from localtrack.cli.cmd_compare import split_list
    from localtrack.cli.common import open_reader
    from localtrack.cli.output import console, emit_csv, emit_json, json_text, jsonable, safe
    from localtrack.cli.selection import select_runs
    from localtrack.query.export import write_file
    from localtrack.viz.markdown import report_markdown

    reader = open_reader(store)
    rows = select_runs(reader, runs, filter, what="runs to report on")
    wanted = split_list(metrics)
    selection = filter if filter else " ".join(runs or [])
    report = reader.report(
        rows, metrics=wanted or None, maximize=split_list(maximize), minimize=split_list(minimize), selection=selection,
    ).to_dict()
    wrote: list[str] = []
    to_stdout = False
    if output is not None:
        if str(output) == "-":
            text = json_text(report) + "\n"
            sys.stdout.write(text)
            to_stdout = True
        else:
            text = json.dumps(jsonable(report), indent=2, ensure_ascii=False) + "\n"
            write_file(output, text.encode("utf-8", "surrogatepass"))
            wrote.append(f"report {safe(output)}")
    if markdown is not None:
        text = report_markdown(report)
        if str(markdown) == "-":
            sys.stdout.write(text)
            to_stdout = True
        else:
            write_file(markdown, text.encode("utf-8"))
            wrote.append(f"markdown {safe(markdown)}")
    if fmt == OutputFormat.json:
        emit_json(report["runs"])
    elif fmt == OutputFormat.csv:
        emit_csv([flat_report_row(r) for r in report["runs"]])
    elif not to_stdout:
        for block in render_report(report):
            console().print(block)
    if wrote:
        from localtrack.cli.output import err_console

        err_console().print(f"Wrote {' and '.join(wrote)}", soft_wrap=True, highlight=False)


def flat_report_row(run: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {"id": run["id"], "name": run["name"], "status": run["status"], "complete": run["complete"]}
    for name, result in run["checks"].items():
        flat[name] = result["ok"]
    for key, stats in run["metrics"].items():
        flat[f"final.{key}"] = stats["final"]
        flat[f"best.{key}"] = stats["best"]
    flat["best_for"] = ";".join(run["best_for"])
    return flat


def render_report(report: dict[str, Any]) -> list[RenderableType]:
    """The terminal view: one line per run with its checks, then winners and what is missing."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from localtrack.cli.humanize import number, status_text
    from localtrack.cli.output import safe, safe_text
    from localtrack.ids import short_id
    from localtrack.query.report import CHECK_TITLES, REQUIRED_CHECKS

    marks = {True: Text("✓", style="green"), False: Text("✗", style="bold red"), None: Text("–", style="dim")}
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0), header_style="bold")
    table.add_column("id", no_wrap=True, style="dim")
    table.add_column("name", no_wrap=True, overflow="ellipsis", max_width=32)
    table.add_column("status", no_wrap=True)
    short = {"params_logged": "params", "metrics_every_step": "steps", "checkpoints_saved": "ckpt",
             "environment_captured": "env", "git_recorded": "git", "reproduced_verified": "repro"}
    for name in CHECK_TITLES:
        table.add_column(short[name], justify="center", no_wrap=True)
    table.add_column("complete", justify="center", no_wrap=True)
    for run in report["runs"]:
        table.add_row(
            safe(short_id(run["id"])), safe(run["name"]), status_text(run["status"]),
            *(marks[run["checks"][n]["ok"]] for n in CHECK_TITLES),
            Text("yes", style="bold green") if run["complete"] else Text("no", style="bold red"),
        )
    summary = report["summary"]
    blocks: list[RenderableType] = [
        Text(f"{summary['runs']} runs · {summary['complete']} complete · {summary['reproduced']} reproduced and verified",
             style="bold"),
        table,
    ]
    legend = " · ".join(f"{short[n]} = {CHECK_TITLES[n]}" for n in CHECK_TITLES)
    blocks.append(safe_text(legend, "dim", lines=True))
    problems = [
        f"{safe(run['name'])}: {CHECK_TITLES[n]}: {safe(run['checks'][n]['detail'])}"
        for run in report["runs"] for n in REQUIRED_CHECKS if run["checks"][n]["ok"] is False
    ]
    if problems:
        blocks.append(Text("\nMissing:", style="bold"))
        blocks += [safe_text(f"  {p}") for p in problems[:20]]
        if len(problems) > 20:
            blocks.append(Text(f"  ... {len(problems) - 20} more (see the JSON report)", style="dim"))
    winners = [w for w in report["winners"] if w.get("winner")]
    if winners:
        blocks.append(Text("\nWinners:", style="bold"))
        for w in winners:
            arrow = "↑" if w["direction"] == "max" else "↓"
            blocks.append(safe_text(f"  {safe(w['metric'])} {arrow}  {safe(w['winner']['name'])} ({number(w['winner']['value'])})"))
    return blocks


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)

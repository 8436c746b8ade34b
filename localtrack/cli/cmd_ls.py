"""``localtrack ls``: the runs at a glance."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from localtrack.cli.common import FormatOption, StoreOption
from localtrack.cli.output import OutputFormat

DEFAULT_TOP = 50


def ls_command(
    project: Annotated[Optional[str], typer.Option("--project", "-p", help="Only runs of this project.")] = None,
    filter: Annotated[
        Optional[str],
        typer.Option("--filter", help="MLflow-style filter, e.g. \"metrics.val/loss < 0.3 and params.lr = 0.05\"."),
    ] = None,
    sort_by: Annotated[
        Optional[str],
        typer.Option("--sort-by", "-s", help="Order, e.g. \"metrics.val/accuracy DESC\" (default: newest first)."),
    ] = None,
    top: Annotated[
        Optional[int],
        typer.Option("--top", "-n", min=1, help=f"Show the first N runs (table default: {DEFAULT_TOP}; json/csv: all)."),
    ] = None,
    all_runs: Annotated[bool, typer.Option("--all", "-a", help="Show every run in the table.")] = False,
    columns: Annotated[
        Optional[list[str]],
        typer.Option(
            "--columns",
            "-c",
            help="Columns, comma-separated or repeated: id, name, status, started, duration, project, "
            "group, tags, git, notes, params.KEY, metrics.KEY, tags.KEY (a bare KEY finds its kind).",
        ),
    ] = None,
    group_by: Annotated[
        Optional[str],
        typer.Option("--group-by", "-g", help="Group rows by a field: project, status, params.KEY, tags.KEY."),
    ] = None,
    fmt: FormatOption = OutputFormat.table,
    store: StoreOption = None,
) -> None:
    """List runs: status, when, how long, the params that vary, the latest key metrics.

    Example:

        localtrack ls --filter "metrics.val/accuracy > 0.85" --sort-by "metrics.val/accuracy DESC" --top 5
    """
    from localtrack.cli import ls_render
    from localtrack.cli.common import open_reader
    from localtrack.cli.output import emit_csv, emit_json, print_warning, safe

    reader = open_reader(store)
    table = reader.runs(filter=filter, order_by=sort_by, project=project)
    rows = table.to_dicts()
    total = len(rows)
    limit = top if top is not None else (None if all_runs or fmt != OutputFormat.table else DEFAULT_TOP)
    if group_by:
        rows = ls_render.group_rows(rows, group_by)
    shown = rows[:limit] if limit is not None else rows
    for run_id, message in table.problems[:5]:
        print_warning(f"run {safe(run_id)} could not be read: {safe(message)}")
    if len(table.problems) > 5:
        print_warning(f"{len(table.problems) - 5} more runs could not be read; `localtrack verify` names them")
    wanted = ls_render.parse_columns(columns, shown) if columns else None
    if fmt == OutputFormat.json:
        emit_json(shown)
        return
    if fmt == OutputFormat.csv:
        flat = [ls_render.flat_row(r) for r in shown]
        emit_csv(flat, ls_render.csv_columns(shown, wanted))
        return
    ls_render.print_runs(reader, shown, total=total, columns=wanted, group_by=group_by, filtered=bool(filter or project))


def register(app: typer.Typer) -> None:
    app.command("ls")(ls_command)


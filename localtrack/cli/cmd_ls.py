"""``localtrack ls``: the runs at a glance (typer declarations; the command is
:func:`localtrack.cli.ls_view.ls`)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from localtrack.cli.common import ListFormatOption, StoreOption
from localtrack.cli.ls_view import DEFAULT_TOP
from localtrack.cli.output import ListFormat


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
        typer.Option("--top", "-n", min=1,
                     help=f"Show the first N runs (table default: {DEFAULT_TOP}; json/jsonl/csv: all)."),
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
    fmt: ListFormatOption = ListFormat.table,
    store: StoreOption = None,
) -> None:
    """List runs: status, when, how long, the params that vary, the latest key metrics.

    Example:

        localtrack ls --filter "metrics.val/accuracy > 0.85" --sort-by "metrics.val/accuracy DESC" --top 5
    """
    from localtrack.cli.ls_view import ls

    ls(project, filter, sort_by, top, all_runs, columns, group_by, fmt, store)


def register(app: typer.Typer) -> None:
    app.command("ls")(ls_command)


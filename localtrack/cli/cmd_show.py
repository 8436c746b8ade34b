"""``localtrack show RUN``: everything about one run (typer declarations; the command is
:func:`localtrack.cli.show_view.show`)."""

from __future__ import annotations

from typing import Annotated

import typer

from localtrack.cli.common import RUN_HELP, FormatOption, StoreOption
from localtrack.cli.output import OutputFormat


def show_command(
    run: Annotated[str, typer.Argument(help=RUN_HELP)],
    fmt: FormatOption = OutputFormat.table,
    store: StoreOption = None,
) -> None:
    """Show one run: params, tags, notes, git, command, environment, metrics, artifacts, lineage.

    --format json prints one object (the read API's RunInfo); csv is not offered here.

    Example:

        localtrack show @latest
    """
    from localtrack.cli.show_view import show

    show(run, fmt, store)


def register(app: typer.Typer) -> None:
    app.command("show")(show_command)

"""Options and helpers shared by every command: ``--store``, ``--format``, run resolution.

Imports of the store and query layers happen inside the helpers, so registering the
commands (all ``localtrack --help`` needs) stays cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from localtrack.cli.output import ListFormat, OutputFormat, ReportFormat

if TYPE_CHECKING:
    from localtrack.query.store import Store

StoreOption = Annotated[
    Optional[Path],
    typer.Option(
        "--store",
        help="The store folder (.localtrack) or a project folder holding one. "
        "Default: LOCALTRACK_DIR, else the nearest .localtrack above the working directory.",
        show_default=False,
    ),
]

FormatOption = Annotated[
    OutputFormat,
    typer.Option("--format", "-f", help="table for people; json (an array of objects) or csv for scripts."),
]

ListFormatOption = Annotated[
    ListFormat,
    typer.Option("--format", "-f",
                 help="table for people; json (an array of objects), jsonl (one object per line) or csv for scripts."),
]

ReportFormatOption = Annotated[
    ReportFormat,
    typer.Option("--format", "-f",
                 help="text: a status line on stderr; json: one object saying what was done, on stdout."),
]

RUN_HELP = "Run id, unique id prefix, short id, unique name, or @latest."


def open_layout(store: Path | None, *, create: bool = False) -> Any:
    """The store's folder layout, for commands that still work on it directly (clear error when there is none)."""
    return open_reader(store, create=create).layout


def open_reader(store: Path | None, *, create: bool = False) -> Store:
    """The library's ``localtrack.Store`` on the store a command works on (``create``: make a missing one)."""
    from localtrack.query.store import Store

    return Store(store, create=create)


def require_logged_metrics(rows: list[dict[str, Any]], wanted: list[str], *, who: str, option: str) -> None:
    """Refuse metric names none of the chosen runs logged, naming the ones they did log."""
    known = {k for r in rows for k in r.get("metrics") or {}}
    unknown = [m for m in wanted if m not in known]
    if unknown:
        raise typer.BadParameter(
            f"no {who} run logged {unknown[0]!r}; they have: {', '.join(sorted(known)) or '(no metrics)'}",
            param_hint=option,
        )

"""Options and helpers shared by every command: ``--store``, ``--format``, run resolution."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from localtrack.cli.output import OutputFormat
from localtrack.storage.layout import StoreLayout
from localtrack.store.project import open_store
from localtrack.store.reader import RunRecord, resolve_run

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


def open_layout(store: Path | None, *, create: bool = False) -> StoreLayout:
    """The store a command works on (clear error when there is none)."""
    return open_store(store, create=create)


def find_run(layout: StoreLayout, ref: str) -> RunRecord:
    """Resolve RUN (id, unique id prefix, short id, unique name, @latest)."""
    return resolve_run(layout, ref)

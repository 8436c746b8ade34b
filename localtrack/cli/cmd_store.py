"""``localtrack init`` and ``localtrack demo``: making stores."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated, Optional

import typer

from localtrack.cli.output import console, safe
from localtrack.storage.layout import STORE_DIRNAME
from localtrack.store.project import create_store, locate_store

EXAMPLE_DIRNAME = ".localtrack.example"


def init_command(
    path: Annotated[Optional[Path], typer.Argument(help="Project folder (default: here) or a store folder.")] = None,
) -> None:
    """Create a store (.localtrack/) in the current folder, or in PATH.

    Example:

        localtrack init
    """
    target = (path or Path.cwd()) / STORE_DIRNAME if (path is None or path.name != STORE_DIRNAME) else path
    existing = locate_store(target)
    layout = create_store(existing or target)
    console().print(f"Store ready at {safe(layout.root)}")


def demo_command(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Store folder to (re)create.")
    ] = Path(EXAMPLE_DIRNAME),
) -> None:
    """Regenerate the example store: a small sweep of a real logistic-regression training loop.

    Example:

        localtrack demo -o .localtrack.example
    """
    from localtrack import demo

    if output.exists():
        if not (output / "FORMAT").is_file():
            raise typer.BadParameter(f"{output} exists and is not a localtrack store; refusing to replace it")
        shutil.rmtree(output)
    ids = demo.generate(output)
    console().print(f"Wrote {len(ids)} runs to {safe(output)}")


def register(app: typer.Typer) -> None:
    app.command("init")(init_command)
    app.command("demo")(demo_command)

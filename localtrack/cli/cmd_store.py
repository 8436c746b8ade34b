"""``localtrack init`` and ``localtrack demo``: making stores."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated, Optional

import typer

from localtrack.cli.common import ReportFormatOption
from localtrack.cli.output import ReportFormat, report, safe

EXAMPLE_DIRNAME = ".localtrack.example"


def init_command(
    path: Annotated[Optional[Path], typer.Argument(help="Project folder (default: here) or a store folder.")] = None,
    fmt: ReportFormatOption = ReportFormat.text,
) -> None:
    """Create a store (.localtrack/) in the current folder, or in PATH.

    The "Store ready" line goes to stderr; --format json prints {"store", "created": false if it existed} on stdout.

    Example:

        localtrack init
    """
    from localtrack.query.store import Store

    made = Store.create(path)
    report(fmt, {"store": str(made.root), "created": made.created}, f"Store ready at {safe(made.root)}")


def demo_command(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Store folder to (re)create.")
    ] = Path(EXAMPLE_DIRNAME),
    fmt: ReportFormatOption = ReportFormat.text,
) -> None:
    """Regenerate the example store: a small sweep of a real logistic-regression training loop.

    The "Wrote" line goes to stderr; --format json prints {"store", "runs": [ids], "count"} on stdout.

    Example:

        localtrack demo -o .localtrack.example
    """
    from localtrack.cli import demo_runs as demo

    if output.exists():
        if not (output / "FORMAT").is_file():
            raise typer.BadParameter(f"{output} exists and is not a localtrack store; refusing to replace it")
        shutil.rmtree(output)
    ids = list(demo.generate(output))
    report(fmt, {"store": str(output), "runs": ids, "count": len(ids)}, f"Wrote {len(ids)} runs to {safe(output)}")


def register(app: typer.Typer) -> None:
    app.command("init")(init_command)
    app.command("demo")(demo_command)

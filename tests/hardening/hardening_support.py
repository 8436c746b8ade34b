"""The CLI run in this process, as the hardening tests attack it (one copy for all of them)."""

from __future__ import annotations

import sys

from typer.testing import CliRunner

from localtrack.cli import output
from localtrack.cli.entry import main


def cli(args: list[str]) -> tuple[int, str]:
    """The CLI in this process (typer's CliRunner isolation); returns (exit code, stdout+stderr)."""
    output._console = None
    output._err_console = None
    with CliRunner().isolation() as (out, err, _):
        code = main(args)
        sys.stdout.flush()
        sys.stderr.flush()
        text = out.getvalue().decode() + err.getvalue().decode()
    output._console = None
    output._err_console = None
    return code, text

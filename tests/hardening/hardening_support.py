"""The CLI run in this process, as the hardening tests attack it (one copy for all of them)."""

from __future__ import annotations

import sys

from typer.testing import CliRunner

from localtrack.cli import output
from localtrack.cli.entry import main


def cli_streams(args: list[str], errors: str = "strict") -> tuple[int, str, str]:
    """The CLI in this process (typer's CliRunner isolation); returns (exit code, stdout, stderr),
    decoded with ``errors`` (strict: output that is not UTF-8 fails the test)."""
    output._console = None
    output._err_console = None
    with CliRunner().isolation() as (out, err, _):
        code = main(args)
        sys.stdout.flush()
        sys.stderr.flush()
        texts = out.getvalue().decode(errors=errors), err.getvalue().decode(errors=errors)
    output._console = None
    output._err_console = None
    return code, *texts


def cli(args: list[str]) -> tuple[int, str]:
    """The CLI in this process; returns (exit code, stdout+stderr)."""
    code, out, err = cli_streams(args)
    return code, out + err

"""The ``localtrack`` / ``lt`` executable: turns errors into one clear line, never a traceback.

Kept tiny so ``localtrack --help`` stays fast: typer and rich load here, duckdb only inside
the commands that query.

``localtrack ls`` with only plain options (see :mod:`localtrack.cli.fast_argv`) skips
building the typer application: typer's option parsing imports pydantic and every command
module, which would cost more than the listing itself. Anything else goes through typer.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns (and exits with) the process exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args.remove("--debug")
        os.environ["LOCALTRACK_DEBUG"] = "1"
    import typer

    from localtrack.cli.output import print_error
    from localtrack.cli.progress_bar import RefreshProgress
    from localtrack.errors import LocaltrackError
    from localtrack.query import progress

    bar = RefreshProgress()
    progress.set_hook(bar)
    try:
        result = _command(args)()
    except typer.Abort:
        print_error("aborted")
        code = 130
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.TyperException as exc:  # usage errors: bad option, missing argument
        if debug:
            raise
        hint = ""
        ctx = getattr(exc, "ctx", None)
        if ctx is not None:
            hint = f"see `{ctx.command_path} --help`"
        format_message = getattr(exc, "format_message", None)
        message = format_message() if callable(format_message) else str(exc)
        if message.strip():  # `localtrack` alone printed the help and raises with no message
            print_error(message, hint)
        code = getattr(exc, "exit_code", 2)
    except LocaltrackError as exc:
        if debug:
            raise
        print_error(str(exc), "run with --debug for the traceback")
        code = 1
    except (KeyboardInterrupt, BrokenPipeError):
        code = 130
    else:
        code = result if isinstance(result, int) else 0
    finally:
        bar.close()
        progress.set_hook(None)
    if argv is None:
        sys.exit(code)
    return code


def _command(args: list[str]) -> Callable[[], Any]:
    """What to run for ``args``: the typer application, or a command called directly."""
    from localtrack.cli.fast_argv import direct_command

    direct = direct_command(args)
    if direct is not None:
        return direct

    def through_typer() -> Any:
        import typer

        from localtrack.cli.app import build_app

        command = typer.main.get_command(build_app())
        return command.main(args=args, prog_name="localtrack", standalone_mode=False)

    return through_typer

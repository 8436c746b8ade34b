"""The ``localtrack`` / ``lt`` executable: turns errors into one clear line, never a traceback.

The error contract: a user's mistake or a problem of the store (any ``LocaltrackError``, a
usage error, a full disk) is one ``error: ...`` line saying what to do. Only an unexpected
exception, a bug, prints ``internal error: ...`` with the hint to rerun with ``--debug``.

Kept tiny so ``localtrack --help`` stays fast: typer and rich load when used, duckdb only
inside the commands that query.

``localtrack ls``, ``search`` and ``show`` with only plain options (see
:mod:`localtrack.cli.fast_argv`) skip typer altogether: its import, its option parsing
(pydantic) and building the application (every command module) would cost more than a warm
listing itself. Anything else goes through typer.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

DEBUG_HINT = "run with --debug for the traceback"


def _take_global_options(args: list[str]) -> tuple[list[str], bool, bool, int | None]:
    """Strip ``--debug`` (anywhere), and ``--version`` / ``--width N`` before the command name."""
    debug = "--debug" in args
    args = [a for a in args if a != "--debug"]
    version = False
    width: int | None = None
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--version":
            version = True
        elif arg == "--width" or arg.startswith("--width="):
            value = arg.partition("=")[2] if "=" in arg else (args[i + 1] if i + 1 < len(args) else "")
            i += 0 if "=" in arg else 1
            if not value.isdigit() or int(value) < 20:
                raise _UsageError(f"--width takes a number of columns (20 or more), got {value!r}")
            width = int(value)
        else:
            break  # the command name: its own options (visualize --width) are its own
        i += 1
    rest.extend(args[i:])
    return rest, debug, version, width


class _UsageError(Exception):
    pass


def _error_line(exc: BaseException) -> tuple[str, str] | None:
    """(message, hint) for an exception that is not a bug; None for one that is."""
    from localtrack.errors import LocaltrackError

    if isinstance(exc, LocaltrackError):
        return str(exc), ""
    duckdb = sys.modules.get("duckdb")
    if duckdb is not None and isinstance(exc, duckdb.Error):
        from localtrack.query import duck

        if duck.is_engine_failure(exc):
            return str(duck.engine_error(exc)), ""
    if isinstance(exc, MemoryError):
        return "out of memory; free memory or lower LOCALTRACK_QUERY_MEMORY_LIMIT", ""
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{where}", ""
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns (and exits with) the process exit code."""
    from localtrack.cli.output import print_error

    try:
        args, debug, version, width = _take_global_options(list(sys.argv[1:] if argv is None else argv))
    except _UsageError as exc:
        print_error(str(exc), "see `localtrack --help`")
        return _exit(2, argv)
    if debug:
        os.environ["LOCALTRACK_DEBUG"] = "1"
    if version:
        from localtrack import __version__

        sys.stdout.write(f"localtrack {__version__}\n")
        return _exit(0, argv)
    if args[:1] == ["--show-completion"]:
        from localtrack.cli.completion import show_completion

        return _exit(show_completion(args[1:]), argv)
    from localtrack.cli import fast_argv, output
    from localtrack.cli.progress_bar import RefreshProgress
    from localtrack.query import progress

    output.set_width(width)
    bar = RefreshProgress()
    progress.set_hook(bar)
    try:
        result = _command(args)()
    except _typer_error("Abort"):
        print_error("aborted")
        code = 130
    except _typer_error("Exit") as exc:
        code = exc.exit_code
    except _typer_error("TyperException") as exc:  # usage errors: bad option, missing argument
        if debug:
            raise
        hint = ""
        ctx = getattr(exc, "ctx", None)
        if ctx is not None:
            hint = f"see `{ctx.command_path} --help`"
        elif args and args[0] in fast_argv.DIRECT:  # called directly (no click context): the same hint
            hint = f"see `localtrack {args[0]} --help`"
        format_message = getattr(exc, "format_message", None)
        message = format_message() if callable(format_message) else str(exc)
        if message.strip():  # `localtrack` alone printed the help and raises with no message
            print_error(message, hint)
        code = getattr(exc, "exit_code", 2)
    except (KeyboardInterrupt, BrokenPipeError):
        code = 130
    except SystemExit as exc:  # typer's --show-completion, or a stream ended by SIGTERM
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception as exc:
        if debug:
            raise
        line = _error_line(exc)
        if line is not None:
            print_error(*line)
        else:
            print_error(f"{type(exc).__name__}: {exc}", DEBUG_HINT, label="internal error")
        code = 1
    else:
        code = result if isinstance(result, int) else 0
    finally:
        bar.close()
        progress.set_hook(None)
    return _exit(code, argv)


class _NotRaised(Exception):
    """Stands for typer's exceptions while typer is not imported (then none can be raised)."""


def _typer_error(name: str) -> Any:
    """typer's exception class ``name``, looked up when an exception is being matched: a plain
    ``ls``/``search``/``show`` never imports typer (see fast_argv), and need not for this."""
    typer = sys.modules.get("typer")
    return getattr(typer, name) if typer is not None else _NotRaised


def _exit(code: int, argv: list[str] | None) -> int:
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

"""Command lines simple enough to run without typer's parser: ``localtrack ls`` and its plain options.

Only exact, unambiguous forms are taken (each option at most once, values that cannot be
mistaken for options, ``--top`` a positive integer, ``--format`` one of its choices); any
other command line, help and every mistake included, is left to typer, so its messages stay
the same. The options map one to one onto ``ls_command``'s parameters, as typer would pass them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

LS_FLAGS = {"--all": "all_runs", "-a": "all_runs"}
LS_VALUES = {"--store": "store", "--project": "project", "-p": "project", "--top": "top", "-n": "top",
             "--format": "fmt", "-f": "fmt"}
FORMATS = ("table", "json", "jsonl", "csv")


def ls_arguments(args: list[str]) -> dict[str, Any] | None:
    """``ls_command`` keyword arguments for the options after ``ls``, or None: let typer parse."""
    found: dict[str, Any] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in LS_FLAGS:
            name, value = LS_FLAGS[arg], True
            i += 1
        else:
            option, eq, inline = arg.partition("=")
            if eq and option.startswith("--") and option in LS_VALUES:
                name, value = LS_VALUES[option], inline
                i += 1
            elif arg in LS_VALUES and i + 1 < len(args):
                name, value = LS_VALUES[arg], args[i + 1]
                i += 2
            else:
                return None
            if not value or value.startswith("-"):
                return None
        if name in found:
            return None
        found[name] = value
    return _converted(found)


def _converted(found: dict[str, Any]) -> dict[str, Any] | None:
    if "top" in found:
        text = found["top"]
        if not (text.isascii() and text.isdigit()) or int(text) < 1:
            return None
        found["top"] = int(text)
    if "fmt" in found:
        if found["fmt"] not in FORMATS:
            return None
        from localtrack.cli.cmd_ls import ListFormat

        found["fmt"] = ListFormat(found["fmt"])
    if "store" in found:
        found["store"] = Path(found["store"])
    return found


def direct_command(args: list[str]) -> Callable[[], Any] | None:
    """A call of the command ``args`` name, when its options are plain enough; else None."""
    if not args or args[0] != "ls":
        return None
    kwargs = ls_arguments(args[1:])
    if kwargs is None:
        return None

    def run() -> Any:
        from localtrack.cli.cmd_ls import ls_command

        return ls_command(**kwargs)

    return run

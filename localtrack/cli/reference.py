"""The generated half of docs/CLI.md: every command's ``--help``, so the reference cannot go stale.

    python -m localtrack.cli.reference --write   # rewrite the generated section of docs/CLI.md
    python -m localtrack.cli.reference --check   # exit 1 if it is stale (the test suite runs this)

The hand-written half (conventions, real example output) stays above the markers; below
them, each command path (``ls``, ``artifact upload``, ...) gets its ``--help`` as printed at
100 columns with colour off.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path
from typing import Any

BEGIN = "<!-- BEGIN GENERATED: every command's --help; regenerate with `python -m localtrack.cli.reference --write` -->"
END = "<!-- END GENERATED -->"
WIDTH = 100


def command_paths() -> list[tuple[str, ...]]:
    """Every visible command path of the app, groups expanded, in the app's order."""
    import typer

    from localtrack.cli.app import build_app

    root = typer.main.get_command(build_app())
    found: list[tuple[str, ...]] = []

    def walk(group: Any, prefix: tuple[str, ...]) -> None:
        for name in group.list_commands(None):
            command = group.get_command(None, name)
            if command is None or command.hidden:
                continue
            if hasattr(command, "list_commands"):
                found.append((*prefix, name))
                walk(command, (*prefix, name))
            else:
                found.append((*prefix, name))

    walk(root, ())
    return found


def help_text(path: tuple[str, ...]) -> str:
    """``localtrack PATH --help`` as a user sees it at 100 columns without colour."""
    from localtrack.cli import output
    from localtrack.cli.entry import main

    saved = {k: os.environ.get(k) for k in ("COLUMNS", "LINES", "NO_COLOR", "TERM")}
    os.environ.update({"COLUMNS": str(WIDTH), "LINES": "40", "NO_COLOR": "1", "TERM": "dumb"})
    consoles = (output._console, output._err_console)
    output._console = output._err_console = None
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            main([*path, "--help"])
    finally:
        output._console, output._err_console = consoles
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    lines = [line.rstrip() for line in buffer.getvalue().splitlines()]
    return "\n".join(lines).strip("\n")


def generated_section() -> str:
    parts = [BEGIN, "", "## Every command's `--help`", ""]
    for path in command_paths():
        parts += [f"### `localtrack {' '.join(path)}`", "", "```", help_text(path), "```", ""]
    parts.append(END)
    return "\n".join(parts)


def with_generated_section(document: str) -> str:
    """``document`` with its generated section replaced (or appended when it has none)."""
    section = generated_section()
    if BEGIN in document and END in document:
        head, rest = document.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        return head + section + tail
    return document.rstrip("\n") + "\n\n" + section + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = Path(__file__).resolve().parents[2] / "docs" / "CLI.md"
    current = path.read_text(encoding="utf-8")
    wanted = with_generated_section(current)
    if "--write" in args:
        path.write_text(wanted, encoding="utf-8")
        return 0
    if current != wanted:
        print("docs/CLI.md is stale: run `python -m localtrack.cli.reference --write`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

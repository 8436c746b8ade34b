"""The top-level ``localtrack --help``, drawn with a few rich primitives instead of typer's
rich_utils, which imports rich.markdown (markdown-it), rich.syntax and pygments: about a
third of the help's start-up time. Subcommand help keeps typer's renderer.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperGroup

ROOT_OPTIONS = (
    ("-h, --help", "Show this message and exit."),
    ("--version", "Print the version and exit."),
    ("--width N", "Draw tables and plots N columns wide (default: the terminal's; unlimited when piped)."),
    ("--debug", "Show the full traceback when a command fails."),
    ("--install-completion", "Install tab completion for the current shell."),
    ("--show-completion", "Print the completion script for the current shell (or SHELL), to install it by hand."),
)


def short_help(command: Any) -> str:
    """The first paragraph of a command's docstring, on one line."""
    text = command.short_help or command.help or ""
    first = text.strip().split("\n\n", 1)[0]
    return " ".join(first.split())


class QuickHelpGroup(TyperGroup):
    """A TyperGroup whose own help is fast; everything else is TyperGroup's."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        from rich import box
        from rich.console import Group
        from rich.padding import Padding
        from rich.panel import Panel
        from rich.table import Table
        from rich.text import Text

        from localtrack.cli.output import console, drawing_width

        out = console()
        usage = Text.assemble(("Usage: ", "yellow"), (f"{ctx.command_path} [OPTIONS] COMMAND [ARGS]...", "bold"))
        blocks: list[Any] = [Padding(usage, (1, 1, 0, 1))]
        if self.help:
            blocks.append(Padding(Text(self.help.strip()), (1, 1, 1, 1)))

        def panel(title: str, rows: list[tuple[str, str]]) -> Panel:
            grid = Table.grid(padding=(0, 2))
            grid.add_column(style="bold cyan", no_wrap=True)
            grid.add_column()
            for name, text in rows:
                grid.add_row(name, text)
            return Panel(grid, title=title, title_align="left", box=box.ROUNDED, border_style="dim")

        blocks.append(panel("Options", list(ROOT_OPTIONS)))
        commands = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                commands.append((name, short_help(command)))
        blocks.append(panel("Commands", commands))
        blocks.append(Text(f" Run `{ctx.command_path} COMMAND --help` for a command's options and an example.", style="dim"))
        out.print(Group(*blocks), width=drawing_width())  # piped help is not "unlimited": panels fill the width

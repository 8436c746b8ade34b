"""The typer application: one module per command group, each with a ``register(app)``."""

from __future__ import annotations

import importlib

import typer

COMMAND_MODULES = (
    "localtrack.cli.cmd_store",
    "localtrack.cli.cmd_log",
    "localtrack.cli.cmd_ls",
    "localtrack.cli.cmd_show",
    "localtrack.cli.cmd_compare",
    "localtrack.cli.cmd_visualize",
    "localtrack.cli.cmd_report",
    "localtrack.cli.cmd_manage",
    "localtrack.cli.cmd_export",
    "localtrack.cli.cmd_repro",
    "localtrack.cli.cmd_artifacts",
    "localtrack.cli.cmd_query",
    "localtrack.cli.cmd_sweep",
)

HELP = """localtrack: a local-first experiment tracker. Runs are plain files in .localtrack/.

Example:

    localtrack init && python train.py && localtrack ls
"""


def build_app() -> typer.Typer:
    """Build the CLI with every command group registered."""
    from localtrack.cli.help_format import QuickHelpGroup

    app = typer.Typer(
        cls=QuickHelpGroup,
        name="localtrack",
        help=HELP,
        no_args_is_help=True,
        add_completion=True,
        pretty_exceptions_enable=False,
        rich_markup_mode="rich",
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(app)
    return app

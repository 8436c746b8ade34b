"""Logging from the shell, for training code that is not Python: create, log-*, finish."""

from __future__ import annotations

import json
from typing import Annotated, Any, Optional

import typer

from localtrack.cli.common import StoreOption, find_run, open_layout
from localtrack.errors import InvalidValueError
from localtrack.store import shell_writer


def _json_object(text: str, option: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidValueError(f"{option} is not valid JSON ({exc.msg} at position {exc.pos}): {text[:80]!r}", text) from None
    if not isinstance(value, dict):
        raise InvalidValueError(f"{option} must be a JSON object like '{{\"lr\": 0.1}}', got {text[:80]!r}", text)
    return value


def create_command(
    project: Annotated[Optional[str], typer.Option("--project", "-p", help="Project name.")] = None,
    name: Annotated[Optional[str], typer.Option("--name", "-n", help="Run name.")] = None,
    tags: Annotated[Optional[str], typer.Option("--tags", help="Comma-separated labels.")] = None,
    params: Annotated[Optional[str], typer.Option("--params", help="Initial params as a JSON object.")] = None,
    store: StoreOption = None,
) -> None:
    """Create a run and print its id (for shell scripts and non-Python training code).

    Example:

        RUN=$(localtrack create --project nlp --name bert --tags baseline,v2)
    """
    layout = open_layout(store, create=True)
    labels = [t.strip() for t in tags.split(",") if t.strip()] if tags else []
    config = _json_object(params, "--params") if params else None
    run_id = shell_writer.create_run(layout, project=project, name=name, tags=labels, config=config)
    typer.echo(run_id)


def log_params_command(
    run: Annotated[str, typer.Argument(help="Run id, unique id prefix or unique name.")],
    params: Annotated[str, typer.Option("--params", help="A JSON object of params.")],
    store: StoreOption = None,
) -> None:
    """Merge params (a JSON object) into a run's config.

    Example:

        localtrack log-params $RUN --params '{"lr": 0.001, "optim": {"name": "adam"}}'
    """
    layout = open_layout(store)
    values = _json_object(params, "--params")
    shell_writer.log_params(layout, find_run(layout, run).id, values)


def log_metrics_command(
    run: Annotated[str, typer.Argument(help="Run id, unique id prefix or unique name.")],
    metrics: Annotated[str, typer.Option("--metrics", help="A JSON object of metric name -> number.")],
    step: Annotated[Optional[int], typer.Option("--step", min=0, help="Step (default: last step + 1).")] = None,
    store: StoreOption = None,
) -> None:
    """Log one step of metrics to a run.

    Example:

        localtrack log-metrics $RUN --metrics '{"loss": 0.31, "acc": 0.9}' --step 5
    """
    layout = open_layout(store)
    values = _json_object(metrics, "--metrics")
    shell_writer.log_metrics(layout, find_run(layout, run).id, values, step)


def finish_command(
    run: Annotated[str, typer.Argument(help="Run id, unique id prefix or unique name.")],
    status: Annotated[str, typer.Option("--status", help="finished, failed or killed.")] = "finished",
    store: StoreOption = None,
) -> None:
    """Mark a shell-driven run as ended.

    Example:

        localtrack finish $RUN --status failed
    """
    if status not in ("finished", "failed", "killed"):
        raise typer.BadParameter(f"--status {status!r}: use finished, failed or killed")
    layout = open_layout(store)
    shell_writer.finish_run(layout, find_run(layout, run).id, status)


def register(app: typer.Typer) -> None:
    app.command("create")(create_command)
    app.command("log-params")(log_params_command)
    app.command("log-metrics")(log_metrics_command)
    app.command("finish")(finish_command)

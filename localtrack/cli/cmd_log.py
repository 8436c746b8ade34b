"""Logging from the shell, for training code that is not Python: create, log-*, finish."""

from __future__ import annotations

import os
import signal
import sys
from typing import Annotated, Any, Optional

import typer

from localtrack import envvars
from localtrack.cli.common import ReportFormatOption, StoreOption, open_reader
from localtrack.cli.output import ReportFormat, report


def _json_text(text: str, option: str) -> dict[str, Any]:
    """A JSON object option, parsed by the library's rule (the error names the option)."""
    from localtrack.query.store_manage import parse_json_object

    return parse_json_object(text, option)


def create_command(
    project: Annotated[Optional[str], typer.Option("--project", "-p", help="Project name.")] = None,
    name: Annotated[Optional[str], typer.Option("--name", "-n", help="Run name.")] = None,
    tags: Annotated[Optional[str], typer.Option("--tags", help="Comma-separated labels.")] = None,
    params: Annotated[Optional[str], typer.Option("--params", help="Initial params as a JSON object.")] = None,
    fmt: ReportFormatOption = ReportFormat.text,
    store: StoreOption = None,
) -> None:
    """Create a run and print its id (for shell scripts and non-Python training code).

    --format json prints {"id", "name", "project", "tags", "store"} instead of the bare id.

    Example:

        RUN=$(localtrack create --project nlp --name bert --tags baseline,v2)
    """
    lt = open_reader(store, create=True)
    labels = [t.strip() for t in tags.split(",") if t.strip()] if tags else []
    record = lt.new_run(project=project, name=name, tags=labels, params=_json_text(params, "--params") if params else None)
    if fmt == ReportFormat.json:
        report(fmt, {"id": record.id, "name": record.name, "project": record.manifest.get("project"),
                     "tags": record.manifest.get("tags"), "store": str(lt.root)}, None)
        return
    typer.echo(record.id)  # the id is the data: stdout, alone, for RUN=$(localtrack create)


def log_params_command(
    run: Annotated[str, typer.Argument(help="Run id, unique id prefix or unique name.")],
    params: Annotated[str, typer.Option("--params", help="A JSON object of params.")],
    fmt: ReportFormatOption = ReportFormat.text,
    store: StoreOption = None,
) -> None:
    """Merge params (a JSON object) into a run's config.

    Prints nothing; --format json prints {"run", "name", "params": the top-level keys set, "count"}.

    Example:

        localtrack log-params $RUN --params '{"lr": 0.001, "optim": {"name": "adam"}}'
    """
    lt = open_reader(store)
    values = _json_text(params, "--params")
    record = lt.log_params(run, values)
    report(fmt, {"run": record.id, "name": record.name, "params": sorted(values), "count": len(values)}, None)


def log_metrics_command(
    run: Annotated[str, typer.Argument(help="Run id, unique id prefix or unique name.")],
    metrics: Annotated[
        Optional[str], typer.Option("--metrics", help="A JSON object of metric name -> number (one step).")
    ] = None,
    step: Annotated[Optional[int], typer.Option("--step", help="Step (default: last step + 1).")] = None,
    stdin: Annotated[
        bool,
        typer.Option(
            "--stdin",
            help='Read many steps from stdin, one JSON object per line: {"step": 3, "loss": 0.1}. '
            '"step" is optional (default: last step + 1); every other key is a metric.',
        ),
    ] = False,
    fmt: ReportFormatOption = ReportFormat.text,
    store: StoreOption = None,
) -> None:
    """Log metrics to a run: one step with --metrics, or a stream of steps with --stdin.

    One call costs most of a second; a loop that logs every step should stream instead: with --stdin, each line of stdin is one step, `{"step": 3, "loss": 0.1, "acc": 0.9}` (`step` optional: the last step + 1; blank lines are skipped). Steps are saved every couple of seconds and at the end of input. A bad line stops the command with exit code 1 and an error naming its line number: the steps before it are kept, nothing after it is read.

    Prints nothing; --format json prints {"run", "name", "steps": steps logged, "last_step"} (with --metrics also "step" and "metrics": the keys; with --stdin "lines" read).

    Example:

        localtrack log-metrics $RUN --metrics '{"loss": 0.31, "acc": 0.9}' --step 5

        ./train | localtrack log-metrics $RUN --stdin
    """
    if stdin and (metrics is not None or step is not None):
        raise typer.BadParameter("--stdin reads the steps from stdin: leave out --metrics and --step", param_hint="--stdin")
    if not stdin and metrics is None:
        raise typer.BadParameter(
            "give one step with --metrics '{\"loss\": 0.1}', or stream steps with --stdin", param_hint="--metrics"
        )
    lt = open_reader(store)
    record = lt.resolve(run)
    if stdin:
        previous = _exit_on_sigterm()
        try:
            streamed = lt.stream_metrics(record, sys.stdin.buffer, flush_seconds=_flush_seconds())
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        report(fmt, {"run": record.id, "name": record.name, "steps": streamed.steps, "last_step": streamed.last_step,
                     "lines": streamed.lines}, None)
        return
    assert metrics is not None
    values = _json_text(metrics, "--metrics")
    logged = lt.log_metrics(record, values, step)
    report(fmt, {"run": record.id, "name": record.name, "steps": logged.steps, "last_step": logged.last_step,
                 "step": logged.last_step, "metrics": sorted(values)}, None)


def _exit_on_sigterm() -> Any:
    """``kill`` of the pipeline (SIGTERM) ends the stream like Ctrl-C: steps read so far are
    saved on the way out (the handler only raises; the saving runs in the main flow)."""

    def terminate(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    try:
        return signal.signal(signal.SIGTERM, terminate)
    except (ValueError, OSError, AttributeError):  # not the main thread, or no SIGTERM here
        return None


def _flush_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get(envvars.LOCALTRACK_FLUSH_SECONDS) or 2.0))
    except ValueError:
        return 2.0


def finish_command(
    run: Annotated[str, typer.Argument(help="Run id, unique id prefix or unique name.")],
    status: Annotated[str, typer.Option("--status", help="finished, failed or killed.")] = "finished",
    fmt: ReportFormatOption = ReportFormat.text,
    store: StoreOption = None,
) -> None:
    """Mark a shell-driven run as ended.

    Prints nothing; --format json prints {"run", "name", "status", "ended_at"}.

    Example:

        localtrack finish $RUN --status failed
    """
    if status not in ("finished", "failed", "killed"):
        raise typer.BadParameter(f"--status {status!r}: use finished, failed or killed")
    record = open_reader(store).finish(run, status)
    report(fmt, {"run": record.id, "name": record.name, "status": record.manifest.get("status"),
                 "ended_at": record.manifest.get("ended_at")}, None)


def register(app: typer.Typer) -> None:
    app.command("create")(create_command)
    app.command("log-params")(log_params_command)
    app.command("log-metrics")(log_metrics_command)
    app.command("finish")(finish_command)

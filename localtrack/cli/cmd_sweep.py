"""``localtrack sweep create|agent|show``: hyperparameter sweeps with the store as coordinator."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from localtrack.cli.common import FormatOption, StoreOption, open_layout
from localtrack.cli.output import OutputFormat, safe_text

SWEEP_HELP = """Hyperparameter sweeps from W&B's sweep config (grid, random, bayes), with no server.

Example:

    localtrack sweep create sweep.yaml && localtrack sweep agent SWEEP --count 10 -- python train.py
"""


def create_command(
    config_file: Annotated[Path, typer.Argument(help="Sweep config: YAML (W&B's shape) or JSON.", show_default=False)],
    project: Annotated[Optional[str], typer.Option("--project", "-p", help="Project of the trial runs.")] = None,
    store: StoreOption = None,
) -> None:
    """Store a sweep config and print its id (agents then run its trials).

    The config has W&B's shape: method (grid, random or bayes), metric {name, goal},
    parameters (values, value, or a distribution with min/max or mu/sigma) and optionally
    early_terminate {type: hyperband, min_iter, eta} (or max_iter with s).

    Example:

        localtrack sweep create sweep.yaml
    """

    from localtrack.cli.output import console, safe
    from localtrack.names import validate_label
    from localtrack.sweeps.config import load_config_file
    from localtrack.sweeps.store import create_sweep

    raw = load_config_file(config_file)
    layout = open_layout(store, create=True)
    sweep_id = create_sweep(layout, raw, project=validate_label(project, "project") if project else None)
    out = console()
    out.print(safe(sweep_id), soft_wrap=True)
    out.print(safe_text(f"run trials with: localtrack sweep agent {sweep_id} -- python train.py", "dim"), soft_wrap=True)


def agent_command(
    sweep: Annotated[str, typer.Argument(help="Sweep id (or a unique prefix).", show_default=False)],
    command: Annotated[
        Optional[list[str]], typer.Argument(help="The training command, after -- (default: the config's program).")
    ] = None,
    count: Annotated[Optional[int], typer.Option("--count", "-n", min=1, help="Run at most this many trials.")] = None,
    shard: Annotated[
        Optional[str], typer.Option("--shard", help="K/N: take only grid points with index % N == K (machines sharing the store by git).")
    ] = None,
    store: StoreOption = None,
) -> None:
    """Run trials of a sweep, one after another, each as a run grouped under the sweep.

    Each trial's params reach the command as --name=value arguments and as the run's config
    (localtrack.init() in the script joins the trial's run). Start agents in as many
    terminals or machines as you like: each trial is claimed by creating one file in the
    store, so no two agents run the same one. With early_terminate (hyperband) the agent
    watches the trial's metric and stops a bad trial at a bracket with SIGTERM.

    Example:

        localtrack sweep agent sweep-1a2b3c4d --count 20 -- python train.py --epochs 5
    """
    from localtrack.cli.output import err_console
    from localtrack.sweeps.agent import Agent
    from localtrack.sweeps.store import resolve_sweep

    parts = _shard(shard)
    layout = open_layout(store)
    err = err_console()
    runner = Agent(layout, resolve_sweep(layout, sweep), shard=parts,
                   out=lambda line: err.print(safe_text(f"localtrack: {line}", "dim"), soft_wrap=True))
    if not command and not runner.sweep.config.program and not runner.sweep.config.command:
        raise typer.BadParameter("give the training command after --, e.g. -- python train.py (or set program: in the config)")
    runner.run(count, command=list(command) if command else None)


def _shard(text: str | None) -> tuple[int, int]:
    if text is None:
        return (0, 1)
    k, slash, n = text.partition("/")
    if not (slash and k.isdigit() and n.isdigit() and int(n) >= 1 and int(k) < int(n)):
        raise typer.BadParameter(f"{text!r}: give K/N with 0 <= K < N, e.g. 0/2", param_hint="--shard")
    return (int(k), int(n))


def show_command(
    sweep: Annotated[Optional[str], typer.Argument(help="Sweep id or unique prefix (default: list the sweeps).")] = None,
    fmt: FormatOption = OutputFormat.table,
    store: StoreOption = None,
) -> None:
    """Show a sweep's trials, the best so far and each parameter's importance.

    Importance is |Spearman rank correlation| between the parameter and the metric over
    finished trials (0: no monotone relation, 1: the metric's order follows the parameter's).
    Trials stopped by early_terminate show as stopped@<bracket> (JSON: early_terminated).

    Example:

        localtrack sweep show sweep-1a2b3c4d --format json
    """
    from localtrack.cli.output import emit_json, emit_rows
    from localtrack.sweeps.results import sweep_report
    from localtrack.sweeps.store import StoredSweep, list_sweeps, resolve_sweep

    layout = open_layout(store)
    if sweep is None:
        rows = []
        for sweep_id in list_sweeps(layout):
            try:
                stored = StoredSweep(layout, sweep_id)
                rows.append({"id": sweep_id, "method": stored.config.method, "metric": stored.config.metric_name,
                             "trials": len(stored.claimed_keys()), "created_at": stored.record.get("created_at")})
            except Exception as exc:  # a damaged sweep is listed, not fatal
                rows.append({"id": sweep_id, "method": None, "metric": None, "trials": None, "created_at": None,
                             "problem": str(exc)})
        emit_rows(rows, fmt, columns=["id", "method", "metric", "trials", "created_at"])
        return
    report = sweep_report(StoredSweep(layout, resolve_sweep(layout, sweep)))
    if fmt == OutputFormat.json:
        emit_json(report)
        return
    if fmt == OutputFormat.csv:
        emit_rows([_flat_row(r) for r in report["trials"]], fmt)
        return
    _print_report(report)


def _flat_row(row: dict[str, Any]) -> dict[str, Any]:
    status = row["status"]
    stop = row.get("early_terminated")
    if stop:
        status = f"stopped@{stop.get('bracket') if stop.get('bracket') is not None else '?'}"
    out = {"trial": row["trial"], "run": row.get("run_name") or row.get("run_id"), "status": status}
    out.update({f"params.{k}": v for k, v in row["params"].items()})
    out["value"] = row["value"]
    return out


def _print_report(report: dict[str, Any]) -> None:
    from rich.text import Text

    from localtrack.cli.output import console, emit_rows, format_cell, safe

    out = console()
    metric = report["metric"]
    head = Text(f"sweep {safe(report['id'])}", style="bold")
    head.append(f"  {report['method']}, {safe(metric['goal'])} {safe(metric['name'] or '(no metric)')}", style="")
    counts = ", ".join(f"{n} {safe(s)}" for s, n in sorted(report["counts"].items())) or "no trials yet"
    head.append(f"  ({counts})", style="dim")
    out.print(head, soft_wrap=True)
    schedule = report.get("early_terminate")
    if schedule:
        brackets = schedule.get("brackets") or []
        shown = ", ".join(str(b) for b in brackets[:6]) + (", ..." if len(brackets) > 6 else "")
        stopped = sum(1 for r in report["trials"] if r.get("early_terminated"))
        out.print(Text(f"hyperband: brackets {shown} (eta {schedule.get('eta', 3)}); {stopped} trials stopped early "
                       "(status stopped@<bracket>)", style="dim"), soft_wrap=True)
    if report["trials"]:
        emit_rows([_flat_row(r) for r in report["trials"]], OutputFormat.table)
    best = report["best"]
    if best is not None:
        line = Text("best: ", style="bold")
        line.append(f"{safe(best.get('run_name') or best['run_id'])} {safe(metric['name'])}={format_cell(best['value'])} ")
        line.append(safe(format_cell(best["params"])), style="dim")
        out.print(line, soft_wrap=True)
    scored = {k: v for k, v in report["importance"].items() if v is not None}
    if scored:
        line = Text("importance |spearman|: ", style="bold")
        line.append(", ".join(f"{safe(k)} {v:.2f}" for k, v in sorted(scored.items(), key=lambda kv: -kv[1])))
        out.print(line, soft_wrap=True)
    if metric["name"] and report["trials"]:
        hint = f"localtrack visualize --plot-type parallel --filter \"group = '{report['id']}'\" --metric {metric['name']}"
        out.print(Text(f"plot: {safe(hint)}", style="dim"), soft_wrap=True)


def register(app: typer.Typer) -> None:
    sweep = typer.Typer(help=SWEEP_HELP, no_args_is_help=True)
    sweep.command("create")(create_command)
    sweep.command("agent")(agent_command)
    sweep.command("show")(show_command)
    app.add_typer(sweep, name="sweep")

"""``localtrack exec`` (wrap any command as a run) and ``localtrack reproduce`` (re-run one)."""

from __future__ import annotations

import shlex
import sys
from typing import Annotated, Any, Optional

import typer
from rich.table import Table
from rich.text import Text

from localtrack.cli.common import FormatOption, ReportFormatOption, StoreOption
from localtrack.cli.output import (
    OutputFormat,
    ReportFormat,
    console,
    emit_csv,
    emit_json,
    err_console,
    format_cell,
    print_error,
    print_warning,
    safe,
    safe_text,
)
from localtrack.errors import InvalidNameError, LocaltrackError


def _tags(values: list[str]) -> dict[str, str]:
    from localtrack.repro.public import parse_tags

    try:
        return parse_tags(values)
    except InvalidNameError as exc:
        raise typer.BadParameter(str(exc), param_hint="--tag") from None


def exec_command(
    command: Annotated[
        list[str], typer.Argument(help="The command to run and its arguments (put them after --).", show_default=False)
    ],
    project: Annotated[Optional[str], typer.Option("--project", "-p", help="Project (wins over the script's init()).")] = None,
    name: Annotated[Optional[str], typer.Option("--name", "-n", help="Run name (wins over the script's init()).")] = None,
    tag: Annotated[
        Optional[list[str]], typer.Option("--tag", "-t", help="A label, or key=value; repeat for more.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not print the run id at the end.")] = False,
    fmt: ReportFormatOption = ReportFormat.text,
    store: StoreOption = None,
) -> None:
    """Run any command as a run: records its command line, git commit and diff, packages, output and exit status.

    The command's output passes through live and is saved as the run's `output.log` artifact; `--key value` arguments become params when the script logs none. A script that calls localtrack.init() joins this same run (its config, tags and notes merge in). localtrack exits with the command's exit code; the run ends finished (0), failed (other codes) or killed (Ctrl-C, which is passed on to the command).

    The closing "run ... finished" line goes to stderr. With --format json the command's own output goes to stderr too, and stdout holds one object: {"id", "name", "project", "status", "exit_code"}.

    Example:

        localtrack exec --project mnist --tag baseline -- python train.py --lr 0.01 --epochs 5
    """
    from localtrack.repro.public import exec_run

    if not command:
        raise typer.BadParameter("give the command to run after --, e.g. localtrack exec -- python train.py")
    result = exec_run(list(command), store=store, name=name, project=project, tags=_tags(tag or []),
                      stdout=sys.stderr.buffer if fmt == ReportFormat.json else None)
    if fmt == ReportFormat.json:
        emit_json(result.to_dict())
    elif not quiet:
        status = result.status
        style = {"finished": "green", "failed": "red", "killed": "yellow"}.get(status, "red")
        line = Text("localtrack: run ", style="dim")
        line.append(safe(result.run_id), style="bold")
        line.append(f" {status}", style=style)
        line.append(f" (exit code {result.exit_code})", style="dim")
        err_console().print(line, soft_wrap=True)
    raise typer.Exit(result.exit_code)


def _fmt_diff(value: float) -> str:
    if value == float("inf"):
        return "inf"
    return f"{value:.3g}"


def _print_plan(described: dict[str, Any]) -> None:
    out = console()
    head = Text("Would reproduce run ", style="bold")
    head.append(safe(described["run"]))
    head.append(f" ({safe(described['name'])})")
    out.print(head, soft_wrap=True)
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="dim")
    table.add_column(overflow="fold")
    table.add_row("commit", safe_text(f"{described['commit']}  (repository {described['repository']})"))
    diff_lines = [line.strip() for line in described["diff"].splitlines()] or ["none (clean tree)"]
    for i, line in enumerate(diff_lines):
        table.add_row("diff" if i == 0 else "", safe_text(line))
    if described["untracked"]:
        table.add_row("untracked", safe_text(", ".join(described["untracked"]) + "  (names only: not restored)"))
    table.add_row("cwd", safe_text(described["cwd"]))
    table.add_row("command", safe_text(shlex.join(described["command"])))
    for key, value in described["overrides"].items():
        old = described["replaced"].get(key)
        where = f"on the command line (was {old})" if old is not None else "in run.config only"
        table.add_row("set", safe_text(f"{key} = {format_cell(value)}  {where}"))
    for key, value in described["env"].items():
        table.add_row("env", safe_text(f"{key}={value}"))
    py = described["python"]
    table.add_row("python", safe_text(f"recorded {py['recorded'] or 'unknown'}, now {py['now']}"))
    table.add_row("tolerance", safe_text(f"{described['tolerance']:g} (relative)"))
    out.print(table)
    for warning in described["warnings"]:
        print_warning(warning)
    out.print(Text("Nothing was run (--dry-run).", style="dim"))


def reproduce_command(
    run: Annotated[str, typer.Argument(help="Run id, unique id prefix or unique name.")],
    set_: Annotated[
        Optional[list[str]],
        typer.Option("--set", help="key=value param override (JSON value, else text); repeat for more.", show_default=False),
    ] = None,
    tolerance: Annotated[
        str, typer.Option("--tolerance", help="Largest relative difference that still matches: 1% or 0.01.")
    ] = "1e-6",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would run; run nothing.")] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Run the recorded command without asking (for scripts).")
    ] = False,
    fmt: FormatOption = OutputFormat.table,
    store: StoreOption = None,
) -> None:
    """Re-run a run at its recorded commit (with its recorded diff) in a temporary git worktree and compare.

    The command comes from the run folder, which may be someone else's commit: reproduce shows it and asks before running it. Pass --yes to skip the question; without a terminal to ask on and without --yes it refuses. Your working tree, index and HEAD are not touched. The new run lands in the same store, with parent = RUN and the tag `reproduction`. Prints a verdict per metric: the final values, their relative difference |a-b|/max(|a|,|b|) and whether it is within --tolerance (default 1e-6).

    Exit code 0: every metric matches; 1: some differ; 2: could not run (commit gone, diff does not apply, the command failed). With --format json/csv the command's own output goes to stderr, so stdout holds only the verdict.

    Example:

        localtrack reproduce 3f9k2a --tolerance 1% --set lr=0.02 --yes
    """
    from localtrack.repro.public import reproduce
    from localtrack.repro.reproduce import EXIT_ERROR

    def go_ahead(plan: Any) -> bool:
        for warning in plan.warnings:
            print_warning(warning)
        return yes or _confirmed(plan)

    try:
        outcome = reproduce(
            run, store=store, overrides=set_ or [], tolerance=tolerance, dry_run=dry_run, confirm=go_ahead,
            stdout=sys.stdout.buffer if fmt == OutputFormat.table else sys.stderr.buffer, stderr=sys.stderr.buffer,
        )
    except LocaltrackError as exc:
        print_error(str(exc))
        raise typer.Exit(EXIT_ERROR) from None
    if outcome.plan is not None:  # --dry-run
        if fmt == OutputFormat.table:
            _print_plan(outcome.plan)
        else:
            emit_json(outcome.plan)
        raise typer.Exit(0)
    if outcome.verdict == "declined":
        raise typer.Exit(outcome.exit_code)
    for note in outcome.notes:
        print_warning(note)
    for warning in outcome.warnings:
        print_warning(warning)
    rows = outcome.rows()
    if fmt == OutputFormat.json:
        emit_json(rows)
    elif fmt == OutputFormat.csv:
        emit_csv(rows, ["id", "of", "verdict", "metric", "original", "reproduced", "rel_diff", "within_tolerance"])
    else:
        _print_verdict(outcome, outcome.of, outcome.tolerance)
    if outcome.verdict == "error":
        print_error(outcome.message)
    raise typer.Exit(outcome.exit_code)


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def _confirmed(plan: Any) -> bool:
    """Show the recorded command (one escaped line) and ask; refuse without a terminal."""
    from localtrack.repro import confirm

    line = confirm.shell_line(plan.argv)
    if not _stdin_is_terminal():
        print_error(
            f"not run: reproduce would run the command recorded in run {plan.original.id} ($ {line}); "
            "stdin is not a terminal to ask on, so pass --yes to run it"
        )
        return False
    out = err_console()
    head = Text("reproduce will run the command recorded in run ", style="bold")
    head.append(safe(plan.original.id))
    head.append(f" (commit {plan.commit[:12]}, in {safe(plan.rel_cwd)}):")
    out.print(head, soft_wrap=True)
    out.print(Text("  $ ") + safe_text(line), soft_wrap=True)
    for note in confirm.notes(plan.original.manifest, plan.argv):
        print_warning(note)
    if typer.confirm("Run it?", default=False, err=True):
        return True
    print_error("not run (answer y to run it, or look first with --dry-run)")
    return False


def _print_verdict(outcome: Any, original_id: str, tolerance: float) -> None:
    out = console()
    table = Table(title=f"Reproduction {safe(outcome.run_id)} of {safe(original_id)}", header_style="bold")
    for column in ("metric", "original", "reproduced", "rel. diff", f"within {tolerance:g}"):
        table.add_column(column, overflow="fold")
    for row in outcome.metrics:
        table.add_row(
            safe_text(row.metric),
            safe_text(format_cell(row.original) if row.original is not None else "missing"),
            safe_text(format_cell(row.reproduced) if row.reproduced is not None else "missing"),
            safe_text(_fmt_diff(row.rel_diff)),
            Text("yes", style="green") if row.within else Text("NO", style="bold red"),
        )
    if outcome.metrics:
        out.print(table)
    if outcome.verdict == "match":
        line = Text("match: ", style="bold green")
    elif outcome.verdict == "differ":
        line = Text("differ: ", style="bold red")
    else:
        return
    line.append(safe(outcome.message))
    out.print(line, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("exec", context_settings={"allow_interspersed_args": False})(exec_command)
    app.command("reproduce")(reproduce_command)

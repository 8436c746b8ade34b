"""``localtrack.exec_run`` and ``localtrack.reproduce``: wrap a command as a run, re-run a run.

    result = localtrack.exec_run(["python", "train.py", "--lr", "0.01"], project="mnist")
    result.run_id, result.status, result.exit_code
    outcome = localtrack.reproduce(result.run_id, tolerance="1%")
    outcome.verdict                      # "match", "differ" or "error"

``localtrack exec`` and ``localtrack reproduce`` are these two calls plus printing. Nothing
here asks a question: a caller that wants to look before a recorded command runs passes
``confirm`` (the CLI asks on the terminal there).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from localtrack.errors import InvalidValueError

if TYPE_CHECKING:
    from localtrack.repro.reproduce import Plan
    from localtrack.repro.verdict import MetricVerdict

@dataclass(frozen=True)
class ExecResult:
    """How a wrapped command ended: the run it recorded, its status and the command's exit code."""

    run_id: str
    name: str | None
    project: str | None
    status: str  # finished (exit 0) | failed | killed (interrupted)
    exit_code: int
    interrupted: bool

    def to_dict(self) -> dict[str, Any]:
        """What ``localtrack exec --format json`` prints."""
        return {"id": self.run_id, "name": self.name, "project": self.project, "status": self.status,
                "exit_code": self.exit_code}


@dataclass(frozen=True)
class Reproduction:
    """How a reproduction ended (or, for a dry run, what it would do).

    ``verdict``: match | differ | error (the command failed) once it ran; ``planned`` for
    ``dry_run``; ``declined`` when ``confirm`` said no. ``exit_code`` is the CLI's: 0 match
    (and planned), 1 differ, 2 error or declined.
    """

    of: str
    run_id: str | None
    verdict: str
    exit_code: int
    tolerance: float
    message: str = ""
    metrics: list[MetricVerdict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    plan: dict[str, Any] | None = None

    def rows(self) -> list[dict[str, Any]]:
        """One row per metric (original, reproduced, rel_diff, within_tolerance), as ``--format json``."""
        return [{"id": self.run_id, "of": self.of, "verdict": self.verdict, **m.as_row()} for m in self.metrics]


def parse_tags(values: Mapping[str, str] | Sequence[str] | None) -> dict[str, str]:
    """Tags from a mapping or from ``"label"`` / ``"key=value"`` strings (validated, named when bad)."""
    from localtrack.names import validate_key, validate_tag_value

    if values is None:
        return {}
    if isinstance(values, Mapping):
        return {validate_key(str(k), "tag"): validate_tag_value(str(v)) if v != "" else "" for k, v in values.items()}
    if isinstance(values, str):
        values = [values]
    tags: dict[str, str] = {}
    for raw in values:
        key, eq, value = str(raw).partition("=")
        tags[validate_key(key.strip(), "tag")] = validate_tag_value(value) if eq else ""
    return tags


def exec_run(
    command: Sequence[str],
    *,
    store: str | os.PathLike[str] | None = None,
    name: str | None = None,
    project: str | None = None,
    tags: Mapping[str, str] | Sequence[str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    stdout: BinaryIO | None = None,
    stderr: BinaryIO | None = None,
) -> ExecResult:
    """Run ``command`` (an argv list) as a new run and wait for it.

    Records its command line, git commit and diff, packages, output (the ``output.log``
    artifact) and exit status; ``--key value`` arguments become params when the script logs
    none, and a script calling ``localtrack.init()`` joins this run. ``name``/``project``
    win over the script's own. The command's output is echoed to ``stdout``/``stderr``
    (binary streams; default this process's). The store is created if there is none.
    """
    from localtrack.repro.session import ExecPlan, exec_command
    from localtrack.store.project import open_store

    if isinstance(command, (str, bytes)) or not command or not all(isinstance(a, str) for a in command):
        raise InvalidValueError("exec_run takes the command as a non-empty list of strings, e.g. ['python', 'train.py']",
                                command)
    layout = open_store(store, create=True)
    fixed = tuple(f for f, v in (("name", name), ("project", project)) if v)
    plan = ExecPlan(argv=list(command), cwd=Path(cwd) if cwd is not None else Path.cwd(), name=name, project=project,
                    tags=parse_tags(tags), fixed=fixed)
    result, manifest = exec_command(layout, plan, stdout=stdout, stderr=stderr)
    return ExecResult(
        run_id=str(manifest.get("id")), name=manifest.get("name"), project=manifest.get("project"),
        status=str(manifest.get("status") or "?"), exit_code=result.exit_code, interrupted=result.interrupted,
    )


def _assignments(overrides: Mapping[str, Any] | Sequence[str]) -> list[str]:
    """``--set`` strings from ``["lr=0.02"]`` or ``{"lr": 0.02}`` (values as JSON)."""
    if isinstance(overrides, str):
        return [overrides]
    if isinstance(overrides, Mapping):
        return [f"{key}={json.dumps(value)}" for key, value in overrides.items()]
    return [str(s) for s in overrides]


def reproduce(
    run: str,
    *,
    store: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | Sequence[str] = (),
    tolerance: str | float = 1e-6,
    dry_run: bool = False,
    confirm: Callable[[Plan], bool] | None = None,
    stdout: BinaryIO | None = None,
    stderr: BinaryIO | None = None,
) -> Reproduction:
    """Re-run ``run`` at its recorded commit (with its recorded diff) in a temporary git
    worktree, as a new run (parent = ``run``, tag ``reproduction``), and compare final metrics.

    ``overrides`` change params (``{"lr": 0.02}`` or ``["lr=0.02"]``); ``tolerance`` is the
    largest relative difference that still matches (``"1%"``, ``0.01``). ``dry_run`` runs
    nothing and returns the plan. ``confirm(plan)`` is called before the recorded command
    runs (it comes from the run folder: someone else's commit) and may return False to
    decline. Raises :class:`~localtrack.errors.ReproduceError` when the run cannot be re-run.
    """
    from localtrack.repro import reproduce as repro
    from localtrack.store.project import open_store

    layout = open_store(store)
    plan = repro.plan(layout, run, _assignments(overrides), tolerance)
    original = plan.original.id
    if dry_run:
        return Reproduction(of=original, run_id=None, verdict="planned", exit_code=0, tolerance=plan.tolerance,
                            warnings=list(plan.warnings), plan=repro.describe(layout, plan))
    if confirm is not None and not confirm(plan):
        return Reproduction(of=original, run_id=None, verdict="declined", exit_code=repro.EXIT_ERROR,
                            tolerance=plan.tolerance, message="not run: declined", warnings=list(plan.warnings))
    notes: list[str] = []
    outcome = repro.execute(layout, plan, stdout=stdout, stderr=stderr, notes=notes)
    return Reproduction(
        of=original, run_id=outcome.run_id, verdict=outcome.verdict, exit_code=outcome.exit_code,
        tolerance=plan.tolerance, message=outcome.message, metrics=list(outcome.rows), warnings=list(outcome.warnings),
        notes=notes,
    )

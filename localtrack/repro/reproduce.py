"""Re-running a recorded run and judging whether it gave the same result.

:func:`plan` reads what the run recorded (commit, diff, command line, working directory)
and fails early, naming the problem, when it cannot be re-run. :func:`execute` checks the
commit out in a temporary worktree, applies the diff, runs the command there as a new run
(``parent`` = the original, tag ``reproduction``) in the original store, and compares the
final metric values. The user's own working tree is never touched.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from localtrack import capture, envvars
from localtrack.api import overrides
from localtrack.errors import ReproduceError
from localtrack.repro import artifact_io, drift, verdict
from localtrack.repro.argv_params import Rewrite, parse_assignment, parse_value, rewrite_argv
from localtrack.repro.runner import ChildResult
from localtrack.repro.session import ExecPlan, argv_of, exec_command, overrides_env
from localtrack.repro.verdict import MetricVerdict
from localtrack.repro.worktree import (
    apply_diff,
    diff_stat,
    find_repo,
    temporary_worktree,
)
from localtrack.storage.layout import StoreLayout
from localtrack.store.reader import RunRecord, resolve_run

REPRODUCTION_TAG = "reproduction"
_COMMIT = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?\Z")  # sha-1 or sha-256, as capture records it
EXIT_MATCH, EXIT_DIFFER, EXIT_ERROR = 0, 1, 2


@dataclass
class Plan:
    """Everything reproduce will do, resolved before anything runs (what ``--dry-run`` prints)."""

    original: RunRecord
    commit: str
    repo: Path
    rel_cwd: str  # the recorded working directory, relative to the repository root
    argv: list[str]  # the command line with --set applied, in terms of the original repository
    rewrite: Rewrite
    overrides: dict[str, Any]  # --set key -> value, as the user typed the key
    paths: dict[str, tuple[str, ...]]  # --set key -> the config path it overrides (nested or flat)
    tolerance: float
    diff: bytes
    untracked: list[str]
    warnings: list[str] = field(default_factory=list)

    def config_overrides(self) -> list[tuple[tuple[str, ...], Any]]:
        """``(config path, value)`` for every ``--set``."""
        return [(self.paths[key], value) for key, value in self.overrides.items()]

    def env(self, layout: StoreLayout) -> dict[str, str]:
        """Variables set for the command (the run id is made when it starts)."""
        env = {envvars.LOCALTRACK_DIR: str(layout.root.resolve()), envvars.LOCALTRACK_RUN_ID: "<new run>"}
        env.update(overrides_env(self.config_overrides()))
        return env


@dataclass
class Outcome:
    """How a reproduction ended."""

    verdict: str  # match | differ | error
    run_id: str
    rows: list[MetricVerdict]  # (the field ``verdict`` hides the module in this class body)
    result: ChildResult
    warnings: list[str]
    exit_code: int
    message: str = ""


def _section(manifest: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """``manifest[key]`` when it is an object, else empty (a manifest from disk may hold anything)."""
    value = manifest.get(key)
    return value if isinstance(value, Mapping) else {}


def _within(path: str, root: str) -> str | None:
    """``path`` relative to ``root`` if it lies inside it, else None."""
    try:
        rel = os.path.relpath(path, root)
    except ValueError:  # another drive (Windows)
        return None
    if rel == os.pardir or rel.startswith(os.pardir + os.sep) or os.path.isabs(rel):
        return None
    return rel


def plan(
    layout: StoreLayout,
    ref: str,
    sets: Sequence[str] = (),
    tolerance: str | float = verdict.DEFAULT_TOLERANCE,
    cwd: Path | None = None,
) -> Plan:
    """Work out how to re-run ``ref``; raises :class:`ReproduceError` when it cannot be."""
    tol = verdict.parse_tolerance(tolerance)
    assignments = dict(parse_assignment(s) for s in sets)
    values = {k: parse_value(v) for k, v in assignments.items()}
    record = resolve_run(layout, ref)
    if not record.ok:
        raise ReproduceError(f"run {record.id} cannot be read: {record.error}", record.id)
    manifest = record.manifest
    refuse_shell_driven(record)
    recorded_config = _section(manifest, "config")
    paths = {key: overrides.resolve_path(recorded_config, key) for key in assignments}
    git = _section(manifest, "git")
    commit = git.get("commit")
    if not isinstance(commit, str) or not commit:
        raise ReproduceError(f"run {record.id} recorded no git commit (it did not run inside a git repository)", record.id)
    if not _COMMIT.match(commit):
        raise ReproduceError(f"run {record.id}: the recorded commit {commit[:80]!r} is not a git commit id", commit)
    command = _section(manifest, "command")
    argv = argv_of(command)
    if argv is None:
        raise ReproduceError(f"run {record.id} recorded no command line that can be re-run", record.id)
    recorded_root = git.get("root") if isinstance(git.get("root"), str) else None
    candidates = [
        Path(recorded_root) if recorded_root else None,
        layout.root.resolve().parent,
        cwd or Path.cwd(),
    ]
    repo = find_repo(commit, candidates)
    if repo is None:
        where = f" (recorded repository: {recorded_root})" if recorded_root else ""
        raise ReproduceError(
            f"commit {commit} of run {record.id} no longer exists in any repository found{where}; "
            "it may have been rebased away or garbage-collected. Fetch it, or run reproduce inside a clone that has it",
            commit,
        )
    warnings: list[str] = []
    recorded_cwd = command.get("cwd") if isinstance(command.get("cwd"), str) else None
    rel_cwd = "."
    if recorded_cwd and recorded_root:
        inside = _within(recorded_cwd, recorded_root) if os.path.isabs(recorded_cwd) else None
        if inside is None:
            warnings.append(f"the run was started outside its repository ({recorded_cwd}); running at the repository root")
        else:
            rel_cwd = inside
    rewrite = rewrite_argv(argv, assignments)
    for key in rewrite.absent:
        warnings.append(
            f"--set {key}: not on the recorded command line; the script sees it only through run.{overrides.spell(paths[key])}"
        )
    for key in rewrite.flags:
        warnings.append(f"--set {key}: the command line has it as a bare --{key} flag; left unchanged there")
    diff = artifact_io.read_artifact(layout, manifest, artifact_io.DIFF_NAME) or b""
    untracked = artifact_io.read_untracked(layout, manifest)
    if git.get("dirty") and not diff and not untracked:
        warnings.append("the run's working tree was dirty but no diff was recorded; reproducing the bare commit")
    if untracked:
        shown = ", ".join(untracked[:5]) + (f" and {len(untracked) - 5} more" if len(untracked) > 5 else "")
        warnings.append(
            f"the run had {len(untracked)} untracked file(s), recorded by name only and not restored: {shown}"
        )
    return Plan(record, commit, repo, rel_cwd, rewrite.argv, rewrite, values, paths, tol, diff, untracked, warnings)


def refuse_shell_driven(record: RunRecord) -> None:
    """A run logged from the shell (``localtrack create`` / ``log-metrics``) recorded no command
    that produced its results, only the ``localtrack create`` call: re-running that would make
    an empty run, so it is refused."""
    manifest = record.manifest
    command = _section(manifest, "command")
    writers = _section(manifest, "writers")
    entries = [w for w in writers.values() if isinstance(w, Mapping)]
    if command.get("via") == "shell" or (entries and all(w.get("external") for w in entries)):
        raise ReproduceError(
            f"run {record.id} was logged from the shell (localtrack create / log-metrics): it recorded no "
            "command that produced its results, so reproduce cannot re-run it; wrap the job in "
            "`localtrack exec -- ...` to record one",
            record.id,
        )


def describe(layout: StoreLayout, p: Plan) -> dict[str, Any]:
    """What a dry run shows: commit, diff summary, command, working directory, environment drift."""
    current_env = capture.capture_environment()
    original_env = p.original.manifest.get("environment")
    original_env = original_env if isinstance(original_env, Mapping) else None
    return {
        "run": p.original.id,
        "name": p.original.name,
        "commit": p.commit,
        "repository": str(p.repo),
        "diff": diff_stat(p.repo, p.diff) if p.diff else "",
        "diff_bytes": len(p.diff),
        "untracked": p.untracked,
        "command": p.argv,
        "cwd": p.rel_cwd,
        "replaced": dict(p.rewrite.replaced),
        "overrides": p.overrides,
        "config_paths": {key: list(path) for key, path in p.paths.items()},
        "env": p.env(layout),
        "tolerance": p.tolerance,
        "python": {"recorded": (original_env or {}).get("python"), "now": current_env.get("python")},
        "warnings": p.warnings + environment_drift(layout, p.original.manifest, current_env, None),
    }


def environment_drift(
    layout: StoreLayout,
    original: Mapping[str, Any],
    current_env: Mapping[str, Any] | None,
    current_manifest: Mapping[str, Any] | None,
) -> list[str]:
    """Drift between the original's interpreter/packages and a reproduction's (or this process's)."""
    recorded_packages = artifact_io.read_packages(layout, original)
    if current_manifest is not None:
        current_packages = artifact_io.read_packages(layout, current_manifest)
    else:
        current_packages = artifact_io.parse_freeze(capture.freeze_text())
    if recorded_packages is None or current_packages is None:
        recorded_packages = current_packages = None
    env = original.get("environment") if isinstance(original.get("environment"), Mapping) else None
    return drift.environment_warnings(env, current_env, recorded_packages, current_packages)


def _map_token(token: str, repo: Path, tree: Path, orig_cwd: Path, tree_cwd: Path) -> str:
    """A path on the command line, as the worktree should see it.

    Absolute paths into the repository point into the worktree when the file is there
    (tracked code); relative paths that exist only in the user's tree (untracked data)
    point back to it, since the worktree has no copy.
    """
    head, eq, value = "", "", token
    if token.startswith("-"):
        if not token.startswith("--") or "=" not in token:
            return token
        head, eq, value = token.partition("=")
    if not value:
        return token
    if os.path.isabs(value):
        rel = _within(value, str(repo))
        if rel is None or not (tree / rel).exists():
            return token
        value = str(tree / rel)
    elif not (tree_cwd / value).exists() and (orig_cwd / value).exists():
        value = os.path.abspath(orig_cwd / value)
    else:
        return token
    return f"{head}{eq}{value}"


def execute(
    layout: StoreLayout,
    p: Plan,
    *,
    stdout: BinaryIO | None = None,
    stderr: BinaryIO | None = None,
    notes: list[str] | None = None,
) -> Outcome:
    """Run the plan in a temporary worktree; the verdict is recorded in the new run's manifest."""
    original = p.original.manifest
    orig_cwd = p.repo / p.rel_cwd
    notes = notes if notes is not None else []
    with temporary_worktree(p.repo, p.commit) as tree:
        apply_diff(tree, p.diff)
        tree_cwd = tree / p.rel_cwd
        tree_cwd.mkdir(parents=True, exist_ok=True)
        argv = [_map_token(t, p.repo, tree, orig_cwd, tree_cwd) for t in p.argv]
        for before, after in zip(p.argv, argv, strict=True):
            if before != after and str(tree) not in after:
                notes.append(f"{before!r} is not in git: using {after!r} from your working tree")
        reproduction = {"of": p.original.id, "verdict": "error", "tolerance": p.tolerance, "overrides": p.overrides}
        exec_plan = ExecPlan(
            argv=argv,
            cwd=tree_cwd,
            name=f"{p.original.name}-repro"[:256],
            project=str(original.get("project") or "") or None,
            tags={REPRODUCTION_TAG: ""},
            parent=p.original.id,
            fixed=("name", "project"),
            env=overrides_env(p.config_overrides()),
            unset_env=(envvars.LOCALTRACK_RUN_OVERRIDES, envvars.LOCALTRACK_RUN_TAGS),
            recorded_argv=list(p.argv),
            recorded_cwd=str(orig_cwd),
            recorded_git_root=str(p.repo),
            extra_manifest={"reproduction": dict(reproduction)},
            config_overrides=p.config_overrides(),
        )
        judged: dict[str, Any] = {}

        def judge(manifest: dict[str, Any], result: ChildResult) -> dict[str, Any]:
            rows = verdict.compare(original, manifest, p.tolerance)
            failed = result.exit_code != 0 or result.interrupted
            judged.update(rows=rows, word="error" if failed else verdict.overall(rows))
            return {"reproduction": {**reproduction, "verdict": judged["word"]}}

        result, final = exec_command(layout, exec_plan, stdout=stdout, stderr=stderr, before_finish=judge)
    run_id = final["id"]
    rows: list[verdict.MetricVerdict] = judged["rows"]
    word: str = judged["word"]
    env = final.get("environment") if isinstance(final.get("environment"), Mapping) else None
    warnings = environment_drift(layout, original, env, final)
    if word == "error":
        code = EXIT_ERROR
        how = "was interrupted" if result.interrupted else f"failed (exit code {result.exit_code})"
        message = f"the command {how}; its output is the log artifact of run {run_id}"
    else:
        code = EXIT_MATCH if word == "match" else EXIT_DIFFER
        differing = [r.metric for r in rows if not r.within]
        if differing:
            message = f"{len(differing)} metric(s) differ beyond tolerance {p.tolerance:g}: {', '.join(differing)}"
        elif rows:
            message = f"all {len(rows)} metric(s) within tolerance {p.tolerance:g}"
        else:
            message = "neither run logged any metric: nothing to compare"
    return Outcome(word, run_id, rows, result, warnings, code, message)

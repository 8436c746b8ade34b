"""The experiment report: runs, params, final and best metrics, winners, completeness checks.

A report answers "can a colleague trust and rerun this?" per run:

- params logged          the run recorded a non-empty config
- metrics at every step  every metric key was logged at each step of its own cadence (a key
                         logged every 10 steps may skip the 9 between; a key missing step 30
                         of 10, 20, 40 has a gap), and no key stops while others of its
                         cadence go on
- checkpoints saved      an artifact of type checkpoint or model
- environment captured   python and platform recorded
- git state recorded     a commit, and whether the tree was dirty
- reproduced and verified (informational): some run records ``reproduction.of`` = this run
  with ``verdict: "match"``

``complete`` is true when the first five pass. Pure data in and out (``Store.report`` returns
a :class:`Report`); rendering is the views' (``localtrack.viz.markdown``, the CLI's terminal view).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from localtrack.query.compare import compare, metric_direction

REPORT_VERSION = 1
REQUIRED_CHECKS = (
    "params_logged",
    "metrics_every_step",
    "checkpoints_saved",
    "environment_captured",
    "git_recorded",
)
CHECK_TITLES = {
    "params_logged": "params logged",
    "metrics_every_step": "metrics at every step",
    "checkpoints_saved": "checkpoints saved",
    "environment_captured": "environment captured",
    "git_recorded": "git state recorded",
    "reproduced_verified": "reproduced and verified",
}
CHECKPOINT_TYPES = frozenset({"checkpoint", "model"})
_CHECKPOINT_SUFFIXES = (".ckpt", ".pt", ".pth", ".safetensors", ".h5", ".keras", ".onnx")


def check(ok: bool | None, detail: str) -> dict[str, Any]:
    return {"ok": ok, "detail": detail}


def check_params(config: Any) -> dict[str, Any]:
    if isinstance(config, Mapping) and config:
        return check(True, f"{len(config)} top-level params")
    return check(False, "no params logged (run.config is empty)")


def step_gaps(steps: Sequence[int]) -> tuple[int | None, list[int]]:
    """A key's cadence (its most common step difference) and the steps missing from it."""
    ordered = sorted(set(int(s) for s in steps))
    if len(ordered) < 2:
        return None, []
    diffs = [b - a for a, b in itertools.pairwise(ordered)]
    counts: dict[int, int] = {}
    for d in diffs:
        counts[d] = counts.get(d, 0) + 1
    cadence = max(counts, key=lambda d: (counts[d], -d))
    missing: list[int] = []
    for a, b in itertools.pairwise(ordered):
        if b - a > cadence and (b - a) % cadence == 0:
            missing.extend(range(a + cadence, b, cadence))
        elif b - a > cadence:
            missing.append(a + cadence)
    return cadence, missing


def check_metric_steps(steps_by_key: Mapping[str, Sequence[int]]) -> dict[str, Any]:
    """Gaps within each key's cadence, and keys that stop before others of the same cadence."""
    if not steps_by_key:
        return check(False, "no metrics logged")
    problems: list[str] = []
    last_by_cadence: dict[int, int] = {}
    cadences: dict[str, tuple[int | None, int]] = {}
    for key, steps in sorted(steps_by_key.items()):
        cadence, missing = step_gaps(steps)
        if missing:
            shown = ", ".join(str(s) for s in missing[:5]) + (" ..." if len(missing) > 5 else "")
            problems.append(f"{key} misses {len(missing)} step(s): {shown}")
        last = max(steps) if steps else 0
        cadences[key] = (cadence, last)
        if cadence is not None:
            last_by_cadence[cadence] = max(last_by_cadence.get(cadence, last), last)
    for key, (cadence, last) in sorted(cadences.items()):
        if cadence is not None and last_by_cadence[cadence] - last >= cadence:
            problems.append(f"{key} stops at step {last}, others go on to {last_by_cadence[cadence]}")
    if problems:
        return check(False, "; ".join(problems[:5]) + (f"; {len(problems) - 5} more" if len(problems) > 5 else ""))
    total = sum(len(set(s)) for s in steps_by_key.values())
    return check(True, f"{len(steps_by_key)} keys, {total} points, no gaps")


def is_checkpoint(artifact: Any) -> bool:
    if not isinstance(artifact, Mapping):
        return False
    kind = artifact.get("type")
    if isinstance(kind, str) and kind.lower() in CHECKPOINT_TYPES:
        return True
    names = [artifact.get(k) for k in ("name", "filename", "path")]
    return any(isinstance(n, str) and n.lower().endswith(_CHECKPOINT_SUFFIXES) for n in names)


def check_checkpoints(artifacts: Any) -> dict[str, Any]:
    found = [a for a in artifacts or [] if is_checkpoint(a)] if isinstance(artifacts, list) else []
    if found:
        names = [str(a.get("name") or a.get("path") or "?") for a in found]
        return check(True, f"{len(found)} checkpoint(s): {', '.join(names[:3])}{' ...' if len(names) > 3 else ''}")
    return check(False, "no artifact of type checkpoint or model")


def check_environment(environment: Any) -> dict[str, Any]:
    if not isinstance(environment, Mapping):
        return check(False, "no environment recorded")
    missing = [k for k in ("python", "platform") if not environment.get(k)]
    if missing:
        return check(False, f"environment lacks {', '.join(missing)}")
    packages = environment.get("packages")
    count = len(packages) if isinstance(packages, Mapping) else 0
    return check(True, f"python {environment.get('python')}, {count} packages")


def check_git(git: Any) -> dict[str, Any]:
    if not isinstance(git, Mapping) or not git.get("commit"):
        return check(False, "no git commit recorded (not run inside a git repository?)")
    commit = str(git.get("commit"))[:12]
    dirty = git.get("dirty")
    if dirty is None:
        return check(False, f"commit {commit}, but whether the tree was dirty is unknown")
    return check(True, f"commit {commit}{' (dirty tree)' if dirty else ''}")


def reproductions(manifests: Iterable[Mapping[str, Any]]) -> dict[str, list[tuple[str, str]]]:
    """original run id -> [(reproducing run id, verdict)] from every manifest's ``reproduction``.

    A reproduction run with param overrides (``reproduce --set``) tested a variant, not the
    original: its verdict is recorded as ``"variant"``.
    """
    found: dict[str, list[tuple[str, str]]] = {}
    for manifest in manifests:
        repro = manifest.get("reproduction")
        of = verdict = None
        if isinstance(repro, Mapping):
            of, verdict = repro.get("of"), repro.get("verdict")
            if repro.get("overrides") and verdict == "match":
                verdict = "variant"
        if isinstance(of, str) and of:
            found.setdefault(of, []).append((str(manifest.get("id")), str(verdict) if verdict else "unknown"))
    return found


def check_reproduced(run_id: str, repro: Mapping[str, list[tuple[str, str]]]) -> dict[str, Any]:
    attempts = repro.get(run_id, [])
    if not attempts:
        return {**check(None, "never reproduced"), "by": []}
    matched = [r for r, v in attempts if v == "match"]
    if matched:
        return {**check(True, f"reproduced by {', '.join(matched)} (match)"), "by": matched}
    shown = ", ".join(f"{r} ({v})" for r, v in attempts)
    return {**check(False, f"no reproduction matched: {shown}"), "by": [r for r, _ in attempts]}


def run_checks(
    info: Mapping[str, Any], steps_by_key: Mapping[str, Sequence[int]], repro: Mapping[str, list[tuple[str, str]]]
) -> dict[str, dict[str, Any]]:
    """Every completeness check of one run (``info`` is a manifest or RunInfo.to_dict())."""
    return {
        "params_logged": check_params(info.get("config")),
        "metrics_every_step": check_metric_steps(steps_by_key),
        "checkpoints_saved": check_checkpoints(info.get("artifacts")),
        "environment_captured": check_environment(info.get("environment")),
        "git_recorded": check_git(info.get("git")),
        "reproduced_verified": check_reproduced(str(info.get("id")), repro),
    }


def _num(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def build_report(
    rows: Sequence[Mapping[str, Any]],
    infos: Mapping[str, Mapping[str, Any]],
    steps: Mapping[str, Mapping[str, Sequence[int]]],
    all_manifests: Iterable[Mapping[str, Any]],
    *,
    metrics: Sequence[str] | None = None,
    maximize: Iterable[str] = (),
    minimize: Iterable[str] = (),
    generated_at: str | None = None,
    selection: str | None = None,
) -> dict[str, Any]:
    """The report document.

    ``rows``: read-API rows of the runs; ``infos``: run id -> full run fields; ``steps``: run
    id -> metric key -> steps logged; ``all_manifests``: every run in the store (to find
    reproductions of these runs).
    """
    comparison = compare(rows, metrics, maximize=maximize, minimize=minimize)
    repro = reproductions(all_manifests)
    directions = {v.key: v.direction for v in comparison.metrics}
    runs_out: list[dict[str, Any]] = []
    for row in comparison.runs:
        run_id = str(row["id"])
        info = infos.get(run_id, row)
        checks = run_checks({**info, "id": run_id}, steps.get(run_id, {}), repro)
        metric_out = {}
        for key, stats in sorted((row.get("metrics") or {}).items()):
            if metrics and key not in metrics:
                continue
            direction = directions.get(key) or metric_direction(key, maximize, minimize)
            best = stats.get("min") if direction == "min" else stats.get("max") if direction == "max" else stats.get("last")
            metric_out[key] = {
                "final": _num(stats.get("last")),
                "best": _num(best),
                "min": _num(stats.get("min")),
                "max": _num(stats.get("max")),
                "count": stats.get("count"),
                "step": stats.get("step"),
                "direction": direction,
            }
        git = info.get("git") if isinstance(info.get("git"), Mapping) else {}
        runs_out.append(
            {
                "id": run_id,
                "name": row.get("name"),
                "project": row.get("project"),
                "status": row.get("status"),
                "created_at": row.get("created_at"),
                "duration": row.get("duration"),
                "tags": row.get("tags") or {},
                "params": row.get("params") or {},
                "metrics": metric_out,
                "git": {k: git.get(k) for k in ("commit", "branch", "dirty", "remote")} if git else None,
                "best_for": comparison.best_for(run_id),
                "checks": checks,
                "complete": all(checks[name]["ok"] is True for name in REQUIRED_CHECKS),
            }
        )
    names = {str(r["id"]): r.get("name") for r in comparison.runs}
    winners = []
    for verdict in comparison.metrics:
        entry: dict[str, Any] = {"metric": verdict.key, "direction": verdict.direction, "winner": None}
        if verdict.judged:
            best = verdict.best[0]
            entry["winner"] = {"id": best, "name": names.get(best), "value": _num(verdict.values[best])}
            entry["tied"] = verdict.best[1:]
        winners.append(entry)
    return {
        "localtrack_report": REPORT_VERSION,
        "generated_at": generated_at,
        "selection": selection,
        "runs": runs_out,
        "differing_params": [p.key for p in comparison.differing_params()],
        "equal_params": {p.key: next(iter(p.values.values()), None) for p in comparison.equal_params()},
        "winners": winners,
        "summary": {
            "runs": len(runs_out),
            "complete": sum(1 for r in runs_out if r["complete"]),
            "reproduced": sum(1 for r in runs_out if r["checks"]["reproduced_verified"]["ok"] is True),
        },
    }


@dataclass(frozen=True)
class Report:
    """What ``Store.report`` returns: per run its params, final/best metrics and checks, plus winners.

    ``to_dict()`` is the document ``localtrack report -o`` writes (``localtrack_report``: 1; times
    as datetime), ``to_json()`` its JSON text.
    """

    runs: list[dict[str, Any]]
    winners: list[dict[str, Any]]
    summary: dict[str, int]
    differing_params: list[str]
    equal_params: dict[str, Any]
    selection: str | None
    generated_at: str | None
    version: int = REPORT_VERSION

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> Report:
        """A Report from a document :func:`build_report` made."""
        return cls(
            runs=list(document["runs"]), winners=list(document["winners"]), summary=dict(document["summary"]),
            differing_params=list(document["differing_params"]), equal_params=dict(document["equal_params"]),
            selection=document.get("selection"), generated_at=document.get("generated_at"),
            version=int(document.get("localtrack_report", REPORT_VERSION)),
        )

    def to_dict(self) -> dict[str, Any]:
        """The report document, keys in the order the JSON file has them."""
        return {
            "localtrack_report": self.version,
            "generated_at": self.generated_at,
            "selection": self.selection,
            "runs": self.runs,
            "differing_params": self.differing_params,
            "equal_params": self.equal_params,
            "winners": self.winners,
            "summary": self.summary,
        }

    def to_json(self, indent: int | None = 2) -> str:
        """The report as JSON text (times in ISO 8601, non-finite numbers as "NaN"/"Infinity")."""
        import json

        from localtrack.query.export import json_ready

        return json.dumps(json_ready(self.to_dict()), indent=indent, ensure_ascii=False)

    @property
    def complete(self) -> bool:
        """Every run passes every required check."""
        return all(run["complete"] for run in self.runs)


def steps_by_run(points: Any) -> dict[str, dict[str, list[int]]]:
    """run id -> key -> steps, from a long metric table (run, key, step, ...)."""
    data = points.select(["run", "key", "step"]).to_pydict()
    out: dict[str, dict[str, list[int]]] = {}
    for run, key, step in zip(data["run"], data["key"], data["step"], strict=True):
        out.setdefault(run, {}).setdefault(key, []).append(step)
    return out


def report_for(
    store: Any,
    rows: Sequence[Mapping[str, Any]],
    *,
    metrics: Sequence[str] | None = None,
    maximize: Iterable[str] = (),
    minimize: Iterable[str] = (),
    selection: str | None = None,
) -> Report:
    """The :class:`Report` on runs of a :class:`localtrack.Store` (reads what the checks need)."""
    from localtrack.store.reader import list_runs
    from localtrack.timefmt import now_iso

    ids = [str(r["id"]) for r in rows]
    infos = {run_id: store.run(run_id).to_dict() for run_id in ids}
    steps = steps_by_run(store.metrics(runs=ids)) if ids else {}
    manifests = [r.manifest for r in list_runs(store.layout) if r.ok]
    return Report.from_dict(build_report(
        rows, infos, steps, manifests, metrics=metrics, maximize=maximize, minimize=minimize,
        generated_at=now_iso(), selection=selection,
    ))

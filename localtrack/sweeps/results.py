"""A sweep's trials with their runs' outcomes, the best trial, and parameter importance.

Importance is ``|Spearman rank correlation|`` between a parameter and the metric over the
finished trials that logged it: 0 means the metric's order does not follow the parameter's,
1 that it follows it exactly (either way). Categorical parameters are ranked by their
values' order in the config. It needs at least 3 trials and is a screening measure, not
W&B's random-forest importance.

A trial stopped by ``early_terminate`` has ``early_terminated`` = the bracket (from its
run's ``sweep_early_terminated`` tag, details from ``stops/<key>.json``); it competes for
``best`` with the value it reached, when it logged the metric at all.
"""

from __future__ import annotations

import math
from typing import Any

from localtrack.errors import LocaltrackError
from localtrack.storage.manifest import decode_float
from localtrack.store.reader import load_run
from localtrack.sweeps.hyperband import hyperband_of
from localtrack.sweeps.store import StoredSweep
from localtrack.sweeps.watcher import EARLY_TERMINATED_TAG


def metric_value(manifest: dict[str, Any], name: str) -> float | None:
    """The run's value of ``name``: ``summary[name]`` set by the script, else the last logged point."""
    values = manifest.get("summary_values")
    if isinstance(values, dict) and name in values:
        number = decode_float(values[name])
        if isinstance(number, (int, float)) and not isinstance(number, bool) and not math.isnan(number):
            return float(number)
    summary = manifest.get("summary")
    entry = summary.get(name) if isinstance(summary, dict) else None
    if isinstance(entry, dict):
        number = decode_float(entry.get("last"))
        if isinstance(number, (int, float)) and not isinstance(number, bool) and not math.isnan(number):
            return float(number)
    return None


def trial_rows(sweep: StoredSweep) -> list[dict[str, Any]]:
    """One row per claimed trial: key, run id, status, params and the metric value (or None)."""
    name = sweep.config.metric_name
    stops = sweep.stops()
    rows = []
    for trial in sweep.trials():
        if "problem" in trial:
            rows.append({"trial": trial["key"], "run_id": None, "status": "unreadable", "params": {},
                         "value": None, "early_terminated": None, "problem": trial["problem"]})
            continue
        row = {"trial": trial["key"], "run_id": trial["run_id"], "status": "pending", "params": trial["params"],
               "value": None, "agent": trial.get("agent"), "claimed_at": trial.get("claimed_at"), "early_terminated": None}
        try:
            record = load_run(sweep.layout, trial["run_id"])
        except LocaltrackError:
            record = None
        if record is not None and record.manifest:
            row["status"] = record.status
            row["run_name"] = record.name
            if name:
                row["value"] = metric_value(record.manifest, name)
            row["early_terminated"] = _early_terminated(record.manifest, stops.get(trial["key"]))
        elif record is not None and record.error and (sweep.layout.run_dir(trial["run_id"])).exists():
            row["status"], row["problem"] = "unreadable", record.error
        rows.append(row)
    return rows


def _early_terminated(manifest: dict[str, Any], stop: dict[str, Any] | None) -> dict[str, Any] | None:
    """The stop of a trial whose run carries the tag (the tag is set only once the stop took effect)."""
    tags = manifest.get("tags")
    tag = tags.get(EARLY_TERMINATED_TAG) if isinstance(tags, dict) else None
    if tag is None:
        return None
    digits = isinstance(tag, str) and tag.isdigit() and len(tag) <= 15  # from disk: bounded before int()
    out: dict[str, Any] = {"bracket": int(tag) if digits else None}
    if stop is not None:
        for field in ("bracket", "value", "threshold", "trials_at_bracket", "decided_at", "agent"):
            if field in stop:
                out[field] = stop[field]
    return out


def finished_history(sweep: StoredSweep, rows: list[dict[str, Any]] | None = None) -> list[tuple[dict[str, Any], float]]:
    """(params, value) of every finished trial with a metric value: what ``bayes`` learns from."""
    rows = trial_rows(sweep) if rows is None else rows
    return [(r["params"], r["value"]) for r in rows if r["status"] == "finished" and r["value"] is not None]


def best_trial(rows: list[dict[str, Any]], goal: str) -> dict[str, Any] | None:
    scored = [r for r in rows if r["value"] is not None
              and (r["status"] in ("finished", "running") or r.get("early_terminated"))]
    if not scored:
        return None
    pick = max if goal == "maximize" else min
    return pick(scored, key=lambda r: r["value"])


def _ranks(values: list[float]) -> list[float]:
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1  # ties share their mean rank
        i = j + 1
    return ranks


def spearman(xs: list[float], ys: list[float]) -> float | None:
    """Spearman's rho of two equal-length sequences (None when either is constant or n < 3)."""
    if len(xs) < 3:
        return None
    rx, ry = _ranks(xs), _ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx = sum((a - mx) ** 2 for a in rx)
    vy = sum((b - my) ** 2 for b in ry)
    if vx == 0 or vy == 0:
        return None
    return cov / math.sqrt(vx * vy)


def importance(sweep: StoredSweep, rows: list[dict[str, Any]]) -> dict[str, float | None]:
    """|Spearman| of each parameter with the metric over finished trials (None: not enough variation)."""
    history = [(r["params"], r["value"]) for r in rows if r["status"] == "finished" and r["value"] is not None]
    out: dict[str, float | None] = {}
    for spec in sweep.config.params:
        order = {repr(v): i for i, v in enumerate(spec.values)} if spec.values else {}
        xs, ys = [], []
        for params, value in history:
            if spec.name not in params:
                continue
            x = params[spec.name]
            if isinstance(x, bool):
                x = float(x)
            elif not isinstance(x, (int, float)):
                if repr(x) not in order:
                    continue
                x = float(order[repr(x)])
            xs.append(float(x))
            ys.append(value)
        rho = spearman(xs, ys)
        out[spec.name] = None if rho is None else round(abs(rho), 4)
    return out


def _schedule(spec: Any) -> dict[str, Any] | None:
    if not isinstance(spec, dict):
        return None
    schedule = hyperband_of(spec)
    return {**spec, "brackets": list(schedule.brackets) if schedule else []}


def sweep_report(sweep: StoredSweep) -> dict[str, Any]:
    """Everything ``sweep show`` prints: config summary, trials, best, importance."""
    rows = trial_rows(sweep)
    config = sweep.config
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    best = best_trial(rows, config.goal)
    return {
        "id": sweep.id,
        "method": config.method,
        "metric": {"name": config.metric_name, "goal": config.goal},
        "created_at": sweep.record.get("created_at"),
        "parameters": [spec.as_dict() for spec in config.params],
        "early_terminate": _schedule(config.raw.get("early_terminate")),
        "trials": rows,
        "counts": counts,
        "best": best,
        "importance": importance(sweep, rows),
    }

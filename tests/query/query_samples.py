"""Sample runs for the query tests: written straight to run folders with the storage layer,
and kept as plain Python specs so tests can compute expected answers without the index."""

from __future__ import annotations

import math
import os
import random
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa

from localtrack.storage.layout import StoreLayout
from localtrack.storage.lease import process_start_ticks
from localtrack.storage.manifest import write_manifest
from localtrack.storage.segments import SegmentName, schema, write_segment
from localtrack.timefmt import iso_from_epoch

T0 = datetime(2025, 3, 1, tzinfo=timezone.utc)
_dead_pid: int | None = None


def dead_pid() -> int:
    """A pid that existed and has exited (for writers that crashed)."""
    global _dead_pid
    if _dead_pid is None:
        proc = subprocess.Popen([sys.executable, "-c", "pass"])
        proc.wait()
        _dead_pid = proc.pid
    return _dead_pid


@dataclass
class RunSpec:
    """One run as the test means it: what the index must answer from."""

    id: str
    name: str
    status: str  # the status a reader must derive: finished/failed/killed/crashed/running
    created: datetime
    params: dict[str, Any] = field(default_factory=dict)  # nested, as logged
    tags: dict[str, str] = field(default_factory=dict)
    history: dict[str, list[tuple[int, float]]] = field(default_factory=dict)  # key -> [(step, value)]
    project: str = "p"
    group: str | None = None
    parent: str | None = None
    notes: str = ""
    git_commit: str | None = None
    duration: float | None = 10.0

    # ---- the Python model of the filter semantics
    def flat_params(self) -> dict[str, Any]:
        out: dict[str, Any] = {}

        def walk(d: dict[str, Any], prefix: str) -> None:
            for k, v in d.items():
                if isinstance(v, dict) and v:
                    walk(v, f"{prefix}{k}.")
                else:
                    out[f"{prefix}{k}"] = v

        walk(self.params, "")
        return out

    def values(self, key: str) -> list[float]:
        return [v for _, v in self.history.get(key, [])]

    def last(self, key: str) -> float | None:
        points = self.history.get(key)
        if not points:
            return None
        value = max(points, key=lambda p: p[0])[1]
        return None if math.isnan(value) else value

    def agg(self, fn: str, key: str) -> float | None:
        if key not in self.history:
            return None
        finite = [v for v in self.values(key) if not math.isnan(v)]
        if fn == "count":
            return float(len(self.values(key)))
        if not finite:
            return None
        return {"min": min, "max": max, "mean": lambda xs: math.fsum(xs) / len(xs)}[fn](finite)


def write_run(layout: StoreLayout, spec: RunSpec, *, writer: str = "w0") -> Path:
    """Create the run folder of ``spec`` the way a writer would leave it."""
    run_dir = layout.run_dir(spec.id)
    (run_dir / "metrics").mkdir(parents=True, exist_ok=True)
    (run_dir / ".lock").touch()
    segments: dict[str, Any] = {}
    if spec.history:
        rows = [(step, spec.created + timedelta(seconds=step), key, value)
                for key, points in spec.history.items() for step, value in points]
        table = pa.table(
            {"step": pa.array([r[0] for r in rows], pa.int64()),
             "timestamp": pa.array([r[1] for r in rows], pa.timestamp("us", tz="UTC")),
             "key": pa.array([r[2] for r in rows], pa.string()),
             "value": pa.array([r[3] for r in rows], pa.float64())},
            schema=schema(),
        )
        name = SegmentName(writer, 1, 1)
        segments[name.filename] = write_segment(run_dir / "metrics", name, table)
    raw_status = "running" if spec.status in ("running", "crashed") else spec.status
    entry: dict[str, Any] = {
        "host": socket.gethostname(), "pid": 1, "pid_start": None,
        "heartbeat_at": iso_from_epoch(spec.created.timestamp()), "status": raw_status,
        "segments": segments, "summary": {},
    }
    if spec.status == "running":  # alive: this very process
        entry.update(pid=os.getpid(), pid_start=process_start_ticks(os.getpid()),
                     heartbeat_at=iso_from_epoch(datetime.now(timezone.utc).timestamp()))
    elif spec.status == "crashed":
        entry.update(pid=dead_pid(), pid_start=None)
    ended = None if raw_status == "running" else spec.created + timedelta(seconds=spec.duration or 0)
    manifest = {
        "format_version": 1, "id": spec.id, "name": spec.name, "project": spec.project,
        "group": spec.group, "parent": spec.parent, "status": raw_status,
        "created_at": iso_from_epoch(spec.created.timestamp()),
        "ended_at": iso_from_epoch(ended.timestamp()) if ended else None,
        "duration": spec.duration if ended else None,
        "config": spec.params, "tags": spec.tags, "notes": spec.notes, "summary": {},
        "summary_values": {}, "artifacts": [], "error": None,
        "git": {"commit": spec.git_commit, "branch": "main", "dirty": False} if spec.git_commit else None,
        "command": None, "environment": None, "writers": {writer: entry},
    }
    write_manifest(run_dir / "manifest.json", manifest)
    return run_dir


def run_id(i: int) -> str:
    return f"20250301-{i:09d}-q{i % 100000:05d}"


MODELS = ["bert", "BERT-large", "gpt-2", "resnet", "o'brien", "a b", "Bert"]
STATUSES = ["finished", "finished", "failed", "killed", "crashed", "running"]


def sample_specs(n: int = 36, seed: int = 7) -> list[RunSpec]:
    """Varied runs: typed params (floats like 1e-05, ints, strings, bools, None, lists, nested),
    labels and tag values, metrics with NaN and missing keys, every status."""
    rng = random.Random(seed)
    specs = []
    for i in range(n):
        params: dict[str, Any] = {
            "lr": rng.choice([1e-05, 0.0001, 0.001, 0.01, 0.1, 3e-4]),
            "bs": rng.choice([16, 32, 64, 128]),
            "model": MODELS[i % len(MODELS)],
            "optim": {"name": rng.choice(["adam", "sgd"]), "beta": rng.choice([0.9, 0.99])},
        }
        if i % 5 == 0:
            params["use_bn"] = bool(i % 2)
        if i % 7 == 0:
            params["seed"] = None
        if i % 9 == 0:
            params["layers"] = [1, 2, i % 3]
        if i % 4 == 0:
            params["dropout"] = str(rng.choice([0.1, 0.2]))  # a numeric-looking string, as MLflow imports
        if i % 11 == 3:
            del params["lr"]
        tags = {"sweep": f"s{i % 3}"}
        if i % 2 == 0:
            tags["baseline"] = ""
        if i % 6 == 1:
            tags["mlflow.user"] = "ann"
        history: dict[str, list[tuple[int, float]]] = {}
        steps = rng.randint(3, 8)
        if i % 8 != 5:
            history["acc"] = [(s * 10, round(rng.uniform(0.5, 1.0), 4)) for s in range(steps)]
        history["val/loss"] = [(s * 10, round(rng.uniform(0.1, 2.0), 4)) for s in range(steps)]
        if i % 10 == 2:
            history["val/loss"][-1] = (history["val/loss"][-1][0], math.nan)  # diverged at the end
        if i % 10 == 4:
            history["val/loss"][1] = (history["val/loss"][1][0], math.nan)  # a NaN mid-way
        if i % 3 == 0:
            history["grad norm"] = [(0, 1.5), (5, 2.5)]
        specs.append(RunSpec(
            id=run_id(i),
            name=f"run-{i}" if i % 13 != 12 else "dup-name",
            status=STATUSES[i % len(STATUSES)],
            created=T0 + timedelta(minutes=i * 7 % n),
            params=params, tags=tags, history=history,
            project="vision" if i % 4 == 1 else "nlp",
            group="g1" if i % 5 == 2 else None,
            notes="tuned" if i % 6 == 0 else "",
            git_commit=f"{i:040x}" if i % 2 else None,
            duration=float(i),
        ))
    return specs


def build_store(layout: StoreLayout, specs: list[RunSpec]) -> None:
    for spec in specs:
        write_run(layout, spec)


def age_store(layout: StoreLayout, seconds: float = 3600.0) -> None:
    """Make every run folder look written ``seconds`` ago (past the index's racy window)."""
    when = datetime.now(timezone.utc).timestamp() - seconds
    for manifest in layout.runs_dir.glob("*/manifest.json"):
        os.utime(manifest, (when, when))

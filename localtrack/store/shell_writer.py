"""Runs driven from the shell, one short process per call (``localtrack log-metrics ...``).

No process lives for the run, so its writer entry is marked ``external``: liveness comes
from the heartbeat each call refreshes (see status.EXTERNAL_HEARTBEAT_TIMEOUT), and every
call does its whole read-modify-write under the run lock, so concurrent calls are safe.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localtrack import timefmt
from localtrack.errors import InvalidArgumentError, InvalidValueError, RunStateError
from localtrack.ids import new_run_id, new_run_name, new_writer_id
from localtrack.names import validate_label, validate_writer_id
from localtrack.storage.atomic import make_dirs
from localtrack.storage.layout import FORMAT_VERSION, StoreLayout
from localtrack.storage.lease import host_name, run_lock
from localtrack.storage.manifest import read_manifest, write_manifest
from localtrack.storage.segments import SegmentName, parse_segment_name, write_segment
from localtrack.store import values, world
from localtrack.store.buffer import Block, build_table_and_summary
from localtrack.store.config_values import clean_config_value, clean_tags, clean_text
from localtrack.store.status import end_run_if_no_writer_alive
from localtrack.store.summary import merge_summary, merge_writer_summaries
from localtrack.store.values import MAX_STEP, clean_metrics
from localtrack.store.writer import RunWriter


def create_run(
    layout: StoreLayout,
    *,
    project: str | None,
    name: str | None,
    tags: Any = None,
    config: dict[str, Any] | None = None,
    notes: str = "",
    parent: str | None = None,
    run_id: str | None = None,
) -> str:
    """Create a run owned by the shell; returns its id."""
    run_id = run_id or new_run_id()
    writer = RunWriter(layout, run_id, new_writer_id())
    entry = writer.writer_entry()
    entry.update({"external": True, "pid": None, "pid_start": None})
    facts = world.capture_sync(Path.cwd())
    # The command is this `localtrack create` call, not what produced the run's results:
    # marked so that reproduce refuses to re-run it.
    facts["command"] = {**facts["command"], "via": "shell"}
    manifest = {
        "format_version": FORMAT_VERSION,
        "id": run_id,
        "name": validate_label(name, "run name") if name else new_run_name(),
        "project": validate_label(project, "project") if project else layout.root.resolve().parent.name or "default",
        "group": None,
        "parent": parent,
        "status": "running",
        "created_at": timefmt.creation_iso(),
        "ended_at": None,
        "duration": None,
        "config": clean_config_value("config", config or {}),
        "tags": clean_tags(tags),
        "notes": clean_text(notes, "notes"),
        "summary": {},
        "summary_values": {},
        "artifacts": [],
        "error": None,
        **facts,
    }
    writer.create(manifest, resume=None)
    with run_lock(writer.lock_path):
        stored = read_manifest(writer.manifest_path)
        stored["writers"] = {writer.writer_id: entry}
        write_manifest(writer.manifest_path, stored)
    return run_id


def _shell_writer(manifest: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The run's external writer entry, adding one if the run was started from Python."""
    writers = manifest.setdefault("writers", {})
    for writer_id, entry in writers.items():
        if isinstance(entry, dict) and entry.get("external") and entry.get("status") == "running":
            # Read from disk, it names our next segment file: the user-input check, again here
            # (parse_manifest already refused a bad one) because this is where it becomes a path.
            return validate_writer_id(writer_id), entry
    writer_id = new_writer_id()
    now = timefmt.now_iso()
    entry = {
        "external": True, "pid": None, "pid_start": None, "host": host_name(),
        "started_at": now, "heartbeat_at": now, "ended_at": None, "status": "running",
        "segments": {}, "summary": {},
    }
    writers[writer_id] = entry
    return writer_id, entry


def _update(layout: StoreLayout, run_id: str, change: Any) -> dict[str, Any]:
    lock = layout.lock_path(run_id)
    with run_lock(lock):
        path = layout.manifest_path(run_id)
        manifest = read_manifest(path)
        if manifest.get("status") != "running":
            raise RunStateError(
                f"run {run_id} is {manifest.get('status')}; it cannot be changed from the shell", run_id
            )
        writer_id, entry = _shell_writer(manifest)
        change(manifest, writer_id, entry)
        entry["heartbeat_at"] = timefmt.now_iso()
        manifest["summary"] = merge_writer_summaries(manifest["writers"])
        write_manifest(path, manifest)
    return manifest


def log_params(layout: StoreLayout, run_id: str, params: dict[str, Any]) -> None:
    """Merge ``params`` into the run's config."""
    clean = clean_config_value("params", params)
    _update(layout, run_id, lambda m, _w, _e: m.setdefault("config", {}).update(clean))


@dataclass
class StepPoint:
    """One step's metrics as a shell call (or one stdin line) gave them; ``step`` None = next."""

    metrics: dict[str, float]  # already through clean_metrics
    step: int | None
    time: float = field(default_factory=timefmt.time_now)


def check_step(step: Any, what: str = "--step") -> int:
    """A step from the shell, checked by the one rule every writer uses."""
    return values.check_step(step, what)


def _blocks(points: list[StepPoint], last: int) -> tuple[list[Block], bool, int]:
    """The points as buffer blocks (one per key set, logging order kept), whether their steps
    are in order, and the last step used. Points without a step take the largest so far + 1."""
    blocks: dict[tuple[str, ...], Block] = {}
    previous: dict[tuple[str, ...], int] = {}  # key set -> global index of its last call
    ordered, prev_step = True, -1
    for index, point in enumerate(points):
        if not point.metrics:
            continue
        step = point.step if point.step is not None else last + 1
        if step > MAX_STEP:
            raise InvalidValueError(f"step {step} would overflow int64; pass a smaller step explicitly", step)
        keys = tuple(point.metrics)
        block = blocks.setdefault(keys, Block(keys))
        if previous.get(keys) != index - 1 or not block.runs:
            block.runs.append((len(block.steps), index))
        previous[keys] = index
        block.values.extend(point.metrics.values())
        block.steps.append(step)
        block.times.append(point.time)
        ordered = ordered and step >= prev_step
        prev_step, last = step, max(last, step)
    return list(blocks.values()), ordered, last


def log_points(layout: StoreLayout, run_id: str, points: list[StepPoint]) -> int | None:
    """Seal ``points`` (several steps) as one segment of the run's shell writer; returns the
    last step used (None when nothing was logged). One lock, one manifest write."""
    used: dict[str, int | None] = {"step": None}

    def change(manifest: dict[str, Any], writer_id: str, entry: dict[str, Any]) -> None:
        summary = entry.setdefault("summary", {})
        summaries = manifest.get("summary")
        steps = (s.get("step") for s in (summaries.values() if isinstance(summaries, dict) else ()) if isinstance(s, dict))
        last = max((x for x in steps if type(x) is int), default=-1)  # a tampered summary is not a step
        blocks, ordered, last_used = _blocks(points, last)
        if not blocks:
            return
        used["step"] = last_used
        names = [parse_segment_name(f) for f in entry.get("segments", {})]
        seq = max((n.last for n in names if n is not None), default=0) + 1
        table, stats_by_key = build_table_and_summary(blocks, ordered)
        metrics_dir = layout.metrics_dir(run_id)
        make_dirs(metrics_dir)
        name = SegmentName(writer_id, seq, seq)
        entry.setdefault("segments", {})[name.filename] = write_segment(metrics_dir, name, table)
        for key, stats in stats_by_key.items():
            summary[key] = merge_summary(summary.get(key), stats)

    _update(layout, run_id, change)
    return used["step"]


def log_metrics(layout: StoreLayout, run_id: str, metrics: dict[str, Any], step: int | None) -> int | None:
    """Seal one step of metrics as a segment of the run's shell writer; returns the step used."""
    if step is not None:
        step = check_step(step)
    return log_points(layout, run_id, [StepPoint(clean_metrics(metrics), step)])


def finish_run(layout: StoreLayout, run_id: str, status: str = "finished") -> dict[str, Any]:
    """End the shell's part of a run; the run ends when no live writer remains."""
    if status not in ("finished", "failed", "killed"):
        raise InvalidArgumentError(f"status {status!r}: use finished, failed or killed")

    def change(manifest: dict[str, Any], _writer_id: str, entry: dict[str, Any]) -> None:
        now = timefmt.now_iso()
        entry.update({"status": status, "ended_at": now})
        end_run_if_no_writer_alive(manifest, now)

    return _update(layout, run_id, change)

"""Reading runs back from their folders, defensively: one bad run never hides the others.

This is the store-level read side (no duckdb): list runs, load one manifest with its status
derived (a dead writer reads as ``crashed``), resolve what a user typed into a run id, and
read a run's metric points from its live segments.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localtrack.errors import CorruptRunError, LocaltrackError, StoreLinkError
from localtrack.names import validate_id
from localtrack.storage.layout import MANIFEST_FILENAME, StoreLayout
from localtrack.storage.links import is_link, link_error
from localtrack.storage.own_manifest import read_known_manifest
from localtrack.storage.segments import live_segments, segment_problem
from localtrack.store.run_refs import RunCandidate, check_ref, pick_run
from localtrack.store.status import derive_status


@dataclass
class RunRecord:
    """One run as read from disk: its manifest (or the error reading it) and derived status."""

    id: str
    path: Path
    manifest: dict[str, Any] = field(default_factory=dict)
    status: str = "crashed"
    error: str | None = None

    @property
    def name(self) -> str:
        name = self.manifest.get("name")
        return name if isinstance(name, str) else self.id

    @property
    def ok(self) -> bool:
        return self.error is None


def iter_run_ids(layout: StoreLayout) -> Iterator[str]:
    """Ids of the run folders in the store (skipping temp folders, links and junk names)."""
    try:
        entries = list(os.scandir(layout.runs_dir))
    except FileNotFoundError:
        return
    for entry in sorted(entries, key=lambda e: e.name):
        if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            yield validate_id(entry.name)
        except LocaltrackError:
            continue


def load_run(layout: StoreLayout, run_id: str) -> RunRecord:
    """Read one run; a damaged manifest is reported in ``error``, never raised."""
    path = layout.runs_dir / validate_id(run_id)
    record = RunRecord(id=run_id, path=path)
    if is_link(path):
        record.error = str(link_error(path))
        return record
    try:
        manifest = read_known_manifest(path / MANIFEST_FILENAME)  # read_manifest, or bytes this process wrote
    except LocaltrackError as exc:
        record.error = str(exc)
        return record
    if manifest.get("id") != run_id:
        record.error = f"{path}: manifest id {str(manifest.get('id'))[:80]!r} does not match the folder name"
        return record
    record.manifest = manifest
    record.status = derive_status(manifest)
    return record


def list_runs(layout: StoreLayout) -> list[RunRecord]:
    """Every run in the store, damaged ones included (with ``error`` set)."""
    return [load_run(layout, run_id) for run_id in iter_run_ids(layout)]


def _is_valid_id(ref: str) -> bool:
    try:
        validate_id(ref)
    except LocaltrackError:
        return False
    return True


def resolve_run(layout: StoreLayout, ref: str, records: list[RunRecord] | None = None) -> RunRecord:
    """A run from what a user typed: full id, unique id prefix, short id, unique name, ``@latest``."""
    ref = check_ref(ref)
    ids = list(iter_run_ids(layout))
    if ref in ids:
        return load_run(layout, ref)
    if _is_valid_id(ref) and is_link(layout.runs_dir / ref):  # a linked run folder: name it, don't hide it
        raise link_error(layout.runs_dir / ref)
    records = records if records is not None else [load_run(layout, i) for i in ids]
    by_id = {r.id: r for r in records}
    # created_at (then id) orders @latest, as in the index: both never go backwards within a
    # process even when the wall clock steps back (timefmt.creation_iso); see docs/FORMAT.md.
    chosen = pick_run(ref, (
        RunCandidate(r.id, r.name if r.ok else None, str(r.manifest.get("created_at") or "")) for r in records
    ))
    return by_id[chosen.id]


def metric_files(layout: StoreLayout, run_id: str) -> tuple[list[Path], list[str]]:
    """The live segment files of a run that look complete, and problems with the others."""
    good: list[Path] = []
    problems: list[str] = []
    try:
        metrics_dir = layout.metrics_dir(run_id)  # checks runs/, runs/<id> and metrics/ for links
    except StoreLinkError as exc:
        return [], [str(exc)]
    for _ in range(5):
        good, problems, vanished = [], [], False
        for path in live_segments(metrics_dir):
            problem = segment_problem(path)  # the footer check; verify also compares recorded digests
            if problem is None:
                good.append(path)
            else:
                vanished = vanished or not os.path.lexists(path)
                problems.append(f"{path}: {problem}")
        if not vanished:
            break  # else compaction replaced a file between the listing and its check: list again
    return good, problems


def read_metrics(layout: StoreLayout, run_id: str) -> Any:
    """All metric points of one run as an Arrow table sorted by (key, step), as each segment is.

    Retries if compaction replaces files while we read. The sort is stable, so within one
    step the order is file order (writer, then seal number), i.e. logging order per writer.
    """
    from localtrack.storage.segments import read_segments

    for _ in range(5):
        files, problems = metric_files(layout, run_id)
        if problems:
            raise CorruptRunError("; ".join(problems), run_id)
        try:
            table = read_segments(files)
            if len(files) > 1:
                table = table.sort_by([("key", "ascending"), ("step", "ascending")])
            return table
        except FileNotFoundError:
            continue  # a compaction replaced files between listing and reading
    raise CorruptRunError(f"run {run_id}: segments kept changing while being read", run_id)

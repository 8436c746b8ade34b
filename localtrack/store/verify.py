"""``verify``: re-read everything and name exactly what is damaged.

Checks, for the whole store (runs in ``trash/`` included, since gc keeps what they need):
every object re-hashes to its name; every manifest parses; every segment a manifest
records exists and matches its recorded digest; every live segment is a complete Parquet
file (one on disk that no manifest records is damage unless a live writer owns it, since
readers would read it as part of the run); every store-owned folder or file that is a
symbolic link, and a store nested inside this one, is damage; every artifact record is well formed and every object it needs (tree
listings and the files they list) is present and intact; and the summary of a run that ended is
what its points say. Links are reported, never followed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localtrack.errors import ArtifactError, LocaltrackError
from localtrack.names import validate_id
from localtrack.storage.layout import (
    CHECKOUTS_DIRNAME,
    FORMAT_FILENAME,
    INDEX_DIRNAME,
    LOCK_FILENAME,
    MANIFEST_FILENAME,
    METRICS_DIRNAME,
    OBJECTS_DIRNAME,
    RUNS_DIRNAME,
    STORE_DIRNAME,
    TMP_DIRNAME,
    TRASH_DIRNAME,
    StoreLayout,
)
from localtrack.storage.links import is_link
from localtrack.storage.manifest import read_manifest
from localtrack.storage.objects import HASH_BUFFER, ObjectStore, hash_fd
from localtrack.storage.segments import (
    live_segments,
    parse_segment_name,
    recorded_segment_name,
    segment_problem,
)
from localtrack.store.artifact_records import read_records
from localtrack.store.artifact_tree import MAX_TREE_BYTES, check_paths, parse_tree
from localtrack.store.status import writer_is_alive
from localtrack.store.verify_summary import describe, points_summary, summary_mismatches

STALE_TEMP_SECONDS = 3600.0
ENDED = ("finished", "failed")  # runs whose writers sealed and summarized everything


@dataclass(frozen=True)
class Finding:
    """One problem: ``severity`` is ``damaged`` or ``warning``; ``path`` the exact item."""

    severity: str
    path: str
    message: str


@dataclass
class VerifyReport:
    """What ``verify`` found and how much it checked."""

    findings: list[Finding] = field(default_factory=list)
    objects: int = 0
    object_bytes: int = 0
    runs: int = 0
    segments: int = 0
    artifacts: int = 0

    @property
    def damaged(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "damaged"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.damaged

    def add(self, severity: str, path: Path | str, message: str) -> None:
        self.findings.append(Finding(severity, str(path), message))


def run_folders(layout: StoreLayout, *, skip_linked: bool = False) -> Iterator[tuple[str, Path]]:
    """``(run_id, folder)`` of every run in ``runs/`` and ``trash/`` (links included, to be reported).

    A linked ``runs/`` or ``trash/`` raises StoreLinkError (gc must never judge objects
    unreferenced from a folder outside the store), or is skipped with ``skip_linked`` (verify
    has reported it already).
    """
    for name in (RUNS_DIRNAME, TRASH_DIRNAME):
        if skip_linked and is_link(layout.root / name):
            continue
        parent = layout.runs_dir if name == RUNS_DIRNAME else layout.trash_dir
        try:
            entries = sorted(os.scandir(parent), key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                run_id = validate_id(entry.name)
            except LocaltrackError:
                continue
            if entry.is_symlink() or entry.is_dir(follow_symlinks=False):
                yield run_id, Path(entry.path)


def _hash_path(path: Path, buffer: bytearray) -> tuple[str, int]:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        return hash_fd(fd, buffer)
    finally:
        os.close(fd)


def _check_objects(objects: ObjectStore, report: VerifyReport, buffer: bytearray, progress: Callable[[int], None] | None) -> dict[str, bool]:
    """Re-hash every object; returns digest -> intact."""
    state: dict[str, bool] = {}
    if objects.root.is_symlink():
        report.add("damaged", objects.root, "the objects folder is a symbolic link; refusing to follow it")
        return state
    now = time.time()
    for entry in objects.iter_entries():
        if entry.kind == "object":
            assert entry.digest is not None
            try:
                digest, size = _hash_path(entry.path, buffer)
            except OSError as exc:
                report.add("damaged", entry.path, f"object cannot be read ({exc.strerror or exc})")
                state[entry.digest] = False
                continue
            report.objects += 1
            report.object_bytes += size
            if progress is not None:
                progress(size)
            intact = digest == entry.digest
            state[entry.digest] = intact
            if not intact:
                report.add("damaged", entry.path, f"object content hashes to {digest}, not its name (bit rot or tampering)")
        elif entry.kind == "link":
            report.add("damaged", entry.path, "a symbolic link inside objects/; refusing to follow it")
        elif entry.kind == "temp":
            if entry.age(now) > STALE_TEMP_SECONDS:
                report.add("warning", entry.path, "stale temp file of an interrupted write; `localtrack gc --yes` removes it")
        elif entry.kind == "unreadable":
            report.add("damaged", entry.path, "cannot be read")
        else:
            report.add("warning", entry.path, "not an object (unexpected file in objects/)")
    return state


def _check_segments(run_dir: Path, manifest: dict[str, Any], report: VerifyReport, buffer: bytearray) -> None:
    manifest_path = run_dir / MANIFEST_FILENAME
    metrics_dir = run_dir / METRICS_DIRNAME
    if is_link(metrics_dir):
        report.add("damaged", metrics_dir, "the metrics folder is a symbolic link; refusing to follow it")
        return
    recorded: dict[str, dict[str, Any]] = {}
    writers = manifest.get("writers")
    if not isinstance(writers, dict):
        writers = {}
    for writer_id, entry in writers.items():
        segments = entry.get("segments") if isinstance(entry, dict) else None
        if not isinstance(segments, dict):
            continue
        for filename, record in segments.items():
            if recorded_segment_name(filename, str(writer_id)) is None:
                report.add("damaged", manifest_path, f"writer {str(writer_id)[:40]!r} records an invalid segment file name {filename[:80]!r}")
                continue
            recorded[filename] = record if isinstance(record, dict) else {}
    for filename, record in sorted(recorded.items()):
        path = metrics_dir / filename
        size, digest = record.get("bytes"), record.get("digest")
        problem = segment_problem(
            path, size if type(size) is int else None, digest if isinstance(digest, str) else None, buffer
        )
        if problem == "segment is missing":
            problem = "segment recorded in the manifest is missing"
        elif problem is None or not problem.startswith("segment is not a regular file"):
            report.segments += 1
        if problem is not None:
            report.add("damaged", path, problem)
    for path in live_segments(metrics_dir):
        if path.name in recorded:
            continue
        report.segments += 1
        name = parse_segment_name(path.name)
        owner = writers.get(name.writer) if name is not None else None
        if writer_is_alive(owner):
            # A live writer seals the file first and records it in the manifest just after.
            report.add("warning", path, "segment is not recorded in the manifest yet (its writer is still running)")
        else:
            # Readers read it like any other segment, so it can add to or (its seal range
            # covering the recorded ones) replace the run's metrics: that is damage.
            complete = "" if segment_problem(path) is None else " and is not a complete Parquet file"
            report.add(
                "damaged", path,
                f"segment is not recorded in the manifest and no live writer owns it{complete}; readers would "
                "read it as part of the run (a seal interrupted before its manifest write, or a planted file): "
                "move it out of metrics/ if the run's recorded metrics are what you want",
            )


def _check_summary(run_dir: Path, manifest: dict[str, Any], report: VerifyReport) -> None:
    """A run that ended (every writer done, every segment recorded and sound): its manifest's
    summary against its points (see :mod:`localtrack.store.verify_summary`)."""
    writers = manifest.get("writers")
    if manifest.get("status") not in ENDED or not isinstance(writers, dict):
        return
    if any(not isinstance(w, dict) or w.get("status") not in ENDED for w in writers.values()):
        return
    try:
        computed = points_summary(live_segments(run_dir / METRICS_DIRNAME))
    except (OSError, ValueError) as exc:  # pyarrow's errors are ValueError/OSError subclasses
        report.add("damaged", run_dir / METRICS_DIRNAME, f"segments cannot be read: {str(exc)[:200]}")
        return
    problems = summary_mismatches(manifest.get("summary"), computed)
    if problems:
        report.add("damaged", run_dir / MANIFEST_FILENAME, describe(problems))


def _check_artifacts(
    run_dir: Path, manifest: dict[str, Any], objects: ObjectStore, state: dict[str, bool], report: VerifyReport
) -> None:
    manifest_path = run_dir / MANIFEST_FILENAME
    records, problems = read_records(manifest, str(manifest_path))
    for problem in problems:
        report.add("damaged", manifest_path, problem)
    try:
        check_paths(sorted({r.name for r in records}), f"{manifest_path}: artifact names")
    except ArtifactError as exc:
        report.add("damaged", manifest_path, str(exc))
    for record in records:
        report.artifacts += 1
        label = f"artifact {record.name!r} v{record.version}"
        if not _object_ok(objects, state, record.hash, report, label):
            continue
        if record.kind == "dir":
            try:
                entries = parse_tree(objects.read_bytes(record.hash, MAX_TREE_BYTES), str(objects.path(record.hash)))
            except (ArtifactError, LocaltrackError) as exc:
                report.add("damaged", objects.path(record.hash), f"{label} of run {run_dir.name}: tree listing refused: {exc}")
                continue
            for entry in entries:
                _object_ok(objects, state, entry.hash, report, f"{label} file {entry.path!r}")


def _object_ok(objects: ObjectStore, state: dict[str, bool], digest: str, report: VerifyReport, label: str) -> bool:
    path = objects.path(digest)
    intact = state.get(digest)
    if intact is None:
        report.add("damaged", path, f"{label}: object is missing")
        return False
    if not intact:
        report.add("damaged", path, f"{label}: object is damaged")
        return False
    return True


def _check_store_links(layout: StoreLayout, report: VerifyReport) -> None:
    """Name every store-owned folder or file that is a link, and a nested store."""
    for link in layout.owned_links():
        if link.name != OBJECTS_DIRNAME:  # _check_objects reports that one
            report.add("damaged", link, "a store folder or file is a symbolic link; every command refuses it (remove it)")
    for folder in (INDEX_DIRNAME, TMP_DIRNAME, f"{TMP_DIRNAME}/{CHECKOUTS_DIRNAME}"):
        path = layout.root / folder
        if is_link(path) or is_link(path.parent):
            continue
        try:
            entries = list(os.scandir(path))
        except OSError:
            continue
        for entry in entries:
            if entry.is_symlink():
                report.add("damaged", entry.path, "a symbolic link inside the store's own folders; refusing to follow it")
    nested = layout.root / STORE_DIRNAME
    if os.path.lexists(nested / FORMAT_FILENAME):
        report.add(
            "damaged", nested,
            "a second store nested inside this one (an older localtrack's creation race): its runs are invisible; "
            f"move its runs/* into {layout.root / RUNS_DIRNAME} and remove it",
        )


def verify_store(layout: StoreLayout, *, progress: Callable[[int], None] | None = None) -> VerifyReport:
    """Check the whole store; the report names every damaged file (``report.ok`` when none)."""
    report = VerifyReport()
    buffer = bytearray(HASH_BUFFER)
    _check_store_links(layout, report)
    objects = ObjectStore(layout.root / OBJECTS_DIRNAME)  # a link there is reported, not followed
    state = _check_objects(objects, report, buffer, progress)
    for run_id, run_dir in run_folders(layout, skip_linked=True):
        report.runs += 1
        if is_link(run_dir):
            report.add("damaged", run_dir, "run folder is a symbolic link; refusing to follow it out of the store")
            continue
        lock = run_dir / LOCK_FILENAME
        if is_link(lock):
            report.add("damaged", lock, "the run's lock file is a symbolic link; writers refuse it (remove it)")
        manifest_path = run_dir / MANIFEST_FILENAME
        try:
            manifest = read_manifest(manifest_path)
        except LocaltrackError as exc:
            report.add("damaged", manifest_path, str(exc))
            continue
        if manifest.get("id") != run_id:
            report.add("damaged", manifest_path, f"manifest id {str(manifest.get('id'))[:80]!r} does not match the folder name")
        before = len(report.findings)
        _check_segments(run_dir, manifest, report, buffer)
        if len(report.findings) == before:
            _check_summary(run_dir, manifest, report)
        _check_artifacts(run_dir, manifest, objects, state, report)
    return report

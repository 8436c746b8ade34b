"""What ``localtrack.Store`` does besides reading: select, verify, gc, remove/restore, run edits,
shell-style logging and artifacts, as functions over one store's layout.

The CLI's managing commands are a parse -> one of these -> render skin; scripts reach the
same code through the ``Store`` methods. Nothing here imports duckdb: the write-side calls
(``new_run``, ``log_metrics``, tags, ``remove``...) resolve run references from the run
folders (``store.reader``), with the same rule as the index (``store.run_refs``).
"""

from __future__ import annotations

import fnmatch
import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from localtrack.errors import CorruptRunError, InvalidValueError, LocaltrackError, RunNotFoundError
from localtrack.storage.layout import StoreLayout
from localtrack.storage.manifest import MAX_DEPTH

if TYPE_CHECKING:
    from localtrack.query.results import RunTable
    from localtrack.query.store import Store
    from localtrack.store.artifacts import ArtifactHandle, ArtifactRef
    from localtrack.store.manage import TrashedRun
    from localtrack.store.verify import Finding

GLOB_CHARS = frozenset("*?[")


# ---------------------------------------------------------------------- runs by reference
@dataclass
class RunRef:
    """One run as its folder holds it now (no index): what the write-side Store methods return."""

    id: str
    name: str
    path: Path
    manifest: dict[str, Any] = field(default_factory=dict, repr=False)
    trashed: bool = False

    @property
    def tags(self) -> dict[str, str]:
        tags = self.manifest.get("tags")
        return dict(tags) if isinstance(tags, dict) else {}

    @property
    def notes(self) -> str:
        notes = self.manifest.get("notes")
        return notes if isinstance(notes, str) else ""

    @property
    def status(self) -> str | None:
        status = self.manifest.get("status")
        return status if isinstance(status, str) else None


def _ref_text(run: Any) -> str:
    """A run argument as a reference: a string, or anything with a string ``id`` (RunInfo, RunRef, a row)."""
    if isinstance(run, str):
        return run
    run_id = run.get("id") if isinstance(run, dict) else getattr(run, "id", None)
    if isinstance(run_id, str):
        return run_id
    raise RunNotFoundError(
        f"a run is given as a reference (id, prefix, name, @latest) or a run object, got {type(run).__name__}", run
    )


def resolve(layout: StoreLayout, run: Any, *, include_trash: bool = False) -> RunRef:
    """The one run ``run`` names (see store/run_refs.py), read from its folder; the trash too if asked."""
    from localtrack.store.reader import resolve_run

    ref = _ref_text(run)
    try:
        record = resolve_run(layout, ref)
    except RunNotFoundError:
        if not include_trash:
            raise
        from localtrack.store.manage import resolve_trashed

        trashed = resolve_trashed(layout, ref)
        return RunRef(trashed.id, trashed.name, trashed.path, trashed=True)
    return RunRef(record.id, record.name, record.path, record.manifest)


def _reload(layout: StoreLayout, run_id: str) -> RunRef:
    from localtrack.store.reader import load_run

    record = load_run(layout, run_id)
    return RunRef(record.id, record.name, record.path, record.manifest)


def is_glob(ref: str) -> bool:
    """Whether a run argument is a glob pattern (``*``, ``?`` or ``[``) over names and ids."""
    return any(ch in GLOB_CHARS for ch in ref)


def _glob_matches(pattern: str, row: dict[str, Any]) -> bool:
    from localtrack.ids import short_id

    run_id = str(row["id"])
    return any(fnmatch.fnmatchcase(text, pattern) for text in (str(row.get("name") or ""), run_id, short_id(run_id)))


def select(
    store: Store,
    refs: Sequence[str],
    *,
    pattern: str | None = None,
    filter: str | None = None,
    project: str | None = None,
    order_by: str | None = None,
) -> RunTable:
    """The runs named by ``refs`` (references or globs) and ``pattern``, within ``filter``.

    With references the order is theirs (a glob's matches newest first) and every named run
    must also match the filter; with only a filter, the filter's order.
    """
    from localtrack.query.results import RunTable

    wanted = [_ref_text(r) for r in refs]
    if pattern is not None:
        if not isinstance(pattern, str) or not pattern:
            raise InvalidValueError(f"pattern must be a non-empty glob string, got {pattern!r}", pattern)
        wanted.append(pattern)
    if not wanted and not filter:
        raise LocaltrackError("name the runs: give run references (ids, names, globs), a pattern or a filter")
    table = store.runs(filter=filter, order_by=order_by, project=project)
    rows = table.to_dicts()
    if not wanted:
        if not rows:
            raise RunNotFoundError(f"no run matches the filter {filter!r}", filter)
        return RunTable(rows, table.problems)
    by_id = {str(r["id"]): r for r in rows}
    chosen: dict[str, dict[str, Any]] = {}
    for ref in wanted:
        if is_glob(ref):
            matched = [r for r in rows if _glob_matches(ref, r)]
            if not matched:
                raise RunNotFoundError(f"no run name or id matches the pattern {ref!r}", ref)
            for row in matched:
                chosen.setdefault(str(row["id"]), row)
            continue
        run_id = store.run(ref).id
        named = by_id.get(run_id)
        if named is None:
            raise RunNotFoundError(
                f"run {ref!r} ({run_id}) does not match "
                + (f"the filter {filter!r}" if filter else f"project {project!r}"),
                ref,
            )
        chosen.setdefault(run_id, named)
    return RunTable(list(chosen.values()), table.problems)


# ---------------------------------------------------------------------- verify and gc
class VerifyResult(list["Finding"]):
    """What ``Store.verify()`` found: a list of findings (``severity`` damaged|warning, ``path``,
    ``message``; an object's path ends in its digest), plus how much was checked."""

    def __init__(self, findings: Iterable[Finding], *, objects: int, object_bytes: int, runs: int,
                 segments: int, artifacts: int) -> None:
        super().__init__(findings)
        self.objects, self.object_bytes, self.runs = objects, object_bytes, runs
        self.segments, self.artifacts = segments, artifacts

    @property
    def damaged(self) -> list[Finding]:
        return [f for f in self if f.severity == "damaged"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when nothing is damaged (warnings allowed)."""
        return not self.damaged


def verify(layout: StoreLayout) -> VerifyResult:
    """Re-hash every object and segment and check every manifest (see store/verify.py)."""
    from localtrack.store.verify import verify_store

    report = verify_store(layout)
    return VerifyResult(report.findings, objects=report.objects, object_bytes=report.object_bytes,
                        runs=report.runs, segments=report.segments, artifacts=report.artifacts)


@dataclass(frozen=True)
class GcEntry:
    """One file gc considered: ``status`` unreferenced | stale temp | young, kept; ``deleted`` once removed."""

    path: str
    digest: str | None
    size: int
    age_seconds: float
    status: str
    deleted: bool = False


@dataclass
class GcReport:
    """What gc would reclaim (``dry_run``) or did reclaim."""

    entries: list[GcEntry]
    referenced: int
    problems: list[str]
    dry_run: bool
    reclaimable_bytes: int
    deleted_bytes: int = 0

    @property
    def deleted(self) -> list[GcEntry]:
        return [e for e in self.entries if e.deleted]

    @property
    def reclaimable(self) -> list[GcEntry]:
        return [e for e in self.entries if e.status != "young, kept"]


def parse_grace(value: float | int | str | None) -> float:
    """A grace period in seconds: None (the default hour), seconds >= 0, or ``0``/``90s``/``30m``/``2h``/``7d``."""
    from localtrack.store.gc import parse_grace as parse

    return parse(value)


def gc(layout: StoreLayout, *, grace: float | int | str | None = None, dry_run: bool = True) -> GcReport:
    """Plan (and unless ``dry_run``, do) the deletion of unreferenced objects and stale temp files."""
    from localtrack.store.gc import plan_gc, run_gc

    grace_seconds = parse_grace(grace)
    plan = plan_gc(layout, grace_seconds=grace_seconds)
    result = None if dry_run else run_gc(layout, plan, grace_seconds=grace_seconds)
    deleted = set(result.deleted) if result is not None else set()
    now = time.time()
    entries = [
        GcEntry(str(e.path), e.digest, e.size, e.age(now), status, str(e.path) in deleted)
        for status, found in (("unreferenced", plan.unreferenced), ("stale temp", plan.stale_temps),
                              ("young, kept", plan.young))
        for e in found
    ]
    return GcReport(entries, plan.referenced, list(plan.problems), dry_run, plan.reclaimable_bytes,
                    result.deleted_bytes if result is not None else 0)


# ---------------------------------------------------------------------- remove, restore, edits
def remove(layout: StoreLayout, run: Any, *, purge: bool = False, force: bool = False) -> RunRef:
    """Move a run to the trash, or with ``purge`` delete it for good (from runs/ or the trash)."""
    from localtrack.store import manage

    target = resolve(layout, run, include_trash=purge)
    if purge:
        manage.purge_run(layout, target.id, force=force)
        return RunRef(target.id, target.name, target.path, target.manifest, trashed=target.trashed)
    path = manage.trash_run(layout, target.id, force=force)
    return RunRef(target.id, target.name, path, target.manifest, trashed=True)


def restore(layout: StoreLayout, run: Any) -> RunRef:
    """Move a trashed run (id, prefix, short id or name) back to runs/."""
    from localtrack.store import manage

    trashed = manage.resolve_trashed(layout, _ref_text(run))
    manage.restore_run(layout, trashed.id)
    return _reload(layout, trashed.id)


def find_trashed(layout: StoreLayout, run: Any) -> TrashedRun:
    """The trashed run a reference (id, prefix, short id or name; no @latest) names."""
    from localtrack.store.manage import resolve_trashed

    return resolve_trashed(layout, _ref_text(run))


def trash(layout: StoreLayout) -> list[TrashedRun]:
    """The runs in the trash, most recently trashed first."""
    from localtrack.store.manage import list_trash

    return list_trash(layout)


def change_tags(layout: StoreLayout, run: Any, *, add: Mapping[str, str] | Iterable[str] = (),
                remove: Iterable[str] = ()) -> RunRef:
    """Add tags (``{key: value}``, or ``label`` / ``key=value`` strings) and remove tags by key."""
    from localtrack.store import manage

    target = resolve(layout, run)
    pairs: list[str | tuple[str, str]] = (
        [(k, v) for k, v in add.items()] if isinstance(add, Mapping) else list(add)
    )
    manage.change_tags(layout, target.id, add=pairs, remove=list(remove))
    return _reload(layout, target.id)


def set_note(layout: StoreLayout, run: Any, text: str, *, append: bool = False) -> RunRef:
    """Replace (or append to) a run's notes."""
    from localtrack.store import manage

    target = resolve(layout, run)
    manage.set_notes(layout, target.id, text, append=append)
    return _reload(layout, target.id)


def rename(layout: StoreLayout, run: Any, name: str) -> RunRef:
    """Give a run a new display name (its id and folder stay)."""
    from localtrack.store import manage

    target = resolve(layout, run)
    manage.rename_run(layout, target.id, name)
    return _reload(layout, target.id)


# ---------------------------------------------------------------------- shell-style logging
@dataclass(frozen=True)
class LoggedSteps:
    """What a ``log_metrics`` / ``stream_metrics`` call logged to ``run``."""

    run: RunRef
    steps: int
    last_step: int | None
    lines: int | None = None  # stdin lines read (streams only)


def parse_json_object(text: str, what: str) -> dict[str, Any]:
    """A JSON object given as text (``--params '{"lr": 0.1}'``); anything else is refused by name."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise InvalidValueError(f"{what}: JSON nested too deeply to read (at most {MAX_DEPTH} levels are kept)", None) from None
    except ValueError as exc:
        msg, pos = getattr(exc, "msg", str(exc)), getattr(exc, "pos", "?")
        raise InvalidValueError(f"{what} is not valid JSON ({msg} at position {pos}): {text[:80]!r}", text) from None
    if not isinstance(value, dict):
        raise InvalidValueError(f"{what} must be a JSON object like '{{\"lr\": 0.1}}', got {text[:80]!r}", text)
    return value


def _json_dict(value: Any, what: str) -> dict[str, Any]:
    if isinstance(value, str):
        return parse_json_object(value, what)
    if not isinstance(value, Mapping):
        raise InvalidValueError(f"{what} must be a dict (or a JSON object as text), got {type(value).__name__}", value)
    return dict(value)


def new_run(layout: StoreLayout, *, project: str | None = None, name: str | None = None,
            tags: Iterable[str] | None = None, params: Mapping[str, Any] | str | None = None) -> RunRef:
    """Create a run driven by separate calls (each one short), as ``localtrack create`` does."""
    from localtrack.store import shell_writer

    config = _json_dict(params, "params") if params is not None else None
    run_id = shell_writer.create_run(layout, project=project, name=name, tags=list(tags or []), config=config)
    return _reload(layout, run_id)


def log_params(layout: StoreLayout, run: Any, params: Mapping[str, Any] | str) -> RunRef:
    """Merge params into a running run's config."""
    from localtrack.store import shell_writer

    values = _json_dict(params, "params")
    target = resolve(layout, run)
    shell_writer.log_params(layout, target.id, values)
    return target


def log_metrics(layout: StoreLayout, run: Any, metrics: Mapping[str, Any] | str, step: int | None = None) -> LoggedSteps:
    """Log one step of metrics (``step`` None: the last step + 1) as one sealed segment."""
    from localtrack.store import shell_writer

    values = _json_dict(metrics, "metrics")
    target = resolve(layout, run)
    used = shell_writer.log_metrics(layout, target.id, values, step)
    return LoggedSteps(target, 0 if used is None else 1, used)


def stream_metrics(layout: StoreLayout, run: Any, source: BinaryIO, *, flush_seconds: float = 2.0) -> LoggedSteps:
    """Log every JSON line of ``source`` (``{"step": 3, "loss": 0.1}``) to a run; stops at the first bad line."""
    from localtrack.store.shell_stream import stream_metrics as stream

    target = resolve(layout, run)
    result = stream(layout, target.id, source, flush_seconds=flush_seconds)
    return LoggedSteps(target, result.steps, result.last_step, result.lines)


def finish(layout: StoreLayout, run: Any, status: str = "finished") -> RunRef:
    """End the shell's part of a run (finished, failed or killed); the run ends when no writer is left."""
    from localtrack.store import shell_writer

    if status not in ("finished", "failed", "killed"):
        raise InvalidValueError(f"status {status!r}: use finished, failed or killed", status)
    target = resolve(layout, run)
    manifest = shell_writer.finish_run(layout, target.id, status)
    return RunRef(target.id, target.name, target.path, manifest)


# ---------------------------------------------------------------------- artifacts
@dataclass
class ArtifactListing:
    """Artifact versions found (``handles``), each run's name, and what could not be read."""

    handles: list[ArtifactHandle]
    run_names: dict[str, str]
    problems: list[str]


def log_artifact(layout: StoreLayout, run: Any, path: str | os.PathLike[str], *, name: str | None = None,
                 type: str | None = None, description: str | None = None, follow_symlinks: bool = False,
                 progress: Any = None) -> ArtifactRef:
    """Store a file or folder as the next version of an artifact of ``run``."""
    from localtrack.store.artifacts import log_artifact as log

    target = resolve(layout, run)
    return log(layout, target.id, path, name, type, description, follow_symlinks=follow_symlinks, progress=progress)


def artifacts(layout: StoreLayout, run: Any = None, *, name: str | None = None, version: int | None = None,
              type: str | None = None, latest: bool = False, skip_damaged: bool = True) -> ArtifactListing:
    """Artifacts of one run (or every run): one ``name`` (latest or ``version``), else all, or the latest per name.

    A run whose manifest cannot be read is named in ``problems`` (or, with ``skip_damaged=False``, raises).
    """
    from localtrack.store.artifacts import artifact_handle, list_artifacts
    from localtrack.store.reader import list_runs, load_run

    if version is not None and name is None:
        raise InvalidValueError("a version needs an artifact name", version)
    if name is not None:
        if run is None:
            raise InvalidValueError("an artifact name needs its run", name)
        target = resolve(layout, run)
        return ArtifactListing([artifact_handle(layout, target.id, name, version=version, type=type)],
                               {target.id: target.name}, [])
    records = [load_run(layout, resolve(layout, run).id)] if run is not None else list_runs(layout)
    listing = ArtifactListing([], {}, [])
    for record in records:
        if not record.ok:
            if not skip_damaged:
                raise CorruptRunError(record.error or f"run {record.id} cannot be read", record.id)
            listing.problems.append(f"run {record.id}: {record.error}")
            continue
        handles, problems = list_artifacts(layout, record.id)
        listing.problems.extend(problems)
        listing.run_names[record.id] = record.name
        if type is not None:
            handles = [h for h in handles if h.type == type]
        if latest:
            newest: dict[str, ArtifactHandle] = {}
            for handle in handles:
                if handle.name not in newest or handle.version > newest[handle.name].version:
                    newest[handle.name] = handle
            handles = list(newest.values())
        listing.handles.extend(handles)
    return listing


def download_artifacts(handles: Sequence[ArtifactHandle], to: str | os.PathLike[str], *, overwrite: bool = False,
                       progress: Any = None) -> list[Path]:
    """Restore artifacts into folder ``to`` (a file as to/<file name>, a folder as to/<name>/); checks every target first."""
    from localtrack.store.artifacts import restore_all

    return restore_all(list(handles), Path(to), overwrite=overwrite, progress=progress)

"""Editing runs after the fact: rename, tag, note, move to the trash and back, purge.

Manifest edits are read-modify-write under the run lock followed by an atomic replace: the
Python writer and the shell writer update the manifest the same way, so an edit made while
the run is still training is never lost and never loses theirs.

Removing a run moves its folder to ``trash/<run_id>/`` with one rename, so readers see the
run either fully present or gone, and ``restore`` moves it back. The trashed manifest is
left untouched (gc still counts its artifacts as referenced). Purging renames the folder
to a dot-name inside ``trash/`` first, so a purge interrupted halfway leaves nothing that a
reader or ``restore`` would mistake for a run.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localtrack.errors import CorruptRunError, LocaltrackError, RunNotFoundError, RunStateError
from localtrack.names import validate_id, validate_key, validate_label, validate_tag_value
from localtrack.storage.atomic import explain_os_error, fsync_dir, make_dirs
from localtrack.storage.layout import MANIFEST_FILENAME, StoreLayout
from localtrack.storage.lease import run_lock
from localtrack.storage.manifest import read_manifest, write_manifest
from localtrack.store.run_refs import RunCandidate, check_ref, pick_run
from localtrack.store.status import derive_status

MAX_NOTES = 100_000

Edit = Callable[[dict[str, Any]], None]


def edit_manifest(layout: StoreLayout, run_id: str, change: Edit) -> dict[str, Any]:
    """Apply ``change`` to a run's manifest under its lock; returns the manifest written."""
    run_dir = layout.run_dir(run_id)  # a linked run folder raises StoreLinkError here
    if not run_dir.is_dir():
        raise RunNotFoundError(f"no run folder {run_id!r} in {layout.runs_dir}", run_id)
    with run_lock(layout.lock_path(run_id)):
        path = layout.manifest_path(run_id)
        manifest = read_manifest(path)
        if manifest.get("id") != run_id:  # writes refuse what reads refuse (reader.load_run)
            raise CorruptRunError(
                f"{path}: manifest id {str(manifest.get('id'))[:80]!r} does not match the folder name "
                f"{run_id!r}; refusing to edit it (`localtrack verify` reports it)",
                run_id,
            )
        change(manifest)
        write_manifest(path, manifest)
    return manifest


def rename_run(layout: StoreLayout, run_id: str, name: str) -> dict[str, Any]:
    """Give a run a new display name (the folder, named by id, does not move)."""
    clean = validate_label(name, "run name")
    return edit_manifest(layout, run_id, lambda m: m.__setitem__("name", clean))


def _parse_tag(text: str | tuple[str, str]) -> tuple[str, str]:
    """``label`` or ``key=value`` as typed on a command line, or a ``(key, value)`` pair from Python."""
    if isinstance(text, tuple):
        return validate_key(text[0], "tag"), validate_tag_value(text[1])
    key, sep, value = text.partition("=")
    if not sep:
        return validate_key(text, "tag"), ""
    return validate_key(key, "tag"), validate_tag_value(value)


def change_tags(
    layout: StoreLayout, run_id: str, *, add: Iterable[str | tuple[str, str]] = (), remove: Iterable[str] = ()
) -> dict[str, str]:
    """Add (``label``, ``key=value`` or ``(key, value)``) and remove (by key) tags; returns the run's tags after."""
    to_add = [_parse_tag(t) for t in add]
    to_remove = [validate_key(t.partition("=")[0], "tag") for t in remove]
    result: dict[str, str] = {}

    def change(manifest: dict[str, Any]) -> None:
        tags = manifest.get("tags")
        if not isinstance(tags, dict):
            tags = {}
        missing = [key for key in to_remove if key not in tags]
        if missing:
            raise LocaltrackError(
                f"run {run_id} has no tag {missing[0]!r}; its tags are: {', '.join(sorted(tags)) or '(none)'}",
                missing[0],
            )
        for key in to_remove:
            tags.pop(key, None)
        for key, value in to_add:
            tags[key] = value
        manifest["tags"] = dict(sorted(tags.items()))
        result.update(manifest["tags"])

    edit_manifest(layout, run_id, change)
    return result


def set_notes(layout: StoreLayout, run_id: str, text: str, *, append: bool = False) -> str:
    """Replace (or append to) a run's notes; returns the notes after."""
    if not isinstance(text, str):
        raise LocaltrackError(f"notes must be text, got {type(text).__name__}", text)
    result: list[str] = []

    def change(manifest: dict[str, Any]) -> None:
        old = manifest.get("notes") if isinstance(manifest.get("notes"), str) else ""
        new = f"{old}\n{text}" if append and old else text
        if len(new) > MAX_NOTES:
            raise LocaltrackError(f"notes of {len(new)} characters are over the {MAX_NOTES} limit", run_id)
        manifest["notes"] = new
        result.append(new)

    edit_manifest(layout, run_id, change)
    return result[0]


@dataclass
class TrashedRun:
    """A run in ``trash/``: what ``restore`` lists."""

    id: str
    name: str
    project: str | None
    status: str
    created_at: str | None
    trashed_at: float
    path: Path


def _trash_path(layout: StoreLayout, run_id: str) -> Path:
    return layout.trash_run_dir(run_id)


def _rename(source: Path, target: Path, action: str) -> None:
    try:
        os.rename(source, target)
    except OSError as exc:
        raise explain_os_error(exc, source, action) from exc
    fsync_dir(source.parent)
    fsync_dir(target.parent)


def trash_run(layout: StoreLayout, run_id: str, *, force: bool = False) -> Path:
    """Move a run to ``trash/<run_id>/``; refuses a running run unless ``force``."""
    source = layout.run_dir(run_id)  # refuses a linked runs/ or run folder
    if not source.is_dir():
        raise RunNotFoundError(f"no run folder {run_id!r} in {layout.runs_dir}", run_id)
    target = _trash_path(layout, run_id)
    if target.exists() or target.is_symlink():
        raise LocaltrackError(
            f"trash already holds a run {run_id}; purge it first (`localtrack rm {run_id} --purge`)", run_id
        )
    make_dirs(layout.trash_dir)
    with run_lock(layout.lock_path(run_id)):
        if not force:
            _refuse_if_running(layout, run_id)
        _rename(source, target, "move to the trash")
    return target


def _refuse_if_running(layout: StoreLayout, run_id: str) -> None:
    try:
        manifest = read_manifest(layout.manifest_path(run_id))
    except LocaltrackError:
        return  # a damaged run is exactly what people want to remove
    if derive_status(manifest) == "running":
        raise RunStateError(
            f"run {run_id} is still running; stop it first or pass --force to remove it anyway", run_id
        )


def restore_run(layout: StoreLayout, run_id: str) -> Path:
    """Move a trashed run back to ``runs/``."""
    source = _trash_path(layout, run_id)  # refuses a linked trash/ or trashed run
    if not source.is_dir():
        raise RunNotFoundError(f"no run {run_id!r} in the trash; `localtrack restore` lists it", run_id)
    target = layout.run_dir(run_id)
    if target.exists() or target.is_symlink():
        raise LocaltrackError(f"a run {run_id} already exists in {layout.runs_dir}; not overwriting it", run_id)
    make_dirs(layout.runs_dir)
    _rename(source, target, "restore")
    return target


def purge_run(layout: StoreLayout, run_id: str, *, force: bool = False) -> None:
    """Delete a run for good, from ``runs/`` or from the trash."""
    source = layout.run_dir(run_id)
    if source.is_dir():
        if not force:
            with run_lock(layout.lock_path(run_id)):
                _refuse_if_running(layout, run_id)
    else:
        source = _trash_path(layout, run_id)
        if not source.is_dir():
            raise RunNotFoundError(f"no run {run_id!r} in the store or its trash", run_id)
    make_dirs(layout.trash_dir)
    doomed = layout.trash_dir / f".purge-{run_id}-{secrets.token_hex(4)}"
    _rename(source, doomed, "delete")
    try:
        shutil.rmtree(doomed)
    except OSError as exc:
        raise explain_os_error(exc, doomed, "delete") from exc


def list_trash(layout: StoreLayout) -> list[TrashedRun]:
    """Runs in the trash, most recently trashed first (damaged ones included)."""
    try:
        entries = list(os.scandir(layout.trash_dir))
    except (FileNotFoundError, NotADirectoryError):
        return []
    out: list[TrashedRun] = []
    for entry in entries:
        if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            run_id = validate_id(entry.name)
        except LocaltrackError:
            continue
        path = Path(entry.path)
        try:
            manifest = read_manifest(path / MANIFEST_FILENAME)
        except LocaltrackError:
            manifest = {}
        name = manifest.get("name")
        project = manifest.get("project")
        created = manifest.get("created_at")
        out.append(
            TrashedRun(
                id=run_id,
                name=name if isinstance(name, str) else run_id,
                project=project if isinstance(project, str) else None,
                status=derive_status(manifest) if manifest else "damaged",
                created_at=created if isinstance(created, str) else None,
                trashed_at=entry.stat(follow_symlinks=False).st_ctime,
                path=path,
            )
        )
    out.sort(key=lambda r: (r.trashed_at, r.id), reverse=True)
    return out


def resolve_trashed(layout: StoreLayout, ref: str) -> TrashedRun:
    """A trashed run from a full id, id prefix, short id or unique name (run_refs' rule, no @latest)."""
    ref = check_ref(ref)
    trashed = list_trash(layout)
    if not trashed:
        raise RunNotFoundError(f"no run matches {ref!r}: the trash is empty", ref)
    by_id = {t.id: t for t in trashed}
    chosen = pick_run(ref, (RunCandidate(t.id, t.name) for t in trashed), what="trashed runs",
                      not_found_hint=" in the trash; `localtrack restore` lists it", allow_latest=False)
    return by_id[chosen.id]

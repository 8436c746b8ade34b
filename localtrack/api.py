"""The public Python surface: ``init``, ``log``, ``finish``, ``Run`` and (lazily) ``Store``.

``import localtrack as wandb`` works for the common script shape: init / log / config /
summary / finish. Nothing here imports duckdb, rich or typer.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from localtrack import envvars, lifecycle
from localtrack.errors import InvalidValueError, RunStateError
from localtrack.ids import new_run_id, new_run_name, new_writer_id
from localtrack.names import validate_id, validate_label
from localtrack.run import Run
from localtrack.run_fields import clean_config_value, clean_tags
from localtrack.storage.layout import FORMAT_VERSION
from localtrack.store import timefmt, world
from localtrack.store.project import open_store
from localtrack.store.writer import DEFAULT_FLUSH_SECONDS, RunWriter

_RESUME_MODES = {None: None, False: None, "never": None, True: "allow", "allow": "allow", "auto": "allow", "must": "must"}
_WANDB_ONLY_KWARGS = frozenset(
    {"entity", "reinit", "mode", "settings", "save_code", "anonymous", "allow_val_change", "sync_tensorboard",
     "monitor_gym", "magic", "config_exclude_keys", "config_include_keys", "force", "resume_from", "fork_from"}
)


def _default_project(store_root: Path) -> str:
    env = os.environ.get(envvars.LOCALTRACK_PROJECT)
    if env:
        return validate_label(env, "project")
    folder = store_root.resolve().parent.name
    cleaned = re.sub(r"[^\w.-]", "", folder)
    return cleaned or "default"


def _flush_seconds() -> float:
    raw = os.environ.get(envvars.LOCALTRACK_FLUSH_SECONDS)
    if not raw:
        return DEFAULT_FLUSH_SECONDS
    try:
        return float(raw)
    except ValueError:
        raise InvalidValueError(f"{envvars.LOCALTRACK_FLUSH_SECONDS}={raw!r} is not a number of seconds", raw) from None


def _env_json(name: str) -> dict[str, Any]:
    raw = os.environ.get(name)
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise InvalidValueError(f"{name} is not valid JSON: {raw[:80]!r}", raw) from None
    if not isinstance(value, dict):
        raise InvalidValueError(f"{name} must be a JSON object", raw)
    return value


def init(
    project: str | None = None,
    name: str | None = None,
    config: Mapping[str, Any] | None = None,
    tags: Any = None,
    notes: str | None = None,
    dir: str | os.PathLike[str] | None = None,
    id: str | None = None,
    resume: str | bool | None = None,
    group: str | None = None,
    parent: str | None = None,
    job_type: str | None = None,
    **wandb_kwargs: Any,
) -> Run:
    """Start (or join) a run and make it the current one.

    ``resume='allow'`` with an ``id`` creates the run or joins it as another writer (every DDP
    rank can call this with the same id); ``'must'`` requires it to exist. Inside
    ``localtrack exec`` the run id comes from ``LOCALTRACK_RUN_ID`` and this call joins it.
    """
    unknown = set(wandb_kwargs) - _WANDB_ONLY_KWARGS
    if unknown:
        raise TypeError(f"init() got unexpected keyword arguments: {', '.join(sorted(unknown))}")
    if resume not in _RESUME_MODES:
        raise ValueError(f"resume={resume!r}: use None, 'allow', 'must' or 'never'")
    resume_mode = _RESUME_MODES[resume]
    env_run = os.environ.get(envvars.LOCALTRACK_RUN_ID)
    if id is None and env_run:
        id, resume_mode = env_run, "allow"

    layout = open_store(dir, create=True)
    run_id = validate_id(id, "run id") if id is not None else new_run_id()
    clean_config = {} if config is None else clean_config_value("config", dict(config))
    clean_config.update(_env_json(envvars.LOCALTRACK_RUN_OVERRIDES))
    all_tags = clean_tags(tags)
    all_tags.update(clean_tags(_env_json(envvars.LOCALTRACK_RUN_TAGS)))
    if job_type:
        all_tags["job_type"] = validate_label(job_type, "job_type")
    cwd = Path.cwd()
    facts = world.capture_sync(cwd)
    manifest: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "id": run_id,
        "name": validate_label(name, "run name") if name is not None else new_run_name(),
        "project": validate_label(project, "project") if project is not None else _default_project(layout.root),
        "group": validate_label(group, "group") if group is not None else None,
        "parent": validate_id(parent, "parent run id") if parent is not None else None,
        "status": "running",
        "created_at": timefmt.now_iso(),
        "ended_at": None,
        "duration": None,
        "config": clean_config,
        "tags": all_tags,
        "notes": notes if isinstance(notes, str) else "",
        "summary": {},
        "summary_values": {},
        "artifacts": [],
        "error": None,
        **facts,
    }
    writer = RunWriter(layout, run_id, new_writer_id(), flush_seconds=_flush_seconds())
    manifest = writer.create(manifest, resume_mode)
    writer.start()
    run = Run(layout, writer, manifest)
    git = facts.get("git")
    if git and git.get("root"):
        _record_dirty_state_later(run, writer, git["root"])
    lifecycle.register(run)
    run._on_finish.append(lifecycle.unregister)
    return run


def _record_dirty_state_later(run: Run, writer: RunWriter, git_root: str) -> None:
    """Patch the dirty flag into the manifest when the background ``git status`` is done."""
    world.start_dirty_capture(git_root)

    def record(_: Run) -> None:
        result = world.dirty_result(git_root, wait=5.0)
        if result is None:
            return
        dirty = result.get("dirty")
        writer.patch_manifest(lambda m: (m.get("git") or {}).__setitem__("dirty", dirty) if m.get("git") else None)

    run._on_finish.insert(0, record)


def _current() -> Run:
    run = lifecycle.current()
    if run is None:
        raise RunStateError("no active run: call localtrack.init() first")
    return run


def log(metrics: Mapping[str, Any], step: int | None = None, commit: bool | None = None) -> None:
    """Log to the current run (see :meth:`Run.log`)."""
    _current().log(metrics, step)


def finish(status: str = "finished", exit_code: int | None = None) -> None:
    """Finish the current run (a no-op when there is none, as in wandb)."""
    run = lifecycle.current()
    if run is not None:
        run.finish(status, exit_code=exit_code)

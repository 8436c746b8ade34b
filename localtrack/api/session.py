"""The public Python surface: ``init``, ``log``, ``finish``, ``Run`` and (lazily) ``Store``.

``import localtrack as wandb`` takes wandb's init arguments and module functions (see
docs/WANDB.md for what each means locally). Nothing here imports duckdb, rich or typer.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from localtrack import envvars, timefmt
from localtrack.api import active, lifecycle
from localtrack.api.disabled import DisabledRun
from localtrack.api.fields import Config
from localtrack.api.module_attrs import take_pending_config
from localtrack.api.run import Run
from localtrack.errors import (
    InvalidArgumentError,
    InvalidArgumentTypeError,
    InvalidValueError,
    LocaltrackError,
    RunStateError,
)
from localtrack.ids import new_run_id, new_run_name, new_writer_id
from localtrack.names import validate_id, validate_label
from localtrack.storage.layout import (
    FORMAT_FILENAME,
    FORMAT_VERSION,
    MANIFEST_FILENAME,
    StoreLayout,
)
from localtrack.storage.manifest import VALUE_ENCODING, read_manifest
from localtrack.store import world, world_artifacts
from localtrack.store.config_values import clean_tags, clean_text
from localtrack.store.project import open_store
from localtrack.store.writer import DEFAULT_FLUSH_SECONDS, RunWriter
from localtrack.system_metrics import sampler as system_sampler
from localtrack.wandb_api.alerts import AlertLevel
from localtrack.wandb_api.config_source import config_dict
from localtrack.wandb_api.settings import Settings, login, setting_of

__all__ = ["AlertLevel", "Run", "Settings", "alert", "define_metric", "finish", "init", "join", "log", "login"]

_RESUME_MODES = {None: None, False: None, "never": None, True: "allow", "allow": "allow", "auto": "allow", "must": "must"}
_WANDB_ONLY_KWARGS = frozenset(
    {"entity", "reinit", "mode", "settings", "save_code", "anonymous", "allow_val_change", "sync_tensorboard",
     "tensorboard", "monitor_gym", "magic", "config_exclude_keys", "config_include_keys", "force", "resume_from",
     "fork_from"}
)
_MODES = (None, "online", "offline", "disabled", "shared", "run", "dryrun")
_REINIT = (None, True, False, "default", "return_previous", "finish_previous", "create_new", "allow")


def _default_project(store_root: Path) -> str:
    env = os.environ.get(envvars.LOCALTRACK_PROJECT)
    if env:
        return validate_label(env, "project")
    folder = store_root.resolve().parent.name
    cleaned = re.sub(r"[^\w.-]", "", folder)
    return cleaned or "default"


# The store the last init() opened, and the FORMAT file it checked (see _open_store_for_runs).
_last_store: list[Any] = [None, None, None]  # (dir, LOCALTRACK_DIR, cwd), its layout, FORMAT's lstat


def _format_identity(layout: StoreLayout) -> tuple[int, int, int, int, int] | None:
    """FORMAT's lstat (a link or a replaced file changes it), or None if it is not there."""
    try:
        st = os.lstat(layout.root / FORMAT_FILENAME)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_mode, st.st_size, st.st_mtime_ns


def _open_store_for_runs(dir: str | os.PathLike[str] | None) -> StoreLayout:
    """``open_store(dir, create=True)``, its FORMAT check done once per process and store.

    200 short runs in a loop open the same store 200 times: the lookup (walking up from the
    working directory, or LOCALTRACK_DIR) and FORMAT's parse are redone only when the lookup's
    inputs changed or FORMAT is not the file that was checked (one ``lstat`` says so).
    """
    try:
        where = (os.fspath(dir) if dir is not None else None, os.environ.get(envvars.LOCALTRACK_DIR), os.getcwd())
    except OSError:  # the working directory was deleted: let open_store say what it says
        return open_store(dir, create=True)
    key, layout, identity = _last_store
    if key == where and identity is not None and _format_identity(layout) == identity:
        return layout  # type: ignore[no-any-return]
    layout = open_store(dir, create=True)
    _last_store[:] = [where, layout, _format_identity(layout)]
    return layout


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


def _with_reproduce_overrides(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with ``reproduce --set`` applied at the paths reproduce resolved (nested or flat)."""
    raw = os.environ.get(envvars.LOCALTRACK_RUN_OVERRIDES)
    if not raw:
        return config
    from localtrack.api import overrides

    return overrides.apply(config, overrides.decode(raw, envvars.LOCALTRACK_RUN_OVERRIDES))


def init(
    project: str | None = None,
    name: str | None = None,
    config: Any = None,
    tags: Any = None,
    notes: str | None = None,
    dir: str | os.PathLike[str] | None = None,
    id: str | None = None,
    resume: str | bool | None = None,
    group: str | None = None,
    parent: str | None = None,
    job_type: str | None = None,
    system_metrics: bool | None = None,
    system_metrics_interval: float | None = None,
    **wandb_kwargs: Any,
) -> Run:
    """Start (or join) a run and make it the current one.

    ``resume='allow'`` with an ``id`` creates the run or joins it as another writer (every DDP
    rank can call this with the same id); ``'must'`` requires it to exist. Inside
    ``localtrack exec`` the run id comes from ``LOCALTRACK_RUN_ID`` and this call joins it.
    ``system_metrics`` (default on, ``LOCALTRACK_SYSTEM_METRICS=0`` turns it off) samples CPU,
    memory, disk, network and GPUs every ``system_metrics_interval`` seconds (default 10).
    """
    unknown = set(wandb_kwargs) - _WANDB_ONLY_KWARGS
    if unknown:
        raise InvalidArgumentTypeError(f"init() got unexpected keyword arguments: {', '.join(sorted(unknown))}")
    if resume not in _RESUME_MODES:
        raise InvalidArgumentError(f"resume={resume!r}: use None, 'allow', 'must' or 'never'")
    settings = wandb_kwargs.get("settings")
    mode = wandb_kwargs.get("mode") or setting_of(settings, "mode") or os.environ.get("WANDB_MODE") or None
    if mode not in _MODES:
        raise InvalidArgumentError(f"mode={mode!r}: use 'online', 'offline' or 'disabled' (localtrack is always local)")
    reinit = wandb_kwargs.get("reinit", setting_of(settings, "reinit"))
    if reinit not in _REINIT:
        raise InvalidArgumentError(f"reinit={reinit!r}: use 'return_previous', 'finish_previous' or 'create_new'")
    items = config_dict(config, wandb_kwargs.get("config_include_keys"), wandb_kwargs.get("config_exclude_keys"))
    items = {**take_pending_config(), **items}
    if mode == "disabled":
        disabled = DisabledRun(project, name, items)
        active.disabled_runs.append(disabled)
        return disabled  # type: ignore[return-value]
    current = active.current()
    joins_current = id is None and current is not None and os.environ.get(envvars.LOCALTRACK_RUN_ID) == current.id
    # Under `localtrack exec` or a sweep agent's function, init() joins the run the launcher
    # made (another writer of it, its config merged), even while that run is active here.
    previous = None if joins_current else _previous_run(reinit, _RESUME_MODES[resume])
    if previous is not None:
        return previous
    resume_mode = _RESUME_MODES[resume]
    sampling = system_sampler.resolve_settings(system_metrics, system_metrics_interval)  # bad values fail before the run exists
    env_run = os.environ.get(envvars.LOCALTRACK_RUN_ID)
    exec_fixed = _exec_fixed_fields() if id is None and env_run else None
    if id is None and env_run:
        id, resume_mode = env_run, "allow"

    layout = _open_store_for_runs(dir)
    run_id = validate_id(id, "run id") if id is not None else new_run_id()
    config_view = Config(None)  # validates as run.config does: sizes, clashes, key naming
    config_view.update(items)
    clean_config = _with_reproduce_overrides(dict(config_view._data))
    ended_before = _ended_run(layout, run_id) if resume_mode is not None else None
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
        "created_at": timefmt.creation_iso(),
        "ended_at": None,
        "duration": None,
        "config": clean_config,
        "tags": all_tags,
        "notes": clean_text(notes, "notes") if isinstance(notes, str) else "",
        "summary": {},
        "summary_values": {},
        "value_encoding": VALUE_ENCODING,
        "artifacts": _capture_artifacts(layout),
        "error": None,
        **facts,
    }
    writer = RunWriter(layout, run_id, new_writer_id(), flush_seconds=_flush_seconds())
    captured = manifest["artifacts"]
    manifest = writer.create(manifest, resume_mode)
    if exec_fixed is not None:
        manifest = _adopt_script_identity(writer, manifest, exec_fixed, name, project, captured)
    elif ended_before is not None:  # resuming an ended run: its capture is already recorded
        _keep_earlier_duration(writer, ended_before)
    elif writer.joined and captured:  # joining (resume, DDP rank): keep this process's package list
        writer.patch_manifest(world_artifacts.records_patch(captured))
    writer.start()
    # A new run's manifest holds exactly the config init() validated: the run adopts that view.
    fresh_config = not writer.joined and manifest.get("config") is clean_config and clean_config == config_view._data
    run = Run(layout, writer, manifest, config_view if fresh_config else None)
    run.entity = str(wandb_kwargs.get("entity") or "")
    if ended_before is not None:  # as wandb's resume: the next log() goes after the last step logged
        writer.next_step = _next_step_after(ended_before)
    git = facts.get("git")
    # Under exec, exec recorded the tree; a resumed ended run keeps what its first session recorded.
    if git and git.get("root") and exec_fixed is None and ended_before is None:
        _record_dirty_state_later(run, writer, git["root"])
    lifecycle.register(run)
    run._on_finish.append(lifecycle.unregister)
    system_sampler.start_for_run(run, *sampling)
    return run


def _previous_run(reinit: Any, resume_mode: str | None) -> Run | None:
    """What a second ``init()`` does while a run is active, as wandb: return it (the default,
    ``reinit="return_previous"``/False), finish it first (True/"finish_previous"), or start
    another beside it ("create_new")."""
    previous: Run | None = active.current()  # a DisabledRun stands in for a Run, as init() returns it
    if previous is None or reinit in ("create_new", "allow"):
        return None
    if reinit in (True, "finish_previous"):
        while (current := active.current()) is not None:
            current.finish()
        return None
    if resume_mode == "must":
        raise RunStateError(
            "cannot resume a run while another is active: call run.finish() first or pass reinit='create_new'"
        )
    sys.stderr.write(
        f"localtrack: init() called while run {previous.id} is active, so returning it "
        "(reinit='finish_previous' ends it and starts a new run)\n"
    )
    return previous


def _ended_run(layout: Any, run_id: str) -> dict[str, Any] | None:
    """The manifest of ``run_id`` if it exists and has ended (a resume of a finished run), else None."""
    path = layout.run_dir(run_id) / MANIFEST_FILENAME
    if not path.exists():
        return None
    try:
        manifest = read_manifest(path)
    except LocaltrackError:
        return None
    return manifest if manifest.get("status") not in (None, "running") else None


def _next_step_after(manifest: dict[str, Any]) -> int:
    steps = [s.get("step") for s in (manifest.get("summary") or {}).values() if isinstance(s, dict)]
    whole = [s for s in steps if isinstance(s, int) and not isinstance(s, bool) and 0 <= s < 2**63 - 1]
    return max(whole) + 1 if whole else 0


def _keep_earlier_duration(writer: RunWriter, before: dict[str, Any]) -> None:
    """A resumed run's duration counts its earlier sessions, not the wall clock since creation."""
    earlier = before.get("duration")  # already the sum of every earlier session
    earlier = float(earlier) if isinstance(earlier, (int, float)) and not isinstance(earlier, bool) else 0.0
    now = timefmt.now_iso()
    writer.patch_manifest(lambda m: m.update({"resumed_at": now, "duration_before_resume": earlier}))


def _exec_fixed_fields() -> frozenset[str] | None:
    """Under ``localtrack exec``: the run fields exec fixed (its --name/--project); else None."""
    raw = os.environ.get(envvars.LOCALTRACK_EXEC)
    if raw is None:
        return None
    return frozenset(f.strip() for f in raw.split(",") if f.strip() in ("name", "project"))


def _adopt_script_identity(
    writer: RunWriter,
    manifest: dict[str, Any],
    fixed: frozenset[str],
    name: str | None,
    project: str | None,
    captured: list[dict[str, Any]],
) -> dict[str, Any]:
    """Joining exec's run: the script's own ``name=``/``project=`` apply unless exec fixed them,
    and its package list is kept (joining does not copy a fresh manifest's artifacts)."""
    if captured:
        writer.patch_manifest(world_artifacts.records_patch(captured))
    changes: dict[str, str] = {}
    if name is not None and "name" not in fixed:
        changes["name"] = validate_label(name, "run name")
    if project is not None and "project" not in fixed:
        changes["project"] = validate_label(project, "project")
    if changes:
        writer.patch_manifest(lambda m: m.update(changes))
        manifest = {**manifest, **changes}
    return manifest


def _capture_artifacts(layout: Any) -> list[dict[str, Any]]:
    """The package list as a ``requirements.txt`` artifact (one object per process and store)."""
    return world_artifacts.initial_artifacts(layout)


def _record_dirty_state_later(run: Run, writer: RunWriter, git_root: str) -> None:
    """Patch the dirty flag, and the diff as artifacts, into the manifest when the background ``git status`` is done."""
    store = run._layout.root  # its own files are not a change to the user's code
    world.start_dirty_capture(git_root, store)
    recorded = threading.Event()
    guard = threading.Lock()

    def apply(result: dict[str, Any]) -> None:
        with guard:
            if recorded.is_set():
                return
            recorded.set()
        dirty = result.get("dirty")
        writer.patch_manifest(lambda m: (m.get("git") or {}).__setitem__("dirty", dirty) if m.get("git") else None)
        records = world_artifacts.dirty_records(run._layout, result)
        if records:
            writer.patch_manifest(world_artifacts.records_patch(records))

    world.when_dirty_ready(git_root, apply, store)
    if recorded.is_set():  # known already (every run after a process's first): nothing to wait for at finish
        return

    def record(_: Run) -> None:
        result = world.dirty_result(git_root, wait=5.0, store_root=store)
        if result is not None:
            apply(result)

    run._on_finish.insert(0, record)


def _current() -> Run:
    run: Run | None = active.current()  # a DisabledRun stands in for a Run, as init() returns it
    if run is None:
        raise RunStateError("no active run: call localtrack.init() first")
    return run


def log(data: Mapping[str, Any], step: int | None = None, commit: bool | None = None, sync: bool | None = None) -> None:
    """Log to the current run (see :meth:`Run.log`)."""
    _current().log(data, step, commit)


def finish(exit_code: int | None = None, quiet: bool | None = None) -> None:
    """Finish the current run (a no-op when there is none, as in wandb); exit_code != 0 means failed."""
    run = active.current()
    if run is None:
        return
    if isinstance(exit_code, str):  # localtrack.finish("killed"): the status spelled out
        run.finish(exit_code)
    else:
        run.finish(exit_code=exit_code, quiet=quiet)


def join(exit_code: int | None = None, quiet: bool | None = None) -> None:
    """wandb's old name for :func:`finish`."""
    finish(exit_code, quiet)


def define_metric(name: str, step_metric: Any = None, step_sync: bool | None = None, hidden: bool | None = None,
                  summary: str | None = None, goal: str | None = None, overwrite: bool | None = None) -> Any:
    """:meth:`Run.define_metric` on the current run."""
    return _current().define_metric(name, step_metric, step_sync, hidden, summary, goal, overwrite)


def alert(title: str, text: str, level: Any = None, wait_duration: Any = None) -> None:
    """:meth:`Run.alert` on the current run."""
    _current().alert(title, text, level, wait_duration)


def watch(models: Any = None, *args: Any, **kwargs: Any) -> None:
    """:meth:`Run.watch` on the current run."""
    _current().watch(models, *args, **kwargs)


def unwatch(models: Any = None) -> None:
    """Remove the hooks :func:`watch` added."""
    from localtrack.wandb_api.watch import unwatch as unwatch_models

    unwatch_models(models)


def log_artifact(path: Any, name: str | None = None, type: str | None = None, *args: Any, **kwargs: Any) -> Any:
    """Keep a file or folder with the current run (wandb's Artifact objects come with media)."""
    if not isinstance(path, (str, os.PathLike)):
        from localtrack.wandb_api.unsupported import refuse

        refuse("Artifact")
    return _current().log_artifact(path, name=name, type=type)


def mark_preempting() -> None:
    """A local run is always resumable: nothing to mark."""


def termlog(message: str = "", *args: Any, **kwargs: Any) -> None:
    sys.stderr.write(f"localtrack: {message}\n")


def termwarn(message: str = "", *args: Any, **kwargs: Any) -> None:
    sys.stderr.write(f"localtrack: WARNING {message}\n")


def termerror(message: str = "", *args: Any, **kwargs: Any) -> None:
    sys.stderr.write(f"localtrack: ERROR {message}\n")


def setup(settings: Any = None) -> None:
    """wandb starts its service process here; localtrack has none."""


def teardown(exit_code: int | None = None) -> None:
    """Finish every active run, as wandb.teardown does."""
    while active.current() is not None:
        finish(exit_code)

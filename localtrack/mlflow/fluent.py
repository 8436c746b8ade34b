"""MLflow's fluent run API (``start_run`` / ``log_param`` / ``log_metric`` / ``set_tag`` / ``end_run``)
on localtrack runs.

Every MLflow run is a localtrack run made with the public :func:`localtrack.init`; nested runs
record their parent in the run's ``parent`` field. Runs a script leaves open end at exit the
way localtrack ends runs (``finished``, or ``failed`` after an uncaught exception).
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Literal

from localtrack.api.run import Run as LocalRun
from localtrack.mlflow import experiment, search, tracking_uri
from localtrack.mlflow.entities import (
    FROM_MLFLOW_STATUS,
    Run,
    RunData,
    RunInfo,
    epoch_ms_now,
    experiment_name,
    mlflow_status,
)
from localtrack.mlflow.exceptions import MlflowException
from localtrack.mlflow.experiment import current_experiment

_active: list[ActiveRun] = []
_last: ActiveRun | None = None


class ActiveRun:
    """What ``start_run`` returns: a context manager; ``.info`` and ``.data`` as in MLflow."""

    def __init__(self, run: LocalRun, start_ms: int) -> None:
        self.run = run
        self._start_ms = start_ms
        self._end_ms: int | None = None

    @property
    def info(self) -> RunInfo:
        return RunInfo(
            run_id=self.run.id,
            run_name=self.run.name,
            experiment_id=self.run.project,
            status=mlflow_status(self.run.status),
            start_time=self._start_ms,
            end_time=self._end_ms,
            artifact_uri=self.run.dir.as_uri(),
            user_id=str(self.run.tags.get("mlflow.user", "")),
        )

    @property
    def data(self) -> RunData:
        """The run's params, latest metrics and tags now (read back from the store)."""
        return search.get_run(self.run.id).data

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> Literal[False]:
        if exc is None or (isinstance(exc, SystemExit) and exc.code in (None, 0)):
            status = "FINISHED"
        elif isinstance(exc, KeyboardInterrupt):
            status = "KILLED"
        else:
            status = "FAILED"
        _end(self, status, exc)
        return False

    def __repr__(self) -> str:
        return f"<ActiveRun: run_id={self.run.id!r} run_name={self.run.name!r}>"


# ---------------------------------------------------------------------- runs
def _source_tags() -> dict[str, str]:
    """The tags MLflow's default run context records (who ran what, from where)."""
    try:
        user = getpass.getuser()
    except (ImportError, KeyError, OSError):
        user = "unknown"
    source = sys.argv[0] if sys.argv and sys.argv[0] else "<console>"
    return {"mlflow.user": user, "mlflow.source.name": source, "mlflow.source.type": "LOCAL"}


def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
    log_system_metrics: bool | None = None,
) -> ActiveRun:
    """Start a run (or resume ``run_id``) and make it the active one; use it as a context manager."""
    import localtrack

    global _last
    if _active and not nested:
        raise MlflowException(
            f"Run with UUID {_active[-1].run.id} is already active. To start a nested run, call "
            "start_run with nested=True"
        )
    parent = parent_run_id or (_active[-1].run.id if nested and _active else None)
    user_tags = {str(k): str(v) for k, v in (tags or {}).items()}
    name = run_name or user_tags.pop("mlflow.runName", None)
    notes = description if description is not None else user_tags.pop("mlflow.note.content", None)
    user_tags.pop("mlflow.parentRunId", None)
    project = experiment_name(experiment_id) or current_experiment()
    start_ms = epoch_ms_now()
    if run_id is not None:
        run = localtrack.init(
            id=run_id, resume="must", dir=tracking_uri.store_dir(), name=name, tags=user_tags or None,
            reinit="create_new",  # MLflow runs nest: another active run is a parent, not the run to return
        )
        if notes is not None:
            run.notes = notes
    else:
        run = localtrack.init(
            project=project,
            name=name,
            tags={**_source_tags(), **user_tags},
            notes=notes,
            parent=parent,
            dir=tracking_uri.store_dir(),
            reinit="create_new",
        )
    active = ActiveRun(run, start_ms)
    _active.append(active)
    _last = active
    return active


def active_run() -> ActiveRun | None:
    """The innermost run started here and not yet ended, or None."""
    return _active[-1] if _active else None


def last_active_run() -> Run | None:
    """The run started last (active or ended), read back from the store."""
    if _last is None:
        return None
    return search.get_run(_last.run.id)


def end_run(status: str = "FINISHED") -> None:
    """End the active run with an MLflow status (FINISHED, FAILED or KILLED); no-op without one."""
    if _active:
        _end(_active[-1], status, None)


def end_run_by_id(run_id: str, status: str = "FINISHED") -> None:
    """End a run this process started, active or nested anywhere in the stack."""
    for active in list(_active):
        if active.run.id == run_id:
            _end(active, status, None)
            return
    raise MlflowException(f"run {run_id!r} is not active in this process")


def _end(active: ActiveRun, status: str, error: BaseException | None) -> None:
    local = FROM_MLFLOW_STATUS.get(str(status).upper())
    if local is None:
        raise MlflowException(f"end_run(status={status!r}): use 'FINISHED', 'FAILED' or 'KILLED'")
    if active in _active:
        _active.remove(active)
    active._end_ms = epoch_ms_now()
    active.run.finish(local, error=error)


def _run_for(run_id: str | None = None) -> LocalRun:
    """The run a logging call writes to: ``run_id`` if active here, else the active run (started if none)."""
    if run_id is not None:
        for active in _active:
            if active.run.id == run_id:
                return active.run
        raise MlflowException(
            f"run {run_id!r} is not active in this process; localtrack.mlflow writes only to runs it started "
            "(use start_run(run_id=...) to resume it)"
        )
    if not _active:
        start_run()
    return _active[-1].run


def active_local_run(run_id: str | None = None) -> LocalRun:
    """The localtrack Run behind the active MLflow run (for the artifact functions)."""
    return _run_for(run_id)


# ---------------------------------------------------------------------- params, metrics, tags
def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    """Record a param as MLflow does: as ``str(value)``, and never changed once logged."""
    log_params({key: value})
    return value


def log_params(params: Mapping[str, Any], synchronous: bool | None = None, run_id: str | None = None) -> None:
    run = _run_for(run_id)
    clean = {str(k): str(v) for k, v in params.items()}
    for key, text in clean.items():
        old = run.config.get(key)
        if old is not None and str(old) != text:
            raise MlflowException(
                f"Changing param values is not allowed. Param with key={key!r} was already logged with "
                f"value={str(old)!r} for run ID={run.id!r}. Attempted logging new value {text!r}."
            )
    run.config.update(clean)


def log_metric(key: str, value: float, step: int | None = None, synchronous: bool | None = None,
               timestamp: int | None = None, run_id: str | None = None, **_ignored: Any) -> None:
    """Record one metric point; ``step`` defaults to 0 as in MLflow.

    ``timestamp`` is accepted for MLflow scripts; localtrack records the time ``log`` is called.
    ``model_id``/``dataset`` links (MLflow 3) are accepted and not recorded.
    """
    log_metrics({key: value}, step=step, run_id=run_id)


def log_metrics(metrics: Mapping[str, float], step: int | None = None, synchronous: bool | None = None,
                run_id: str | None = None, timestamp: int | None = None, **_ignored: Any) -> None:
    points = {str(k): _number(k, v) for k, v in metrics.items()}
    record_points(_run_for(run_id), points, 0 if step is None else _step(step))


def record_points(run: LocalRun, points: dict[str, float], step: int) -> None:
    """Append points at ``step`` exactly as given: MLflow's step model, not wandb's.

    ``Run.log`` follows wandb (a step below the current one is dropped, a repeated step merges
    into one row); MLflow keeps every point, at any step, in any order (``log_metric`` without
    a step logs at 0 every time). The run's writer records points that way, so MLflow calls
    go to it directly.
    """
    run._writer.log(points, step)


def _step(step: Any) -> int:
    try:
        value = int(step)
    except (TypeError, ValueError):
        raise MlflowException(f"step must be an integer, got {step!r}") from None
    if value < 0:
        raise MlflowException(f"step {value}: localtrack stores steps from 0 up; MLflow's negative steps are not supported")
    return value


def _number(key: Any, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise MlflowException(f"Got invalid value {value!r} for metric {key!r}: metrics are numbers") from None


def set_tag(key: str, value: Any, synchronous: bool | None = None) -> None:
    set_tags({key: value})


def set_tags(tags: Mapping[str, Any], synchronous: bool | None = None) -> None:
    """Set tags; ``mlflow.runName`` renames the run and ``mlflow.note.content`` sets its notes."""
    run = _run_for()
    plain: dict[str, str] = {}
    for key, value in tags.items():
        text = str(value)
        if key == "mlflow.runName":
            run.name = text
        elif key == "mlflow.note.content":
            run.notes = text
        elif key == "mlflow.parentRunId":
            raise MlflowException("mlflow.parentRunId is set by start_run(nested=True) or parent_run_id=")
        else:
            plain[str(key)] = text
    if plain:
        run.tags.update(plain)


def delete_tag(key: str) -> None:
    run = _run_for()
    if key in run.tags:
        del run.tags[key]


def get_artifact_uri(artifact_path: str | None = None) -> str:
    """The run folder's ``file:`` URI (artifacts themselves live content-addressed in the store)."""
    uri = _run_for().dir.as_uri()
    return uri if not artifact_path else f"{uri}/{artifact_path.lstrip('/')}"


def _end_all_for_tests() -> None:
    """End every run this module started (tests only)."""
    global _last
    while _active:
        end_run()
    experiment.forget()
    _last = None

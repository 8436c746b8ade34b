"""MLflow's entity shapes (``Run``, ``RunInfo``, ``RunData``, ``Experiment``, ``Metric``) over localtrack runs.

The mapping is fixed here, in one place:

* experiment -> localtrack ``project``; ``experiment_id`` is the project name ("0" means "Default");
* params -> the run's config, always shown as ``str(value)`` (MLflow stores params as strings);
* metrics -> the latest value (largest step) of each metric;
* the ``mlflow.*`` system tags that mirror run fields (run name, parent, git commit, description)
  are derived from those fields, so they cannot disagree with them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

DEFAULT_EXPERIMENT = "Default"
DEFAULT_EXPERIMENT_ID = "0"

# localtrack status -> MLflow RunStatus name. A crashed run (its process died without ending it)
# has no MLflow spelling; MLflow would leave it RUNNING forever, we report it as FAILED.
TO_MLFLOW_STATUS = {"running": "RUNNING", "finished": "FINISHED", "failed": "FAILED", "killed": "KILLED",
                    "crashed": "FAILED"}
FROM_MLFLOW_STATUS = {"FINISHED": "finished", "FAILED": "failed", "KILLED": "killed"}

# System tags that are views of run fields: tag -> manifest/RunTable field.
FIELD_TAGS = {
    "mlflow.runName": "name",
    "mlflow.parentRunId": "parent",
    "mlflow.source.git.commit": "git_commit",
    "mlflow.source.git.branch": "git_branch",
    "mlflow.note.content": "notes",
}


def experiment_name(experiment_id: str | None) -> str | None:
    """The project an MLflow experiment id names ("0" is MLflow's Default experiment)."""
    if experiment_id is None:
        return None
    text = str(experiment_id)
    return DEFAULT_EXPERIMENT if text == DEFAULT_EXPERIMENT_ID else text


def mlflow_status(status: str | None) -> str:
    return TO_MLFLOW_STATUS.get(status or "", "FAILED")


def epoch_ms(when: datetime | None) -> int | None:
    """A timestamp as MLflow gives it: integer milliseconds since the epoch."""
    return None if when is None else round(when.timestamp() * 1000)


def epoch_ms_now() -> int:
    return int(time.time() * 1000)


def param_text(value: Any) -> str:
    """A param as MLflow returns it: the string it was logged as."""
    from localtrack.query.flatten import python_str

    return python_str(value)


def system_tags(row: dict[str, Any]) -> dict[str, str]:
    """The ``mlflow.*`` tags derived from a run's fields (only those the run has)."""
    tags = {}
    for tag, name in FIELD_TAGS.items():
        value = row.get(name)
        if value not in (None, ""):
            tags[tag] = str(value)
    return tags


@dataclass
class Metric:
    key: str
    value: float
    timestamp: int
    step: int


@dataclass
class RunInfo:
    run_id: str
    run_name: str
    experiment_id: str
    status: str
    start_time: int | None
    end_time: int | None
    artifact_uri: str
    user_id: str = ""
    lifecycle_stage: str = "active"

    @property
    def run_uuid(self) -> str:
        return self.run_id


@dataclass
class RunData:
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Run:
    info: RunInfo
    data: RunData


@dataclass
class Experiment:
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str = "active"
    tags: dict[str, str] = field(default_factory=dict)


def run_from_row(row: dict[str, Any], artifact_uri: str) -> Run:
    """An MLflow ``Run`` from a localtrack RunTable row (see localtrack/query/results.py)."""
    tags = {k: v for k, v in row["tags"].items()}
    tags.update(system_tags(row))
    info = RunInfo(
        run_id=row["id"],
        run_name=row.get("name") or row["id"],
        experiment_id=row.get("project") or DEFAULT_EXPERIMENT,
        status=mlflow_status(row.get("status")),
        start_time=epoch_ms(row.get("created_at")),
        end_time=epoch_ms(row.get("ended_at")),
        artifact_uri=artifact_uri,
        user_id=tags.get("mlflow.user", ""),
    )
    data = RunData(
        params={k: param_text(v) for k, v in row["params"].items()},
        metrics={k: s.get("last") for k, s in row["metrics"].items()},
        tags=tags,
    )
    return Run(info, data)

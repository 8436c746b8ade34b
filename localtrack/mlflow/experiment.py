"""The current experiment: the localtrack project new MLflow runs go to.

Its own module because both the fluent API (which sets it) and the searches (which default to
it) need it, and neither should import the other for it.
"""

from __future__ import annotations

import os

from localtrack.mlflow import tracking_uri
from localtrack.mlflow.entities import DEFAULT_EXPERIMENT, Experiment, experiment_name
from localtrack.mlflow.exceptions import MlflowException

_chosen: str | None = None  # set by set_experiment


def set_experiment(experiment_name: str | None = None, experiment_id: str | None = None) -> Experiment:
    """Make this experiment (a localtrack project) the one new runs go to."""
    global _chosen
    name = experiment_name if experiment_name is not None else _name_of_id(experiment_id)
    if name is None:
        raise MlflowException("set_experiment() needs experiment_name or experiment_id")
    from localtrack.names import validate_label

    _chosen = validate_label(name, "experiment name")
    return experiment_entity(_chosen)


def _name_of_id(experiment_id: str | None) -> str | None:
    return experiment_name(experiment_id)


def experiment_entity(name: str) -> Experiment:
    """The MLflow Experiment of a localtrack project."""
    return Experiment(experiment_id=name, name=name, artifact_location=tracking_uri.get_tracking_uri())


def current_experiment() -> str:
    """The experiment new runs go to: set_experiment, MLFLOW_EXPERIMENT_NAME/_ID, else Default."""
    if _chosen is not None:
        return _chosen
    env = os.environ.get("MLFLOW_EXPERIMENT_NAME") or experiment_name(os.environ.get("MLFLOW_EXPERIMENT_ID"))
    return env or DEFAULT_EXPERIMENT


def forget() -> None:
    """Back to the default experiment (tests only)."""
    global _chosen
    _chosen = None

"""An MLflow-shaped API over localtrack: ``import localtrack.mlflow as mlflow``.

    import localtrack.mlflow as mlflow
    mlflow.set_experiment("wine")
    with mlflow.start_run(run_name="baseline"):
        mlflow.log_params({"alpha": 0.5})
        mlflow.log_metric("rmse", 0.7, step=3)
    mlflow.search_runs(filter_string="metrics.rmse < 0.8", order_by=["metrics.rmse ASC"])

Experiments are localtrack projects, params are the run's config (kept as MLflow's strings),
metrics are localtrack metrics. What is covered, and what each call means locally, is in
docs/MLFLOW.md. Importing this module imports neither duckdb nor pandas: searches do.
"""

from __future__ import annotations

from typing import Any

from localtrack.errors import UnsupportedFeatureError
from localtrack.mlflow.artifacts import (
    log_artifact,
    log_artifacts,
    log_dict,
    log_figure,
    log_image,
    log_input,
    log_text,
)
from localtrack.mlflow.client import MlflowClient
from localtrack.mlflow.entities import Experiment, Metric, Run, RunData, RunInfo
from localtrack.mlflow.exceptions import MlflowException
from localtrack.mlflow.experiment import set_experiment
from localtrack.mlflow.fluent import (
    ActiveRun,
    active_run,
    delete_tag,
    end_run,
    get_artifact_uri,
    last_active_run,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    set_tag,
    set_tags,
    start_run,
)
from localtrack.mlflow.search import (
    get_experiment,
    get_experiment_by_name,
    search_experiments,
    search_runs,
)
from localtrack.mlflow.tracking_uri import get_tracking_uri, set_tracking_uri

# MLflow features with no local equivalent here: calling them says so instead of an AttributeError.
_NOT_SUPPORTED = frozenset({
    "autolog", "log_model", "load_model", "register_model", "log_table", "load_table", "evaluate",
    "search_logged_models", "create_external_model", "log_trace", "trace", "start_span", "set_system_metrics_sampling_interval",
    "log_outputs", "delete_run", "delete_experiment", "set_registry_uri", "get_registry_uri",
})


# MLflow submodules with no local equivalent: ``mlflow.sklearn.log_model(...)`` says so.
_NOT_SUPPORTED_MODULES = frozenset({
    "data", "models", "pyfunc", "sklearn", "pytorch", "tensorflow", "keras", "xgboost", "lightgbm",
    "transformers", "projects", "genai", "tracing",
})


class _UnsupportedModule:
    """Stands for an MLflow submodule localtrack does not provide; any use raises NotImplementedError."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        raise UnsupportedFeatureError(
            f"localtrack.mlflow has no mlflow.{self._name} ({self._name}.{attr} is not supported; "
            "see docs/MLFLOW.md): log files with log_artifact instead"
        )


def create_experiment(name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None) -> str:
    """Experiments are projects; one exists once a run is in it. Returns its id (its name)."""
    return MlflowClient().create_experiment(name, artifact_location, tags)


def get_run(run_id: str) -> Run:
    return MlflowClient().get_run(run_id)


def __getattr__(name: str) -> Any:
    if name in _NOT_SUPPORTED:
        def unsupported(*_args: Any, **_kwargs: Any) -> Any:
            raise UnsupportedFeatureError(
                f"localtrack.mlflow.{name} is not supported (see docs/MLFLOW.md for what is); "
                "log files with log_artifact instead"
            )

        return unsupported
    if name in _NOT_SUPPORTED_MODULES:
        return _UnsupportedModule(name)
    raise AttributeError(f"module 'localtrack.mlflow' has no attribute {name!r} (see docs/MLFLOW.md)")


__all__ = [
    "ActiveRun", "Experiment", "Metric", "MlflowClient", "MlflowException", "Run", "RunData", "RunInfo",
    "active_run", "create_experiment", "delete_tag", "end_run", "get_artifact_uri", "get_experiment",
    "get_experiment_by_name", "get_run", "get_tracking_uri", "last_active_run", "log_artifact",
    "log_artifacts", "log_dict", "log_figure", "log_image", "log_input", "log_metric", "log_metrics",
    "log_param", "log_params", "log_text", "search_experiments", "search_runs", "set_experiment",
    "set_tag", "set_tags", "set_tracking_uri", "start_run",
]

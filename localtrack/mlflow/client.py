"""``MlflowClient``: reading runs back (``get_run``, ``get_metric_history``, ``search_runs``) and
writing to runs this process has active.

Reads go through localtrack's read API (``localtrack.Store``). Writes to a run this process did
not start are refused with one clear line: localtrack runs have one writer per process, and
joining another process's run from a client call would mark it running again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from localtrack.errors import RunNotFoundError
from localtrack.mlflow import fluent, search
from localtrack.mlflow.entities import Experiment, Metric, Run, epoch_ms
from localtrack.mlflow.exceptions import MlflowException


class MlflowClient:
    """MLflow's client over the local store (``tracking_uri`` as in :func:`set_tracking_uri`)."""

    def __init__(self, tracking_uri: str | None = None, registry_uri: str | None = None) -> None:
        if tracking_uri is not None:
            from localtrack.mlflow.tracking_uri import set_tracking_uri

            set_tracking_uri(tracking_uri)

    # ------------------------------------------------------------------ reading
    def _store(self) -> Any:
        store = search.open_store()
        if store is None:
            raise MlflowException("no runs recorded yet: the local store does not exist", "RESOURCE_DOES_NOT_EXIST")
        return store

    def get_run(self, run_id: str) -> Run:
        """Params (strings), latest metrics, tags (with the mlflow.* system tags) and info of one run."""
        return search.get_run(run_id)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every point of one metric, by step then time (timestamps in ms)."""
        with self._store() as store:
            try:
                points = store.run(run_id).metrics([key])
            except RunNotFoundError:
                raise MlflowException(f"Run {run_id!r} not found", "RESOURCE_DOES_NOT_EXIST") from None
            rows = points.to_pylist()
        return [Metric(key=key, value=r["value"], timestamp=epoch_ms(r["timestamp"]) or 0, step=r["step"])
                for r in rows]

    def search_runs(self, experiment_ids: Iterable[Any] | None = None, filter_string: str = "",
                    run_view_type: Any = None, max_results: int = search.SEARCH_MAX_RESULTS_DEFAULT,
                    order_by: list[str] | None = None, page_token: Any = None) -> list[Run]:
        if not experiment_ids:
            raise MlflowException("MlflowClient.search_runs needs experiment_ids (as in MLflow)")
        return search.find_runs(experiment_ids, filter_string, max_results, order_by)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return search.get_experiment_by_name(name)

    def get_experiment(self, experiment_id: str) -> Experiment:
        return search.get_experiment(experiment_id)

    def search_experiments(self, *args: Any, **kwargs: Any) -> list[Experiment]:
        return search.search_experiments(*args, **kwargs)

    def create_experiment(self, name: str, artifact_location: str | None = None,
                          tags: dict[str, Any] | None = None) -> str:
        """Experiments are projects, which exist once a run names them: returns the id (= name)."""
        from localtrack.names import validate_label

        return validate_label(name, "experiment name")

    # ------------------------------------------------------------------ writing (runs active here)
    def log_param(self, run_id: str, key: str, value: Any) -> Any:
        fluent.log_params({key: value}, run_id=run_id)
        return value

    def log_metric(self, run_id: str, key: str, value: float, timestamp: int | None = None,
                   step: int | None = None, **_ignored: Any) -> None:
        fluent.log_metrics({key: value}, step=step, run_id=run_id)

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        run = fluent.active_local_run(run_id)
        run.tags.update({str(key): str(value)})

    def set_terminated(self, run_id: str, status: str | None = None, end_time: int | None = None) -> None:
        """End a run this process started (FINISHED unless ``status``)."""
        fluent.end_run_by_id(run_id, status or "FINISHED")

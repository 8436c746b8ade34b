"""``search_runs`` and the experiment look-ups, answered by localtrack's index (``Store.runs``).

MLflow filter strings and ``order_by`` lists go to localtrack's filter language unchanged (it
accepts MLflow's syntax, see docs/FILTERS.md). The DataFrame has MLflow's columns: ``run_id``,
``experiment_id``, ``status``, ``artifact_uri``, ``start_time``, ``end_time``, then
``metrics.*`` (latest value), ``params.*`` (strings) and ``tags.*`` (with the ``mlflow.*``
system tags). duckdb and pandas are imported here, on the first search, not at import.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from localtrack.errors import RunNotFoundError, StoreNotFoundError
from localtrack.mlflow import tracking_uri
from localtrack.mlflow.entities import Experiment, Run, experiment_name, run_from_row
from localtrack.mlflow.exceptions import MlflowException
from localtrack.mlflow.experiment import current_experiment, experiment_entity

SEARCH_MAX_RESULTS_DEFAULT = 100_000
INFO_COLUMNS = ("run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time")


def open_store() -> Any:
    """The read handle on the store runs go to, or None when no run was ever recorded there."""
    from localtrack.query.store import Store

    try:
        return Store(tracking_uri.store_dir())
    except StoreNotFoundError:
        return None


def _projects(experiment_ids: Iterable[Any] | None, experiment_names: Iterable[Any] | None,
              search_all: bool) -> set[str] | None:
    """The projects searched (None: all); MLflow searches the current experiment by default."""
    if search_all and not experiment_ids and not experiment_names:
        return None
    if isinstance(experiment_ids, (str, int)):
        experiment_ids = [experiment_ids]
    if isinstance(experiment_names, str):
        experiment_names = [experiment_names]
    chosen = {experiment_name(str(e)) or "" for e in experiment_ids or ()}
    chosen.update(str(n) for n in experiment_names or () if n is not None)
    return chosen if (experiment_ids or experiment_names) else {current_experiment()}


def get_run(run_id: str) -> Run:
    """Params (strings), latest metrics, tags (with the mlflow.* system tags) and info of one run."""
    store = open_store()
    if store is None:
        raise MlflowException("no runs recorded yet: the local store does not exist", "RESOURCE_DOES_NOT_EXIST")
    with store:
        try:
            info = store.run(run_id)
        except RunNotFoundError:
            raise MlflowException(f"Run {run_id!r} not found", "RESOURCE_DOES_NOT_EXIST") from None
        row = {
            "id": info.id, "name": info.name, "project": info.project, "parent": info.parent,
            "status": info.status, "created_at": info.created_at, "ended_at": info.ended_at,
            "git_commit": (info.git or {}).get("commit"), "git_branch": (info.git or {}).get("branch"),
            "notes": info.notes,
            "tags": info.tags, "params": info.params, "metrics": info.summary,
        }
        return run_from_row(row, info.path.as_uri())


def find_runs(
    experiment_ids: Iterable[Any] | None = None,
    filter_string: str = "",
    max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
    order_by: list[str] | str | None = None,
    experiment_names: Iterable[str] | None = None,
    search_all_experiments: bool = False,
) -> list[Run]:
    """The runs a search returns, in order, as MLflow ``Run`` entities."""
    if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 0:
        raise MlflowException(f"max_results must be a non-negative integer, got {max_results!r}")
    projects = _projects(experiment_ids, experiment_names, search_all_experiments)
    store = open_store()
    if store is None or projects == set():
        return []
    with store:
        only = next(iter(projects)) if projects is not None and len(projects) == 1 else None
        table = store.runs(filter=filter_string or None, order_by=order_by or None, project=only)
        rows = [row for row in table if projects is None or row.get("project") in projects]
        layout = store.layout
        return [run_from_row(row, layout.run_dir(row["id"]).as_uri()) for row in rows[:max_results]]


def search_runs(
    experiment_ids: Iterable[Any] | None = None,
    filter_string: str = "",
    run_view_type: Any = None,
    max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
    order_by: list[str] | str | None = None,
    output_format: str = "pandas",
    search_all_experiments: bool = False,
    experiment_names: Iterable[str] | None = None,
) -> Any:
    """Runs matching an MLflow filter, as MLflow's pandas DataFrame (or ``output_format="list"``)."""
    runs = find_runs(experiment_ids, filter_string, max_results, order_by, experiment_names, search_all_experiments)
    if output_format == "list":
        return runs
    if output_format != "pandas":
        raise MlflowException(f"output_format={output_format!r}: use 'pandas' or 'list'")
    return runs_frame(runs)


def runs_frame(runs: list[Run]) -> Any:
    """MLflow's search_runs DataFrame for these runs (missing params/tags None, metrics NaN)."""
    import pandas as pd

    data: dict[str, list[Any]] = {
        "run_id": [r.info.run_id for r in runs],
        "experiment_id": [r.info.experiment_id for r in runs],
        "status": [r.info.status for r in runs],
        "artifact_uri": [r.info.artifact_uri for r in runs],
        "start_time": [pd.to_datetime(r.info.start_time, unit="ms", utc=True) for r in runs],
        "end_time": [pd.to_datetime(r.info.end_time, unit="ms", utc=True) for r in runs],
    }
    for family, missing in (("metrics", float("nan")), ("params", None), ("tags", None)):
        keys = sorted({k for r in runs for k in getattr(r.data, family)})
        for key in keys:
            data[f"{family}.{key}"] = [getattr(r.data, family).get(key, missing) for r in runs]
    return pd.DataFrame(data)


# ---------------------------------------------------------------------- experiments
def _known_projects() -> list[str]:
    names = {current_experiment()}
    store = open_store()
    if store is not None:
        with store:
            column = store.sql("SELECT DISTINCT project FROM runs WHERE project IS NOT NULL").column(0)
            names.update(str(p) for p in column.to_pylist())
    return sorted(names)


def get_experiment_by_name(name: str) -> Experiment | None:
    """The experiment (project) of this name if it has runs or is the current one, else None."""
    if name not in _known_projects():
        return None
    return experiment_entity(name)


def get_experiment(experiment_id: str) -> Experiment:
    name = experiment_name(experiment_id) or ""
    found = get_experiment_by_name(name)
    if found is None:
        raise MlflowException(f"No Experiment with id={experiment_id} exists", "RESOURCE_DOES_NOT_EXIST")
    return found


def search_experiments(filter_string: str | None = None, max_results: int | None = None,
                       order_by: list[str] | None = None, **_ignored: Any) -> list[Experiment]:
    """Every experiment (project) in the store; ``filter_string`` only as ``name = '...'`` / ``name LIKE '...'``."""
    names = _known_projects()
    if filter_string:
        names = [n for n in names if _name_matches(n, filter_string)]
    uri = tracking_uri.get_tracking_uri()
    found = [Experiment(experiment_id=n, name=n, artifact_location=uri) for n in names]
    return found[:max_results] if max_results is not None else found


def _name_matches(name: str, filter_string: str) -> bool:
    import fnmatch
    import re

    match = re.fullmatch(r"\s*(?:attributes\.)?name\s*(=|!=|LIKE|ILIKE)\s*'([^']*)'\s*", filter_string, re.IGNORECASE)
    if match is None:
        raise MlflowException(
            f"search_experiments filter {filter_string!r}: only name = '...' and name LIKE '...' are supported"
        )
    op, value = match.group(1).upper(), match.group(2)
    if op == "=":
        return name == value
    if op == "!=":
        return name != value
    pattern = value.replace("%", "*").replace("_", "?")
    if op == "ILIKE":
        return fnmatch.fnmatchcase(name.lower(), pattern.lower())
    return fnmatch.fnmatchcase(name, pattern)

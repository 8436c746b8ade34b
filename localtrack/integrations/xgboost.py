"""XGBoost: a ``TrainingCallback`` logging each iteration's evaluation results.

    xgb.train(params, dtrain, evals=[(dvalid, "valid")], callbacks=[LocaltrackCallback(project="p")])

Metrics are ``<eval set>/<metric>`` (``valid/rmse``) at step = boosting iteration. At the end
the summary gets ``best_iteration`` (XGBoost's own when early stopping ran, else the best
iteration of the last metric on the last eval set, the pair XGBoost's early stopping watches)
and ``best/<eval set>/<metric>``; ``log_model=True`` keeps the booster as a ``model`` artifact.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import xgboost

from localtrack.integrations.binding import RunBinding
from localtrack.integrations.model_files import log_saved_file

if TYPE_CHECKING:
    from localtrack.api.run import Run

_MAXIMIZED = ("auc", "aucpr", "map", "ndcg", "pre", "interval-regression-accuracy")


def _higher_is_better(metric: str) -> bool:
    return metric.split("@")[0] in _MAXIMIZED


def _last_value(values: list[Any]) -> float:
    value = values[-1]
    return float(value[0] if isinstance(value, tuple) else value)  # xgb.cv logs (mean, std)


def booster_params(booster: Any) -> dict[str, Any]:
    """The training parameters from ``Booster.save_config()``: every ``*_param`` table, flattened."""
    try:
        tree = json.loads(booster.save_config())
    except Exception:
        return {}
    found: dict[str, Any] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key.endswith("_param") and isinstance(value, dict):
                    found.update({k: v for k, v in value.items() if isinstance(v, str)})
                else:
                    walk(value)

    walk(tree.get("learner", {}))
    objective = tree.get("learner", {}).get("objective", {}).get("name")
    if objective:
        found["objective"] = objective
    return dict(sorted(found.items()))


class LocaltrackCallback(xgboost.callback.TrainingCallback):
    """Log XGBoost's per-iteration evaluation results to a localtrack run."""

    def __init__(self, run: Run | None = None, *, log_model: bool = False, log_params: bool = True,
                 all_ranks: bool = False, **init_kwargs: Any) -> None:
        super().__init__()
        self._binding = RunBinding(run, init_kwargs, all_ranks=all_ranks)
        self.log_model = log_model
        self.log_params = log_params
        self._history: dict[tuple[str, str], list[float]] = {}

    @property
    def run(self) -> Run | None:
        return self._binding.get() if self._binding.active else None

    def before_training(self, model: Any) -> Any:
        if self._binding.active:
            run = self._binding.get()
            if self.log_params:
                params = booster_params(model)
                if params:
                    run.config.update({"xgboost": params})
        return model

    def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, dict[str, list[Any]]]) -> bool:
        if not self._binding.active or not evals_log:
            return False
        metrics: dict[str, float] = {}
        for data_name, by_metric in evals_log.items():
            for metric_name, values in by_metric.items():
                if values:
                    value = _last_value(values)
                    metrics[f"{data_name}/{metric_name}"] = value
                    self._history.setdefault((data_name, metric_name), []).append(value)
        if metrics:
            self._binding.get().log(metrics, step=epoch)
        return False

    def after_training(self, model: Any) -> Any:
        if not self._binding.active:
            return model
        run = self._binding.get()
        run.summary.update(self._best_summary(model))
        if self.log_model and hasattr(model, "save_model"):  # xgb.cv hands in a packed booster
            log_saved_file(run, "model.ubj", lambda path: model.save_model(str(path)))
        self._binding.finish()
        self._binding.reset()
        self._history = {}
        return model

    def _best_summary(self, model: Any) -> dict[str, Any]:
        summary: dict[str, Any] = {}
        for (data_name, metric_name), values in self._history.items():
            pick = max if _higher_is_better(metric_name) else min
            summary[f"best/{data_name}/{metric_name}"] = pick(values)
        best_iteration = getattr(model, "best_iteration", None) if model.attr("best_iteration") is not None else None
        if best_iteration is None and self._history:
            (_, metric_name), values = list(self._history.items())[-1]
            pick = max if _higher_is_better(metric_name) else min
            best_iteration = values.index(pick(values))
        if best_iteration is not None:
            summary["best_iteration"] = int(best_iteration)
        return summary

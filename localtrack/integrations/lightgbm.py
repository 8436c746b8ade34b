"""LightGBM: a callback (a callable, as ``lgb.train(callbacks=[...])`` expects).

    lgb.train(params, dtrain, valid_sets=[dvalid], callbacks=[LocaltrackCallback(project="p")])

Each iteration logs ``<valid set>/<metric>`` (``valid_0/l2``) at step = iteration; the
parameters go to config on the first call. When training reaches its last iteration the
summary gets ``best_iteration`` and ``best/<set>/<metric>`` (by each metric's own direction;
the iteration is the best of the first metric on the last set, as LightGBM's early stopping
with ``first_metric_only`` uses), the booster becomes a ``model`` artifact if asked, and a run
the callback started is finished. LightGBM has no end-of-training hook, so when early
stopping ends training sooner call ``callback.finish(booster)`` (or the run ends with the
process).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from localtrack.integrations.binding import RunBinding
from localtrack.integrations.model_files import log_saved_file

if TYPE_CHECKING:
    from localtrack.api.run import Run

_PARAM_TYPES = (str, int, float, bool, type(None))


class LocaltrackCallback:
    """Log LightGBM's evaluation results each iteration."""

    order = 25  # after record_evaluation (20), before early_stopping (30)
    before_iteration = False

    def __init__(self, run: Run | None = None, *, log_model: bool = False, log_params: bool = True,
                 all_ranks: bool = False, **init_kwargs: Any) -> None:
        self._binding = RunBinding(run, init_kwargs, all_ranks=all_ranks)
        self.log_model = log_model
        self.log_params = log_params
        self._history: dict[tuple[str, str], tuple[bool, list[float]]] = {}
        self._first_call = True

    @property
    def run(self) -> Run | None:
        return self._binding.get() if self._binding.active else None

    def __call__(self, env: Any) -> None:
        if not self._binding.active:
            return
        run = self._binding.get()
        if self._first_call:
            self._first_call = False
            if self.log_params and env.params:
                run.config.update({"lightgbm": {k: v for k, v in env.params.items() if isinstance(v, _PARAM_TYPES)}})
        metrics: dict[str, float] = {}
        for item in env.evaluation_result_list or []:
            data_name, metric_name, value, higher_better = item[0], item[1], item[2], item[3]
            key = f"{data_name}/{metric_name}"
            metrics[key] = float(value)
            if len(item) > 4:  # lgb.cv: (set, metric, mean, higher_better, stdv)
                metrics[f"{key}-stdv"] = float(item[4])
            self._history.setdefault((data_name, metric_name), (bool(higher_better), []))[1].append(float(value))
        if metrics:
            run.log(metrics, step=env.iteration)
        if env.iteration + 1 >= env.end_iteration:
            self.finish(env.model)

    def finish(self, booster: Any = None) -> None:
        """Write the best-iteration summary, keep the booster (``log_model``), end a run we started."""
        if not self._binding.active or not self._binding.started:
            return
        run = self._binding.get()
        if run.status == "running":
            run.summary.update(self._best_summary(booster))
            if self.log_model and booster is not None and hasattr(booster, "save_model"):
                log_saved_file(run, "model.txt", lambda path: booster.save_model(str(path)))
        self._binding.finish()
        self._binding.reset()
        self._history = {}
        self._first_call = True

    def _best_summary(self, booster: Any) -> dict[str, Any]:
        summary: dict[str, Any] = {}
        first_metric_per_set: dict[str, tuple[bool, list[float]]] = {}
        for (data_name, metric_name), (higher, values) in self._history.items():
            summary[f"best/{data_name}/{metric_name}"] = max(values) if higher else min(values)
            first_metric_per_set.setdefault(data_name, (higher, values))
        best = getattr(booster, "best_iteration", 0) or 0  # 1-based; 0 when no early stopping ran
        if best > 0:
            summary["best_iteration"] = best - 1
        elif first_metric_per_set:
            higher, values = list(first_metric_per_set.values())[-1]
            summary["best_iteration"] = values.index(max(values) if higher else min(values))
        return summary

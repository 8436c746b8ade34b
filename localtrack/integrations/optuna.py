"""Optuna: one run per finished trial, all of a study's runs sharing ``group`` = the study name.

    study.optimize(objective, n_trials=50, callbacks=[LocaltrackCallback(project="p")])

Each run's config is the trial's sampled params; its metric (``metric_name``, ``value`` by
default, or one name per objective) is the objective value at step 0, the trial's reported
intermediate values are logged at their steps under ``intermediate``, and tags record the
trial number and state. Failed trials end ``failed``; pruned ones ``finished`` with tag
``optuna_state=PRUNED``. No run is made for the study itself.

Optuna's callbacks are called after each trial ends, so a run is started and finished inside
that call; ``run=`` is therefore not taken (one run cannot hold many trials' configs).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import optuna

from localtrack.errors import InvalidArgumentTypeError
from localtrack.integrations.binding import global_rank

_STATUS = {"COMPLETE": "finished", "PRUNED": "finished", "FAIL": "failed"}


class LocaltrackCallback:
    """Called by ``study.optimize`` with ``(study, frozen_trial)`` after every trial."""

    def __init__(self, metric_name: str | Sequence[str] = "value", *, all_ranks: bool = False, **init_kwargs: Any) -> None:
        if "run" in init_kwargs:
            raise InvalidArgumentTypeError("optuna LocaltrackCallback makes one run per trial; pass init() arguments, not run=")
        self.metric_names = [metric_name] if isinstance(metric_name, str) else list(metric_name)
        self._init_kwargs = init_kwargs
        self._active = all_ranks or global_rank() == 0

    def __call__(self, study: optuna.study.Study, trial: optuna.trial.FrozenTrial) -> None:
        if not self._active:
            return
        import localtrack

        state = trial.state.name
        kwargs = dict(self._init_kwargs)
        kwargs.setdefault("name", f"{study.study_name}-trial-{trial.number}")
        kwargs["group"] = study.study_name
        kwargs["config"] = {**(kwargs.get("config") or {}), **trial.params}
        tags = kwargs.get("tags")
        tags = dict(tags) if isinstance(tags, dict) else {t: "" for t in tags or []}
        kwargs["tags"] = {**tags, "optuna_trial": str(trial.number), "optuna_state": state}
        run = localtrack.init(**kwargs)
        try:
            for step, value in sorted(trial.intermediate_values.items()):
                run.log({"intermediate": float(value)}, step=int(step))
            values = trial.values or []
            if len(values) > 1 and len(self.metric_names) != len(values):
                names = [f"value_{i}" for i in range(len(values))]
            else:
                names = self.metric_names
            if values:
                step = max(trial.intermediate_values, default=0)
                run.log({name: float(v) for name, v in zip(names, values, strict=False)}, step=int(step))
            if trial.user_attrs:
                run.summary.update({f"user_attrs/{k}": v for k, v in trial.user_attrs.items()
                                    if isinstance(v, (int, float, str, bool))})
        except BaseException:
            run.finish("failed")
            raise
        run.finish(_STATUS.get(state, "finished"))

"""Hugging Face Transformers: a ``TrainerCallback``, ``Trainer(callbacks=[LocaltrackCallback()])``.

Metrics are renamed as the wandb and trackio callbacks rename them: ``eval_loss`` ->
``eval/loss``, ``test_x`` -> ``test/x``, everything else ``train/<x>``, plus
``train/global_step``; all at step = ``state.global_step``. ``TrainingArguments`` and the
model's config go to config (``args`` and ``model``). Only the world's process zero logs.
The run a callback started is finished at the end of training; a later
``trainer.evaluate()`` reopens the same run (as one more writer) to add its metrics and
ends it again.
``log_checkpoints=True`` keeps each saved ``checkpoint-<step>`` folder as a ``checkpoint``
artifact.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import transformers

from localtrack.integrations.binding import RunBinding

if TYPE_CHECKING:
    from localtrack.api.run import Run

_SCALARS = (int, float, str, bool, type(None))
_PREFIXES = (("eval_", "eval/"), ("test_", "test/"))


def rename_logs(logs: dict[str, Any]) -> dict[str, float]:
    """Transformers' log keys in the ``train/`` / ``eval/`` / ``test/`` namespaces; numbers only."""
    out: dict[str, float] = {}
    for key, value in logs.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        for prefix, namespace in _PREFIXES:
            if key.startswith(prefix):
                out[namespace + key[len(prefix):]] = float(value)
                break
        else:
            out[f"train/{key}"] = float(value)
    return out


def _jsonable(value: Any, depth: int = 0) -> Any:
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, dict) and depth < 6:
        return {str(k): _jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and depth < 6:
        return [_jsonable(v, depth + 1) for v in value]
    return repr(value)[:500]


class LocaltrackCallback(transformers.TrainerCallback):
    """Log a ``Trainer`` to a localtrack run."""

    def __init__(self, run: Run | None = None, *, log_checkpoints: bool = False, **init_kwargs: Any) -> None:
        self._binding = RunBinding(run, init_kwargs, all_ranks=True)  # Trainer says who logs: state.is_world_process_zero
        self.log_checkpoints = log_checkpoints
        self._finished_run_id: str | None = None

    @property
    def run(self) -> Run | None:
        return self._binding.get() if self._binding.started else None

    def _run(self) -> Run:
        if not self._binding.started and self._finished_run_id is not None:
            # evaluate()/predict() after train(): add to the same run
            self._binding._init_kwargs.update(id=self._finished_run_id, resume="allow")
        return self._binding.get()

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if not state.is_world_process_zero:
            return
        run = self._run()
        config: dict[str, Any] = {}
        to_dict = getattr(args, "to_dict", None)
        if callable(to_dict):
            config["args"] = _jsonable(to_dict())
        model_config = getattr(model, "config", None)
        if model_config is not None and callable(getattr(model_config, "to_dict", None)):
            config["model"] = _jsonable(model_config.to_dict())
        if config:
            run.config.update(config)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if not state.is_world_process_zero or not logs:
            return
        metrics = rename_logs(logs)
        metrics["train/global_step"] = float(state.global_step)
        run = self._run()
        # evaluate() after train() reopens the finished run, whose steps went past global_step:
        # log at its current step (steps only go forward) and keep global_step as the value
        run.log(metrics, step=max(int(state.global_step), run.step))

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not state.is_world_process_zero or not self.log_checkpoints:
            return
        folder = os.path.join(args.output_dir, f"checkpoint-{state.global_step}")
        if os.path.isdir(folder):
            self._run().log_artifact(folder, name="checkpoint", type="checkpoint",
                                     metadata={"global_step": int(state.global_step)})

    def on_evaluate(self, args: Any, state: Any, control: Any, metrics: dict[str, Any] | None = None, **kwargs: Any) -> None:
        self._end_reopened(state)

    def on_predict(self, args: Any, state: Any, control: Any, metrics: dict[str, Any] | None = None, **kwargs: Any) -> None:
        self._end_reopened(state)

    def _end_reopened(self, state: Any) -> None:
        """After training, an evaluate()/predict() reopened the run: end that writer again."""
        if state.is_world_process_zero and self._finished_run_id is not None and self._binding.started:
            self._binding.finish()
            self._binding.reset()

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not state.is_world_process_zero or not self._binding.started:
            return
        run = self._binding.get()
        if self._binding.owns_run:
            self._finished_run_id = run.id
        self._binding.finish()
        self._binding.reset()

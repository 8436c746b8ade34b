"""Keras 3: a ``keras.callbacks.Callback`` logging epoch (and optionally batch) metrics.

    model.fit(x, y, epochs=5, validation_data=(xv, yv), callbacks=[LocaltrackCallback(project="p")])

Epoch metrics keep Keras' names (``loss``, ``val_accuracy``) at step = epoch, with ``epoch``
logged beside them; ``log_freq="batch"`` (or an int N: every N batches) also logs
``batch/<name>`` at step = the global batch number. The model's class, parameter count and
optimizer settings go to config under ``model``; ``log_checkpoints=True`` saves the model
after each epoch as a ``checkpoint`` artifact (a new version each time) and
``log_model=True`` keeps the final model as ``model``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import keras

from localtrack.errors import InvalidArgumentError
from localtrack.integrations.binding import RunBinding
from localtrack.integrations.model_files import log_saved_file

if TYPE_CHECKING:
    from localtrack.api.run import Run

_SCALARS = (int, float, str, bool, type(None))


def _numbers(logs: dict[str, Any] | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in (logs or {}).items():
        try:
            out[str(key)] = float(value)
        except (TypeError, ValueError):
            continue  # Keras may put non-scalars (a learning-rate schedule) in logs
    return out


def model_config(model: Any) -> dict[str, Any]:
    """What identifies the model: class, size and the optimizer's scalar settings."""
    config: dict[str, Any] = {"class": type(model).__name__}
    name = getattr(model, "name", None)
    if isinstance(name, str):
        config["name"] = name
    try:
        config["params"] = int(model.count_params())
    except Exception:
        pass
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and hasattr(optimizer, "get_config"):
        try:
            settings = optimizer.get_config()
        except Exception:
            settings = {}
        config["optimizer"] = {k: _scalar(v) for k, v in settings.items() if isinstance(_scalar(v), _SCALARS)}
    return config


def _scalar(value: Any) -> Any:
    if isinstance(value, _SCALARS):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return repr(value)[:200]


class LocaltrackCallback(keras.callbacks.Callback):
    """Log a Keras ``fit`` to a localtrack run."""

    def __init__(self, run: Run | None = None, *, log_freq: str | int = "epoch", log_checkpoints: bool = False,
                 log_model: bool = False, all_ranks: bool = False, **init_kwargs: Any) -> None:
        super().__init__()
        if not (log_freq in ("epoch", "batch") or (isinstance(log_freq, int) and not isinstance(log_freq, bool) and log_freq > 0)):
            raise InvalidArgumentError(f"log_freq={log_freq!r}: use 'epoch', 'batch' or a positive number of batches")
        self._binding = RunBinding(run, init_kwargs, all_ranks=all_ranks)
        self._every = 0 if log_freq == "epoch" else 1 if log_freq == "batch" else int(log_freq)
        self.log_checkpoints = log_checkpoints
        self.log_model = log_model
        self._global_batch = 0

    @property
    def run(self) -> Run | None:
        return self._binding.get() if self._binding.active else None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if not self._binding.active:
            return
        run = self._binding.get()
        model = getattr(self, "model", None)
        if model is not None:
            run.config.update({"model": model_config(model)})
        params = getattr(self, "params", None) or {}
        fit = {k: v for k, v in params.items() if isinstance(v, _SCALARS)}
        if fit:
            run.config.update({"fit": fit})

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._global_batch += 1
        if not self._binding.active or not self._every or self._global_batch % self._every:
            return
        metrics = {f"batch/{k}": v for k, v in _numbers(logs).items()}
        if metrics:
            self._binding.get().log(metrics, step=self._global_batch)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if not self._binding.active:
            return
        run = self._binding.get()
        metrics = _numbers(logs)
        metrics["epoch"] = float(epoch)
        run.log(metrics, step=epoch)
        if self.log_checkpoints and getattr(self, "model", None) is not None:
            log_saved_file(run, "model.keras", lambda path: self.model.save(str(path)), name="checkpoint",
                           type="checkpoint", metadata={"epoch": epoch})

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if not self._binding.active or not self._binding.started:
            return
        run = self._binding.get()
        if self.log_model and getattr(self, "model", None) is not None:
            log_saved_file(run, "model.keras", lambda path: self.model.save(str(path)))
        self._binding.finish()
        self._binding.reset()
        self._global_batch = 0

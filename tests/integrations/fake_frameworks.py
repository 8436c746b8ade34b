"""Stand-ins for Keras 3, Lightning and Transformers when they are not installed.

Each fake has the base class our integration subclasses, with the hook signatures the
framework documents, and a small driver calling those hooks in the order the framework's
training loop calls them (Keras ``Model.fit``, Lightning ``Trainer.fit``, Transformers
``Trainer.train``/``evaluate``). They check the mapping, not the frameworks.
"""

from __future__ import annotations

import abc
import os
import sys
import types
from pathlib import Path
from typing import Any

import pytest


def forget_integration(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Import the integration afresh against the fake, and forget that import after the test."""
    monkeypatch.setitem(sys.modules, name, None)  # records what was there, restored at teardown
    del sys.modules[name]


# ----------------------------------------------------------------------------- Keras 3
class KerasCallback:
    """keras.callbacks.Callback as documented: set_model/set_params and no-op hooks."""

    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict[str, Any] = {}

    def set_model(self, model: Any) -> None:
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_train_batch_begin(self, batch, logs=None): ...
    def on_train_batch_end(self, batch, logs=None): ...
    def on_test_begin(self, logs=None): ...
    def on_test_end(self, logs=None): ...


class FakeKerasModel:
    name = "tiny_mlp"

    def __init__(self) -> None:
        self.optimizer = types.SimpleNamespace(get_config=lambda: {"name": "adam", "learning_rate": 0.001, "beta_1": 0.9})
        self.saved = 0

    def count_params(self) -> int:
        return 1234

    def save(self, path: str) -> None:
        self.saved += 1
        Path(path).write_bytes(b"keras-zip-" + str(self.saved).encode())


def keras_fit(callbacks: list[Any], model: FakeKerasModel, epochs: int, steps: int) -> dict[str, list[float]]:
    """Model.fit's callback order; returns the epoch logs it handed out."""
    history: dict[str, list[float]] = {}
    for cb in callbacks:
        cb.set_model(model)
        cb.set_params({"verbose": 1, "epochs": epochs, "steps": steps})
    for cb in callbacks:
        cb.on_train_begin(logs={})
    for epoch in range(epochs):
        for cb in callbacks:
            cb.on_epoch_begin(epoch, logs={})
        for batch in range(steps):
            for cb in callbacks:
                cb.on_train_batch_begin(batch, logs={})
            logs = {"loss": 1.0 / (epoch * steps + batch + 1), "accuracy": 0.5}
            for cb in callbacks:
                cb.on_train_batch_end(batch, logs=logs)
        logs = {"loss": 1.0 / (epoch + 1), "accuracy": 0.5 + epoch / 10, "val_loss": 2.0 / (epoch + 1),
                "val_accuracy": 0.4 + epoch / 10}
        for key, value in logs.items():
            history.setdefault(key, []).append(value)
        for cb in callbacks:
            cb.on_epoch_end(epoch, logs=logs)
    for cb in callbacks:
        cb.on_train_end(logs={})
    return history


def install_fake_keras(monkeypatch: pytest.MonkeyPatch) -> None:
    keras = types.ModuleType("keras")
    keras.callbacks = types.ModuleType("keras.callbacks")
    keras.callbacks.Callback = KerasCallback
    monkeypatch.setitem(sys.modules, "keras", keras)
    monkeypatch.setitem(sys.modules, "keras.callbacks", keras.callbacks)
    forget_integration(monkeypatch, "localtrack.integrations.keras")


# ----------------------------------------------------------------------------- Lightning
class LightningLogger(abc.ABC):
    """lightning.pytorch.loggers.Logger as documented (abstract name/version/log_*)."""

    @property
    @abc.abstractmethod
    def name(self) -> str | None: ...

    @property
    @abc.abstractmethod
    def version(self) -> int | str | None: ...

    @abc.abstractmethod
    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None: ...

    @abc.abstractmethod
    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None: ...

    @property
    def save_dir(self) -> str | None:
        return None

    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        return None

    def save(self) -> None:
        return None

    def finalize(self, status: str) -> None:
        return None


def rank_zero_only(fn: Any) -> Any:
    return fn


rank_zero_only.rank = 0


class FakeModelCheckpoint:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.monitor = "val_loss"
        self.best_model_path = ""
        self.last_model_path = ""
        self.best_model_score: float | None = None


def lightning_fit(logger: Any, folder: Path, epochs: int, *, fail_at: int | None = None,
                  interrupt: bool = False) -> FakeModelCheckpoint:
    """Trainer.fit's logger calls: hyperparams, metrics per step, checkpoints, save, finalize."""
    checkpoint = FakeModelCheckpoint(folder)
    try:
        logger.log_hyperparams({"lr": 0.01, "hidden": 32, "nested": {"dropout": 0.1}})
        for epoch in range(epochs):
            if fail_at == epoch:
                raise (KeyboardInterrupt() if interrupt else RuntimeError("nan loss"))
            for step in range(epoch * 2, epoch * 2 + 2):
                logger.log_metrics({"train_loss": 1.0 / (step + 1), "epoch": float(epoch)}, step=step)
            val = 1.0 / (epoch + 1)
            logger.log_metrics({"val_loss": val, "epoch": float(epoch)}, step=epoch * 2 + 1)
            path = folder / f"epoch={epoch}.ckpt"
            path.write_bytes(f"weights {epoch}".encode())
            checkpoint.last_model_path = str(path)
            if checkpoint.best_model_score is None or val < checkpoint.best_model_score:
                checkpoint.best_model_path, checkpoint.best_model_score = str(path), val
            logger.after_save_checkpoint(checkpoint)
        logger.save()
        logger.finalize("success")
    except BaseException:
        logger.finalize("failed")  # what Lightning 2's _interrupt() passes, Ctrl-C included
        raise
    return checkpoint


def install_fake_lightning(monkeypatch: pytest.MonkeyPatch) -> None:
    names = ["lightning", "lightning.pytorch", "lightning.pytorch.loggers", "lightning.pytorch.utilities"]
    modules = {name: types.ModuleType(name) for name in names}
    modules["lightning.pytorch.loggers"].Logger = LightningLogger
    modules["lightning.pytorch.utilities"].rank_zero_only = rank_zero_only
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(rank_zero_only, "rank", 0)
    forget_integration(monkeypatch, "localtrack.integrations.lightning")


# ----------------------------------------------------------------------------- Transformers
class TrainerCallback:
    """transformers.TrainerCallback: every event takes (args, state, control, **kwargs)."""

    def on_init_end(self, args, state, control, **kwargs): ...
    def on_train_begin(self, args, state, control, **kwargs): ...
    def on_train_end(self, args, state, control, **kwargs): ...
    def on_epoch_end(self, args, state, control, **kwargs): ...
    def on_step_end(self, args, state, control, **kwargs): ...
    def on_evaluate(self, args, state, control, **kwargs): ...
    def on_predict(self, args, state, control, metrics, **kwargs): ...
    def on_save(self, args, state, control, **kwargs): ...
    def on_log(self, args, state, control, **kwargs): ...


class FakeTrainingArguments:
    def __init__(self, output_dir: str) -> None:
        self.output_dir = output_dir
        self.learning_rate = 5e-5
        self.per_device_train_batch_size = 8

    def to_dict(self) -> dict[str, Any]:
        return {"output_dir": self.output_dir, "learning_rate": self.learning_rate,
                "per_device_train_batch_size": self.per_device_train_batch_size, "lr_scheduler_type": object()}


class FakeState:
    def __init__(self, process_zero: bool = True) -> None:
        self.global_step = 0
        self.epoch = 0.0
        self.is_world_process_zero = process_zero
        self.is_local_process_zero = process_zero


class FakeModel:
    config = types.SimpleNamespace(to_dict=lambda: {"model_type": "bert", "hidden_size": 32, "num_layers": 2})


def hf_train(callbacks: list[Any], args: FakeTrainingArguments, state: FakeState, steps: int, save_every: int) -> None:
    """Trainer.train's callback events (the kwargs Trainer passes: model, optimizer, ...)."""
    control = types.SimpleNamespace(should_log=False, should_save=False)
    extra = {"model": FakeModel(), "processing_class": None, "optimizer": object(), "lr_scheduler": object(),
             "train_dataloader": object(), "eval_dataloader": None}
    for cb in callbacks:
        cb.on_train_begin(args, state, control, **extra)
    for step in range(1, steps + 1):
        state.global_step, state.epoch = step, step / steps
        for cb in callbacks:
            cb.on_step_end(args, state, control, **extra)
        logs = {"loss": 1.0 / step, "grad_norm": 0.5, "learning_rate": 5e-5 * (1 - step / steps), "epoch": state.epoch}
        for cb in callbacks:
            cb.on_log(args, state, control, logs=logs, **extra)
        if step % save_every == 0:
            folder = Path(args.output_dir) / f"checkpoint-{step}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "model.safetensors").write_bytes(f"step {step}".encode())
            for cb in callbacks:
                cb.on_save(args, state, control, **extra)
    for cb in callbacks:
        cb.on_log(args, state, control, logs={"train_runtime": 1.5, "train_loss": 0.4, "epoch": 1.0}, **extra)
        cb.on_train_end(args, state, control, **extra)


def hf_evaluate(callbacks: list[Any], args: FakeTrainingArguments, state: FakeState) -> None:
    control = types.SimpleNamespace()
    metrics = {"eval_loss": 0.25, "eval_accuracy": 0.9, "eval_runtime": 0.1, "epoch": state.epoch}
    for cb in callbacks:
        cb.on_log(args, state, control, logs=metrics)
        cb.on_evaluate(args, state, control, metrics=metrics)


def install_fake_transformers(monkeypatch: pytest.MonkeyPatch) -> None:
    transformers = types.ModuleType("transformers")
    transformers.TrainerCallback = TrainerCallback
    monkeypatch.setitem(sys.modules, "transformers", transformers)
    forget_integration(monkeypatch, "localtrack.integrations.transformers")


def real_framework(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None and not os.environ.get("LOCALTRACK_TEST_FAKES_ONLY")

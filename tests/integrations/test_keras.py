"""Keras 3 callback: the mapping through a fake of keras' Callback (always) and real Keras (when installed)."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest
from fake_frameworks import FakeKerasModel, install_fake_keras, keras_fit, real_framework

import localtrack

# Keras 3 documents these hooks (keras.callbacks.Callback) with these parameters.
DOCUMENTED = {
    "on_train_begin": ["logs=None"],
    "on_train_end": ["logs=None"],
    "on_epoch_end": ["epoch", "logs=None"],
    "on_train_batch_end": ["batch", "logs=None"],
}


def _params(function) -> list[str]:
    out = []
    for p in list(inspect.signature(function).parameters.values())[1:]:
        out.append(p.name if p.default is inspect.Parameter.empty else f"{p.name}={p.default!r}")
    return out


@pytest.fixture
def keras_module(monkeypatch: pytest.MonkeyPatch):
    install_fake_keras(monkeypatch)
    return importlib.import_module("localtrack.integrations.keras")


def test_hooks_have_the_documented_signatures(keras_module) -> None:
    for name, params in DOCUMENTED.items():
        assert _params(getattr(keras_module.LocaltrackCallback, name)) == params, name


def test_fit_logs_epochs_model_config_checkpoints_and_finishes(keras_module, store_dir: Path, view) -> None:
    model = FakeKerasModel()
    cb = keras_module.LocaltrackCallback(project="k", dir=store_dir, log_checkpoints=True, log_model=True)
    history = keras_fit([cb], model, epochs=3, steps=4)
    run = view.only_run()
    assert run.status == "finished"
    series = view.series(run)
    assert [v for _, v in series["val_loss"]] == pytest.approx(history["val_loss"])
    assert [s for s, _ in series["accuracy"]] == [0, 1, 2]
    assert not any(k.startswith("batch/") for k in series)  # default log_freq="epoch"
    config = run.manifest["config"]
    assert config["model"]["params"] == 1234 and config["model"]["optimizer"]["learning_rate"] == 0.001
    assert config["fit"]["epochs"] == 3
    checkpoints = view.artifacts(run, "checkpoint")
    assert [a["version"] for a in checkpoints] == [1, 2, 3]
    assert [a["metadata"]["epoch"] for a in checkpoints] == [0, 1, 2]
    assert len(view.artifacts(run, "model")) == 1


def test_batch_frequency_and_a_given_run(keras_module, store_dir: Path, view) -> None:
    run = localtrack.init(project="k", dir=store_dir)
    keras_fit([keras_module.LocaltrackCallback(run=run, log_freq=2)], FakeKerasModel(), epochs=2, steps=4)
    assert run.status == "running"
    run.finish()
    series = view.series(view.only_run())
    assert [s for s, _ in series["batch/loss"]] == [2, 4, 6, 8]
    with pytest.raises(ValueError, match="log_freq"):
        keras_module.LocaltrackCallback(log_freq="sometimes")


def test_real_keras_fit(store_dir: Path, view) -> None:
    if not real_framework("keras"):
        pytest.skip("keras is not installed (the fake above covers the hook mapping)")
    keras = importlib.import_module("keras")
    import numpy as np

    from localtrack.integrations.keras import LocaltrackCallback

    for name, params in DOCUMENTED.items():
        assert [p.split("=")[0] for p in _params(getattr(keras.callbacks.Callback, name))] == [p.split("=")[0] for p in params]
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, validation_split=0.25, verbose=0, callbacks=[LocaltrackCallback(project="k", dir=store_dir)])
    run = view.only_run()
    assert run.status == "finished" and len(view.series(run)["val_loss"]) == 2

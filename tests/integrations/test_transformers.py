"""Transformers callback: the mapping through a fake TrainerCallback (always) and real Trainer (when installed)."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest
from fake_frameworks import (
    FakeState,
    FakeTrainingArguments,
    hf_evaluate,
    hf_train,
    install_fake_transformers,
    real_framework,
)

import localtrack

EVENTS = ("on_train_begin", "on_log", "on_save", "on_train_end", "on_evaluate", "on_predict")


@pytest.fixture
def hf_module(monkeypatch: pytest.MonkeyPatch):
    install_fake_transformers(monkeypatch)
    return importlib.import_module("localtrack.integrations.transformers")


def test_events_take_args_state_control_and_kwargs(hf_module) -> None:
    for name in EVENTS:
        params = list(inspect.signature(getattr(hf_module.LocaltrackCallback, name)).parameters.values())
        assert [p.name for p in params[1:4]] == ["args", "state", "control"], name
        assert params[-1].kind is inspect.Parameter.VAR_KEYWORD, name


def test_rename_matches_the_wandb_and_trackio_callbacks(hf_module) -> None:
    renamed = hf_module.rename_logs({"loss": 0.5, "eval_loss": 0.4, "test_accuracy": 0.9, "epoch": 1.0, "note": "x"})
    assert renamed == {"train/loss": 0.5, "eval/loss": 0.4, "test/accuracy": 0.9, "train/epoch": 1.0}


def test_train_then_evaluate(hf_module, store_dir: Path, tmp_path: Path, view) -> None:
    args, state = FakeTrainingArguments(str(tmp_path / "out")), FakeState()
    cb = hf_module.LocaltrackCallback(project="hf", dir=store_dir, log_checkpoints=True)
    hf_train([cb], args, state, steps=6, save_every=3)
    run = view.only_run()
    assert run.status == "finished"
    series = view.series(run)
    assert [s for s, _ in series["train/loss"]] == [1, 2, 3, 4, 5, 6]
    # the end-of-training log (train_loss) lands on step 6 too; one step holds one value per key (wandb's rule)
    assert [v for _, v in series["train/global_step"]] == [1, 2, 3, 4, 5, 6]
    assert series["train/train_loss"] == [(6, 0.4)]
    config = run.manifest["config"]
    assert config["args"]["learning_rate"] == 5e-5 and config["model"]["hidden_size"] == 32
    assert isinstance(config["args"]["lr_scheduler_type"], str)
    assert [a["metadata"]["global_step"] for a in view.artifacts(run, "checkpoint")] == [3, 6]
    hf_evaluate([cb], args, state)  # trainer.evaluate() after train(): same run, ended again
    run = view.only_run()
    assert run.status == "finished"
    # the reopened run's steps go on after the last one (6); global_step stays the value
    assert view.series(run)["eval/loss"] == [(7, 0.25)]
    assert view.series(run)["train/global_step"][-1] == (7, 6.0)


def test_only_world_process_zero_logs(hf_module, store_dir: Path, tmp_path: Path, view) -> None:
    hf_train([hf_module.LocaltrackCallback(dir=store_dir)], FakeTrainingArguments(str(tmp_path)), FakeState(False), 3, 10)
    assert view.runs() == []


def test_a_given_run_stays_open(hf_module, store_dir: Path, tmp_path: Path, view) -> None:
    run = localtrack.init(dir=store_dir)
    hf_train([hf_module.LocaltrackCallback(run=run)], FakeTrainingArguments(str(tmp_path)), FakeState(), 2, 10)
    assert run.status == "running"
    run.finish()
    assert len(view.series(view.only_run())["train/loss"]) == 2


def test_real_transformers_trainer(store_dir: Path, tmp_path: Path, view) -> None:
    if not real_framework("transformers") or not real_framework("torch"):
        pytest.skip("transformers/torch are not installed (the fake above covers the callback mapping)")
    import torch
    import transformers

    from localtrack.integrations.transformers import LocaltrackCallback

    for name in EVENTS:
        assert list(inspect.signature(getattr(transformers.TrainerCallback, name)).parameters)[1:4] == ["args", "state", "control"]
    config = transformers.BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                     intermediate_size=16, num_labels=2)
    model = transformers.BertForSequenceClassification(config)
    data = [{"input_ids": torch.randint(0, 50, (8,)), "labels": torch.tensor(i % 2)} for i in range(16)]
    args = transformers.TrainingArguments(output_dir=str(tmp_path), num_train_epochs=1, per_device_train_batch_size=4,
                                          logging_steps=1, report_to=[], save_strategy="no", use_cpu=True)
    trainer = transformers.Trainer(model=model, args=args, train_dataset=data, eval_dataset=data,
                                   callbacks=[LocaltrackCallback(project="hf", dir=store_dir)])
    trainer.train()
    trainer.evaluate()
    run = view.only_run()
    series = view.series(run)
    assert run.status == "finished" and "train/loss" in series and "eval/loss" in series

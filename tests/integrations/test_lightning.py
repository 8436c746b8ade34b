"""Lightning logger: the mapping through a fake Logger base (always) and real Lightning (when installed)."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest
from fake_frameworks import install_fake_lightning, lightning_fit, real_framework

import localtrack

# lightning.pytorch.loggers.Logger's documented methods and parameters.
DOCUMENTED = {
    "log_metrics": ["metrics", "step"],
    "log_hyperparams": ["params", "args", "kwargs"],
    "finalize": ["status"],
    "after_save_checkpoint": ["checkpoint_callback"],
    "save": [],
}


@pytest.fixture
def lightning_module(monkeypatch: pytest.MonkeyPatch):
    install_fake_lightning(monkeypatch)
    return importlib.import_module("localtrack.integrations.lightning")


def test_methods_have_the_documented_signatures(lightning_module) -> None:
    for name, params in DOCUMENTED.items():
        names = list(inspect.signature(getattr(lightning_module.LocaltrackLogger, name)).parameters)[1:]
        assert names == params, name
    logger = lightning_module.LocaltrackLogger()
    assert isinstance(logger.name, str)  # an abstract property of the base, implemented


def test_fit_logs_hparams_metrics_and_the_best_checkpoint(lightning_module, store_dir: Path, tmp_path: Path, view) -> None:
    logger = lightning_module.LocaltrackLogger(project="pl", dir=store_dir, log_model=True)
    checkpoint = lightning_fit(logger, tmp_path, epochs=3)
    run = view.only_run()
    assert run.status == "finished"
    assert logger.version == run.id
    assert run.manifest["config"] == {"lr": 0.01, "hidden": 32, "nested": {"dropout": 0.1}}
    series = view.series(run)
    assert [s for s, _ in series["train_loss"]] == list(range(6))
    assert [v for _, v in series["val_loss"]] == pytest.approx([1.0, 0.5, 1 / 3])
    (model,) = view.artifacts(run, "model")
    assert model["metadata"]["path"] == Path(checkpoint.best_model_path).name == "epoch=2.ckpt"
    assert model["metadata"]["monitor"] == "val_loss"
    assert view.artifacts(run, "checkpoint") == []


def test_log_model_all_keeps_every_checkpoint(lightning_module, store_dir: Path, tmp_path: Path, view) -> None:
    lightning_fit(lightning_module.LocaltrackLogger(dir=store_dir, log_model="all"), tmp_path, epochs=2)
    run = view.only_run()
    assert [a["version"] for a in view.artifacts(run, "checkpoint")] == [1, 2]


@pytest.mark.parametrize("interrupt", [False, True])
def test_a_failed_fit_fails_the_run(lightning_module, store_dir: Path, tmp_path: Path, view, interrupt: bool) -> None:
    logger = lightning_module.LocaltrackLogger(dir=store_dir)
    with pytest.raises(KeyboardInterrupt if interrupt else RuntimeError):
        lightning_fit(logger, tmp_path, epochs=3, fail_at=1, interrupt=interrupt)
    assert view.only_run().status == "failed"


def test_finalize_status_mapping(lightning_module, store_dir: Path, view) -> None:
    expected = {"success": "finished", "failed": "failed", "interrupted": "killed"}
    for status in expected:
        logger = lightning_module.LocaltrackLogger(dir=store_dir, name=status)
        logger.log_metrics({"x": 1.0}, step=0)
        logger.finalize(status)
    assert {r.name: r.status for r in view.runs()} == expected


def test_only_rank_zero_logs_and_a_given_run_stays_open(lightning_module, store_dir: Path, tmp_path: Path, view,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    fake_rank = importlib.import_module("lightning.pytorch.utilities").rank_zero_only
    monkeypatch.setattr(fake_rank, "rank", 1)
    lightning_fit(lightning_module.LocaltrackLogger(dir=store_dir), tmp_path, epochs=1)
    assert view.runs() == []
    monkeypatch.setattr(fake_rank, "rank", 0)
    run = localtrack.init(dir=store_dir)
    lightning_fit(lightning_module.LocaltrackLogger(run=run), tmp_path, epochs=1)
    assert run.status == "running"
    run.finish()


def test_real_lightning_fit(store_dir: Path, tmp_path: Path, view) -> None:
    if not (real_framework("lightning") or real_framework("pytorch_lightning")):
        pytest.skip("lightning is not installed (the fake above covers the logger mapping)")
    import torch

    try:
        import lightning.pytorch as pl
    except ImportError:
        import pytorch_lightning as pl
    from localtrack.integrations.lightning import LocaltrackLogger

    class Tiny(pl.LightningModule):
        def __init__(self, lr: float = 0.1) -> None:
            super().__init__()
            self.save_hyperparameters()
            self.layer = torch.nn.Linear(2, 1)

        def training_step(self, batch, _):
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.layer(x), y)
            self.log("train_loss", loss)
            return loss

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

    data = torch.utils.data.TensorDataset(torch.randn(32, 2), torch.randn(32, 1))
    trainer = pl.Trainer(max_epochs=2, logger=LocaltrackLogger(project="pl", dir=store_dir), log_every_n_steps=1,
                         default_root_dir=str(tmp_path), enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(Tiny(), torch.utils.data.DataLoader(data, batch_size=8))
    run = view.only_run()
    assert run.status == "finished" and run.manifest["config"]["lr"] == 0.1 and "train_loss" in view.series(run)

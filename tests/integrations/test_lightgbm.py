"""Real LightGBM training with the callback: per-iteration eval metrics, best iteration, the booster."""

from __future__ import annotations

from pathlib import Path

import pytest

import localtrack

lgb = pytest.importorskip("lightgbm")
np = pytest.importorskip("numpy")

from localtrack.integrations.lightgbm import LocaltrackCallback  # noqa: E402

PARAMS = {"objective": "regression", "metric": ["l2", "l1"], "num_leaves": 7, "learning_rate": 0.2, "verbose": -1,
          "min_data_in_leaf": 5, "num_threads": 1}


def _sets(seed: int = 0) -> tuple[object, object]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(300, 4))
    y = 2 * x[:, 0] + x[:, 2] ** 2 + rng.normal(scale=0.2, size=300)
    train = lgb.Dataset(x[:220], y[:220])
    return train, lgb.Dataset(x[220:], y[220:], reference=train)


def test_train_logs_each_iteration_summary_and_model(store_dir: Path, view) -> None:
    dtrain, dvalid = _sets()
    recorded: dict = {}
    booster = lgb.train(
        PARAMS, dtrain, num_boost_round=15, valid_sets=[dvalid], valid_names=["valid"],
        callbacks=[lgb.record_evaluation(recorded), LocaltrackCallback(project="lgb", dir=store_dir, log_model=True)],
    )
    run = view.only_run()
    assert run.status == "finished"
    series = view.series(run)
    assert [s for s, _ in series["valid/l2"]] == list(range(15))
    assert [v for _, v in series["valid/l2"]] == pytest.approx(recorded["valid"]["l2"])
    assert [v for _, v in series["valid/l1"]] == pytest.approx(recorded["valid"]["l1"])
    summary = run.manifest["summary_values"]
    l2 = recorded["valid"]["l2"]
    assert summary["best_iteration"] == l2.index(min(l2))
    assert summary["best/valid/l1"] == pytest.approx(min(recorded["valid"]["l1"]))
    assert run.manifest["config"]["lightgbm"]["num_leaves"] == 7
    (model,) = view.artifacts(run, "model")
    reloaded = lgb.Booster(model_file=str(view.object_file(model, "model.txt")))
    assert reloaded.num_trees() == booster.num_trees()


def test_early_stopping_then_finish_records_lightgbms_best(store_dir: Path, view) -> None:
    dtrain, dvalid = _sets(1)
    cb = LocaltrackCallback(project="lgb", dir=store_dir)
    booster = lgb.train({**PARAMS, "learning_rate": 0.9}, dtrain, num_boost_round=500, valid_sets=[dvalid],
                        callbacks=[cb, lgb.early_stopping(3, verbose=False)])
    assert booster.current_iteration() < 500
    assert view.only_run().status == "running"  # LightGBM gives callbacks no end-of-training hook
    cb.finish(booster)
    run = view.only_run()
    assert run.status == "finished"
    assert run.manifest["summary_values"]["best_iteration"] == booster.best_iteration - 1


def test_cv_logs_mean_and_stdv_into_a_given_run(store_dir: Path, view) -> None:
    dtrain, _ = _sets(2)
    run = localtrack.init(project="lgb", dir=store_dir)
    result = lgb.cv({**PARAMS, "metric": "l2"}, dtrain, num_boost_round=4, nfold=3, stratified=False, callbacks=[LocaltrackCallback(run=run)])
    assert run.status == "running"
    run.finish()
    series = view.series(view.only_run())
    assert sorted(series) == ["valid/l2", "valid/l2-stdv"]
    assert len(series["valid/l2"]) == len(series["valid/l2-stdv"]) == 4
    assert [v for _, v in series["valid/l2"]] == pytest.approx(result["valid l2-mean"])
    assert [v for _, v in series["valid/l2-stdv"]] == pytest.approx(result["valid l2-stdv"])

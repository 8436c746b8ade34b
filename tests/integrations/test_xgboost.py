"""Real XGBoost training with the callback: per-iteration eval metrics, best iteration, the booster."""

from __future__ import annotations

from pathlib import Path

import pytest

import localtrack

xgb = pytest.importorskip("xgboost")
np = pytest.importorskip("numpy")

from localtrack.integrations.xgboost import LocaltrackCallback  # noqa: E402


def _data(seed: int = 0) -> tuple[object, object]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(200, 4))
    y = 3 * x[:, 0] - x[:, 1] + rng.normal(scale=0.1, size=200)
    return xgb.DMatrix(x[:150], y[:150]), xgb.DMatrix(x[150:], y[150:])


def test_train_logs_each_iteration_and_finishes_the_run_it_started(store_dir: Path, view) -> None:
    dtrain, dvalid = _data()
    evals_result: dict = {}
    cb = LocaltrackCallback(project="xgb", dir=store_dir, log_model=True)
    booster = xgb.train(
        {"max_depth": 3, "eta": 0.3, "eval_metric": ["rmse", "mae"]}, dtrain, num_boost_round=12,
        evals=[(dtrain, "train"), (dvalid, "valid")], evals_result=evals_result, callbacks=[cb],
    )
    run = view.only_run()
    assert run.status == "finished"
    series = view.series(run)
    assert [s for s, _ in series["valid/rmse"]] == list(range(12))
    assert [v for _, v in series["valid/rmse"]] == pytest.approx(evals_result["valid"]["rmse"])
    assert [v for _, v in series["train/mae"]] == pytest.approx(evals_result["train"]["mae"])
    summary = run.manifest["summary_values"]
    valid_mae = evals_result["valid"]["mae"]  # the last metric of the last eval set
    assert summary["best_iteration"] == valid_mae.index(min(valid_mae))
    assert summary["best/valid/rmse"] == pytest.approx(min(evals_result["valid"]["rmse"]))
    assert run.manifest["config"]["xgboost"]["max_depth"] == "3"
    (model,) = view.artifacts(run, "model")
    reloaded = xgb.Booster(model_file=str(view.object_file(model, "model.ubj")))
    assert reloaded.num_boosted_rounds() == booster.num_boosted_rounds() == 12


def test_early_stopping_best_iteration_is_xgboosts(store_dir: Path, view) -> None:
    dtrain, dvalid = _data(1)
    booster = xgb.train(
        {"max_depth": 6, "eta": 0.9}, dtrain, num_boost_round=200, evals=[(dvalid, "valid")],
        early_stopping_rounds=3, callbacks=[LocaltrackCallback(project="xgb", dir=store_dir)],
    )
    run = view.only_run()
    assert run.manifest["summary_values"]["best_iteration"] == booster.best_iteration
    assert len(view.series(run)["valid/rmse"]) == booster.num_boosted_rounds()


def test_a_run_handed_in_stays_open_and_sklearn_api_works(store_dir: Path, view) -> None:
    dtrain, dvalid = _data(2)
    run = localtrack.init(project="xgb", dir=store_dir, config={"mine": 1})
    model = xgb.XGBRegressor(n_estimators=5, max_depth=2, callbacks=[LocaltrackCallback(run=run)])
    model.fit(dtrain.get_data().toarray(), dtrain.get_label(), eval_set=[(dvalid.get_data().toarray(), dvalid.get_label())])
    assert run.status == "running"
    run.finish()
    record = view.only_run()
    assert record.manifest["config"]["mine"] == 1
    assert len(view.series(record)["validation_0/rmse"]) == 5


def test_only_rank_zero_logs(store_dir: Path, view, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RANK", "1")
    dtrain, dvalid = _data()
    xgb.train({"max_depth": 2}, dtrain, 3, evals=[(dvalid, "valid")], callbacks=[LocaltrackCallback(dir=store_dir)])
    assert view.runs() == []

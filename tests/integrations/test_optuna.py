"""Real Optuna studies with the callback: one run per trial, params as config, group = study name."""

from __future__ import annotations

from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

from localtrack.integrations.optuna import LocaltrackCallback  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.ERROR)


def test_each_trial_is_a_run_grouped_under_the_study(store_dir: Path, view) -> None:
    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -10, 10)
        kind = trial.suggest_categorical("kind", ["a", "b"])
        for step in range(3):
            trial.report(x * x + step, step)
        return (x - 2) ** 2 + (kind == "b")

    study = optuna.create_study(study_name="quad", sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=6, callbacks=[LocaltrackCallback(metric_name="loss", project="opt", dir=store_dir)])
    runs = view.runs()
    assert len(runs) == 6  # no extra run for the study
    by_trial = {int(r.manifest["tags"]["optuna_trial"]): r for r in runs}
    for trial in study.trials:
        run = by_trial[trial.number]
        assert run.status == "finished"
        assert run.manifest["group"] == "quad"
        assert run.manifest["config"]["x"] == pytest.approx(trial.params["x"])
        assert run.manifest["config"]["kind"] == trial.params["kind"]
        series = view.series(run)
        assert series["loss"] == [(2, pytest.approx(trial.value))]
        assert [s for s, _ in series["intermediate"]] == [0, 1, 2]
    best = by_trial[study.best_trial.number]
    assert best.manifest["summary"]["loss"]["last"] == pytest.approx(study.best_value)


def test_failed_and_pruned_trials(store_dir: Path, view) -> None:
    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_int("x", 0, 100)
        if trial.number == 0:
            raise ValueError("boom")
        if trial.number == 1:
            raise optuna.TrialPruned()
        return float(x)

    study = optuna.create_study(study_name="mixed", directions=None)
    study.optimize(objective, n_trials=3, catch=(ValueError,), callbacks=[LocaltrackCallback(dir=store_dir)])
    states = {r.manifest["tags"]["optuna_state"]: r for r in view.runs()}
    assert states["FAIL"].status == "failed"
    assert states["PRUNED"].status == "finished"
    assert view.series(states["COMPLETE"])["value"][0][1] == pytest.approx(study.trials[2].value)


def test_multi_objective_names_each_value(store_dir: Path, view) -> None:
    study = optuna.create_study(study_name="pareto", directions=["minimize", "maximize"])
    study.optimize(lambda t: (t.suggest_float("a", 0, 1), t.suggest_float("b", 0, 1)), n_trials=2,
                   callbacks=[LocaltrackCallback(metric_name=["cost", "gain"], dir=store_dir)])
    for run in view.runs():
        assert set(view.series(run)) == {"cost", "gain"}
        assert view.series(run)["cost"][0][1] == pytest.approx(run.manifest["config"]["a"])

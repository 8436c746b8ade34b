"""Real scikit-learn fits logged with log_estimator: params as config, scores, the pickled model."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

import localtrack

pytest.importorskip("sklearn")
np = pytest.importorskip("numpy")

from sklearn.datasets import load_iris  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import accuracy_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from localtrack.integrations.sklearn import log_estimator  # noqa: E402


def _split() -> tuple:
    x, y = load_iris(return_X_y=True)
    return train_test_split(x, y, test_size=0.3, random_state=0)


def test_log_estimator_records_params_scores_and_model(store_dir: Path, view) -> None:
    x_train, x_test, y_train, y_test = _split()
    model = LogisticRegression(C=0.5, max_iter=300).fit(x_train, y_train)
    scores = log_estimator(model, x_test, y_test, scoring=["accuracy", "f1_macro"], project="skl", dir=store_dir)
    assert scores["test/accuracy"] == pytest.approx(accuracy_score(y_test, model.predict(x_test)))
    run = view.only_run()
    assert run.status == "finished"
    assert run.manifest["config"]["C"] == 0.5
    assert run.manifest["config"]["estimator"] == "LogisticRegression"
    assert view.series(run)["test/accuracy"] == [(0, pytest.approx(scores["test/accuracy"]))]
    assert run.manifest["summary"]["test/f1_macro"]["last"] == pytest.approx(scores["test/f1_macro"])
    (artifact,) = view.artifacts(run, "model")
    restored = pickle.loads(view.object_file(artifact, "model.pkl").read_bytes())
    assert (restored.predict(x_test) == model.predict(x_test)).all()


def test_pipeline_params_and_default_score_into_a_given_run(store_dir: Path, view) -> None:
    x_train, x_test, y_train, y_test = _split()
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300)).fit(x_train, y_train)
    run = localtrack.init(project="skl", dir=store_dir)
    scores = log_estimator(pipe, x_test, y_test, run=run, log_model=False)
    assert run.status == "running"
    run.finish()
    record = view.only_run()
    config = record.manifest["config"]["sklearn"]
    assert config["logisticregression__max_iter"] == 300
    assert "StandardScaler" in config["standardscaler"]
    assert scores == {"test/score": pytest.approx(pipe.score(x_test, y_test))}
    assert view.artifacts(record, "model") == []

"""``localtrack.mlflow``: the MLflow fluent API and client as MLflow scripts use them (in-process)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import localtrack
import localtrack.mlflow as mlflow
from localtrack.mlflow import fluent, tracking_uri
from localtrack.mlflow.exceptions import MlflowException

REPO = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(autouse=True)
def _clean_mlflow_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID"):
        monkeypatch.delenv(name, raising=False)
    yield
    fluent._end_all_for_tests()
    tracking_uri.reset()


def test_import_pulls_in_no_query_or_dataframe_library() -> None:
    code = ("import sys, localtrack.mlflow; "
            "print([m for m in ('duckdb', 'pandas', 'polars', 'rich', 'typer') if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert done.stdout.strip() == "[]"


def test_run_records_params_as_strings_metrics_with_steps_and_tags() -> None:
    mlflow.set_experiment("wine")
    with mlflow.start_run(run_name="baseline", tags={"team": "ml"}, description="first try") as run:
        mlflow.log_param("alpha", 0.5)
        mlflow.log_params({"l1_ratio": 1, "fit_intercept": True})
        mlflow.log_metric("rmse", 0.9)
        mlflow.log_metric("rmse", 0.7, step=3)
        mlflow.log_metrics({"mae": 0.4, "r2": 0.1}, step=1)
        mlflow.set_tag("stage", "dev")
        mlflow.set_tags({"k": 1})
        assert mlflow.active_run() is run
    assert mlflow.active_run() is None
    got = mlflow.MlflowClient().get_run(run.info.run_id)
    assert got.data.params == {"alpha": "0.5", "l1_ratio": "1", "fit_intercept": "True"}
    assert got.data.metrics == {"rmse": 0.7, "mae": 0.4, "r2": 0.1}
    assert {"team": "ml", "stage": "dev", "k": "1", "mlflow.runName": "baseline",
            "mlflow.note.content": "first try", "mlflow.source.type": "LOCAL"}.items() <= got.data.tags.items()
    assert got.data.tags["mlflow.user"] and got.data.tags["mlflow.source.name"]
    assert got.info.status == "FINISHED" and got.info.run_name == "baseline"
    assert got.info.experiment_id == "wine" and got.info.start_time <= got.info.end_time
    assert got.info.artifact_uri.startswith("file://")
    history = mlflow.MlflowClient().get_metric_history(run.info.run_id, "rmse")
    assert [(m.step, m.value) for m in history] == [(0, 0.9), (3, 0.7)]


def test_a_param_cannot_change_value() -> None:
    with mlflow.start_run():
        mlflow.log_param("lr", 0.1)
        mlflow.log_param("lr", 0.1)  # same value again is fine, as in MLflow
        with pytest.raises(MlflowException, match="Changing param values is not allowed"):
            mlflow.log_param("lr", 0.2)


def test_nested_runs_link_to_their_parent_and_a_second_top_level_run_is_refused() -> None:
    with mlflow.start_run(run_name="parent") as parent:
        with pytest.raises(MlflowException, match="nested=True"):
            mlflow.start_run()
        with mlflow.start_run(run_name="child", nested=True) as child:
            assert mlflow.active_run() is child
        assert mlflow.active_run() is parent
    frame = mlflow.search_runs(filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert frame["tags.mlflow.runName"].tolist() == ["child"]
    assert frame["tags.mlflow.parentRunId"].tolist() == [parent.info.run_id]
    assert localtrack.Store().run(child.info.run_id).parent == parent.info.run_id


def test_statuses_use_mlflows_spelling() -> None:
    mlflow.start_run(run_name="failed")
    mlflow.end_run(status="FAILED")
    mlflow.start_run(run_name="killed")
    mlflow.end_run("KILLED")
    with pytest.raises(ValueError), mlflow.start_run(run_name="raised"):
        raise ValueError("boom")
    frame = mlflow.search_runs(order_by=["attributes.run_name ASC"])
    assert dict(zip(frame["tags.mlflow.runName"], frame["status"], strict=True)) == {
        "failed": "FAILED", "killed": "KILLED", "raised": "FAILED"}
    assert mlflow.search_runs(filter_string="attributes.status = 'KILLED'")["tags.mlflow.runName"].tolist() == ["killed"]
    mlflow.start_run()
    with pytest.raises(MlflowException, match="FINISHED"):
        mlflow.end_run("DONE")


def test_resume_by_run_id_adds_to_the_same_run() -> None:
    with mlflow.start_run(run_name="r") as first:
        mlflow.log_metric("loss", 1.0, step=0)
    with mlflow.start_run(run_id=first.info.run_id) as again:
        assert again.info.run_id == first.info.run_id
        mlflow.log_metric("loss", 0.5, step=1)
    got = mlflow.MlflowClient().get_run(first.info.run_id)
    assert got.data.metrics == {"loss": 0.5} and got.info.status == "FINISHED"
    assert len(mlflow.search_runs()) == 1


def test_logging_without_a_run_starts_one(tmp_path: Path) -> None:
    mlflow.log_metric("x", 1.0)
    run = mlflow.active_run()
    assert run is not None
    mlflow.end_run()
    assert mlflow.last_active_run().data.metrics == {"x": 1.0}


def test_search_runs_frame_has_mlflows_columns_and_order() -> None:
    mlflow.set_experiment("sweep")
    for lr, acc in ((0.1, 0.7), (0.01, 0.9), (0.001, 0.8)):
        with mlflow.start_run(run_name=f"lr={lr}"):
            mlflow.log_param("lr", lr)
            mlflow.log_metric("acc", acc)
    mlflow.set_experiment("other")
    with mlflow.start_run(run_name="elsewhere"):
        mlflow.log_metric("acc", 1.0)
    frame = mlflow.search_runs(experiment_names=["sweep"], filter_string="metrics.acc > 0.75",
                               order_by=["metrics.acc DESC"])
    assert list(frame.columns[:6]) == ["run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time"]
    assert {"params.lr", "metrics.acc", "tags.mlflow.runName", "tags.mlflow.user"} <= set(frame.columns)
    assert frame["tags.mlflow.runName"].tolist() == ["lr=0.01", "lr=0.001"]
    assert frame["params.lr"].tolist() == ["0.01", "0.001"]
    assert str(frame["start_time"].dtype).startswith("datetime64") and frame["start_time"].dt.tz is not None
    assert len(mlflow.search_runs(experiment_names=["sweep"], max_results=2)) == 2
    assert mlflow.search_runs()["tags.mlflow.runName"].tolist() == ["elsewhere"]  # current experiment only
    assert len(mlflow.search_runs(search_all_experiments=True)) == 4
    runs = mlflow.search_runs(experiment_ids=["sweep", "other"], output_format="list", order_by=["params.lr ASC"])
    assert [r.info.run_name for r in runs][:3] == ["lr=0.001", "lr=0.01", "lr=0.1"]
    assert mlflow.get_experiment_by_name("sweep").name == "sweep"
    assert mlflow.get_experiment_by_name("missing") is None
    assert {e.name for e in mlflow.search_experiments()} >= {"sweep", "other"}


def test_default_experiment_and_its_id() -> None:
    with mlflow.start_run() as run:
        pass
    assert run.info.experiment_id == "Default"
    assert len(mlflow.search_runs(experiment_ids=["0"])) == 1


def test_artifacts_dict_text_and_files(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "a.txt").write_text("A")
    (folder / "b.txt").write_text("B")
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(folder / "a.txt"))
        mlflow.log_artifacts(str(folder), artifact_path="events")
        mlflow.log_dict({"k": [1, 2]}, "config/params.json")
        mlflow.log_text("hello", "notes.txt")
    info = localtrack.Store().run(run.info.run_id)
    names = {a["name"] for a in info.artifacts if a.get("type") != "environment"}
    assert {"a.txt", "events/a.txt", "events/b.txt", "config/params.json", "notes.txt"} <= names
    target = tmp_path / "dl"
    info.artifact("config/params.json").download(target)
    files = list(target.rglob("params.json"))
    assert files and json.loads(files[0].read_text()) == {"k": [1, 2]}


def test_log_figure_refuses_what_is_not_a_figure() -> None:
    with mlflow.start_run(), pytest.raises(MlflowException, match="matplotlib or plotly"):
        mlflow.log_figure(object(), "plot.png")


def test_unsupported_features_say_so() -> None:
    with pytest.raises(NotImplementedError, match="log_model"):
        mlflow.log_model(object(), "model")
    with pytest.raises(NotImplementedError, match="datasets"):
        mlflow.log_input(object())
    with pytest.raises(NotImplementedError, match="sklearn"):
        mlflow.sklearn.log_model(object(), "model")
    with pytest.raises(AttributeError, match=r"MLFLOW\.md"):
        mlflow.no_such_function  # noqa: B018


def test_tracking_uri_maps_to_a_local_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mlflow.set_tracking_uri("http://localhost:5000")
    assert "ignored" in capsys.readouterr().err
    target = tmp_path / "elsewhere"
    target.mkdir()
    mlflow.set_tracking_uri(target.as_uri())
    with mlflow.start_run() as run:
        mlflow.log_metric("m", 1)
    assert Path(run.info.artifact_uri.removeprefix("file://")).is_relative_to(target)
    assert mlflow.get_tracking_uri().startswith(target.as_uri())
    assert len(mlflow.search_runs()) == 1


def test_metrics_must_be_numbers() -> None:
    with mlflow.start_run(), pytest.raises(MlflowException, match="'acc'"):
        mlflow.log_metric("acc", "high")

"""Real MLflow scripts, unchanged, under ``import mlflow`` = ``localtrack.mlflow``: the same runs as MLflow's.

The expected answers (mlflow_expected/corpus.json) were recorded once with real MLflow by
record_mlflow.py, from the same scripts and invocations. Each script runs here as a real
subprocess (the process ending is part of what is tested: implicit runs end at exit), with a
shim package named ``mlflow`` on PYTHONPATH that is ``localtrack.mlflow``.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
EXPECTED = json.loads((HERE / "mlflow_expected" / "corpus.json").read_text())

SHIM = """import sys
import localtrack.mlflow
sys.modules[__name__] = localtrack.mlflow
"""


def _recorder() -> Any:
    """record_mlflow.py, for the helpers both sides share (work repository, tag normalisation)."""
    spec = importlib.util.spec_from_file_location("record_mlflow", HERE / "record_mlflow.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RECORDER = _recorder()



@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Every invocation run once, in order, into one store; the store and the work repo's commit."""
    base = tmp_path_factory.mktemp("mlflow-corpus")
    work, shim, store = base / "work", base / "shim" / "mlflow", base / "store"
    commit = RECORDER.make_work_repo(work)
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text(SHIM)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCALTRACK_", "MLFLOW_", "PYTHON"))}
    env.update({
        "PYTHONPATH": os.pathsep.join([str(shim.parent), str(REPO)]),
        "MLFLOW_TRACKING_URI": store.as_uri(),
        "LOCALTRACK_FLUSH_SECONDS": "0.2",
    })
    outputs = {}
    for item in EXPECTED["invocations"]:
        done = subprocess.run([sys.executable, str(work / item["script"]), *item["argv"]], cwd=work, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{item['script']} failed:\n{done.stderr[-3000:]}"
        outputs[item["script"]] = done
    import localtrack.mlflow as mlflow
    from localtrack.mlflow import tracking_uri

    mlflow.set_tracking_uri(store.as_uri())
    try:
        yield {"store": store, "commit": commit, "outputs": outputs, "mlflow": mlflow}
    finally:
        tracking_uri.reset()


def _local_runs(corpus: dict[str, Any]) -> dict[tuple[str, str | None], dict[str, Any]]:
    """What localtrack recorded, read back through the MLflow client once per module (the store
    does not change after the scripts ran)."""
    if "local_runs" not in corpus:
        client = corpus["mlflow"].MlflowClient()
        named = {i["script"] for i in EXPECTED["invocations"] if i["named"]}
        corpus["local_runs"] = {(r["script"], r["name"]): r for r in RECORDER.record_runs(client, named)}
    return corpus["local_runs"]


def _expected_runs() -> dict[tuple[str, str | None], dict[str, Any]]:
    return {(r["script"], r["name"]): r for r in EXPECTED["runs"]}


def test_the_same_runs_are_recorded(corpus: dict[str, Any]) -> None:
    assert sorted(_local_runs(corpus), key=str) == sorted(_expected_runs(), key=str)


@pytest.mark.parametrize("key", sorted(_expected_runs(), key=str), ids=lambda k: f"{k[0]}:{k[1] or 'run'}")
def test_run_matches_mlflow(corpus: dict[str, Any], key: tuple[str, str | None]) -> None:
    want, got = _expected_runs()[key], _local_runs(corpus)[key]
    assert got["experiment"] == want["experiment"]
    assert got["status"] == want["status"]
    assert got["params"] == want["params"]
    assert got["metrics"] == pytest.approx(want["metrics"], rel=1e-12)
    assert got["history"].keys() == want["history"].keys()
    for metric, points in want["history"].items():
        assert [p[0] for p in got["history"][metric]] == [p[0] for p in points], metric
        assert [p[1] for p in got["history"][metric]] == pytest.approx([p[1] for p in points], rel=1e-12), metric
    assert got["tags"] == want["tags"]


def test_git_commit_tag_is_the_scripts_commit(corpus: dict[str, Any]) -> None:
    client = corpus["mlflow"].MlflowClient()
    runs = client.search_runs(["Default"])
    assert runs and {r.data.tags.get("mlflow.source.git.commit") for r in runs} == {corpus["commit"]}


def _same(got: list[Any] | None, want: list[Any] | None) -> bool:
    if got is None or want is None:
        return got is want
    if len(got) != len(want):
        return False
    for a, b in zip(got, want, strict=True):
        if isinstance(b, float) and isinstance(a, float):
            if not math.isclose(a, b, rel_tol=1e-12):
                return False
        elif a != b:
            return False
    return True


@pytest.mark.parametrize("index", range(len(EXPECTED["searches"])),
                         ids=[s["filter_string"][:40] for s in EXPECTED["searches"]])
def test_search_runs_gives_mlflows_answer(corpus: dict[str, Any], index: int) -> None:
    mlflow = corpus["mlflow"]
    want = EXPECTED["searches"][index]
    every = [r for e in mlflow.search_experiments() for r in mlflow.MlflowClient().search_runs([e.experiment_id])]
    args = {k: v for k, v in want.items() if k not in ("columns", "names", "column_names", "values")}
    args["filter_string"] = RECORDER.resolve_filter(want["filter_string"], every)
    frame = mlflow.search_runs(**args)
    named = {i["script"] for i in EXPECTED["invocations"] if i["named"]}
    assert RECORDER.row_labels(frame, named) == want["names"]
    got_columns = sorted(c for c in frame.columns if c.split(".")[0] in ("params", "metrics", "tags") or c in
                         ("run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time"))
    assert got_columns == want["column_names"]
    for column, values in want["values"].items():
        got = None if column not in frame.columns else [
            None if (isinstance(v, float) and v != v) else v for v in frame[column].tolist()]
        assert _same(got, values), f"{column}: {got} != {values}"


def test_implicit_run_of_the_quickstart_ends_finished_at_exit(corpus: dict[str, Any]) -> None:
    """The quickstart never calls start_run or end_run: the run starts on log_param and ends at exit."""
    run = _local_runs(corpus)[("quickstart_tracking.py", None)]
    assert run["status"] == "FINISHED"
    assert run["params"] == {"param1": "41"} and len(run["history"]["foo"]) == 3
    assert "could not finish" not in corpus["outputs"]["quickstart_tracking.py"].stderr

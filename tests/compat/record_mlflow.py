"""Record what real MLflow records for the scripts in mlflow_scripts/ (run once; not part of the suite).

    python3 -m venv /work/venv-mlflow && /work/venv-mlflow/bin/pip install mlflow pandas numpy
    /work/venv-mlflow/bin/python tests/compat/record_mlflow.py

Runs every invocation below, in order, against one sqlite tracking store in a temp folder
(server URIs a script sets are pointed at that store), from a throwaway git repository holding
copies of the scripts (so the mlflow.source.git.* tags are recorded), then writes
tests/compat/mlflow_expected/corpus.json: per run its params, latest metrics, full metric
histories (step, value), tags (user tags and the normalised mlflow.* system tags), status and
parent; and the answers of the searches below (run names in order, column names, the values
of the compared columns). tests/compat/test_mlflow_corpus.py replays the same invocations under
``import mlflow`` = ``localtrack.mlflow`` and compares.
"""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = HERE / "mlflow_scripts"
OUT = HERE / "mlflow_expected" / "corpus.json"

# (script, argv, does the script name its runs?)
INVOCATIONS = [
    ("quickstart_tracking.py", [], False),
    ("mnist_tensorboard_artifact.py", ["--epochs", "2", "--lr", "0.01"], False),
    ("hyperparam_train.py", ["--epochs", "6", "--learning-rate", "0.02", "synthetic"], False),
    ("parent_child_runs.py", [], True),
    ("nested_runs_search.py", [], True),
]

PCA = "Parent Child Association Challenge"
SEARCHES = [
    {"experiment_names": [PCA],
     "filter_string": "tags.test_identifier = 'subset_test' and metrics.metric1 < 0.5",
     "order_by": ["metrics.metric1 ASC"],
     "columns": ["status", "metrics.metric1", "params.param1", "params.param2", "tags.test_identifier"]},
    {"experiment_names": [PCA],
     "filter_string": "params.param1 = 'a' and params.param2 != 'f'",
     "order_by": ["metrics.metric2 DESC"], "max_results": 3,
     "columns": ["metrics.metric2", "params.param1", "params.param2"]},
    {"experiment_names": [PCA],
     "filter_string": "tags.mlflow.parentRunId = '{run:parent_run_test_subset_test_1}'",
     "order_by": ["tags.mlflow.runName ASC"],
     "columns": ["metrics.metric1", "metrics.metric2", "tags.test_identifier"]},
    {"experiment_names": [PCA],
     "filter_string": "attributes.status = 'FINISHED' and metrics.best_metric1 > 0",
     "order_by": ["metrics.best_metric1 DESC"],
     "columns": ["metrics.best_metric1", "params.best_param1", "params.best_param2"]},
    {"experiment_ids": ["0"],
     "filter_string": "params.lr = '0.01'",
     "order_by": ["start_time ASC"],
     "columns": ["params.lr", "params.epochs", "params.cuda", "metrics.test_loss", "metrics.train_loss"]},
    {"experiment_ids": ["0"],
     "filter_string": "tags.mlflow.runName LIKE '%_RUN'",
     "order_by": ["attributes.run_name DESC"],
     "columns": ["params.parent", "params.child", "tags.mlflow.runName"]},
]

# Patches the recording process needs: server URIs go to the local store.
RUNNER = """
import os, runpy, sys
import mlflow
_set = mlflow.set_tracking_uri
mlflow.set_tracking_uri = lambda uri: _set(os.environ["MLFLOW_TRACKING_URI"] if str(uri).startswith("http") else uri)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""

SYSTEM_TAGS = ("mlflow.runName", "mlflow.user", "mlflow.source.name", "mlflow.source.type",
               "mlflow.source.git.commit", "mlflow.source.git.branch", "mlflow.parentRunId")


def make_work_repo(work: Path) -> str:
    """A git repository in ``work`` holding a committed copy of every corpus script; its HEAD commit."""
    import shutil

    work.mkdir(parents=True, exist_ok=True)
    for script in SCRIPTS.glob("*.py"):
        shutil.copy(script, work / script.name)
    git = ["git", "-c", "user.email=corpus@example.invalid", "-c", "user.name=corpus", "-c", "init.defaultBranch=main"]
    subprocess.run([*git, "init", "-q"], cwd=work, check=True)
    subprocess.run([*git, "add", "."], cwd=work, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "corpus"], cwd=work, check=True)
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=work, check=True, capture_output=True,
                          text=True).stdout.strip()


def normalise_tags(tags: dict[str, str], names: dict[str, str], named: bool) -> dict[str, str]:
    """User tags as they are; system tags made comparable across machines and trackers."""
    out = {k: v for k, v in tags.items() if not k.startswith("mlflow.")}
    for key in SYSTEM_TAGS:
        if key not in tags:
            continue
        value = tags[key]
        if key == "mlflow.user":
            value = "<user>" if value == getpass.getuser() else value
        elif key == "mlflow.source.name":
            value = Path(value).name
        elif key == "mlflow.parentRunId":
            value = names.get(value, value)
        elif key == "mlflow.source.git.commit":
            value = "<commit>"  # the work repository's HEAD
        elif key == "mlflow.runName" and not named:
            value = "<generated>"
        out[key] = value
    return out


def record_runs(client: object, named_scripts: set[str]) -> list[dict[str, object]]:
    runs = [r for e in client.search_experiments() for r in client.search_runs([e.experiment_id])]
    names = {r.info.run_id: r.info.run_name for r in runs}
    experiments = {e.experiment_id: e.name for e in client.search_experiments()}
    records = []
    for run in sorted(runs, key=lambda r: (r.info.start_time, r.info.run_name)):
        script = Path(run.data.tags.get("mlflow.source.name", "")).name
        named = script in named_scripts
        history = {
            key: [[m.step, m.value] for m in sorted(client.get_metric_history(run.info.run_id, key),
                                                    key=lambda m: (m.step, m.timestamp))]
            for key in sorted(run.data.metrics)
        }
        records.append({
            "script": script,
            "name": run.info.run_name if named else None,
            "experiment": experiments[run.info.experiment_id],
            "status": run.info.status,
            "params": dict(sorted(run.data.params.items())),
            "metrics": dict(sorted(run.data.metrics.items())),
            "history": history,
            "tags": dict(sorted(normalise_tags(run.data.tags, names, named).items())),
        })
    return records


def resolve_filter(text: str, runs: list[object]) -> str:
    for run in runs:
        text = text.replace("{run:" + run.info.run_name + "}", run.info.run_id)
    return text


def row_labels(frame: object, named_scripts: set[str]) -> list[str]:
    """Each result row as a comparable label: its run name, or ``<script>`` for generated names."""
    labels = []
    for name, source in zip(frame["tags.mlflow.runName"].tolist() if len(frame) else [],
                            frame["tags.mlflow.source.name"].tolist() if len(frame) else [], strict=True):
        script = Path(str(source)).name
        labels.append(name if script in named_scripts else f"<{script}>")
    return labels


def record_searches(mlflow: object, client: object, named_scripts: set[str]) -> list[dict[str, object]]:
    every = [r for e in client.search_experiments() for r in client.search_runs([e.experiment_id])]
    answers = []
    for spec in SEARCHES:
        args = {k: v for k, v in spec.items() if k != "columns"}
        args["filter_string"] = resolve_filter(spec["filter_string"], every)
        frame = mlflow.search_runs(**args)
        columns = {}
        for column in spec["columns"]:
            values = frame[column].tolist() if column in frame.columns else None
            columns[column] = None if values is None else [
                None if (isinstance(v, float) and v != v) else v for v in values]
        answers.append({
            **spec,
            "names": row_labels(frame, named_scripts),
            "column_names": sorted(c for c in frame.columns
                                   if c.split(".")[0] in ("params", "metrics", "tags") or c in
                                   ("run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time")),
            "values": columns,
        })
    return answers


def main() -> None:
    import mlflow
    from mlflow.tracking import MlflowClient

    with tempfile.TemporaryDirectory(prefix="record-mlflow-") as tmp:
        uri = f"sqlite:///{tmp}/mlflow.db"
        env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "PYTHONHASHSEED": "0"}
        work = Path(tmp) / "work"
        make_work_repo(work)
        for script, argv, _ in INVOCATIONS:
            subprocess.run([sys.executable, "-c", RUNNER, str(work / script), *argv], cwd=work, env=env,
                           check=True, timeout=600)
        mlflow.set_tracking_uri(uri)
        client = MlflowClient()
        named = {script for script, _, is_named in INVOCATIONS if is_named}
        result = {
            "mlflow_version": mlflow.__version__,
            "invocations": [{"script": s, "argv": a, "named": n} for s, a, n in INVOCATIONS],
            "runs": record_runs(client, named),
            "searches": record_searches(mlflow, client, named),
        }
    OUT.write_text(json.dumps(result, indent=1, sort_keys=False) + "\n")
    print(f"wrote {OUT} ({len(result['runs'])} runs, {len(result['searches'])} searches)")


if __name__ == "__main__":
    main()

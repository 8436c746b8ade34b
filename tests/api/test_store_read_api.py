"""The read/report half of the public API from Python: Store.export / report / compare / series,
and localtrack.exec_run / localtrack.reproduce, against real stores in a temporary folder."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import localtrack
from localtrack.errors import (
    InvalidNameError,
    InvalidValueError,
    InvalidValueTypeError,
    LocaltrackError,
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[localtrack.Store]:
    """Two finished runs of one project: different lr, 3 logged steps of loss and acc each."""
    for name, lr in (("slow", 0.01), ("fast", 0.1)):
        run = localtrack.init(project="p", name=name, config={"lr": lr, "epochs": 3}, dir=tmp_path,
                              system_metrics=False)
        for step in range(3):
            run.log({"loss": 1.0 / (1 + step * lr * 10), "acc": 0.5 + step * lr}, step=step)
        run.finish()
    handle = localtrack.Store(tmp_path)
    yield handle
    handle.close()


def _expected_points(store: localtrack.Store) -> list[tuple[str, str, int, float]]:
    table = store.metrics()
    return sorted(zip(*(table.column(c).to_pylist() for c in ("run", "key", "step", "value")), strict=True))


def _read_back(data: bytes, fmt: str) -> list[dict]:
    if fmt == "parquet":
        return pq.read_table(io.BytesIO(data)).to_pylist()
    if fmt == "csv":
        return pacsv.read_csv(io.BytesIO(data)).to_pylist()
    if fmt == "jsonl":
        return [json.loads(line) for line in data.decode().splitlines()]
    return json.loads(data)


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl", "parquet"])
def test_export_points_to_a_path_and_to_a_stream_reads_back_the_same_points(store, tmp_path, fmt):
    expected = _expected_points(store)
    path = tmp_path / f"points.{fmt}"
    report = store.export(store.runs(), to=path)  # the format from the file's name
    assert (report.path, report.format, report.what, report.runs) == (str(path), fmt, "metrics", 2)
    assert report.rows == len(expected) == 12
    assert report.bytes == path.stat().st_size

    sink = io.BytesIO()
    streamed = store.export(["slow", "fast"], to=sink, format=fmt)
    assert streamed.path is None and streamed.rows == 12 and streamed.bytes == len(sink.getvalue())

    for data in (path.read_bytes(), sink.getvalue()):
        rows = _read_back(data, fmt)
        assert sorted((r["run"], r["key"], r["step"], r["value"]) for r in rows) == expected
        names = {r["run"]: r["name"] for r in rows}
        assert sorted(names.values()) == ["fast", "slow"]


def test_export_one_row_per_run_to_a_text_stream_and_metric_filter(store):
    sink = io.StringIO()
    report = store.export(store.runs(order_by="params.lr"), to=sink, format="jsonl", what="runs", metrics=["acc"])
    rows = [json.loads(line) for line in sink.getvalue().splitlines()]
    assert (report.rows, report.runs, report.what) == (2, 2, "runs")
    assert [r["name"] for r in rows] == ["slow", "fast"]
    assert [r["metrics.acc"] for r in rows] == pytest.approx([0.52, 0.7])  # each run's last value
    assert [r["params.lr"] for r in rows] == [0.01, 0.1]
    assert not any("loss" in key for r in rows for key in r)

    only_loss = io.BytesIO()
    points = store.export("fast", to=only_loss, format="csv", metrics=["loss"])
    table = pacsv.read_csv(io.BytesIO(only_loss.getvalue()))
    assert points.rows == 3 and set(table.column("key").to_pylist()) == {"loss"}


def test_export_refuses_bad_input_with_library_errors(store, tmp_path):
    with pytest.raises(InvalidValueError, match="must end in"):
        store.export(None, to=tmp_path / "points.txt")
    with pytest.raises(InvalidValueError, match="pick one of"):
        store.export(None, to=io.BytesIO(), format="xlsx")
    with pytest.raises(InvalidValueError, match="parquet is binary"):
        store.export(None, to=io.StringIO(), format="parquet")
    with pytest.raises(InvalidValueError, match="what="):
        store.export(None, to=io.BytesIO(), what="artifacts")
    with pytest.raises(InvalidValueTypeError):
        store.export([3.5], to=io.BytesIO())
    with pytest.raises(LocaltrackError):
        store.export(["no-such-run"], to=io.BytesIO())
    assert not (tmp_path / "points.txt").exists()


def test_report_is_data_with_checks_winners_and_a_json_document(store):
    report = store.report(["slow", "fast"], selection="slow fast")
    assert isinstance(report, localtrack.Report)
    assert [r["name"] for r in report.runs] == ["slow", "fast"]
    assert report.summary == {"runs": 2, "complete": 0, "reproduced": 0}  # no git, no checkpoints here
    fast = report.runs[1]
    assert fast["checks"]["params_logged"]["ok"] is True
    assert fast["checks"]["metrics_every_step"]["ok"] is True
    assert fast["checks"]["checkpoints_saved"]["ok"] is False
    assert fast["metrics"]["acc"]["final"] == pytest.approx(0.7)
    winners = {w["metric"]: w["winner"]["name"] for w in report.winners}
    assert winners == {"acc": "fast", "loss": "fast"}
    assert report.differing_params == ["lr"] and report.equal_params == {"epochs": 3}
    document = report.to_dict()
    assert document["localtrack_report"] == 1 and document["selection"] == "slow fast"
    parsed = json.loads(report.to_json())
    assert parsed["runs"][0]["id"] == report.runs[0]["id"] and parsed["winners"] == report.winners
    from localtrack.viz.markdown import report_markdown

    markdown = report_markdown(report)
    assert markdown.startswith("## Experiment report") and "**acc**" in markdown


def test_compare_names_the_best_run_per_metric(store):
    comparison = store.compare(store.runs(), metrics=["acc", "loss"], minimize=["acc"])
    assert isinstance(comparison, localtrack.Comparison)
    names = {str(r["id"]): r["name"] for r in comparison.runs}
    verdicts = {v.key: (v.direction, [names[b] for b in v.best]) for v in comparison.metrics}
    assert verdicts == {"acc": ("min", ["slow"]), "loss": ("min", ["fast"])}
    assert [p.key for p in comparison.differing_params()] == ["lr"]
    with pytest.raises(LocaltrackError, match="both"):
        store.compare(store.runs(), maximize=["acc"], minimize=["acc"])


def test_series_holds_every_point_in_step_order(store):
    series = store.series(["fast", "slow"], ["loss"])
    assert all(isinstance(s, localtrack.MetricSeries) for s in series)
    by_run = {store.run(s.run).name: s for s in series}
    assert sorted(by_run) == ["fast", "slow"] and {s.key for s in series} == {"loss"}
    fast = by_run["fast"]
    assert fast.steps == [0, 1, 2] and len(fast) == 3
    assert fast.values == pytest.approx([1.0, 0.5, 1 / 3])
    assert all(math.isfinite(t) for t in fast.timestamps)
    assert store.series([], ["loss"]) == []
    assert {s.key for s in store.series("slow")} == {"acc", "loss"}


SCRIPT = """\
import sys
import localtrack

run = localtrack.init(project="toy", config={"scale": 2.0})
for step in range(3):
    run.log({"score": run.config["scale"] * step}, step=step)
print("trained", flush=True)
run.finish()
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A committed git repository with a tiny training script; the store is git-ignored inside it."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    path = tmp_path / "repo"
    path.mkdir()
    (path / "train.py").write_text(SCRIPT)
    (path / ".gitignore").write_text(".localtrack/\n")
    for args in (("init", "-q", "-b", "main"), ("add", "."), ("commit", "-q", "-m", "initial")):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(path), *args], check=True,
                       capture_output=True)
    monkeypatch.chdir(path)
    return path


def test_exec_run_records_a_run_and_reproduce_matches_it(repo):
    out = io.BytesIO()
    result = localtrack.exec_run([sys.executable, "train.py"], store=repo, name="toy-run", tags=["baseline", "k=v"],
                                 stdout=out, stderr=io.BytesIO())
    assert isinstance(result, localtrack.ExecResult)
    assert (result.status, result.exit_code, result.name, result.interrupted) == ("finished", 0, "toy-run", False)
    assert b"trained" in out.getvalue()
    with localtrack.Store(repo) as store:
        info = store.run(result.run_id)
        assert info.tags == {"baseline": "", "k": "v"} and info.config == {"scale": 2.0}
        assert store.series(result.run_id, ["score"])[0].values == [0.0, 2.0, 4.0]

    planned = localtrack.reproduce(result.run_id, store=repo, dry_run=True)
    assert (planned.verdict, planned.run_id, planned.exit_code) == ("planned", None, 0)
    assert planned.plan is not None and planned.plan["command"][1:] == ["train.py"]

    declined = localtrack.reproduce(result.run_id, store=repo, confirm=lambda plan: False)
    assert (declined.verdict, declined.run_id, declined.exit_code) == ("declined", None, 2)

    seen = []
    outcome = localtrack.reproduce(result.run_id, store=repo, confirm=lambda plan: seen.append(plan.argv) or True,
                                   stdout=io.BytesIO(), stderr=io.BytesIO())
    assert isinstance(outcome, localtrack.Reproduction)
    assert seen and (outcome.verdict, outcome.exit_code, outcome.of) == ("match", 0, result.run_id)
    assert [m.metric for m in outcome.metrics] == ["score"] and all(m.within for m in outcome.metrics)
    assert outcome.rows()[0]["id"] == outcome.run_id != result.run_id

    variant = localtrack.reproduce(result.run_id, store=repo, overrides={"scale": 3.0},
                                   stdout=io.BytesIO(), stderr=io.BytesIO())
    assert (variant.verdict, variant.exit_code) == ("differ", 1)
    with localtrack.Store(repo) as store:
        assert store.run(variant.run_id).parent == result.run_id
        assert store.run(variant.run_id).config["scale"] == 3.0


def test_exec_run_reports_a_failing_command_and_refuses_bad_input(repo):
    failed = localtrack.exec_run([sys.executable, "train.py", "3"], store=repo, stdout=io.BytesIO(),
                                 stderr=io.BytesIO())
    assert (failed.status, failed.exit_code) == ("failed", 3)
    with pytest.raises(InvalidValueError, match="list of strings"):
        localtrack.exec_run("python train.py", store=repo)
    with pytest.raises(InvalidValueError):
        localtrack.exec_run([], store=repo)
    with pytest.raises(InvalidNameError, match="empty"):
        localtrack.exec_run(["true"], store=repo, tags=["=value-without-key"])
    with localtrack.Store(repo) as store:
        assert len(store.runs()) == 1  # refused before any run was made
    with pytest.raises(InvalidValueError, match="key=value"):
        localtrack.reproduce(failed.run_id, store=repo, dry_run=True, overrides=["no_such_param"])
    with pytest.raises(InvalidValueError, match="tolerance"):
        localtrack.reproduce(failed.run_id, store=repo, dry_run=True, tolerance="-1")
    with pytest.raises(LocaltrackError):
        localtrack.reproduce("no-such-run", store=repo, dry_run=True)

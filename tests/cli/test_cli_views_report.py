"""``localtrack report``: the JSON document, the Markdown, the terminal view, rows vs the read API."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from cli_views_support import copy_store, invoke, plain_json, tamper

import localtrack


@pytest.fixture(scope="module")
def sweep(sweep_template: tuple[Path, dict[str, str]]) -> tuple[Path, dict[str, str]]:
    """The sweep, plus a reproduction of roberta that matched and one of distil that did not."""
    store, ids = sweep_template
    for original, verdict in (("roberta", "match"), ("distil", "differ")):
        run = localtrack.init(dir=store, project="repro", name=f"{original}-repro")
        run.finish()
        tamper(store, run.id, reproduction={"of": ids[original], "verdict": verdict, "tolerance": 1e-9})
        ids[f"{original}-repro"] = run.id
    return store, ids


def test_report_files_and_checks(sweep, tmp_path, capsys, monkeypatch) -> None:
    store, ids = sweep
    out_json, out_md = tmp_path / "experiment_report.json", tmp_path / "report.md"
    r = invoke(["report", "roberta", "distil", "bert", "resnet", "--store", str(store),
                "-o", str(out_json), "--markdown", str(out_md)], capsys, monkeypatch)
    assert r.code == 0, r.err
    assert f"Wrote report {out_json} and markdown {out_md}" in r.err
    report = json.loads(out_json.read_text())
    runs = {run["name"]: run for run in report["runs"]}
    assert list(runs) == ["roberta", "distil", "bert", "resnet"]
    roberta, distil, resnet = runs["roberta"], runs["distil"], runs["resnet"]
    assert roberta["complete"] is True, roberta["checks"]
    assert roberta["checks"]["reproduced_verified"]["ok"] is True
    assert roberta["checks"]["reproduced_verified"]["by"] == [ids["roberta-repro"]]
    assert distil["checks"]["reproduced_verified"]["ok"] is False  # reproduced, did not match
    assert distil["checks"]["checkpoints_saved"]["ok"] is False and distil["complete"] is False
    assert runs["bert"]["checks"]["reproduced_verified"]["ok"] is None
    # resnet logged val_accuracy at step 0 only and train/loss at 0 and 1: val_accuracy stops early
    assert resnet["checks"]["metrics_every_step"]["ok"] is True  # a single point has no cadence to miss
    assert resnet["status"] == "failed"
    assert roberta["metrics"]["val_accuracy"]["final"] == 0.91
    assert roberta["metrics"]["inference_time"]["best"] == 30.0  # min: lower is better
    winners = {w["metric"]: w["winner"]["name"] for w in report["winners"] if w["winner"]}
    assert winners["val_accuracy"] == "roberta" and winners["inference_time"] == "distil"
    assert report["summary"] == {"runs": 4, "complete": 1, "reproduced": 1}
    md = out_md.read_text()
    assert md.startswith("## Experiment report") and "| roberta | ✅ | ✅ | ✅ | ✅ | ✅ | ✅ |" in md
    terminal = r.out
    assert "4 runs · 1 complete · 1 reproduced and verified" in terminal
    assert "distil: checkpoints saved: no artifact of type checkpoint or model" in terminal


def test_report_rows_against_the_read_api(sweep, capsys, monkeypatch) -> None:
    store, _ = sweep
    r = invoke(["report", "--filter", "params.epochs = 3", "--store", str(store), "-f", "json"], capsys, monkeypatch)
    assert r.code == 0, r.err
    rows = r.json()
    api = {row["id"]: row for row in localtrack.Store(store).runs(filter="params.epochs = 3").to_dicts()}
    assert sorted(row["id"] for row in rows) == sorted(api)
    for row in rows:
        source = plain_json(api[row["id"]])
        assert (row["name"], row["status"], row["params"]) == (source["name"], source["status"], source["params"])
        for key, stats in row["metrics"].items():
            assert stats["final"] == source["metrics"][key]["last"]
    r = invoke(["report", "roberta", "bert", "--store", str(store), "-f", "csv"], capsys, monkeypatch)
    header = r.out.splitlines()[0].split(",")
    assert header[:4] == ["id", "name", "status", "complete"] and "checkpoints_saved" in header


def test_report_to_stdout_and_markdown_to_stdout(sweep, capsys, monkeypatch) -> None:
    store, _ = sweep
    r = invoke(["report", "roberta", "--store", str(store), "-o", "-"], capsys, monkeypatch)
    assert json.loads(r.out)["runs"][0]["name"] == "roberta"
    r = invoke(["report", "roberta", "--store", str(store), "--markdown", "-"], capsys, monkeypatch)
    assert r.out.startswith("## Experiment report")


def test_report_gaps_are_found(sweep, tmp_path, capsys, monkeypatch) -> None:
    store, _ = sweep
    copy = copy_store(store, tmp_path / ".localtrack")
    run = localtrack.init(dir=copy, name="gappy", config={"lr": 1})
    for step in (0, 1, 2, 4, 5):
        run.log({"loss": 1.0 / (step + 1)}, step=step)
    run.finish()
    r = invoke(["report", "gappy", "--store", str(copy), "-f", "json"], capsys, monkeypatch)
    check = r.json()[0]["checks"]["metrics_every_step"]
    assert check == {"ok": False, "detail": "loss misses 1 step(s): 3"}


def test_report_needs_runs(sweep, capsys, monkeypatch) -> None:
    store, _ = sweep
    r = invoke(["report", "--store", str(store)], capsys, monkeypatch)
    assert r.code == 1 and "give RUN arguments" in r.err
    r = invoke(["report", "--filter", "params.lr > 100", "--store", str(store)], capsys, monkeypatch)
    assert r.code == 1 and "no run matches the filter" in r.err

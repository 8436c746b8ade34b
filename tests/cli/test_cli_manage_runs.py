"""tag, note, rename, rm/restore and export from the command line, checked on disk and via the API."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))

from cli_views_support import invoke, plain_json

import localtrack
from localtrack.storage.manifest import read_manifest


def manifest(store: Path, run_id: str) -> dict:
    return read_manifest(store / "runs" / run_id / "manifest.json")


def test_tag_note_rename(private_sweep, capsys, monkeypatch) -> None:
    store, ids = private_sweep
    s = ["--store", str(store)]
    r = invoke(["tag", "bert", "add", "best", "stage=prod", *s], capsys, monkeypatch)
    assert r.code == 0 and r.out.strip() == "bert: best, stage=prod, sweep=s1"
    r = invoke(["tag", "bert", "rm", "sweep", *s], capsys, monkeypatch)
    assert r.out.strip() == "bert: best, stage=prod"
    r = invoke(["tag", "bert", *s], capsys, monkeypatch)
    assert r.out.strip() == "bert: best, stage=prod"
    r = invoke(["tag", "bert", "rm", "nope", *s], capsys, monkeypatch)
    assert r.code == 1 and "no tag 'nope'" in r.err
    r = invoke(["tag", "bert", "add", *s], capsys, monkeypatch)
    assert r.code == 2 and "at least one tag" in r.err
    r = invoke(["tag", "bert", "add", "bad\x1btag", *s], capsys, monkeypatch)
    assert r.code == 1 and "\x1b" not in r.err and "control or invisible character" in r.err
    assert invoke(["note", "bert", "first try", *s], capsys, monkeypatch).code == 0
    assert invoke(["note", "bert", "--append", "second", *s], capsys, monkeypatch).code == 0
    assert invoke(["note", "bert", *s], capsys, monkeypatch).out == "first try\nsecond\n"
    r = invoke(["rename", "bert", "bert-large", *s], capsys, monkeypatch)
    assert r.out == "" and r.err.startswith(f"Renamed {ids['bert']}: bert → bert-large")
    m = manifest(store, ids["bert"])
    assert (m["name"], m["notes"], m["tags"]) == ("bert-large", "first try\nsecond", {"best": "", "stage": "prod"})
    info = localtrack.Store(store).run("bert-large")  # the read API sees the edits at once
    assert info.id == ids["bert"] and info.tags == {"best": "", "stage": "prod"}
    r = invoke(["rename", "bert-large", "  ", *s], capsys, monkeypatch)
    assert r.code == 1 and "empty" in r.err


def test_rm_restore_purge(private_sweep, capsys, monkeypatch) -> None:
    store, ids = private_sweep
    s = ["--store", str(store)]
    r = invoke(["rm", "bert", "distil", *s], capsys, monkeypatch)
    assert r.code == 0 and r.out == "" and "Moved bert" in r.err and "localtrack restore" in r.err
    assert (store / "trash" / ids["bert"] / "manifest.json").is_file()
    names = [row["name"] for row in invoke(["ls", "-f", "json", *s], capsys, monkeypatch).json()]
    assert "bert" not in names and "distil" not in names
    listing = invoke(["restore", "-f", "json", *s], capsys, monkeypatch).json()
    assert sorted(row["name"] for row in listing) == ["bert", "distil"]
    assert {"id", "name", "status", "trashed"} <= set(listing[0])
    r = invoke(["restore", "bert", *s], capsys, monkeypatch)
    assert r.out == "" and r.err.startswith("Restored bert")
    assert "bert" in [row["name"] for row in invoke(["ls", "-f", "json", *s], capsys, monkeypatch).json()]
    r = invoke(["rm", "distil", "--purge", *s], capsys, monkeypatch)  # stdin is not a terminal here
    assert r.code == 2 and "--yes" in r.err
    r = invoke(["rm", "distil", "--purge", "--yes", *s], capsys, monkeypatch)
    assert r.code == 0 and r.out == "" and r.err.startswith("Deleted distil")
    assert not (store / "trash" / ids["distil"]).exists()
    assert invoke(["restore", *s], capsys, monkeypatch).out.strip() == "The trash is empty."
    r = invoke(["restore", "distil", *s], capsys, monkeypatch)
    assert r.code == 1 and "the trash is empty" in r.err


def test_rm_refuses_running_runs(private_sweep, capsys, monkeypatch) -> None:
    store, _ = private_sweep
    s = ["--store", str(store)]
    run_id = invoke(["create", "--name", "live", *s], capsys, monkeypatch).out.strip()
    r = invoke(["rm", "live", *s], capsys, monkeypatch)
    assert r.code == 1 and "still running" in r.err and "--force" in r.err
    assert invoke(["rm", "live", "--force", *s], capsys, monkeypatch).code == 0
    assert not (store / "runs" / run_id).exists()


def test_export_points_in_three_formats(private_sweep, tmp_path, capsys, monkeypatch) -> None:
    store, ids = private_sweep
    s = ["--store", str(store)]
    api = localtrack.Store(store).metrics(runs=[ids["roberta"], ids["distil"]], keys=["val_accuracy"]).to_pylist()
    for suffix in ("parquet", "csv", "json"):
        target = tmp_path / f"points.{suffix}"
        r = invoke(["export", "roberta", "distil", "-m", "val_accuracy", "--to", str(target), *s], capsys, monkeypatch)
        assert r.code == 0, r.err
        assert r.out == "" and r.err.strip() == f"Exported 6 points of 2 runs to {target}"
        if suffix == "parquet":
            rows = pq.read_table(target).to_pylist()
            assert [{k: v for k, v in row.items() if k != "name"} for row in rows] == api
        elif suffix == "csv":
            rows = list(csv.DictReader(io.StringIO(target.read_text())))
            assert [(row["run"], row["key"], int(row["step"]), float(row["value"])) for row in rows] == [
                (p["run"], p["key"], p["step"], p["value"]) for p in api
            ]
        else:
            rows = json.loads(target.read_text())
            assert [row["value"] for row in rows] == [p["value"] for p in api]
        names = {row["run"]: row["name"] for row in rows}
        assert names == {ids["roberta"]: "roberta", ids["distil"]: "distil"}


def test_export_runs_table_and_mistakes(private_sweep, tmp_path, capsys, monkeypatch) -> None:
    store, _ = private_sweep
    s = ["--store", str(store)]
    target = tmp_path / "runs.json"
    r = invoke(["export", "--filter", "params.epochs = 3", "--what", "runs", "--to", str(target), *s],
               capsys, monkeypatch)
    assert r.code == 0 and "Exported 3 runs" in r.err
    rows = json.loads(target.read_text())
    api = localtrack.Store(store).runs(filter="params.epochs = 3")
    assert rows == plain_json(api.to_arrow().to_pylist())
    r = invoke(["export", "bert", "--to", str(tmp_path / "x.xlsx"), *s], capsys, monkeypatch)
    assert r.code == 2 and ".csv, .parquet, .json or .jsonl" in r.err
    r = invoke(["export", "bert", *s], capsys, monkeypatch)
    assert r.code == 2 and "--to" in r.err
    assert not (tmp_path / "x.xlsx").exists()

"""``localtrack ls``: the table people read, and the JSON/CSV scripts read (checked against the API)."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from cli_views_support import (
    HOSTILE_NAME,
    assert_no_raw_controls,
    invoke,
    plain_json,
    visible_width,
)

import localtrack
from localtrack.storage.layout import StoreLayout
from localtrack.store import shell_writer


def test_table_shows_status_varying_params_and_metrics(sweep, capsys, monkeypatch) -> None:
    store, ids = sweep
    r = invoke(["ls", "--store", str(store)], capsys, monkeypatch, width=160)
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    header = lines[0].split()
    assert header[:5] == ["id", "name", "status", "started", "duration"]
    assert "project" in header  # two projects listed
    assert {"model", "lr"} <= set(header)  # params that vary
    nlp = invoke(["ls", "--store", str(store), "-p", "nlp"], capsys, monkeypatch, width=160)
    nlp_header = nlp.out.splitlines()[0].split()
    assert "model" in nlp_header and "project" not in nlp_header
    assert "epochs" not in nlp_header and "optim.name" not in nlp_header  # same in every nlp run
    assert "val_accuracy" in header
    by_name = {line.split()[1]: line for line in lines[2:] if len(line.split()) > 2}
    assert "finished" in by_name["roberta"] and "failed" in by_name["resnet"]
    assert ids["roberta"][-6:] in by_name["roberta"]
    assert "0.91" in by_name["roberta"]
    assert any(ch in by_name["roberta"] for ch in "▁▂▃▄▅▆▇█")  # sparkline
    assert "just now" in by_name["roberta"] or "s ago" in by_name["roberta"]


def test_json_is_the_read_api(sweep, capsys, monkeypatch) -> None:
    store, _ = sweep
    r = invoke(["ls", "--store", str(store), "--format", "json"], capsys, monkeypatch)
    assert r.code == 0
    assert r.json() == plain_json(localtrack.Store(store).runs().to_dicts())
    for row in r.json():
        assert {"id", "name", "status"} <= set(row)
    filtered = invoke(
        ["ls", "--store", str(store), "-f", "json", "--filter", "params.model = 'bert' or metrics.val_accuracy > 0.9"],
        capsys, monkeypatch,
    )
    api = localtrack.Store(store).runs(filter="params.model = 'bert' or metrics.val_accuracy > 0.9")
    assert [row["id"] for row in filtered.json()] == api.ids
    assert sorted(row["name"] for row in filtered.json()) == ["bert", "roberta"]


def test_sort_top_project_and_csv(sweep, capsys, monkeypatch) -> None:
    store, ids = sweep
    r = invoke(["ls", "--store", str(store), "-f", "json", "--sort-by", "metrics.val_accuracy DESC", "--top", "2"],
               capsys, monkeypatch)
    assert [row["name"] for row in r.json()] == ["roberta", "bert"]
    r = invoke(["ls", "--store", str(store), "-f", "json", "--project", "vision"], capsys, monkeypatch)
    assert [row["id"] for row in r.json()] == [ids["resnet"]]
    r = invoke(["ls", "--store", str(store), "-f", "csv", "-p", "nlp", "--sort-by", "name"], capsys, monkeypatch)
    rows = list(csv.DictReader(io.StringIO(r.out)))
    api = localtrack.Store(store).runs(project="nlp", order_by="name").to_dicts()
    assert [row["id"] for row in rows] == [row["id"] for row in api]
    assert rows[0]["params.optim.name"] in ("adam", "")
    by_name = {row["name"]: row for row in rows}
    assert float(by_name["roberta"]["metrics.val_accuracy"]) == pytest.approx(0.91)
    assert by_name["roberta"]["created_at"].endswith("+00:00")


def test_columns_and_group_by(sweep, capsys, monkeypatch) -> None:
    store, _ = sweep
    r = invoke(["ls", "--store", str(store), "-c", "name,status", "--columns", "lr,metrics.inference_time,tags.sweep"],
               capsys, monkeypatch)
    assert r.out.splitlines()[0].split() == ["name", "status", "lr", "inference_time", "sweep"]
    r = invoke(["ls", "--store", str(store), "--group-by", "project", "-c", "name"], capsys, monkeypatch)
    assert "project = nlp · 3 runs" in r.out and "project = vision · 1 run" in r.out
    r = invoke(["ls", "--store", str(store), "-c", "nope"], capsys, monkeypatch)
    assert r.code == 2 and "unknown column 'nope'" in r.err
    r = invoke(["ls", "--store", str(store), "-g", "params"], capsys, monkeypatch)
    assert r.code == 2 and "cannot group by" in r.err


@pytest.mark.parametrize("width", [60, 80, 100, 140])
def test_table_fits_the_terminal(sweep, capsys, monkeypatch, width: int) -> None:
    store, _ = sweep
    r = invoke(["ls", "--store", str(store)], capsys, monkeypatch, width=width)
    assert r.code == 0
    assert visible_width(r.out) <= width


def test_wide_store_caps_columns_and_says_what_is_hidden(tmp_path, capsys, monkeypatch) -> None:
    store = tmp_path / ".localtrack"
    for i in range(4):
        run = localtrack.init(dir=store, name=f"wide-{i}", config={f"param_{k:02d}": i * k for k in range(40)})
        run.log({f"metric/{k:02d}_score": i + k for k in range(30)}, step=0)
        run.finish()
    r = invoke(["ls", "--store", str(store)], capsys, monkeypatch, width=120)
    assert visible_width(r.out) <= 120
    header = r.out.splitlines()[0].split()
    assert 1 <= sum(h.startswith("param_") for h in header) <= 6
    assert 1 <= sum(h.startswith("metric/") for h in header) <= 3
    assert "more varying params and" in r.out and "not shown; pick columns with --columns" in r.out


def test_top_in_the_table_says_how_many_are_hidden(tmp_path, capsys, monkeypatch) -> None:
    store = tmp_path / ".localtrack"
    layout = StoreLayout(store)
    from localtrack.store.project import create_store

    create_store(store)
    for i in range(5):
        shell_writer.finish_run(layout, shell_writer.create_run(layout, project="p", name=f"r{i}"))
    r = invoke(["ls", "--store", str(store), "--top", "2"], capsys, monkeypatch)
    assert "showing 2 of 5 runs" in r.out
    r = invoke(["ls", "--store", str(store), "--top", "2", "-f", "json"], capsys, monkeypatch)
    assert len(r.json()) == 2


def test_hostile_names_are_escaped(sweep, capsys, monkeypatch) -> None:
    store, _ = sweep
    r = invoke(["ls", "--store", str(store), "-c", "name,notes"], capsys, monkeypatch, width=200)
    assert_no_raw_controls(r.out)
    assert "evil\\x1b[31mred\\u202egnp.exe" in r.out
    r = invoke(["ls", "--store", str(store), "-f", "json"], capsys, monkeypatch)
    assert HOSTILE_NAME in [row["name"] for row in r.json()]  # JSON keeps the data exact (escaped by JSON)
    assert "\x1b" not in r.out


def test_empty_store_and_no_match(store_dir, capsys, monkeypatch) -> None:
    r = invoke(["ls", "--store", str(store_dir)], capsys, monkeypatch)
    assert r.code == 0 and "No runs yet" in r.out
    r = invoke(["ls", "--store", str(store_dir), "--filter", "params.lr > 1"], capsys, monkeypatch)
    assert r.code == 0 and "No runs match" in r.out
    r = invoke(["ls", "--store", str(store_dir), "-f", "json"], capsys, monkeypatch)
    assert r.json() == []


def test_damaged_and_tampered_runs_do_not_break_the_listing(tmp_path, capsys, monkeypatch) -> None:
    """A torn manifest is named in a warning; fields of the wrong type still render."""
    from cli_views_support import tamper

    store = tmp_path / ".localtrack"
    ids = []
    for i in range(3):
        run = localtrack.init(dir=store, name=f"r{i}", config={"lr": i})
        run.log({"loss": 1.0 / (i + 1)}, step=0)
        run.finish()
        ids.append(run.id)
    tamper(store, ids[0], name=123, config={"lr": [1, 2], "s": "x\x1b[2J"}, tags={"k\u202e": "v\x07"}, notes=5,
           git="nope", environment=[1], command={"argv": "notalist"}, artifacts={"x": 1}, parent=7)
    (store / "runs" / ids[1] / "manifest.json").write_text('{"torn": ')
    r = invoke(["ls", "--store", str(store), "-c", "name,lr,tags,git,notes,loss"], capsys, monkeypatch)
    assert r.code == 0, r.err
    assert f"warning: run {ids[1]} could not be read" in r.err
    assert "r2" in r.out and "123" in r.out and ids[1][-6:] not in r.out
    assert_no_raw_controls(r.out + r.err)
    for args in (["show", ids[0]], ["compare", ids[0], ids[2]], ["report", ids[0], ids[2], "-f", "json"],
                 ["visualize", ids[0], ids[2], "-t", "parallel", "-m", "loss"]):
        r = invoke([*args, "--store", str(store)], capsys, monkeypatch)
        assert r.code == 0, (args, r.err)
        assert_no_raw_controls(r.out)
    r = invoke(["show", ids[1], "--store", str(store)], capsys, monkeypatch)
    assert r.code == 1 and "cannot be read" in r.err

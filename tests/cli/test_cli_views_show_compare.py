"""``localtrack show`` and ``localtrack compare``: rendering, JSON against the read API, winners."""

from __future__ import annotations

import csv
import fnmatch
import io
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from cli_views_support import (
    SWEEP,
    assert_no_raw_controls,
    invoke,
    plain_json,
    visible_width,
)

import localtrack
from localtrack.ids import short_id
from localtrack.query.compare import compare

# ---------------------------------------------------------------- show


def test_show_has_every_section(sweep, capsys, monkeypatch) -> None:
    store, ids = sweep
    r = invoke(["show", "roberta", "--store", str(store)], capsys, monkeypatch)
    assert r.code == 0, r.err
    out = r.out
    assert out.splitlines()[0].split() == ["roberta", "finished", ids["roberta"]]
    for section in ("Params", "Metrics", "Artifacts", "Git", "Command & environment"):
        assert f"\n{section}\n" in out
    assert "optim" in out and "  name" in out and "adam" in out  # nested params, indented
    assert "val_accuracy ↑" in out and "inference_time ↓" in out
    assert "roberta-ckpt" in out and "checkpoint" in out
    assert "sweep=s1" in out
    assert any(ch in out for ch in "▁▂▃▄▅▆▇█")


def test_show_json_is_the_read_api(sweep, capsys, monkeypatch) -> None:
    store, ids = sweep
    r = invoke(["show", ids["bert"][-6:], "--store", str(store), "--format", "json"], capsys, monkeypatch)
    assert r.code == 0
    assert r.json() == plain_json(localtrack.Store(store).run(ids["bert"]).to_dict())
    assert {"id", "name", "status"} <= set(r.json())
    r = invoke(["show", "bert", "--store", str(store), "--format", "csv"], capsys, monkeypatch)
    assert r.code == 2 and "use --format json" in r.err


def test_show_failed_and_hostile_runs(sweep, capsys, monkeypatch) -> None:
    store, ids = sweep
    r = invoke(["show", "resnet", "--store", str(store)], capsys, monkeypatch)
    assert "failed" in r.out.splitlines()[0]
    r = invoke(["show", ids["hostile"], "--store", str(store)], capsys, monkeypatch)
    assert r.code == 0
    assert_no_raw_controls(r.out)
    assert "evil\\x1b[31mred\\u202egnp.exe" in r.out
    assert "line one\nline two \\x1b[2J" in r.out  # notes keep their line breaks, not their escapes


# ---------------------------------------------------------------- compare


def test_compare_table_and_winner_line(sweep, capsys, monkeypatch) -> None:
    store, _ = sweep
    r = invoke(["compare", "roberta", "distil", "bert", "--store", str(store), "--metrics", "val_accuracy,inference_time"],
               capsys, monkeypatch)
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[-1] == "Winner: roberta (best val_accuracy), distil (best inference_time)"
    header = lines[0].split()
    assert header == ["roberta", "distil", "bert"]
    table = "\n".join(lines)
    row = next(line for line in lines if line.startswith("val_accuracy"))
    assert row.split() == ["val_accuracy", "↑", "0.91", "★", "0.88", "0.9"]
    row = next(line for line in lines if line.startswith("inference_time"))
    assert row.split() == ["inference_time", "↓", "30.5", "12.1", "★", "20.4"]
    assert next(line for line in lines if line.startswith("model")).split()[1:] == ["roberta", "distil", "bert"]
    assert "Same in all runs (3): epochs=3, optim.beta=0.9, optim.name=adam" in table


def test_compare_json_against_the_api(sweep, capsys, monkeypatch) -> None:
    store, ids = sweep
    r = invoke(["compare", "roberta", "distil", "bert", "--store", str(store), "-f", "json"], capsys, monkeypatch)
    rows = r.json()
    api = {row["id"]: row for row in localtrack.Store(store).runs().to_dicts()}
    assert [row["id"] for row in rows] == [ids[n] for n in ("roberta", "distil", "bert")]
    for row in rows:
        source = api[row["id"]]
        assert (row["name"], row["status"]) == (source["name"], source["status"])
        assert row["params"] == plain_json(source["params"])
        for key, cell in row["metrics"].items():
            assert cell["value"] == source["metrics"][key]["last"]
    expected = compare([api[row["id"]] for row in rows])
    assert {row["id"]: row["best_for"] for row in rows} == {i: expected.best_for(i) for i in api if i in {r["id"] for r in rows}}
    by_name = {row["name"]: row for row in rows}
    assert by_name["roberta"]["metrics"]["val_accuracy"] == {"value": 0.91, "direction": "max", "best": True}
    assert by_name["distil"]["metrics"]["inference_time"]["best"] is True
    assert by_name["bert"]["metrics"]["epoch"]["direction"] is None
    r = invoke(["compare", "roberta", "distil", "--store", str(store), "-f", "csv", "-m", "val_accuracy"], capsys, monkeypatch)
    rows_csv = list(csv.DictReader(io.StringIO(r.out)))
    assert [row["name"] for row in rows_csv] == ["roberta", "distil"]
    assert rows_csv[0]["best_for"] == "val_accuracy" and rows_csv[0]["params.model"] == "roberta"


def test_compare_direction_overrides_and_globs(sweep, capsys, monkeypatch) -> None:
    store, ids = sweep
    r = invoke(["compare", "roberta", "distil", "bert", "--store", str(store), "-m", "val_accuracy,inference_time",
                "--minimize", "val_accuracy", "--maximize", "inference_time"], capsys, monkeypatch)
    assert r.out.splitlines()[-1] == "Winner: distil (best val_accuracy), roberta (best inference_time)"
    r = invoke(["compare", "*r*", "--filter", "params.epochs = 3", "--store", str(store), "-f", "json"],
               capsys, monkeypatch)
    # A glob matches names, full ids and short ids; the ids are random, so "distil"'s may hold an "r".
    distil_id = ids["distil"]
    distil_matches = any(fnmatch.fnmatchcase(text, "*r*") for text in (distil_id, short_id(distil_id)))
    expected = ["bert", "distil", "roberta"] if distil_matches else ["bert", "roberta"]
    assert sorted(row["name"] for row in r.json()) == expected


def test_compare_mistakes(sweep, capsys, monkeypatch) -> None:
    store, _ = sweep
    r = invoke(["compare", "roberta", "--store", str(store)], capsys, monkeypatch)
    assert r.code == 2 and "at least two runs" in r.err
    r = invoke(["compare", "roberta", "bert", "-m", "nope", "--store", str(store)], capsys, monkeypatch)
    assert r.code == 2 and "no compared run logged 'nope'" in r.err
    r = invoke(["compare", "roberta", "bert", "--maximize", "epoch", "--minimize", "epoch", "--store", str(store)],
               capsys, monkeypatch)
    assert r.code == 1 and "both" in r.err
    r = invoke(["compare", "nosuch*", "bert", "--store", str(store)], capsys, monkeypatch)
    assert r.code == 1 and "no run name or id matches the pattern 'nosuch*'" in r.err
    assert "Traceback" not in r.err


@pytest.mark.parametrize("width", [60, 80, 120])
def test_compare_fits(sweep, capsys, monkeypatch, width: int) -> None:
    store, _ = sweep
    r = invoke(["compare", *SWEEP, "resnet", "--store", str(store)], capsys, monkeypatch, width=width)
    assert r.code == 0
    assert visible_width(r.out) <= width

"""``summary.<key>``: values a script sets with ``run.summary[k] = v`` are queryable like params.

Filters, order_by, the wide tables (arrow/pandas/polars), raw SQL, ``search``/``ls --columns``
and ``export`` all see them.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import pytest

import localtrack
from localtrack.cli import output
from localtrack.cli.entry import main
from localtrack.errors import FilterSyntaxError


def _make(name: str, summary: dict[str, Any], metric: float | None = None) -> str:
    run = localtrack.init(project="p", name=name, config={"seed": 1})
    if metric is not None:
        run.log({"acc": metric})
    for key, value in summary.items():
        run.summary[key] = value
    run.finish()
    return run.id


@pytest.fixture
def runs(tmp_path: Path) -> dict[str, str]:
    return {
        "high": _make("high", {"best_acc": 0.95, "phase": "final", "val": {"acc": 0.9}, "ok": True}, 0.5),
        "low": _make("low", {"best_acc": 0.42, "phase": "warmup", "ok": False}),
        "nan": _make("nan", {"best_acc": float("nan"), "phase": "final"}),
        "none": _make("none", {}, 0.99),
    }


def _names(table: Any) -> list[str]:
    return [row["name"] for row in table]


def test_filter_compares_summary_numbers_and_text(runs: dict[str, str]) -> None:
    store = localtrack.Store()
    assert _names(store.runs(filter="summary.best_acc > 0.9")) == ["high"]
    assert sorted(_names(store.runs(filter="summary.best_acc < 0.9"))) == ["low"]  # NaN never compares true
    assert sorted(_names(store.runs(filter="summary.phase = 'final'"))) == ["high", "nan"]
    assert sorted(_names(store.runs(filter="summary.phase IN ('warmup', 'x')"))) == ["low"]
    assert sorted(_names(store.runs(filter="summary.phase LIKE 'fin%'"))) == ["high", "nan"]
    assert sorted(_names(store.runs(filter="summary.ok = true"))) == ["high"]
    assert sorted(_names(store.runs(filter="summary.val.acc >= 0.9"))) == ["high"]


def test_missing_summary_keys_behave_like_missing_params(runs: dict[str, str]) -> None:
    store = localtrack.Store()
    assert sorted(_names(store.runs(filter="summary.best_acc IS NULL"))) == ["none"]
    assert sorted(_names(store.runs(filter="summary.phase != 'final'"))) == ["low"]
    assert sorted(_names(store.runs(filter="NOT summary.phase = 'final'"))) == ["low", "none"]
    # A summary key is not a metric of the same name, and a metric is not a summary value.
    assert _names(store.runs(filter="summary.acc > 0")) == []
    assert sorted(_names(store.runs(filter="metrics.acc > 0"))) == ["high", "none"]


def test_order_by_summary_puts_missing_last(runs: dict[str, str]) -> None:
    store = localtrack.Store()
    ordered = _names(store.runs(order_by="summary.best_acc DESC"))
    assert ordered[:2] == ["high", "low"]
    assert set(ordered[2:]) == {"nan", "none"}
    assert _names(store.runs(order_by=["summary.best_acc ASC"]))[:2] == ["low", "high"]


def test_unknown_prefix_error_names_the_summary_family() -> None:
    from localtrack.query.filter_parser import parse_filter

    with pytest.raises(FilterSyntaxError, match=r"summary\."):
        parse_filter("sumary.best_acc > 1")


def test_rows_and_wide_tables_carry_summary_columns(runs: dict[str, str]) -> None:
    table = localtrack.Store().runs(order_by="name")
    by_name = {row["name"]: row for row in table.to_dicts()}
    assert by_name["high"]["summary"] == {"best_acc": 0.95, "phase": "final", "val.acc": 0.9, "ok": True}
    assert by_name["none"]["summary"] == {}
    assert math.isnan(by_name["nan"]["summary"]["best_acc"])

    arrow = table.to_arrow()
    for column in ("summary.best_acc", "summary.phase", "summary.val.acc", "summary.ok"):
        assert column in arrow.column_names
    assert str(arrow.schema.field("summary.best_acc").type) == "double"
    assert str(arrow.schema.field("summary.ok").type) == "bool"

    frame = table.to_pandas().set_index("name")
    assert frame.loc["high", "summary.best_acc"] == 0.95
    assert frame.loc["low", "summary.phase"] == "warmup"
    polars = table.to_polars()
    assert polars.filter(polars["name"] == "low")["summary.best_acc"].to_list() == [0.42]


def test_sql_has_a_summary_view(runs: dict[str, str]) -> None:
    rows = localtrack.Store().sql(
        "SELECT r.name, s.value, s.value_num, s.kind FROM summary s JOIN runs r ON r.id = s.run_id "
        "WHERE s.key = 'best_acc' ORDER BY r.name").to_pylist()
    assert [(r["name"], r["kind"]) for r in rows] == [("high", "float"), ("low", "float"), ("nan", "float")]
    assert rows[0]["value_num"] == 0.95 and rows[2]["value_num"] is None


def test_a_summary_set_later_is_seen_after_the_index_was_built(runs: dict[str, str]) -> None:
    store = localtrack.Store()
    assert _names(store.runs(filter="summary.late = 1")) == []
    run = localtrack.init(project="p", id=runs["none"], resume="must")
    run.summary["late"] = 1
    run.finish()
    assert _names(store.runs(filter="summary.late = 1")) == ["none"]


def _cli(args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(output, "_console", None)
    monkeypatch.setattr(output, "_err_console", None)
    capsys.readouterr()
    code = main(args)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


def test_cli_search_ls_and_export_show_summary_columns(runs: dict[str, str], tmp_path: Path, capsys: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    found = _cli(["search", "-F", "summary.best_acc > 0.9", "--columns", "name,summary.best_acc", "-f", "json"],
                 capsys, monkeypatch)
    assert [{k: r[k] for k in ("name", "summary.best_acc")} for r in json.loads(found)] == [
        {"name": "high", "summary.best_acc": 0.95}]

    listed = _cli(["ls", "--columns", "name,summary.phase", "--format", "csv"], capsys, monkeypatch)
    lines = {r["name"]: r for r in csv.DictReader(io.StringIO(listed))}
    assert lines["low"]["summary.phase"] == "warmup" and lines["none"]["summary.phase"] == ""

    shown = _cli(["ls", "--columns", "name,summary.phase"], capsys, monkeypatch)
    assert "warmup" in shown and "phase" in shown  # headers are the key, as for params

    out = tmp_path / "runs.csv"
    _cli(["export", "--what", "runs", "--filter", "metrics.acc > 0 or summary.phase IS NOT NULL", "--to", str(out)],
         capsys, monkeypatch)
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(out.read_text()))}
    assert rows["high"]["summary.phase"] == "final"
    assert float(rows["high"]["summary.best_acc"]) == 0.95

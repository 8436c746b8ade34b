"""``localtrack search`` and ``localtrack sql``: thin rendering over the read API."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from query_samples import RunSpec

from localtrack.cli import output
from localtrack.cli.entry import main


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    monkeypatch.setattr(output, "_console", None)
    monkeypatch.setattr(output, "_err_console", None)
    capsys.readouterr()
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_query_cli_search_json(sample_root: Path, specs: list[RunSpec], capsys, monkeypatch) -> None:
    code, out, err = run_cli(["search", "--store", str(sample_root), "-F", "metrics.acc > 0.8",
                              "--sort-by", "metrics.acc DESC", "--top", "3", "--format", "json"], capsys, monkeypatch)
    assert code == 0, err
    rows = json.loads(out)
    ranked = sorted((s for s in specs if (s.last("acc") or 0) > 0.8), key=lambda s: -(s.last("acc") or 0))
    assert [r["id"] for r in rows] == [s.id for s in ranked[:3]]
    assert {"id", "name", "status", "params", "metrics", "tags", "created_at"} <= set(rows[0])
    assert rows[0]["metrics"]["acc"]["last"] == ranked[0].last("acc")


def test_query_cli_search_columns(sample_root: Path, specs: list[RunSpec], capsys, monkeypatch) -> None:
    code, out, err = run_cli(["search", "--store", str(sample_root), "--columns", "name,min(metrics.val/loss),params.lr",
                              "-f", "json", "-F", "params.lr = '1e-05'"], capsys, monkeypatch)
    assert code == 0, err
    rows = json.loads(out)
    assert {r["id"] for r in rows} == {s.id for s in specs if s.flat_params().get("lr") == 1e-05}
    assert set(rows[0]) == {"id", "status", "name", "min(metrics.val/loss)", "params.lr"}
    code, out, _ = run_cli(["search", "--store", str(sample_root), "-c", "id,params.bs,tags.sweep", "-f", "csv",
                            "--sort-by", "params.bs DESC", "-n", "4"], capsys, monkeypatch)
    table = list(csv.DictReader(io.StringIO(out)))
    assert list(table[0]) == ["id", "params.bs", "tags.sweep"] and len(table) == 4
    assert [int(r["params.bs"]) for r in table] == sorted((int(r["params.bs"]) for r in table), reverse=True)


def test_query_cli_search_table(sample_root: Path, capsys, monkeypatch) -> None:
    code, out, err = run_cli(["search", "--store", str(sample_root), "-F", "params.model = 'bert' and metrics.acc > 0",
                              "--sort-by", "metrics.acc DESC"], capsys, monkeypatch)
    assert code == 0, err
    assert "metrics.acc" in out and "params.model" in out and "status" in out


def test_query_cli_search_errors_are_one_clear_message(sample_root: Path, capsys, monkeypatch) -> None:
    code, out, err = run_cli(["search", "--store", str(sample_root), "-F", "metrics.acc >> 1"], capsys, monkeypatch)
    assert code == 1 and out == ""
    assert "error:" in err and "^" in err and "Traceback" not in err
    code, _, err = run_cli(["search", "--store", str(sample_root), "--sort-by", "metrics.acc SIDEWAYS"], capsys, monkeypatch)
    assert code == 1 and "expected ASC, DESC" in err
    code, _, err = run_cli(["search", "--store", str(sample_root / "nope")], capsys, monkeypatch)
    assert code == 1 and "not a localtrack store" in err


def test_query_cli_hostile_strings_are_escaped(store_dir: Path, capsys, monkeypatch) -> None:
    from dataclasses import replace

    from query_samples import sample_specs, write_run

    from localtrack.storage.layout import StoreLayout

    spec = replace(sample_specs(1)[0], name="evil\x1b[31mred\u202e", tags={"x": "\x1b[2J"})
    write_run(StoreLayout(store_dir), spec)
    code, out, _ = run_cli(["search", "--store", str(store_dir), "-c", "name,tags.x"], capsys, monkeypatch)
    assert code == 0 and "\x1b" not in out and "\u202e" not in out and "\\x1b" in out
    code, out, _ = run_cli(["sql", "--store", str(store_dir), "select name from runs"], capsys, monkeypatch)
    assert code == 0 and "\x1b" not in out


def test_query_cli_sql(sample_root: Path, specs: list[RunSpec], capsys, monkeypatch) -> None:
    code, out, err = run_cli(["sql", "--store", str(sample_root), "-f", "json",
                              "select status, count(*) as n from runs group by status order by status"], capsys, monkeypatch)
    assert code == 0, err
    counts = {r["status"]: r["n"] for r in json.loads(out)}
    assert counts == {st: sum(s.status == st for s in specs) for st in {s.status for s in specs}}
    code, out, _ = run_cli(["sql", "--store", str(sample_root), "-f", "csv", "select 1 as a, 'x' as b"], capsys, monkeypatch)
    assert out.splitlines() == ["a,b", "1,x"]
    code, _, err = run_cli(["sql", "--store", str(sample_root), "copy runs to 'x.csv'"], capsys, monkeypatch)
    assert code == 1 and "only SELECT" in err and not Path("x.csv").exists()


def test_query_cli_search_subprocess(sample_root: Path, tmp_path: Path) -> None:
    """End to end through the real executable, as users run it."""
    done = subprocess.run([sys.executable, "-c", "from localtrack.cli.entry import main; main()", "search",
                           "--store", str(sample_root), "-F", "status = 'FINISHED'", "-f", "json"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    assert {r["status"] for r in json.loads(done.stdout)} == {"finished"}

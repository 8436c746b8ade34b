"""``wandb.alert`` records are shown by ``show`` (escaped) and kept whole in ``show --format json``."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from cli_views_support import assert_no_raw_controls, invoke

import localtrack


def test_show_lists_the_runs_alerts(tmp_path: Path, capsys, monkeypatch) -> None:
    store = tmp_path / ".localtrack"
    run = localtrack.init(project="a", dir=store, name="alerting")
    run.log({"acc": 0.1})
    localtrack.alert(title="Low accuracy", text="acc 0.1 < 0.5 \x1b[31m[link=x]y[/link]", level="WARN")
    run.finish()
    r = invoke(["show", "alerting", "--store", str(store)], capsys, monkeypatch)
    assert r.code == 0, r.err
    assert "Alerts" in r.out and "WARN  Low accuracy: acc 0.1 < 0.5" in r.out
    assert "[link=x]y[/link]" in r.out  # shown as text, never interpreted
    assert_no_raw_controls(r.out)
    j = invoke(["show", "alerting", "--store", str(store), "--format", "json"], capsys, monkeypatch).json()
    assert [(a["title"], a["level"]) for a in j["alerts"]] == [("Low accuracy", "WARN")]

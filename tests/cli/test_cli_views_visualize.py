"""``localtrack visualize``: terminal plots, and the HTML page rendered in real headless Chromium."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from cli_views_support import assert_no_raw_controls, invoke, visible_width

BRAILLE = {chr(c) for c in range(0x2801, 0x2900)}


def test_terminal_line_plot(sweep, capsys, monkeypatch) -> None:
    store, _ = sweep
    r = invoke(["visualize", "roberta", "distil", "bert", "--store", str(store), "--height", "14"], capsys, monkeypatch, width=90)
    assert r.code == 0, r.err
    assert r.out.splitlines()[0] == "val_accuracy · 3 runs"  # the key metric by default
    assert BRAILLE & set(r.out)
    assert "● roberta" in r.out and "▲ distil" in r.out and "■ bert" in r.out
    assert "step" in r.out
    assert visible_width(r.out) <= 90


def test_terminal_x_axes_and_several_metrics(sweep, capsys, monkeypatch) -> None:
    store, _ = sweep
    r = invoke(["visualize", "r*", "b*", "-m", "val_accuracy,train/loss", "--x", "epoch", "--store", str(store)],
               capsys, monkeypatch)
    assert r.code == 0, r.err
    assert "val_accuracy" in r.out and "train/loss" in r.out and "epoch" in r.out
    r = invoke(["visualize", "roberta", "-m", "val_accuracy", "--x", "time", "--store", str(store)], capsys, monkeypatch)
    assert "seconds since start" in r.out
    r = invoke(["visualize", "roberta", "-m", "val_accuracy", "--x", "inference_time", "-t", "scatter",
                "--store", str(store)], capsys, monkeypatch)
    assert r.code == 0 and "inference_time" in r.out
    r = invoke(["visualize", "roberta", "--x", "nope", "--store", str(store)], capsys, monkeypatch)
    assert r.code == 1 and "no selected run logged a metric 'nope' to use as x" in r.err


def test_terminal_bar_and_parallel(sweep, capsys, monkeypatch) -> None:
    store, _ = sweep
    r = invoke(["visualize", "--filter", "params.epochs = 3", "-t", "bar", "-m", "inference_time", "--store", str(store)],
               capsys, monkeypatch)
    assert r.code == 0 and "█" in r.out and "30.5" in r.out and "12.1" in r.out
    r = invoke(["visualize", "--filter", "params.epochs = 3", "-t", "parallel", "-m", "val_accuracy",
                "--store", str(store)], capsys, monkeypatch)
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    header = next(line for line in lines if line.startswith("run "))
    assert header.split() == ["run", "lr", "model", "val_accuracy"]  # only the params that vary
    assert [line.split()[0] for line in lines[lines.index(header) + 2:]] == ["roberta", "bert", "distil"]
    r = invoke(["visualize", "roberta", "bert", "-t", "parallel", "-m", "val_accuracy,epoch", "--store", str(store)],
               capsys, monkeypatch)
    assert r.code == 2 and "one --metric" in r.err


def test_visualize_mistakes_and_hostile_names(sweep, capsys, monkeypatch) -> None:
    store, ids = sweep
    r = invoke(["visualize", "--store", str(store)], capsys, monkeypatch)
    assert r.code == 1 and "give RUN arguments" in r.err
    r = invoke(["visualize", "roberta", "-m", "nope", "--store", str(store)], capsys, monkeypatch)
    assert r.code == 2 and "no selected run logged 'nope'" in r.err
    r = invoke(["visualize", ids["hostile"], "roberta", "-m", "val_accuracy", "--store", str(store)], capsys, monkeypatch)
    assert r.code == 0
    assert_no_raw_controls(r.out)


@pytest.mark.browser
@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("lines", ["roberta", "distil", "bert", "resnet"]),
        ("epoch", ["--filter", "params.epochs = 3", "-m", "val_accuracy,inference_time", "--x", "epoch"]),
        ("parallel", ["--filter", "params.epochs = 3", "-t", "parallel"]),
        ("bar", ["*", "-t", "bar", "-m", "val_accuracy"]),
    ],
)
def test_html_draws_offline_in_chromium(sweep, browser, tmp_path, capsys, monkeypatch, name, args) -> None:
    store, _ = sweep
    page_file = tmp_path / f"{name}.html"
    r = invoke(["visualize", *args, "--html", str(page_file), "--store", str(store)], capsys, monkeypatch)
    assert r.code == 0, r.err
    assert r.out == "" and r.err.startswith(f"Wrote {page_file}")
    html = page_file.read_text(encoding="utf-8")
    assert "<script src" not in html and "<link rel=\"stylesheet\"" not in html  # everything inline
    page = browser.new_page(width=1100, height=800)
    page.navigate(page_file.as_uri())
    page.settle(0.2)
    state = page.evaluate("window.__localtrack")
    assert state["ready"] is True and state["errors"] == []
    assert state["drawn"] > 0
    assert page.console_errors == []
    assert page.foreign_requests() == []
    assert page.evaluate("window.__xss === undefined")
    shots = Path(os.environ.get("LT_SCREENSHOT_DIR", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    assert page.screenshot(shots / f"cli-visualize-{name}.png").read_bytes()[:4] == b"\x89PNG"
    if name == "lines":  # the hostile-free legend names every run
        legend = page.evaluate("Array.from(document.querySelectorAll('.lt-legend .lbl')).map(e => e.textContent)")
        assert legend == ["roberta", "distil", "bert", "resnet"]

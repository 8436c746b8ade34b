"""``localtrack sweep create|agent|show`` in-process, with trials run as real commands."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from localtrack.cli import output
from localtrack.cli.entry import main

SCRIPT = textwrap.dedent(
    """
    import argparse, localtrack
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=1.0)
    parser.add_argument("--opt", default="none")
    args = parser.parse_args()
    run = localtrack.init(config={"lr_seen_in_argv": args.lr})
    assert run.config["lr"] == args.lr and run.config["opt"] == args.opt, (dict(run.config), args)
    for step in range(3):
        run.log({"val/loss": args.lr * (2 if args.opt == "sgd" else 1) / (step + 1)})
    run.finish()
    """
)
CONFIG = """
method: grid
metric: {name: val/loss, goal: minimize}
parameters:
  lr: {values: [0.5, 0.1]}
  opt: {values: [adam, sgd]}
"""


def _cli(args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    monkeypatch.setattr(output, "_console", None)
    monkeypatch.setattr(output, "_err_console", None)
    capsys.readouterr()
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_create_agent_show_and_parallel_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALTRACK_SYSTEM_METRICS", "0")
    (tmp_path / "train.py").write_text(SCRIPT)
    (tmp_path / "sweep.yaml").write_text(CONFIG)
    assert main(["init"]) == 0
    code, out, _ = _cli(["sweep", "create", "sweep.yaml"], capsys, monkeypatch)
    assert code == 0
    sweep_id = out.split()[0]
    assert sweep_id.startswith("sweep-")
    code, _, err = _cli(["sweep", "agent", sweep_id, "--count", "3", "--", sys.executable, "train.py", "--lr", "9"],
                        capsys, monkeypatch)
    assert code == 0, err
    assert err.count("trial grid-") == 3
    code, out, _ = _cli(["sweep", "show", sweep_id[:10], "--format", "json"], capsys, monkeypatch)
    report = json.loads(out)
    assert report["counts"] == {"finished": 3}
    assert [t["params"] for t in report["trials"]] == [
        {"lr": 0.5, "opt": "adam"}, {"lr": 0.5, "opt": "sgd"}, {"lr": 0.1, "opt": "adam"}]
    assert report["best"]["params"] == {"lr": 0.1, "opt": "adam"}
    assert report["best"]["value"] == pytest.approx(0.1 / 3)
    assert set(report["importance"]) == {"lr", "opt"}
    code, out, _ = _cli(["sweep", "show", sweep_id], capsys, monkeypatch)
    assert "best:" in out and "importance |spearman|" in out and "3 finished" in out
    code, out, _ = _cli(["visualize", "--plot-type", "parallel", "--filter", f"group = '{sweep_id}'",
                         "--metric", "val/loss"], capsys, monkeypatch)
    assert code == 0 and "3 runs" in out
    code, out, _ = _cli(["sweep", "show", "--format", "json"], capsys, monkeypatch)
    assert [s["id"] for s in json.loads(out)] == [sweep_id]


def test_bad_config_and_unknown_sweep_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bad.yaml").write_text("method: grid\nparameters: {lr: {min: 0.1, max: 1.0}}\n")
    assert main(["init"]) == 0
    code, _, err = _cli(["sweep", "create", "bad.yaml"], capsys, monkeypatch)
    assert code == 1 and "grid needs values" in err and "Traceback" not in err
    code, _, err = _cli(["sweep", "show", "sweep-zzzzzzzz"], capsys, monkeypatch)
    assert code == 1 and "no sweep 'sweep-zzzzzzzz'" in err
    code, _, err = _cli(["sweep", "agent", "sweep-zzzzzzzz", "--shard", "3/2", "--", "true"], capsys, monkeypatch)
    assert code == 2 and "K/N" in err

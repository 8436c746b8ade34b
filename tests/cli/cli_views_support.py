"""Shared by the CLI view tests: a small realistic store, and running the CLI in-process.

The store is written through the public Python API (the way training scripts write it);
``tamper`` edits a manifest directly, as a hostile git commit could.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import localtrack
from localtrack.cli import output
from localtrack.cli.entry import main
from localtrack.storage.layout import StoreLayout
from localtrack.store.manage import edit_manifest

HOSTILE_NAME = "evil\x1b[31mred\u202egnp.exe"

SWEEP = {
    # name: (config, val_accuracy per step, inference_time per step)
    "roberta": ({"model": "roberta", "lr": 1e-05, "epochs": 3, "optim": {"name": "adam", "beta": 0.9}},
                [0.80, 0.87, 0.91], [30.0, 31.0, 30.5]),
    "distil": ({"model": "distil", "lr": 1e-05, "epochs": 3, "optim": {"name": "adam", "beta": 0.9}},
               [0.78, 0.84, 0.88], [12.0, 12.5, 12.1]),
    "bert": ({"model": "bert", "lr": 3e-05, "epochs": 3, "optim": {"name": "adam", "beta": 0.9}},
             [0.79, 0.86, 0.90], [21.0, 20.0, 20.4]),
}


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def git_project(folder: Path) -> Path:
    """A git repository with one commit, so runs record a git state wherever the tests run."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train.py").write_text("print('train')\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    for args in (["init", "-q"], ["add", "train.py"], ["commit", "-q", "-m", "init"]):
        subprocess.run([*git, *args], cwd=folder, check=True, capture_output=True)
    return folder


def write_sweep(store: Path, tmp: Path) -> dict[str, str]:
    """Three finished runs (one with a checkpoint artifact), one failed, one with a hostile name."""
    previous = Path.cwd()
    os.chdir(git_project(tmp / "project"))
    try:
        return _write_sweep(store, tmp)
    finally:
        os.chdir(previous)


def _write_sweep(store: Path, tmp: Path) -> dict[str, str]:
    ids: dict[str, str] = {}
    checkpoint = tmp / "model.ckpt"
    checkpoint.write_bytes(b"weights")
    for name, (config, accs, times) in SWEEP.items():
        run = localtrack.init(dir=store, project="nlp", name=name, config=config, tags={"sweep": "s1"})
        for step, (acc, latency) in enumerate(zip(accs, times, strict=True)):
            run.log({"val_accuracy": acc, "inference_time": latency, "train/loss": 1.0 - acc, "epoch": step}, step=step)
        if name == "roberta":
            run.log_artifact(checkpoint, name="roberta-ckpt", type="checkpoint")
        run.finish()
        ids[name] = run.id
    run = localtrack.init(dir=store, project="vision", name="resnet", config={"model": "resnet", "lr": 0.1})
    run.log({"val_accuracy": 0.5, "train/loss": 2.0}, step=0)
    run.log({"train/loss": 1.5}, step=1)
    run.finish(exit_code=1)
    ids["resnet"] = run.id
    run = localtrack.init(dir=store, project="misc", name="placeholder", config={"model": "x"})
    run.log({"val_accuracy": 0.1}, step=0)
    run.finish()
    ids["hostile"] = run.id
    tamper(store, run.id, name=HOSTILE_NAME, notes="line one\nline two \x1b[2J")
    return ids


@contextlib.contextmanager
def one_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``time.time`` frozen for two commands whose outputs are compared: each would otherwise
    print a run's age ("12 s ago", a running run's duration) at its own second."""
    now = time.time()
    with monkeypatch.context() as patch:
        patch.setattr(time, "time", lambda: now)
        yield


def tamper(store: Path, run_id: str, **fields: Any) -> None:
    """Change manifest fields directly (as a git commit could), bypassing name validation."""
    edit_manifest(StoreLayout(store), run_id, lambda m: m.update(fields))


def copy_store(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("index"))
    return target


def invoke(
    args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, width: int = 120
) -> Result:
    """Run the CLI in this process at a fixed width with colour off; capture its output."""
    monkeypatch.setenv("COLUMNS", str(width))
    monkeypatch.setenv("LINES", "40")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr(output, "_console", None)
    monkeypatch.setattr(output, "_err_console", None)
    capsys.readouterr()
    code = main(args)
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def plain_json(value: Any) -> Any:
    """What a value looks like after a trip through ``--format json``."""
    return json.loads(json.dumps(output.jsonable(value)))


def visible_width(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


ANSI = re.compile("\x1b")


def assert_no_raw_controls(text: str) -> None:
    """No escape byte or bidi override reaches the terminal."""
    assert not ANSI.search(text), repr(text[:200])
    assert "\u202e" not in text


def env_without_store() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("LOCALTRACK_")}

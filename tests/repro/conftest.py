"""A real git repository with a real (tiny, deterministic, pure-Python) training script."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

TRAIN = '''\
import argparse
import sys

import localtrack

TARGET = 3.0  # the uncommitted edit in the tests changes this line

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--exit-code", type=int, default=0)
parser.add_argument("--name", default=None)
args = parser.parse_args()
if args.epochs < 0:
    raise SystemExit("epochs must be >= 0")

run = localtrack.init(project="toy", name=args.name, config={"lr": args.lr, "epochs": args.epochs}, tags=["from-script"])
lr = run.config["lr"]  # what reproduce --set overrides
w = 0.0
for epoch in range(run.config["epochs"]):
    w += lr * (TARGET - w)
    loss = (TARGET - w) ** 2
    print(f"epoch {epoch} loss {loss:.6f}", flush=True)
    run.log({"loss": loss, "w": w})
print("training done", file=sys.stderr)
run.finish()
sys.exit(args.exit_code)
'''

PLAIN = '''\
import sys
import time

print("plain stdout line", flush=True)
print("plain stderr line", file=sys.stderr, flush=True)
if "--sleep" in sys.argv:
    print("ready", flush=True)
    time.sleep(60)
code = int(sys.argv[sys.argv.index("--code") + 1]) if "--code" in sys.argv else 0
sys.exit(code)
'''


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` with a throwaway identity (the user's git config is isolated)."""
    proc = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout


@dataclass
class Repo:
    path: Path
    store: Path

    def git(self, *args: str) -> str:
        return git(self.path, *args)

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def status(self) -> str:
        return self.git("status", "--porcelain", "--untracked-files=all")

    def commit(self, message: str) -> str:
        self.git("commit", "-q", "-a", "-m", message)
        return self.head()

    def edit(self, name: str, old: str, new: str) -> None:
        path = self.path / name
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new))

    def runs(self) -> list[dict[str, Any]]:
        """Every run's manifest, oldest first."""
        folders = sorted((self.store / "runs").iterdir()) if (self.store / "runs").exists() else []
        return [json.loads((f / "manifest.json").read_text()) for f in folders if not f.name.startswith(".")]


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    """A committed repo holding train.py and plain.py; the store lives (git-ignored) inside it."""
    from localtrack.store.project import create_store

    path = tmp_path / "repo"
    path.mkdir()
    (path / "train.py").write_text(TRAIN)
    (path / "plain.py").write_text(PLAIN)
    (path / ".gitignore").write_text(".localtrack/\n")
    git(path, "init", "-q", "-b", "main")
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "initial")
    store = path / ".localtrack"
    create_store(store)
    monkeypatch.chdir(path)
    return Repo(path, store)


@pytest.fixture
def lt(capfd: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run the CLI in this process; returns (exit code, stdout, stderr)."""
    from localtrack.cli.entry import main

    def invoke(*args: str) -> tuple[int, str, str]:
        capfd.readouterr()
        code = main(list(args))
        sys.stdout.flush()
        sys.stderr.flush()
        out, err = capfd.readouterr()
        return code, out, err

    return invoke

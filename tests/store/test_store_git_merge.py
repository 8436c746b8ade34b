"""RELIABILITY "faults survived" 7: two clones each add runs, then merge: no conflict, union seen."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import localtrack

GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@t",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@t",
}

TRAIN = textwrap.dedent(
    """
    import sys, localtrack
    with localtrack.init(project="p", name=sys.argv[1], config={"lr": float(sys.argv[2])}) as run:
        for step in range(20):
            run.log({"loss": 1.0 / (step + 1) * float(sys.argv[2])})
        run.log_artifact("train.py", type="code")
    """
)


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return done.stdout


def _train(cwd: Path, name: str, lr: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALTRACK_")}
    subprocess.run([sys.executable, "train.py", name, lr], cwd=cwd, env=env, check=True, capture_output=True)


def test_two_clones_add_runs_and_merge_without_conflict(tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    origin.mkdir()
    _git(origin, "init", "-q", "-b", "main")
    (origin / "train.py").write_text(TRAIN)
    _train(origin, "base", "0.1")
    _git(origin, "add", "-A")
    _git(origin, "commit", "-qm", "first run")
    committed = _git(origin, "ls-files")
    assert ".localtrack/runs/" in committed
    assert "index/" not in committed and ".lock" not in committed, "derived files must be git-ignored"

    a, b = tmp_path / "a", tmp_path / "b"
    _git(tmp_path, "clone", "-q", str(origin), str(a))
    _git(tmp_path, "clone", "-q", str(origin), str(b))
    localtrack.Store(a / ".localtrack").runs()  # clone a builds its index before the merge
    _train(a, "from-a", "0.2")
    _train(b, "from-b", "0.3")
    _train(b, "from-b-2", "0.4")
    for clone in (a, b):
        _git(clone, "add", "-A")
        _git(clone, "commit", "-qm", f"runs from {clone.name}")
    _git(a, "pull", "-q", "--no-rebase", "--no-edit", str(b), "main")  # a true merge; raises on a conflict

    assert _git(a, "status", "--porcelain") == ""
    store = localtrack.Store(a / ".localtrack")
    rows = store.runs(order_by="attributes.run_name ASC").to_dicts()
    assert [r["name"] for r in rows] == ["base", "from-a", "from-b", "from-b-2"]
    assert {r["status"] for r in rows} == {"finished"}
    assert all(r["metrics"]["loss"]["count"] == 20 for r in rows)
    # The same train.py bytes were logged by every run: one object, shared across the clones.
    objects = [p for p in (a / ".localtrack" / "objects").rglob("*") if p.is_file()]
    hashes = {art["hash"] for r in rows for art in store.run(r["id"]).artifacts if art["name"] == "train.py"}
    assert len(hashes) == 1 and any(p.name in hashes for p in objects)

"""The store's own files never make the user's tree look dirty.

A first ``localtrack.init()`` in a clean repository creates ``.localtrack/`` (untracked, unless
the user thought to ignore it); the run then recorded ``dirty: true`` and a ``git-untracked.txt``
full of its own manifests. Committed stores (runs shared through git) changed under the
user's feet the same way. The store is left out of ``dirty``, ``git.diff`` and
``git-untracked.txt`` whatever it is called, tracked or not, as long as git sees it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import localtrack
from localtrack.capture import dirty_state
from localtrack.cli.entry import main
from localtrack.storage.layout import StoreLayout
from localtrack.store.reader import load_run
from localtrack.store.world_artifacts import DIFF_NAME, UNTRACKED_NAME


def _fill_store(store: Path) -> None:
    (store / "runs" / "r1").mkdir(parents=True)
    (store / "runs" / "r1" / "manifest.json").write_text("{}")
    (store / "FORMAT").write_text("1\n")


def _artifact(store: Path, run_id: str, name: str) -> bytes | None:
    """The bytes of the run's capture artifact ``name``, or None when it was not recorded."""
    record = load_run(StoreLayout(store), run_id)
    run = localtrack.Store(store).run(record.id)
    names = {a["name"] for a in record.manifest.get("artifacts") or []}
    return run.artifact(name).read_bytes() if name in names else None


def test_untracked_store_alone_is_clean(repo: Path, commit) -> None:
    commit(repo, "train.py", "print(1)\n")
    _fill_store(repo / ".localtrack")
    assert dirty_state(repo)["dirty"] is True  # what git itself says
    state = dirty_state(repo, exclude=[repo / ".localtrack"])
    assert state == {"dirty": False, "diff": b"", "untracked": [], "error": None}


def test_user_changes_still_show_without_the_store(repo: Path, commit) -> None:
    commit(repo, "train.py", "print(1)\n")
    _fill_store(repo / ".localtrack")
    (repo / "train.py").write_text("print(2)\n")
    (repo / "notes.md").write_text("n")
    state = dirty_state(repo, exclude=[repo / ".localtrack"])
    assert state["dirty"] is True
    assert state["untracked"] == ["notes.md"]
    assert b"train.py" in state["diff"] and b".localtrack" not in state["diff"]


def test_committed_store_that_changed_is_not_in_the_diff(repo: Path, commit, git) -> None:
    commit(repo, "train.py", "print(1)\n")
    store = repo / "exp" / "store"
    _fill_store(store)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "share runs")
    (store / "runs" / "r1" / "manifest.json").write_text('{"status": "finished"}')
    (store / "runs" / "r2").mkdir()
    (store / "runs" / "r2" / "manifest.json").write_text("{}")
    git(repo, "add", "exp/store/runs/r2/manifest.json")  # staged, too
    state = dirty_state(repo, exclude=[store])
    assert state == {"dirty": False, "diff": b"", "untracked": [], "error": None}


def test_store_name_with_glob_characters_hides_only_itself(repo: Path, commit) -> None:
    commit(repo, "train.py", "print(1)\n")
    store = repo / "[ab]*"
    _fill_store(store)
    (repo / "a").write_text("user file a glob would match")
    state = dirty_state(repo, exclude=[store])
    assert state["untracked"] == ["a"] and state["dirty"] is True


def test_store_outside_the_repo_or_the_repo_itself_changes_nothing(repo: Path, commit, tmp_path: Path) -> None:
    commit(repo, "train.py", "print(1)\n")
    (repo / "notes.md").write_text("n")
    plain = dirty_state(repo)
    assert dirty_state(repo, exclude=[tmp_path / "elsewhere", repo, repo.parent]) == plain


def test_subdirectory_root_and_symlinked_store(repo: Path, commit) -> None:
    commit(repo, "sub/a.txt", "a")
    real = repo / "real-store"
    _fill_store(real)
    os.symlink(real, repo / ".localtrack")
    state = dirty_state(repo / "sub", exclude=[repo / ".localtrack"])
    assert state == {"dirty": False, "diff": b"", "untracked": [], "error": None}


def test_first_init_in_a_clean_repo_records_a_clean_tree(repo: Path, commit, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a new user does: commit their script, run it; the store appears untracked."""
    commit(repo, "train.py", "print(1)\n")
    monkeypatch.chdir(repo)
    for _ in range(2):  # the second run sees the first one's files in the store
        run = localtrack.init(project="p")
        run.log({"loss": 1.0})
        run.finish()
    manifest = load_run(StoreLayout(repo / ".localtrack"), run.id).manifest
    assert manifest["git"]["dirty"] is False
    assert _artifact(repo / ".localtrack", run.id, DIFF_NAME) is None
    assert _artifact(repo / ".localtrack", run.id, UNTRACKED_NAME) is None


def test_store_named_by_localtrack_dir_inside_the_repo(repo: Path, commit, monkeypatch: pytest.MonkeyPatch) -> None:
    commit(repo, "train.py", "print(1)\n")
    (repo / "train.py").write_text("print(2)\n")
    (repo / "data.csv").write_text("x\n")
    store = repo / "tracking"
    monkeypatch.setenv("LOCALTRACK_DIR", str(store))
    monkeypatch.chdir(repo)
    run = localtrack.init(project="p")
    run.finish()
    manifest = load_run(StoreLayout(store), run.id).manifest
    assert manifest["git"]["dirty"] is True  # the user's edit and data file
    assert _artifact(store, run.id, UNTRACKED_NAME) == b"data.csv\n"
    diff = _artifact(store, run.id, DIFF_NAME)
    assert diff is not None and b"train.py" in diff and b"tracking" not in diff


def test_exec_in_a_clean_repo_records_a_clean_tree(repo: Path, commit, monkeypatch: pytest.MonkeyPatch, capfd) -> None:
    import sys

    commit(repo, "job.py", "print('hi')\n")
    monkeypatch.chdir(repo)
    assert main(["init"]) == 0
    assert main(["exec", "--quiet", "--", sys.executable, "job.py"]) == 0
    assert main(["exec", "--quiet", "--", sys.executable, "job.py"]) == 0
    runs = sorted((repo / ".localtrack" / "runs").iterdir())
    manifest = load_run(StoreLayout(repo / ".localtrack"), runs[-1].name).manifest
    assert manifest["git"]["dirty"] is False
    assert _artifact(repo / ".localtrack", manifest["id"], UNTRACKED_NAME) is None

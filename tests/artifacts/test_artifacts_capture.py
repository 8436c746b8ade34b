"""The run's own capture as artifacts: package list, git diff and untracked list, stored once."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from artifact_helpers import manifest, object_files

import localtrack
from localtrack.capture import freeze_text
from localtrack.storage.layout import StoreLayout
from localtrack.store.artifacts import artifact_handle
from localtrack.store.world_artifacts import (
    CODE_TYPE,
    DIFF_NAME,
    PACKAGES_NAME,
    PACKAGES_TYPE,
    UNTRACKED_NAME,
)

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def dirty_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var, value in (("NAME", "Test"), ("EMAIL", "t@example.com")):
        monkeypatch.setenv(f"GIT_AUTHOR_{var}", value)
        monkeypatch.setenv(f"GIT_COMMITTER_{var}", value)
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "train.py").write_text("lr = 0.1\n")
    (repo / ".gitignore").write_text(".localtrack/\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "c")
    (repo / "train.py").write_text("lr = 0.2\n")
    (repo / "notes.txt").write_text("scratch\n")
    monkeypatch.chdir(repo)
    return repo


def test_capture_artifacts_are_stored_once_for_all_runs(dirty_repo: Path) -> None:
    store = dirty_repo / ".localtrack"
    runs = [localtrack.init(dir=store, project="p") for _ in range(3)]
    for run in runs:
        run.finish()
    layout = StoreLayout(store)
    digests = set()
    for run in runs:
        records = {r["name"]: r for r in manifest(layout, run.id)["artifacts"]}
        assert records[PACKAGES_NAME]["type"] == PACKAGES_TYPE
        assert records[DIFF_NAME]["type"] == records[UNTRACKED_NAME]["type"] == CODE_TYPE
        assert all(r["version"] == 1 for r in records.values())
        digests.add(tuple(sorted(r["hash"] for r in records.values())))
    assert len(digests) == 1
    assert len(object_files(layout)) == 3  # one object each, shared by every run
    handle = artifact_handle(layout, runs[0].id, DIFF_NAME)
    assert b"-lr = 0.1\n+lr = 0.2" in handle.read_bytes()
    assert artifact_handle(layout, runs[0].id, UNTRACKED_NAME).read_bytes() == b"notes.txt\n"
    assert artifact_handle(layout, runs[0].id, PACKAGES_NAME).read_bytes().decode() == freeze_text()


def test_clean_tree_records_no_diff(dirty_repo: Path) -> None:
    _git(dirty_repo, "add", ".")
    _git(dirty_repo, "commit", "-q", "-m", "clean")
    store = dirty_repo / ".localtrack"
    run = localtrack.init(dir=store, project="p")
    run.finish()
    names = {r["name"] for r in manifest(StoreLayout(store), run.id)["artifacts"]}
    assert names == {PACKAGES_NAME}

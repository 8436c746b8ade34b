"""Real git repositories in tmp_path, isolated from the user's and system git config."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from localtrack.capture import environment, git_state, packages

GIT = shutil.which("git")
requires_git = pytest.mark.skipif(GIT is None, reason="git is not installed")


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    home = tmp_path / "_home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "test@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "test@example.com")
    git_state._clear_cache()
    packages._clear_cache()
    environment._clear_cache()


GitRunner = Callable[..., str]


@pytest.fixture
def git() -> GitRunner:
    """``git(cwd, *args)`` runs git and returns its stripped stdout."""

    def run(cwd: Path, *args: str) -> str:
        done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
        return done.stdout.strip()

    return run


@pytest.fixture
def repo(tmp_path: Path, git: GitRunner) -> Path:
    """An empty repository (no commits) on branch ``main``."""
    if GIT is None:
        pytest.skip("git is not installed")
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    return root


@pytest.fixture
def commit(git: GitRunner) -> Callable[..., str]:
    """``commit(root, name, text)``: write, add and commit one file; returns the new HEAD."""

    def run(root: Path, name: str, text: str, message: str = "c") -> str:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        git(root, "add", name)
        git(root, "commit", "-q", "-m", message)
        return git(root, "rev-parse", "HEAD")

    return run

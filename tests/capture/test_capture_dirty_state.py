"""dirty_state runs real git, must never hang, raise, or touch the repository."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from localtrack.capture import dirty_state

KEYS = {"dirty", "diff", "untracked", "error"}


def test_clean_repo(repo: Path, commit) -> None:
    commit(repo, "a.txt", "1\n")
    assert dirty_state(repo) == {"dirty": False, "diff": b"", "untracked": [], "error": None}


def test_empty_repo_is_clean(repo: Path) -> None:
    assert dirty_state(repo) == {"dirty": False, "diff": b"", "untracked": [], "error": None}


def test_unstaged_and_staged_changes_in_diff(repo: Path, git, commit) -> None:
    commit(repo, "a.txt", "original\n")
    commit(repo, "b.txt", "bee\n")
    (repo / "a.txt").write_text("UNSTAGED CHANGE\n")
    (repo / "b.txt").write_text("STAGED CHANGE\n")
    git(repo, "add", "b.txt")
    (repo / "new.txt").write_text("STAGED NEW FILE\n")
    git(repo, "add", "new.txt")
    state = dirty_state(repo)
    assert state["error"] is None
    assert state["dirty"] is True
    assert isinstance(state["diff"], bytes)
    for text in (b"UNSTAGED CHANGE", b"STAGED CHANGE", b"STAGED NEW FILE", b"-original"):
        assert text in state["diff"]
    assert state["untracked"] == []


def test_diff_applies_back(repo: Path, git, commit, tmp_path: Path) -> None:
    commit(repo, "a.txt", "one\n")
    commit(repo, "bin.dat", "")
    (repo / "a.txt").write_text("two\n")
    (repo / "bin.dat").write_bytes(bytes(range(256)) * 4)
    git(repo, "rm", "-q", "--cached", "a.txt")
    git(repo, "add", "a.txt", "bin.dat")
    (repo / "a.txt").write_text("three\n")
    diff = dirty_state(repo)["diff"]
    assert b"GIT binary patch" in diff
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    (clone / "p.diff").write_bytes(diff)
    git(clone, "apply", "p.diff")
    assert (clone / "a.txt").read_text() == "three\n"
    assert (clone / "bin.dat").read_bytes() == bytes(range(256)) * 4


def test_rename_is_tracked_change(repo: Path, git, commit) -> None:
    commit(repo, "old.txt", "content\n" * 20)
    git(repo, "mv", "old.txt", "new name.txt")
    state = dirty_state(repo)
    assert state["dirty"] is True and state["untracked"] == []
    assert b"new name.txt" in state["diff"]


def test_unborn_branch_diff_against_empty_tree(repo: Path, git) -> None:
    (repo / "first.txt").write_text("FIRST\n")
    git(repo, "add", "first.txt")
    state = dirty_state(repo)
    assert state["error"] is None and state["dirty"] is True
    assert b"+FIRST" in state["diff"]


def test_untracked_listed_and_ignored_not(repo: Path, commit) -> None:
    commit(repo, ".gitignore", "*.log\nbuild/\n")
    (repo / "notes.md").write_text("n")
    (repo / "pkg").mkdir()
    (repo / "pkg" / "mod.py").write_text("m")
    (repo / "pkg" / "deep").mkdir()
    (repo / "pkg" / "deep" / "x.py").write_text("x")
    (repo / "run.log").write_text("ignored")
    (repo / "build").mkdir()
    (repo / "build" / "out.bin").write_text("ignored")
    (repo / "ünïcode name.txt").write_text("u")
    state = dirty_state(repo)
    assert state["dirty"] is True
    assert state["diff"] == b""
    assert sorted(state["untracked"]) == sorted(
        ["notes.md", "pkg/mod.py", "pkg/deep/x.py", "ünïcode name.txt"]
    )


def test_subdirectory_root_still_reports_repo_relative_paths(repo: Path, commit) -> None:
    commit(repo, "sub/a.txt", "a")
    (repo / "top.txt").write_text("t")
    assert dirty_state(repo / "sub")["untracked"] == ["top.txt"]


def test_does_not_touch_index_or_repo(repo: Path, commit) -> None:
    commit(repo, "a.txt", "1\n")
    (repo / "a.txt").write_text("2\n")
    index = repo / ".git" / "index"
    os.utime(index, ns=(1_000_000_000, 1_000_000_000))  # stale stat info invites a refresh
    before = {p: p.stat().st_mtime_ns for p in (repo / ".git").rglob("*") if p.is_file()}
    dirty_state(repo)
    after = {p: p.stat().st_mtime_ns for p in (repo / ".git").rglob("*") if p.is_file()}
    assert before == after


def test_git_missing(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    state = dirty_state(repo)
    assert state["dirty"] is None
    assert state["diff"] == b"" and state["untracked"] == []
    assert isinstance(state["error"], str) and state["error"]


def test_not_a_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    state = dirty_state(plain)
    assert set(state) == KEYS
    assert state["dirty"] is None and "failed" in state["error"]


def test_missing_directory(tmp_path: Path) -> None:
    state = dirty_state(tmp_path / "does-not-exist")
    assert state["dirty"] is None and state["error"]


def test_timeout_does_not_hang(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    fake = fake_bin / "git"
    # A git that hangs and leaves a grandchild holding the pipes open.
    sleep = shutil.which("sleep")
    if sleep is None or os.name != "posix":
        pytest.skip("needs a POSIX shell and sleep")
    fake.write_text(f"#!/bin/sh\n{sleep} 30 &\n{sleep} 30\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake_bin))
    t0 = time.monotonic()
    state = dirty_state(repo, timeout=0.5)
    assert time.monotonic() - t0 < 5
    assert state["dirty"] is None and "timed out" in state["error"]


def test_zero_timeout(repo: Path) -> None:
    state = dirty_state(repo, timeout=0)
    assert state["dirty"] is None and "timed out" in state["error"]

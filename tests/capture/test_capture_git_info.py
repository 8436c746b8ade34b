"""read_git_info / find_git_root against real repositories, read without a subprocess."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from localtrack.capture import read_git_info
from localtrack.capture.git_state import find_git_root


def test_not_a_repo(tmp_path: Path) -> None:
    plain = tmp_path / "plain" / "sub"
    plain.mkdir(parents=True)
    # tmp_path could sit inside a repo on odd machines; only assert when it does not.
    if find_git_root(plain) is None:
        assert read_git_info(plain) is None


def test_fresh_repo_has_branch_but_no_commit(repo: Path) -> None:
    info = read_git_info(repo)
    assert info == {"commit": None, "branch": "main", "remote": None, "root": str(repo)}


def test_commit_and_subdirectory(repo: Path, git, commit) -> None:
    sha = commit(repo, "src/a.py", "x = 1\n")
    info = read_git_info(repo / "src")
    assert info is not None
    assert info["commit"] == sha
    assert info["branch"] == "main"
    assert info["root"] == str(repo)
    assert find_git_root(repo / "src") == repo


def test_commit_made_mid_process_is_seen(repo: Path, commit) -> None:
    assert read_git_info(repo)["commit"] is None  # cached now
    first = commit(repo, "a.txt", "1")
    assert read_git_info(repo)["commit"] == first
    second = commit(repo, "a.txt", "2")
    assert read_git_info(repo)["commit"] == second


def test_branch_switch(repo: Path, git, commit) -> None:
    base = commit(repo, "a.txt", "1")
    git(repo, "checkout", "-q", "-b", "feature/x")
    info = read_git_info(repo)
    assert info["branch"] == "feature/x" and info["commit"] == base
    new = commit(repo, "b.txt", "2")
    assert read_git_info(repo)["commit"] == new
    git(repo, "checkout", "-q", "main")
    assert read_git_info(repo) == {**info, "branch": "main", "commit": base}


def test_detached_head(repo: Path, git, commit) -> None:
    first = commit(repo, "a.txt", "1")
    commit(repo, "a.txt", "2")
    git(repo, "checkout", "-q", "--detach", first)
    info = read_git_info(repo)
    assert info["commit"] == first
    assert info["branch"] is None


def test_packed_refs(repo: Path, git, commit) -> None:
    sha = commit(repo, "a.txt", "1")
    git(repo, "pack-refs", "--all")
    assert not (repo / ".git" / "refs" / "heads" / "main").exists()
    assert read_git_info(repo)["commit"] == sha
    # A new commit writes a loose ref that shadows the packed one.
    newer = commit(repo, "a.txt", "2")
    assert read_git_info(repo)["commit"] == newer


def test_worktree(repo: Path, git, commit, tmp_path: Path) -> None:
    main_sha = commit(repo, "a.txt", "1")
    wt = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", "-b", "side", str(wt))
    assert (wt / ".git").is_file()
    info = read_git_info(wt)
    assert info == {"commit": main_sha, "branch": "side", "remote": None, "root": str(wt)}
    side_sha = commit(wt, "b.txt", "2")
    assert read_git_info(wt)["commit"] == side_sha
    assert read_git_info(repo)["commit"] == main_sha
    git(repo, "pack-refs", "--all")
    assert read_git_info(wt)["commit"] == side_sha


def test_worktree_detached(repo: Path, git, commit, tmp_path: Path) -> None:
    sha = commit(repo, "a.txt", "1")
    wt = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", "--detach", str(wt), sha)
    assert read_git_info(wt) == {"commit": sha, "branch": None, "remote": None, "root": str(wt)}


def test_submodule_style_gitdir_file(repo: Path, commit, tmp_path: Path) -> None:
    sha = commit(repo, "a.txt", "1")
    moved = tmp_path / "elsewhere.git"
    (repo / ".git").rename(moved)
    (repo / ".git").write_text(f"gitdir: {moved}\n")
    assert read_git_info(repo) == {
        "commit": sha,
        "branch": "main",
        "remote": None,
        "root": str(repo),
    }


def test_relative_gitdir_file(repo: Path, commit) -> None:
    sha = commit(repo, "a.txt", "1")
    (repo / ".git").rename(repo.parent / "modules_x")
    (repo / ".git").write_text("gitdir: ../modules_x\n")
    assert read_git_info(repo)["commit"] == sha


def test_dot_git_file_without_gitdir_is_not_a_repo(tmp_path: Path) -> None:
    d = tmp_path / "x"
    d.mkdir()
    (d / ".git").write_text("garbage\n")
    if find_git_root(tmp_path) is None:
        assert find_git_root(d) is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:tok@host/x.git", "https://host/x.git"),
        ("https://tok@host/x", "https://host/x"),
        ("ssh://git@host/x", "ssh://git@host/x"),
        ("git@github.com:org/repo.git", "git@github.com:org/repo.git"),
    ],
)
def test_remote_is_stripped(repo: Path, git, url: str, expected: str) -> None:
    git(repo, "remote", "add", "origin", url)
    assert read_git_info(repo)["remote"] == expected


def test_remote_change_mid_process_is_seen(repo: Path, git) -> None:
    assert read_git_info(repo)["remote"] is None
    git(repo, "remote", "add", "origin", "https://a:b@h/r.git")
    assert read_git_info(repo)["remote"] == "https://h/r.git"


def test_only_origin_counts(repo: Path, git) -> None:
    git(repo, "remote", "add", "upstream", "https://h/up.git")
    assert read_git_info(repo)["remote"] is None
    git(repo, "remote", "add", "origin", "https://h/mine.git")
    assert read_git_info(repo)["remote"] == "https://h/mine.git"


def test_config_quirks(repo: Path) -> None:
    config = repo / ".git" / "config"
    config.write_text(
        config.read_text()
        + '[Remote "origin"]  # comment\n'
        + '\tURL = "https://t@host/a b.git" ; trailing\n'
        + "\turl = https://second/ignored.git\n"
    )
    assert read_git_info(repo)["remote"] == "https://host/a b.git"


def test_result_is_a_copy(repo: Path) -> None:
    info = read_git_info(repo)
    info["commit"] = "mutated"
    assert read_git_info(repo)["commit"] is None


def test_agrees_with_git_rev_parse_on_this_checkout() -> None:
    here = Path(__file__).resolve().parent
    info = read_git_info(here)
    if info is None or info["commit"] is None:
        pytest.skip("not running from a git checkout with commits")
    done = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, check=False
    )
    if done.returncode == 0:
        assert info["commit"] == done.stdout.strip()


def test_unreadable_state_does_not_raise(repo: Path) -> None:
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (repo / ".git" / "refs" / "heads").mkdir(parents=True, exist_ok=True)
    (repo / ".git" / "refs" / "heads" / "main").write_text("not-a-sha\n")
    assert read_git_info(repo)["commit"] is None


def test_reftable_repo_reports_unknown_not_a_fake_branch(repo: Path) -> None:
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/.invalid\n")
    (repo / ".git" / "reftable").mkdir()
    info = read_git_info(repo)
    assert info is not None and info["commit"] is None and info["branch"] is None

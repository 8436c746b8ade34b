"""capture_command, capture_environment, installed_packages, freeze_text, and the package surface."""

from __future__ import annotations

import importlib.metadata
import os
import sys
from pathlib import Path

import pytest

import localtrack.capture as capture
from localtrack.capture import (
    capture_command,
    capture_environment,
    freeze_text,
    installed_packages,
    read_git_info,
)
from localtrack.capture.packages import normalize_name


def test_all_is_pinned() -> None:
    assert sorted(capture.__all__) == [
        "capture_command",
        "capture_environment",
        "dirty_state",
        "freeze_text",
        "installed_packages",
        "read_git_info",
        "strip_credentials",
    ]


def test_capture_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "argv", ["train.py", "--lr", "0.1"])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SECRET_TOKEN_FOR_TEST", "hunter2-do-not-capture")
    cmd = capture_command()
    assert cmd == {
        "argv": ["train.py", "--lr", "0.1"],
        "executable": sys.executable,
        "cwd": str(tmp_path),
    }
    assert "hunter2-do-not-capture" not in repr(cmd)
    assert not any("env" in key for key in cmd)
    cmd["argv"].append("mutated")
    assert sys.argv == ["train.py", "--lr", "0.1"]


def test_capture_environment_shape() -> None:
    env = capture_environment()
    assert set(env) == {
        "python",
        "implementation",
        "platform",
        "machine",
        "host",
        "pid",
        "packages",
    }
    assert env["python"] == ".".join(map(str, sys.version_info[:3]))
    assert env["implementation"] == sys.implementation.name
    assert env["pid"] == os.getpid()
    assert env["packages"]["pyarrow"] == importlib.metadata.version("pyarrow")
    assert "localtrack" in env["packages"]
    assert all(name == normalize_name(name) for name in env["packages"])
    env["packages"]["pyarrow"] = "mutated"
    assert capture_environment()["packages"]["pyarrow"] != "mutated"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_pid_is_current_after_fork() -> None:
    parent = capture_environment()["pid"]
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - child process
        try:
            os.write(write, str(capture_environment()["pid"]).encode())
        finally:
            os._exit(0)
    os.close(write)
    reported = int(os.read(read, 64))
    os.close(read)
    os.waitpid(child, 0)
    assert reported == child != parent


def test_installed_packages_match_importlib_metadata() -> None:
    ours = installed_packages()
    theirs: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            theirs.setdefault(normalize_name(name), dist.version)
    assert ours == theirs
    for required in ("pytest", "pyarrow", "hypothesis"):
        assert required in ours


def test_ambiguous_and_legacy_directory_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "Simple_Pkg-1.2.3.dist-info").mkdir()
    ambiguous = site / "Legacy-Name-2.0.dist-info"  # old pip left '-' in the name
    ambiguous.mkdir()
    (ambiguous / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: Legacy-Name\nVersion: 2.0\n\nbody: x\n"
    )
    (site / "eggy-0.5-py3.11.egg-info").mkdir()
    develop = site / "devpkg.egg-info"
    develop.mkdir()
    (develop / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: devpkg\nVersion: 0.0.dev1\n")
    (site / "flatfile.egg-info").write_text("Metadata-Version: 1.0\nName: flat.file\nVersion: 9\n")
    (site / "broken.dist-info").mkdir()  # no METADATA: skipped, not fatal
    monkeypatch.setattr(
        sys, "path", [str(site), str(tmp_path / "missing"), str(tmp_path / "x.zip")]
    )
    assert installed_packages() == {
        "simple-pkg": "1.2.3",
        "legacy-name": "2.0",
        "eggy": "0.5",
        "devpkg": "0.0.dev1",
        "flat-file": "9",
    }
    assert freeze_text() == (
        "devpkg==0.0.dev1\neggy==0.5\nflat-file==9\nlegacy-name==2.0\nsimple-pkg==1.2.3\n"
    )


def test_first_path_entry_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for where, version in (("a", "2.0"), ("b", "1.0")):
        (tmp_path / where / f"dup-{version}.dist-info").mkdir(parents=True)
    monkeypatch.setattr(sys, "path", [str(tmp_path / "a"), str(tmp_path / "b")])
    assert installed_packages() == {"dup": "2.0"}


def test_freeze_text_is_sorted_and_deterministic() -> None:
    text = freeze_text()
    lines = text.splitlines()
    names = [line.partition("==")[0] for line in lines]
    assert text.endswith("\n") and names == sorted(names)
    assert all(line.count("==") == 1 for line in lines)
    assert freeze_text() == text


def test_result_is_a_copy() -> None:
    installed_packages()["pytest"] = "mutated"
    assert installed_packages()["pytest"] != "mutated"


def test_captures_never_print(capsys: pytest.CaptureFixture[str], repo: Path, commit) -> None:
    commit(repo, "a.txt", "1")
    (repo / "a.txt").write_text("2")
    capture_command()
    capture_environment()
    installed_packages()
    freeze_text()
    read_git_info(repo)
    read_git_info(repo / "nope")
    capture.dirty_state(repo)
    capture.dirty_state(repo / "nope")
    out, err = capsys.readouterr()
    assert out == "" and err == ""


def test_cached_calls_redo_no_scan_and_reread_no_repo(repo: Path, commit, monkeypatch) -> None:
    """The hot path must not redo the package scan or reread the repo: counted, not timed
    (a timing ratio fails on a loaded machine and proves less)."""
    from localtrack.capture import git_state, packages

    commit(repo, "a.txt", "1")
    scans: list[object] = []
    real_scan = packages._scan
    monkeypatch.setattr(packages, "_scan", lambda paths: scans.append(paths) or real_scan(paths))
    packages._clear_cache()
    first = installed_packages()
    for _ in range(100):
        assert installed_packages() == first
    assert len(scans) == 1

    reads: list[str] = []
    real_resolve = git_state._resolve_head
    monkeypatch.setattr(git_state, "_resolve_head", lambda gitdir, common: reads.append(gitdir) or real_resolve(gitdir, common))
    git_state._clear_cache()
    info = read_git_info(repo)
    cold_reads = len(reads)
    assert cold_reads >= 1
    for _ in range(100):
        assert read_git_info(repo) == info
    assert len(reads) == cold_reads  # stat()s only, no ref read
    commit(repo, "a.txt", "2")  # and the cache still notices a new commit
    assert read_git_info(repo)["commit"] != info["commit"]

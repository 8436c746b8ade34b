"""`localtrack reproduce`: re-run at the recorded commit + diff in a worktree, and judge."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from localtrack.storage.manifest import read_manifest, write_manifest


def _record(repo, lt, *args: str) -> dict[str, Any]:
    """Run train.py under exec from a dirty tree (TARGET edited, uncommitted); return its manifest."""
    repo.edit("train.py", "TARGET = 3.0", "TARGET = 4.0")
    code, _, err = lt("exec", "--", sys.executable, "train.py", "--lr", "0.2", "--epochs", "4", *args)
    assert code == 0, err
    (run,) = repo.runs()
    return run


def _move_on(repo) -> None:
    """Commit something else to train.py, then leave a different uncommitted edit."""
    repo.edit("train.py", "TARGET = 4.0", "TARGET = 7.0")
    repo.commit("a later commit")
    repo.edit("train.py", "TARGET = 7.0", "TARGET = 9.0")


def _worktrees(repo) -> list[str]:
    return [line for line in repo.git("worktree", "list", "--porcelain").splitlines() if line.startswith("worktree ")]


def test_reproduce_unchanged_run_matches_and_leaves_the_working_tree_alone(repo, lt):
    original = _record(repo, lt)
    _move_on(repo)
    head, status = repo.head(), repo.status()
    source = (repo.path / "train.py").read_text()
    assert head != original["git"]["commit"] and status.strip()

    code, out, err = lt("reproduce", original["id"], "--yes")

    assert code == 0, out + err
    assert "match" in out and "loss" in out
    assert (repo.head(), repo.status()) == (head, status)  # HEAD, index and working tree untouched
    assert (repo.path / "train.py").read_text() == source
    assert len(_worktrees(repo)) == 1  # the temporary worktree is gone
    runs = repo.runs()
    assert len(runs) == 2
    new = runs[1]
    assert new["parent"] == original["id"]
    assert "reproduction" in new["tags"]
    assert new["reproduction"] == {"of": original["id"], "verdict": "match", "tolerance": 1e-6, "overrides": {}}
    assert new["status"] == "finished"
    # the recorded diff was applied: the bare commit (TARGET 3.0) would give another result
    assert new["summary"]["w"]["last"] == original["summary"]["w"]["last"]
    assert new["git"]["commit"] == original["git"]["commit"]
    assert new["git"]["root"] == str(repo.path)  # not the deleted temporary worktree
    assert new["command"]["cwd"] == str(repo.path)


def test_override_changes_the_result_and_the_verdict_says_so(repo, lt):
    original = _record(repo, lt)
    code, out, err = lt("reproduce", original["id"][-6:], "--set", "lr=0.5", "--yes")
    assert code == 1, out + err
    assert "differ" in out and "loss" in out and "NO" in out
    new = repo.runs()[1]
    assert new["config"]["lr"] == 0.5  # run.config as the script saw it after init()
    assert "0.5" in new["command"]["argv"]  # and on the command line
    assert new["reproduction"]["verdict"] == "differ"
    assert new["reproduction"]["overrides"] == {"lr": 0.5}


def test_override_json_output_lists_each_metric(repo, lt):
    original = _record(repo, lt)
    code, out, err = lt("reproduce", original["id"], "--set", "lr=0.5", "--tolerance", "1%", "--format", "json", "--yes")
    assert code == 1
    rows = json.loads(out)  # the script's own prints went to stderr
    assert {r["metric"] for r in rows} == {"loss", "w"}
    assert all(r["within_tolerance"] is False and r["verdict"] == "differ" for r in rows)
    assert "epoch 0 loss" in err


def test_loose_tolerance_accepts_a_small_change(repo, lt):
    original = _record(repo, lt)
    code, out, _ = lt("reproduce", original["id"], "--set", "lr=0.2000001", "--tolerance", "1%", "--yes")
    assert code == 0, out
    assert repo.runs()[1]["reproduction"]["tolerance"] == 0.01


def test_run_whose_commit_is_gone_is_a_clear_error(repo, lt):
    original = _record(repo, lt)
    path = repo.store / "runs" / original["id"] / "manifest.json"
    manifest = read_manifest(path)
    manifest["git"]["commit"] = "0123456789abcdef0123456789abcdef01234567"
    write_manifest(path, manifest)
    status = repo.status()

    code, out, err = lt("reproduce", original["id"], "--yes")

    assert code == 2 and out == ""
    assert "0123456789abcdef0123456789abcdef01234567" in err and "no longer exists" in err
    assert "Traceback" not in err
    assert len(repo.runs()) == 1 and repo.status() == status


def test_a_failing_command_is_exit_2(repo, lt):
    original = _record(repo, lt)
    code, _, err = lt("reproduce", original["id"], "--set", "epochs=-1", "--yes")
    assert code == 2
    assert "failed" in err
    new = repo.runs()[1]
    assert new["reproduction"]["verdict"] == "error" and new["status"] == "failed"


def test_dry_run_prints_the_plan_and_runs_nothing(repo, lt):
    (repo.path / "scratch.txt").write_text("x")
    original = _record(repo, lt)
    path = repo.store / "runs" / original["id"] / "manifest.json"
    manifest = read_manifest(path)
    manifest["environment"]["python"] = "2.7.18"
    write_manifest(path, manifest)
    status = repo.status()

    code, out, err = lt("reproduce", original["id"], "--dry-run", "--set", "lr=0.3")

    assert code == 0, err
    assert original["git"]["commit"] in out
    assert "train.py" in out and "1 insertion" in out  # the diff summary
    assert "--lr 0.3" in out  # the command with the override applied
    assert "LOCALTRACK_RUN_OVERRIDES" in out and "LOCALTRACK_DIR" in out
    assert "python 2.7.18 was recorded" in err  # version drift warned about
    assert "untracked" in err and "scratch.txt" in err
    assert "Nothing was run" in out
    assert len(repo.runs()) == 1 and repo.status() == status and len(_worktrees(repo)) == 1


def test_bad_set_and_tolerance_are_one_line_errors(repo, lt):
    original = _record(repo, lt)
    for args in (("--set", "lr"), ("--tolerance", "lots"), ("--tolerance", "-1%")):
        code, _, err = lt("reproduce", original["id"], *args)
        assert code == 2 and err.startswith("error:") and "Traceback" not in err, (args, err)


def test_unknown_run_is_exit_2(repo, lt):
    code, _, err = lt("reproduce", "nosuchrun")
    assert code == 2 and "no run matches" in err


def test_reproduce_a_run_started_without_exec(repo, lt):
    # A plain `python train.py` records sys.argv and the interpreter; its init() stores the diff.
    repo.edit("train.py", "TARGET = 3.0", "TARGET = 4.0")
    subprocess.run([sys.executable, "train.py", "--lr", "0.3", "--epochs", "3"], cwd=repo.path, check=True, capture_output=True)
    (original,) = repo.runs()
    assert original["command"].get("via") is None
    _move_on(repo)
    code, out, err = lt("reproduce", original["id"], "--yes")
    assert code == 0, out + err
    new = repo.runs()[1]
    assert new["command"]["argv"] == [original["command"]["executable"], "train.py", "--lr", "0.3", "--epochs", "3"]
    assert new["summary"]["w"]["last"] == original["summary"]["w"]["last"]


def test_diff_that_does_not_apply_is_exit_2(repo, lt):
    original = _record(repo, lt)
    _move_on(repo)
    path = repo.store / "runs" / original["id"] / "manifest.json"
    manifest = read_manifest(path)
    manifest["git"]["commit"] = repo.head()  # a commit where the recorded edit's context is gone
    write_manifest(path, manifest)
    code, _, err = lt("reproduce", original["id"], "--yes")
    assert code == 2 and "does not apply" in err
    assert len(repo.runs()) == 1 and len(_worktrees(repo)) == 1


def test_tampered_manifest_fields_are_refused_not_obeyed(repo, lt, tmp_path):
    # A run folder can arrive in someone's commit: its fields never become git options or paths outside.
    original = _record(repo, lt)
    path = repo.store / "runs" / original["id"] / "manifest.json"
    pristine = read_manifest(path)
    for field, value, expected in [
        ("commit", f"--output={tmp_path / 'pwned'}", "is not a git commit id"),
        ("commit", "HEAD", "is not a git commit id"),
        ("argv", [1, 2], "no command line"),
        ("argv", "\x1b[31mred", "no command line"),
    ]:
        manifest = json.loads(json.dumps(pristine))
        if field == "commit":
            manifest["git"]["commit"] = value
        else:
            manifest["command"]["argv"] = value
        write_manifest(path, manifest)
        code, _, err = lt("reproduce", original["id"], "--dry-run")
        assert code == 2 and expected in err, (value, err)
        assert "\x1b" not in err
    assert not (tmp_path / "pwned").exists()
    manifest = json.loads(json.dumps(pristine))
    manifest["command"]["cwd"] = "../../../etc"
    write_manifest(path, manifest)
    code, _, err = lt("reproduce", original["id"], "--dry-run")
    assert code == 0 and "started outside its repository" in err

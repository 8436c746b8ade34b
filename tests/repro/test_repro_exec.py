"""`localtrack exec`: one run per command, with its code, command, output and outcome."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from localtrack.repro import artifact_io
from localtrack.storage.layout import StoreLayout


def artifact(store: Path, manifest: dict[str, Any], name: str) -> bytes | None:
    return artifact_io.read_artifact(StoreLayout(store), manifest, name)


def test_exec_makes_one_run_recording_commit_diff_command_and_output(repo, lt):
    head = repo.head()
    repo.edit("train.py", "TARGET = 3.0", "TARGET = 4.0")  # dirty tree: the diff must be kept
    (repo.path / "notes.txt").write_text("scratch")  # an untracked file: kept by name only
    code, out, err = lt("exec", "--tag", "sweep=1", "--", sys.executable, "train.py", "--lr", "0.2", "--epochs", "3")

    assert code == 0, err
    assert "epoch 2 loss" in out  # streamed through to our stdout
    assert "training done" in err
    runs = repo.runs()
    assert len(runs) == 1, "the script's init() must join exec's run, not make a second one"
    run = runs[0]
    assert run["status"] == "finished"
    assert len(run["writers"]) == 2  # exec's writer and the script's
    assert run["git"]["commit"] == head and run["git"]["dirty"] is True
    assert run["command"]["argv"] == [sys.executable, "train.py", "--lr", "0.2", "--epochs", "3"]
    assert run["command"]["cwd"] == str(repo.path)
    assert run["command"]["exit_code"] == 0
    # the script's init() arguments merged in: config, tags, and (not fixed by exec) project
    assert run["config"] == {"lr": 0.2, "epochs": 3}
    assert run["tags"] == {"sweep": "1", "from-script": ""}
    assert run["project"] == "toy"
    assert run["environment"]["python"]  # recorded by the script's own init()
    assert run["summary"]["loss"]["count"] == 3

    diff = artifact(repo.store, run, artifact_io.DIFF_NAME)
    assert diff is not None and b"+TARGET = 4.0" in diff and b"-TARGET = 3.0" in diff
    assert artifact_io.read_untracked(StoreLayout(repo.store), run) == ["notes.txt"]
    log = artifact(repo.store, run, artifact_io.LOG_NAME)
    assert log is not None and b"epoch 0 loss" in log and b"epoch 2 loss" in log and b"training done" in log
    assert artifact(repo.store, run, artifact_io.PACKAGES_NAME)  # package list, stored once
    names = [a["name"] for a in run["artifacts"]]
    assert len(names) == len(set(names)), f"an artifact was stored twice: {names}"


def test_exec_name_and_project_win_over_the_scripts(repo, lt):
    code, _, err = lt(
        "exec", "--name", "from-exec", "--project", "p-exec", "--", sys.executable, "train.py", "--epochs", "1",
        "--name", "from-script",
    )
    assert code == 0, err
    (run,) = repo.runs()
    assert (run["name"], run["project"]) == ("from-exec", "p-exec")


def test_exec_without_name_takes_the_scripts_name(repo, lt):
    code, _, err = lt("exec", "--", sys.executable, "train.py", "--epochs", "1", "--name", "from-script")
    assert code == 0, err
    (run,) = repo.runs()
    assert (run["name"], run["project"]) == ("from-script", "toy")


def test_exit_code_passes_through_and_fails_the_run(repo, lt):
    code, _, _ = lt("exec", "-q", "--", sys.executable, "train.py", "--epochs", "2", "--exit-code", "3")
    assert code == 3
    (run,) = repo.runs()
    # the script's own writer finished normally; exec's writer makes the run failed
    assert run["status"] == "failed"
    assert run["command"]["exit_code"] == 3
    assert run["error"]["exit_code"] == 3


def test_command_without_localtrack_still_gets_a_run(repo, lt):
    code, out, err = lt(
        "exec", "--", sys.executable, "plain.py", "--code", "4", "--alpha", "1e-3", "--use-bias", "--opt=adam", "--neg", "-2"
    )
    assert code == 4
    assert "plain stdout line" in out and "plain stderr line" in err
    (run,) = repo.runs()
    assert run["status"] == "failed"
    assert run["command"]["argv"][1:3] == ["plain.py", "--code"]
    assert run["config"] == {"code": 4, "alpha": 0.001, "use_bias": True, "opt": "adam", "neg": -2}
    assert run["environment"]["python"]  # filled by exec when no script recorded it
    assert run["git"]["commit"] == repo.head() and run["git"]["dirty"] is False
    log = artifact(repo.store, run, artifact_io.LOG_NAME) or b""
    assert b"plain stdout line" in log and b"plain stderr line" in log
    assert artifact(repo.store, run, artifact_io.DIFF_NAME) is None  # clean tree: no diff


def test_params_from_argv_only_when_the_script_logs_none(repo, lt):
    code, _, _ = lt("exec", "--", sys.executable, "train.py", "--epochs", "1", "--exit-code", "0")
    assert code == 0
    (run,) = repo.runs()
    assert run["config"] == {"lr": 0.1, "epochs": 1}  # the script's config, not argv's exit_code


def test_command_not_found_is_a_failed_run_and_exit_127(repo, lt):
    code, _, err = lt("exec", "--", "no-such-command-xyz", "--lr", "1")
    assert code == 127
    assert "not found" in err and "failed" in err
    (run,) = repo.runs()
    assert run["status"] == "failed"
    assert "no-such-command-xyz" in run["error"]["message"]


def test_exec_needs_a_command(repo, lt):
    code, _, err = lt("exec")
    assert code != 0 and "error" in err
    assert repo.runs() == []


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="POSIX process groups")
def test_ctrl_c_is_forwarded_and_the_run_is_killed(repo):
    # Like a terminal: SIGINT goes to exec's whole process group (exec runs the child in
    # its own session, so only exec's forwarding reaches it).
    proc = subprocess.Popen(
        [sys.executable, "-c", "from localtrack.cli.entry import main; main()", "exec", "--", sys.executable, "plain.py", "--sleep", "--lr", "1"],
        cwd=repo.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    with proc:
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                if b"ready" in line:
                    break
            os.killpg(proc.pid, signal.SIGINT)
            proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 128 + signal.SIGINT  # the child died of SIGINT, as a shell reports it
    (run,) = repo.runs()
    assert run["status"] == "killed"
    assert "SIGINT" in run["error"]["message"]
    assert run["config"] == {"sleep": True, "lr": 1}

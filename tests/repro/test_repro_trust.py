"""`reproduce` runs what a run folder says only when asked to, and only what it can honestly re-run.

- ``--set a.b=v`` on a nested config overrides the nested value the script reads; it never
  records a flat ``a.b`` beside it (and refuses what it cannot place).
- A run logged from the shell (``localtrack create``) recorded no job to re-run: refused.
- The recorded ``command.argv`` is shown (one escaped line) and confirmed first: ``--yes`` for
  scripts; without a terminal and without ``--yes``, one line saying to pass it.
"""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from localtrack.api import overrides
from localtrack.errors import InvalidValueError
from localtrack.repro import confirm
from localtrack.storage.manifest import read_manifest, write_manifest

REPO_ROOT = Path(__file__).resolve().parents[2]

NESTED = '''\
import argparse

import localtrack

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.1)
args = parser.parse_args()
run = localtrack.init(project="toy", config={"opt": {"lr": args.lr, "momentum": 0.9}, "epochs": 3})
lr = run.config["opt"]["lr"]  # what a wandb-style script reads
w = 0.0
for _ in range(run.config["epochs"]):
    w += lr * (3.0 - w)
    run.log({"w": w})
run.finish()
'''


def _record_nested(repo, lt) -> dict:
    (repo.path / "nested.py").write_text(NESTED)
    repo.git("add", "nested.py")
    repo.commit("nested config")
    code, _, err = lt("exec", "--", sys.executable, "nested.py")
    assert code == 0, err
    return repo.runs()[-1]


# --------------------------------------------------------------------------- --set a.b=v


def test_set_dotted_key_overrides_the_nested_value_the_script_reads(repo, lt):
    original = _record_nested(repo, lt)
    assert original["config"] == {"opt": {"lr": 0.1, "momentum": 0.9}, "epochs": 3}
    code, out, err = lt("reproduce", original["id"], "--set", "opt.lr=0.5", "--yes")
    assert code == 1, out + err  # the script read 0.5: its result changed
    new = repo.runs()[-1]
    assert new["config"] == {"opt": {"lr": 0.5, "momentum": 0.9}, "epochs": 3}
    assert "opt.lr" not in new["config"]
    assert new["summary"]["w"]["last"] != original["summary"]["w"]["last"]
    assert new["reproduction"]["overrides"] == {"opt.lr": 0.5}
    assert 'run.config["opt"]["lr"]' in err  # warned: not on the command line, config only


def test_set_new_key_inside_an_existing_group_lands_in_the_group(repo, lt):
    original = _record_nested(repo, lt)
    code, out, err = lt("reproduce", original["id"], "--set", "opt.weight_decay=0.01", "--yes")
    assert code == 0, out + err  # the script ignores it: same result
    new = repo.runs()[-1]
    assert new["config"]["opt"] == {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}
    assert "opt.weight_decay" not in new["config"]


def test_set_through_a_value_that_is_not_a_group_is_refused_in_one_line(repo, lt):
    original = _record_nested(repo, lt)
    code, _, err = lt("reproduce", original["id"], "--set", "opt.lr.scale=2", "--yes")
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert "opt.lr.scale" in lines[0] and "not a group" in lines[0]
    assert len(repo.runs()) == 1  # nothing ran


def test_set_on_a_config_holding_the_key_both_flat_and_nested_is_refused(repo, lt):
    original = _record_nested(repo, lt)
    path = repo.store / "runs" / original["id"] / "manifest.json"
    manifest = read_manifest(path)
    manifest["config"]["opt.lr"] = 0.3  # a tampered (or pre-validation) config with both spellings
    write_manifest(path, manifest)
    code, _, err = lt("reproduce", original["id"], "--set", "opt.lr=0.5", "--yes")
    assert code == 2 and "ambiguous" in err and len(repo.runs()) == 1


def test_set_dotted_flag_from_the_command_line_stays_flat(repo, lt):
    """`--opt.lr 0.1` on a plain script's command line is the flat param `opt.lr`."""
    code, _, err = lt("exec", "--", sys.executable, "plain.py", "--opt.lr", "0.1")
    assert code == 0, err
    original = repo.runs()[-1]
    assert original["config"] == {"opt.lr": 0.1}
    code, out, err = lt("reproduce", original["id"], "--set", "opt.lr=0.2", "--yes")
    assert code == 0, out + err
    new = repo.runs()[-1]
    assert new["config"] == {"opt.lr": 0.2}
    assert new["command"]["argv"][-2:] == ["--opt.lr", "0.2"]


def test_dry_run_says_where_each_override_lands(repo, lt):
    original = _record_nested(repo, lt)
    code, out, _ = lt("reproduce", original["id"], "--set", "opt.lr=0.5", "--dry-run", "--format", "json")
    assert code == 0
    plan = json.loads(out)
    assert plan["config_paths"] == {"opt.lr": ["opt", "lr"]}
    assert json.loads(plan["env"]["LOCALTRACK_RUN_OVERRIDES"]) == [[["opt", "lr"], 0.5]]


@pytest.mark.parametrize(
    ("config", "key", "path"),
    [
        ({"opt": {"lr": 1}}, "opt.lr", ("opt", "lr")),
        ({"opt.lr": 1}, "opt.lr", ("opt.lr",)),
        ({"a": {"b.c": {"d": 1}}}, "a.b.c.d", ("a", "b.c", "d")),
        ({"opt": {"lr": 1}}, "opt.wd", ("opt", "wd")),
        ({}, "a.b", ("a", "b")),
        ({}, "lr", ("lr",)),
        ({"lr": 1}, "lr", ("lr",)),
    ],
)
def test_resolve_path(config, key, path):
    assert overrides.resolve_path(config, key) == path
    applied = overrides.apply(config, [(path, 7)])
    assert "." not in key or key not in applied or path == (key,)  # never a flat twin of a nested key
    node = applied
    for part in path[:-1]:
        node = node[part]
    assert node[path[-1]] == 7


def test_apply_refuses_a_script_config_that_has_a_value_where_a_group_was_recorded():
    with pytest.raises(InvalidValueError, match="not a group"):
        overrides.apply({"opt": "adam"}, [(("opt", "lr"), 0.1)])


def test_old_flat_overrides_environment_is_still_read():
    assert overrides.decode('{"lr": 0.5}', "X") == [(("lr",), 0.5)]
    for bad in ("[1]", "3", "[[[], 1]]", "nope"):
        with pytest.raises(InvalidValueError):
            overrides.decode(bad, "X")


# --------------------------------------------------------------------------- shell-driven runs


def test_run_made_by_localtrack_create_is_refused_in_one_line(repo, lt):
    code, out, err = lt("create", "--project", "shell", "--name", "bash-job")
    assert code == 0, err
    run_id = out.strip()
    assert lt("log-metrics", run_id, "--metrics", '{"loss": 1.0}')[0] == 0
    assert lt("finish", run_id)[0] == 0
    for args in ((), ("--dry-run",), ("--yes",)):
        code, out, err = lt("reproduce", run_id, *args)
        lines = [line for line in err.splitlines() if line.strip()]
        assert code == 2 and len(lines) == 1 and "logged from the shell" in lines[0], (args, err)
        assert "Traceback" not in err and out == ""
    assert len(repo.runs()) == 1  # nothing re-ran `localtrack create`


def test_shell_run_recorded_before_the_marker_is_refused_too(repo, lt):
    run_id = lt("create", "--project", "shell")[1].strip()
    path = repo.store / "runs" / run_id / "manifest.json"
    manifest = read_manifest(path)
    manifest["command"].pop("via")  # as runs created by older versions look
    write_manifest(path, manifest)
    code, _, err = lt("reproduce", run_id, "--yes")
    assert code == 2 and "logged from the shell" in err


# --------------------------------------------------------------------------- confirmation


def _hostile(repo, lt) -> dict:
    """A recorded run whose argv (as a malicious commit could set it) hides things from a terminal."""
    code, _, err = lt("exec", "--", sys.executable, "plain.py")
    assert code == 0, err
    original = repo.runs()[-1]
    path = repo.store / "runs" / original["id"] / "manifest.json"
    manifest = read_manifest(path)
    manifest["command"]["argv"] = [sys.executable, "plain.py", "--x", "\x1b]8;;https://evil.example/\x07ok\x1b]8;;\x07",
                                   "a\nrm -rf ~", "[red]markup[/red]", "\u202egnp.exe"]
    manifest["environment"]["host"] = "someone-elses-laptop"
    write_manifest(path, manifest)
    return original


def test_without_a_terminal_or_yes_it_refuses_in_one_line_naming_the_command(repo, lt):
    original = _hostile(repo, lt)
    code, out, err = lt("reproduce", original["id"])
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and out == ""
    assert len(lines) == 1, err
    assert "--yes" in lines[0] and "plain.py" in lines[0]
    assert "\x1b" not in err and "\u202e" not in err and "\x07" not in err
    assert "\\x1b" in lines[0] and "$'a\\nrm -rf ~'" in lines[0] and "[red]markup[/red]" in lines[0]
    assert len(repo.runs()) == 1  # nothing ran


def test_yes_runs_without_asking(repo, lt):
    code, _, err = lt("exec", "--", sys.executable, "plain.py")
    original = repo.runs()[-1]
    code, out, err = lt("reproduce", original["id"], "--yes")
    assert code == 0, err
    assert "plain stdout line" in out and len(repo.runs()) == 2


def _on_a_terminal(args: list[str], answer: bytes, cwd: Path) -> tuple[int, str]:
    """Run the CLI in a real process whose stdin is a pseudo-terminal; type ``answer`` at the prompt."""
    master, slave = pty.openpty()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
    proc = subprocess.Popen(
        [sys.executable, "-c", "from localtrack.cli.entry import main; main()", *args],
        cwd=cwd, env=env, stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    os.close(slave)
    assert proc.stderr is not None
    seen = b""
    deadline = time.monotonic() + 120
    try:
        while b"Run it?" not in seen:  # the prompt goes to stderr
            assert time.monotonic() < deadline and proc.poll() is None, seen
            if select.select([proc.stderr], [], [], 0.5)[0]:
                seen += os.read(proc.stderr.fileno(), 65536)
        os.write(master, answer)
        _, more = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        os.close(master)
    return proc.returncode, (seen + more).decode("utf-8", "replace")


def test_on_a_terminal_it_shows_the_command_and_no_means_nothing_runs(repo, lt):
    original = _hostile(repo, lt)
    code, err = _on_a_terminal(["reproduce", original["id"]], b"n\n", repo.path)
    assert code == 2, err
    assert "$ " in err and "plain.py" in err and "someone-elses-laptop" in err
    shown = [line for line in err.splitlines() if line.lstrip().startswith("$ ")]
    assert len(shown) == 1 and "\x1b" not in shown[0] and "\u202e" not in shown[0]
    assert "not run" in err
    assert len(repo.runs()) == 1


def test_on_a_terminal_yes_runs_it(repo, lt):
    code, _, err = lt("exec", "--", sys.executable, "plain.py")
    original = repo.runs()[-1]
    code, err = _on_a_terminal(["reproduce", original["id"]], b"y\n", repo.path)
    assert code == 0, err
    assert len(repo.runs()) == 2 and repo.runs()[-1]["reproduction"]["verdict"] == "match"


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
@pytest.mark.parametrize(
    "argv",
    [
        ["python", "train.py", "--lr", "0.1"],
        ["python", "it's", "two words", ""],
        ["x", "a\nb", "\x1b[31mred", "tab\there", "back\\slash'quote"],
        ["x", "\u202egnp.exe", "nbsp\u00a0here", "zero\u200bwidth", "ünïcödé"],
    ],
)
def test_shell_line_is_one_safe_line_that_bash_reads_back(argv):
    line = confirm.shell_line(argv)
    assert "\n" not in line and line.isprintable()
    done = subprocess.run(["bash", "-c", f"printf '%s\\0' {line}"], capture_output=True, check=True)
    assert done.stdout.decode().split("\0")[:-1] == argv

"""Logging from the shell with real ``localtrack`` processes: create, log-params, log-metrics, finish.

Mistakes (bad JSON, unknown run, bad status...) give one line on stderr and a non-zero exit,
never a traceback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from localtrack.names import validate_id
from localtrack.store.project import open_store
from localtrack.store.reader import load_run, read_metrics

REPO = Path(__file__).resolve().parents[2]


def _command() -> list[str]:
    exe = shutil.which("localtrack")
    if exe:
        return [exe]
    return [sys.executable, "-c", "import sys; from localtrack.cli.entry import main; main()"]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALTRACK_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    env.update({"NO_COLOR": "1", "COLUMNS": "120", "TERM": "dumb"})
    return env


def lt(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*_command(), *args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=60)


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


@pytest.fixture
def project(store_dir: Path) -> Path:
    """The project folder holding ``store_dir``: commands find the store by walking up."""
    return store_dir.parent


def test_shell_run_lifecycle_by_id_prefix_and_name(project: Path, store_dir: Path) -> None:
    out = _ok(lt("create", "--project", "shell", "--name", "bash-job", "--tags", "a,b", cwd=project))
    run_id = out.strip()
    assert out.count("\n") == 1 and validate_id(run_id) == run_id

    _ok(lt("log-params", run_id, "--params", '{"lr": 0.001, "optim": {"name": "adam", "betas": [0.9, 0.99]}}', cwd=project))
    _ok(lt("log-metrics", run_id[:-2], "--metrics", '{"loss": 0.5, "val/acc": 0.25}', "--step", "3", cwd=project))
    _ok(lt("log-metrics", "bash-job", "--metrics", '{"loss": 0.25, "val/acc": 1}', cwd=project))
    _ok(lt("log-metrics", run_id, "--metrics", '{"loss": NaN}', "--step", "9", "--store", str(store_dir), cwd=project.parent))

    layout = open_store(store_dir)
    record = load_run(layout, run_id)
    assert record.status == "running", "a shell-driven run stays running between calls"
    _ok(lt("finish", "bash-job", cwd=project))

    record = load_run(layout, run_id)
    manifest = record.manifest
    assert record.status == "finished" and manifest["status"] == "finished"
    assert manifest["project"] == "shell" and manifest["name"] == "bash-job"
    assert manifest["tags"] == {"a": "", "b": ""}
    assert manifest["config"] == {"lr": 0.001, "optim": {"name": "adam", "betas": [0.9, 0.99]}}
    rows = [(r["key"], r["step"], r["value"]) for r in read_metrics(layout, run_id).to_pylist()]
    assert rows[:2] == [("loss", 3, 0.5), ("loss", 4, 0.25)]
    assert rows[2][:2] == ("loss", 9) and rows[2][2] != rows[2][2]  # NaN survives
    assert rows[3:] == [("val/acc", 3, 0.25), ("val/acc", 4, 1.0)]
    assert manifest["summary"]["loss"]["count"] == 3 and manifest["summary"]["loss"]["step"] == 9


def test_finish_with_failed_status(project: Path, store_dir: Path) -> None:
    run_id = _ok(lt("create", "--project", "shell", cwd=project)).strip()
    _ok(lt("finish", run_id, "--status", "failed", cwd=project))
    assert load_run(open_store(store_dir), run_id).status == "failed"


def test_shell_mistakes_are_one_line_on_stderr(project: Path, store_dir: Path, tmp_path: Path) -> None:
    run_id = _ok(lt("create", "--project", "shell", "--name", "target", cwd=project)).strip()
    twin_a = _ok(lt("create", "--project", "shell", "--name", "twin", cwd=project)).strip()
    finished = _ok(lt("create", "--project", "shell", "--name", "done", cwd=project)).strip()
    _ok(lt("finish", finished, cwd=project))
    _ok(lt("create", "--project", "shell", "--name", "twin", cwd=project))
    empty = tmp_path / "no-store-here"
    empty.mkdir()
    cases = {
        "bad-json": (["log-params", run_id, "--params", "{lr: 0.1"], project, "JSON"),
        "json-not-object": (["log-metrics", run_id, "--metrics", "[1, 2]"], project, "JSON object"),
        "string-metric": (["log-metrics", run_id, "--metrics", '{"loss": "low"}'], project, "loss"),
        "null-metric": (["log-metrics", run_id, "--metrics", '{"loss": null}'], project, "loss"),
        "control-char-key": (["log-metrics", run_id, "--metrics", '{"a\\u001b[31m": 1}'], project, "metric key"),
        "unknown-run": (["log-metrics", "no-such-run", "--metrics", '{"a": 1}'], project, "no-such-run"),
        "traversal-run": (["finish", "../../etc/passwd"], project, "passwd"),
        "ambiguous-name": (["log-metrics", "twin", "--metrics", '{"a": 1}'], project, "twin"),
        "bad-status": (["finish", run_id, "--status", "exploded"], project, "exploded"),
        "negative-step": (["log-metrics", run_id, "--metrics", '{"a": 1}', "--step", "-1"], project, "--step"),
        "finished-run": (["log-metrics", finished, "--metrics", '{"a": 1}'], project, "finished"),
        "no-store": (["log-metrics", run_id, "--metrics", '{"a": 1}'], empty, "store"),
        "missing-option": (["log-metrics", run_id], project, "--metrics"),
    }
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(zip(cases, pool.map(lambda c: lt(*c[0], cwd=c[1]), cases.values()), strict=True))
    for label, done in results.items():
        expected = cases[label][2]
        assert done.returncode != 0, label
        assert "Traceback" not in done.stderr and "Traceback" not in done.stdout, f"{label}: {done.stderr}"
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, f"{label}: {done.stderr!r}"
        assert expected in lines[0], f"{label}: {lines[0]!r}"
        assert "\x1b" not in done.stderr, f"{label}: raw escape reached the terminal"
    # Nothing was logged by the refused calls, and the target run is still running.
    record = load_run(open_store(store_dir), run_id)
    assert record.status == "running" and record.manifest["summary"] == {} and record.manifest["config"] == {}
    assert load_run(open_store(store_dir), twin_a).manifest["summary"] == {}

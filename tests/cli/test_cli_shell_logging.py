"""Logging from the shell with real ``localtrack`` processes: create, log-params, log-metrics, finish.

Mistakes (bad JSON, unknown run, bad status...) give one line on stderr and a non-zero exit,
never a traceback; those messages are checked in this process (``lt_here``), where dozens of
cases cost milliseconds instead of a second of interpreter start-up each.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from localtrack.cli import output
from localtrack.cli.entry import main
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


def lt_here(*args: str, cwd: Path, stdin: bytes | None = None, flush_seconds: float | None = None
            ) -> subprocess.CompletedProcess[str]:
    """The same command in this process (typer's CliRunner): for what the message says, not the process."""
    output._console = None
    output._err_console = None
    previous_cwd, previous_flush = Path.cwd(), os.environ.get("LOCALTRACK_FLUSH_SECONDS")
    os.chdir(cwd)
    if flush_seconds is not None:
        os.environ["LOCALTRACK_FLUSH_SECONDS"] = str(flush_seconds)
    try:
        with CliRunner().isolation(input=stdin) as (out, err, _):
            code = main(list(args))
            sys.stdout.flush()
            sys.stderr.flush()
            done = subprocess.CompletedProcess(list(args), code, out.getvalue().decode(), err.getvalue().decode())
    finally:
        os.chdir(previous_cwd)
        if previous_flush is not None:
            os.environ["LOCALTRACK_FLUSH_SECONDS"] = previous_flush
        output._console = None
        output._err_console = None
    return done


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


@pytest.fixture
def project(store_dir: Path) -> Path:
    """The project folder holding ``store_dir``: commands find the store by walking up."""
    return store_dir.parent


def _nested(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


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
    run_id = _ok(lt_here("create", "--project", "shell", "--name", "target", cwd=project)).strip()
    twin_a = _ok(lt_here("create", "--project", "shell", "--name", "twin", cwd=project)).strip()
    finished = _ok(lt_here("create", "--project", "shell", "--name", "done", cwd=project)).strip()
    _ok(lt_here("finish", finished, cwd=project))
    _ok(lt_here("create", "--project", "shell", "--name", "twin", cwd=project))
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
        "step-above-int64": (["log-metrics", run_id, "--metrics", '{"a": 1}', "--step", str(2**63)], project, "--step"),
        "step-20-digits": (["log-metrics", run_id, "--metrics", '{"a": 1}', "--step", "9" * 20], project, "--step"),
        "params-2000-deep": (["log-params", run_id, "--params", _nested(2000)], project, "nested"),
        "params-2000-deep-list": (["log-params", run_id, "--params", '{"a": ' + "[" * 2000 + "]" * 2000 + "}"],
                                  project, "nested"),
        "create-params-2000-deep": (["create", "--params", _nested(2000)], project, "nested"),
        "params-100-deep": (["log-params", run_id, "--params", _nested(100)], project, "nested deeper"),
        "metrics-2000-deep": (["log-metrics", run_id, "--metrics", _nested(2000)], project, "nested"),
        "stdin-with-metrics": (["log-metrics", run_id, "--stdin", "--metrics", '{"a": 1}'], project, "--stdin"),
    }
    results = {label: lt_here(*args, cwd=cwd) for label, (args, cwd, _) in cases.items()}
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


# --------------------------------------------------------------------------- --stdin streams


def _stream_env(flush_seconds: float) -> dict[str, str]:
    env = _env()
    env["LOCALTRACK_FLUSH_SECONDS"] = str(flush_seconds)
    return env


def stream(run_id: str, text: bytes, cwd: Path, flush_seconds: float = 2.0) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*_command(), "log-metrics", run_id, "--stdin"],
        cwd=cwd, env=_stream_env(flush_seconds), input=text, capture_output=True, timeout=120,
    )
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())


def _rows(store_dir: Path, run_id: str) -> list[tuple[str, int, float]]:
    return sorted((r["key"], r["step"], r["value"]) for r in read_metrics(open_store(store_dir), run_id).to_pylist())


def test_stdin_streams_thousands_of_steps_in_one_process(project: Path, store_dir: Path) -> None:
    run_id = _ok(lt("create", "--project", "shell", cwd=project)).strip()
    _ok(lt("log-metrics", run_id, "--metrics", '{"loss": 9.0}', "--step", "4", cwd=project))
    lines, expected = [], []
    for i in range(3000):
        step = 5 + i
        if i % 3 == 0:  # explicit step
            lines.append(json.dumps({"step": step, "loss": 1 / (i + 1), "acc": i / 3000}))
            expected += [("loss", step, 1 / (i + 1)), ("acc", step, i / 3000)]
        else:  # implicit: last step + 1
            lines.append(json.dumps({"loss": 1 / (i + 1)}))
            expected.append(("loss", step, 1 / (i + 1)))
        if i % 500 == 0:
            lines.append("   ")  # blank lines are skipped
    lines.append(json.dumps({"step": 2, "val/loss": 0.5}))  # an earlier step: stored where it belongs
    lines.append(json.dumps({"loss": -1.0}))  # the largest step so far + 1, not 3
    expected += [("val/loss", 2, 0.5), ("loss", 3005, -1.0)]
    done = stream(run_id, ("\r\n".join(lines)).encode(), project)  # CRLF, no final newline
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and done.stdout == ""
    assert _rows(store_dir, run_id) == sorted([("loss", 4, 9.0), *expected])
    summary = load_run(open_store(store_dir), run_id).manifest["summary"]
    assert summary["loss"]["count"] == 3002 and summary["loss"]["step"] == 3005 and summary["loss"]["last"] == -1.0
    assert summary["acc"]["count"] == 1000
    # and the run can go on from the shell
    _ok(lt("log-metrics", run_id, "--metrics", '{"loss": 0.0}', cwd=project))
    assert _rows(store_dir, run_id)[-1] == ("val/loss", 2, 0.5)
    assert ("loss", 3006, 0.0) in _rows(store_dir, run_id)


BAD_LINES = {
    "not-json": (b"{loss: 1}", "not valid JSON"),
    "array": (b"[1, 2]", "JSON object"),
    "text-metric": (b'{"loss": "low"}', "'loss'"),
    "null-metric": (b'{"loss": null}', "'loss'"),
    "nested-metric": (b'{"loss": {"a": 1}}', "'loss'"),
    "huge-int-metric": (b'{"loss": 100000000000000000000}', "'loss'"),
    "step-above-int64": (b'{"step": 9223372036854775808, "loss": 1}', "step"),
    "step-20-digits": (b'{"step": 99999999999999999999, "loss": 1}', "step"),
    "step-negative": (b'{"step": -1, "loss": 1}', "step"),
    "step-float": (b'{"step": 1.5, "loss": 1}', "step"),
    "step-text": (b'{"step": "7", "loss": 1}', "step"),
    "step-bool": (b'{"step": true, "loss": 1}', "step"),
    "nested-2000-deep": (b'{"a": ' * 2000 + b"1" + b"}" * 2000, "nested too deeply"),
    "bad-utf8": (b'{"lo\xffss": 1}', "UTF-8"),
    "escape-in-key": (b'{"a\\u001b[31m": 1}', "metric key"),
}


def test_stdin_bad_line_stops_with_its_line_number_and_keeps_the_lines_before(project: Path, store_dir: Path) -> None:
    good = b'{"step": 0, "loss": 1.0}\n\n{"loss": 0.5}\n'  # lines 1-3; the bad one is line 4
    runs = {label: _ok(lt_here("create", "--project", "shell", cwd=project)).strip() for label in BAD_LINES}
    results = {
        label: lt_here("log-metrics", runs[label], "--stdin", cwd=project, flush_seconds=2.0,
                       stdin=good + BAD_LINES[label][0] + b'\n{"loss": 0.25}\n')
        for label in BAD_LINES
    }
    for label, done in results.items():
        assert done.returncode == 1, f"{label}: {done.stderr}"
        assert "Traceback" not in done.stderr, f"{label}: {done.stderr}"
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, f"{label}: {done.stderr!r}"
        assert "stdin line 4" in lines[0] and BAD_LINES[label][1] in lines[0], f"{label}: {lines[0]!r}"
        assert "2 step(s) before it were logged" in lines[0], lines[0]
        assert "\x1b" not in done.stderr, f"{label}: raw escape reached the terminal"
        assert _rows(store_dir, runs[label]) == [("loss", 0, 1.0), ("loss", 1, 0.5)], label  # nothing after


def test_stdin_refuses_a_finished_run_before_reading(project: Path, store_dir: Path) -> None:
    run_id = _ok(lt("create", "--project", "shell", cwd=project)).strip()
    _ok(lt("finish", run_id, cwd=project))
    done = stream(run_id, b'{"loss": 1}\n', project)
    assert done.returncode == 1 and "finished" in done.stderr and "Traceback" not in done.stderr
    assert _rows(store_dir, run_id) == []


def test_stdin_saves_a_slow_loop_while_it_waits(project: Path, store_dir: Path) -> None:
    """A loop that logs one step and then computes for a long time: the step is on disk meanwhile."""
    run_id = _ok(lt("create", "--project", "shell", cwd=project)).strip()
    proc = subprocess.Popen(
        [*_command(), "log-metrics", run_id, "--stdin"], cwd=project, env=_stream_env(0.2),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdin is not None
        proc.stdin.write(b'{"loss": 1.0}\n{"loss": 0.5}\n')
        proc.stdin.flush()
        deadline = time.monotonic() + 60
        while _rows(store_dir, run_id) != [("loss", 0, 1.0), ("loss", 1, 0.5)]:
            assert time.monotonic() < deadline, "the idle stream never saved its steps"
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.1)
        proc.stdin.write(b'{"loss": 0.25}\n')
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert _rows(store_dir, run_id)[-1] == ("loss", 2, 0.25)
    assert load_run(open_store(store_dir), run_id).status == "running"


def test_stdin_killed_with_sigterm_keeps_the_steps_it_read(project: Path, store_dir: Path) -> None:
    """``kill`` of a pipeline: the steps already read are saved on the way out, not dropped."""
    run_id = _ok(lt("create", "--project", "shell", cwd=project)).strip()
    manifest = store_dir / "runs" / run_id / "manifest.json"
    before = manifest.stat().st_mtime_ns
    proc = subprocess.Popen(
        [*_command(), "log-metrics", run_id, "--stdin"], cwd=project, env=_stream_env(3600),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdin is not None
        proc.stdin.write(b'{"loss": 1.0}\n{"loss": 0.5}\n')  # waiting in the pipe before it starts reading
        proc.stdin.flush()
        deadline = time.monotonic() + 60
        while manifest.stat().st_mtime_ns == before:  # it checked the run: it is about to read
            assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        time.sleep(3)  # it reads what is already in the pipe, then waits (no flush for an hour)
        assert _rows(store_dir, run_id) == []
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert b"Traceback" not in err
    assert _rows(store_dir, run_id) == [("loss", 0, 1.0), ("loss", 1, 0.5)]

"""Every way a training script ends, in a real interpreter of an environment with pandas,
polars and numpy installed (as ML environments are).

Each script logs, changes its config late, and ends one way. The run must read as that
ending says, keep every point and the late config, pass the exit code through, and the exit
hook must neither import a module nor start a thread (both fail, or hang, at shutdown).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from localtrack.store.project import open_store
from localtrack.store.reader import load_run, read_metrics

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

# Registered before localtrack's exit hook (so it runs after it): prints what the hook did.
# The tripwire is armed by a hook registered after init() (so it runs before localtrack's).
PROLOGUE = """
import atexit, json, logging, os, signal, sys, threading, time
TRIPPED = []
def _report():
    sys.stderr.write("TRIPWIRE " + json.dumps(TRIPPED) + "\\n")
atexit.register(_report)
class _Tripwire:
    def find_spec(self, name, path=None, target=None):
        TRIPPED.append("import " + name)
        return None
def _disarm():
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _Tripwire)]
atexit.register(_disarm)
import localtrack
run = localtrack.init(project="endings", id="ending", config={"lr": 0.1})
def _arm():
    sys.meta_path.insert(0, _Tripwire())
    start = threading.Thread.start
    def _start(self):
        TRIPPED.append("thread " + self.name)
        start(self)
    threading.Thread.start = _start
atexit.register(_arm)
for step in range(5):
    run.log({"loss": 1.0 / (step + 1), "acc": step / 10})
run.config.update({"late": "kept"})
print("logged", flush=True)
"""

ENDINGS = [
    pytest.param("pass", "finished", None, 0, id="normal-exit-without-finish"),
    pytest.param("raise RuntimeError('boom')", "failed", "RuntimeError", 1, id="uncaught-exception"),
    pytest.param("sys.exit(0)", "finished", None, 0, id="sys-exit-0"),
    pytest.param("sys.exit()", "finished", None, 0, id="sys-exit-none"),
    pytest.param("sys.exit(3)", "failed", "SystemExit", 3, id="sys-exit-3"),
    pytest.param("sys.exit('fatal: bad data')", "failed", "SystemExit", 1, id="sys-exit-message"),
    pytest.param("raise KeyboardInterrupt", "killed", "KeyboardInterrupt", -signal.SIGINT, id="keyboard-interrupt"),
    pytest.param("os.kill(os.getpid(), signal.SIGINT); time.sleep(5)", "killed", "KeyboardInterrupt", -signal.SIGINT, id="sigint"),
    pytest.param("os.kill(os.getpid(), signal.SIGTERM); time.sleep(5)", "killed", None, 128 + signal.SIGTERM, id="sigterm"),
    pytest.param("run.log({})\nrun.log({'loss': 0.1})", "finished", None, 0, id="empty-log-then-exit"),
    pytest.param("localtrack.finish()", "finished", None, 0, id="explicit-finish"),
]


def _env(store: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALTRACK_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    env["LOCALTRACK_DIR"] = str(store)
    env["LOCALTRACK_FLUSH_SECONDS"] = "30"  # nothing sealed before the ending: the exit hook must do it
    return env


def _tripped(stderr: str) -> list[str]:
    lines = [line for line in stderr.splitlines() if line.startswith("TRIPWIRE ")]
    assert lines, f"the reporting hook did not run:\n{stderr}"
    return json.loads(lines[-1].removeprefix("TRIPWIRE "))


def test_pandas_is_installed_here() -> None:
    """These tests mean something only where pyarrow's pandas shim can find pandas."""
    import importlib.util

    assert importlib.util.find_spec("pandas") is not None
    assert importlib.util.find_spec("polars") is not None


@pytest.mark.parametrize(("ending", "status", "error_type", "returncode"), ENDINGS)
def test_each_ending_is_recorded_with_every_point(
    tmp_path: Path, ending: str, status: str, error_type: str | None, returncode: int
) -> None:
    store = tmp_path / ".localtrack"
    code = PROLOGUE + textwrap.dedent(ending) + "\n"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=_env(store), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == returncode, done.stderr
    assert "could not finish" not in done.stderr, done.stderr
    assert _tripped(done.stderr) == [], "the exit hook imported a module or started a thread"

    record = load_run(open_store(store), "ending")
    assert record.ok, record.error
    manifest = record.manifest
    assert manifest["status"] == status, done.stderr
    assert manifest["config"] == {"lr": 0.1, "late": "kept"}
    error = manifest.get("error")
    if error_type is None:
        assert error is None
    else:
        assert error["type"] == error_type
    if ending.startswith("sys.exit(3)"):
        assert error["message"] == "3"
    table = read_metrics(open_store(store), "ending")
    losses = sorted(
        (row["step"], row["value"]) for row in table.to_pylist() if row["key"] == "loss"
    )
    expected = [(step, 1.0 / (step + 1)) for step in range(5)]
    if "log({})" in ending:
        expected.append((6, 0.1))  # the empty log took step 5
    assert losses == expected


# A zygote interpreter imports pyarrow (as scripts that import numpy or torch first do) and
# fork()s the children: each child calls init() (which imports the rest of the write path),
# logs, and is interrupted at a random instant of its first second after init() returned.
ZYGOTE = """
import json, os, random, select, signal, sys, time
import pyarrow
rng = random.Random(int(sys.argv[1]))
results = {}
def child(n, ready_w):
    import localtrack
    run = localtrack.init(project="sigint", id=f"r{n}")
    os.write(ready_w, b"r")
    step = 0
    while True:
        run.log({"x": float(step)})
        step += 1
        if step % 500 == 0:
            time.sleep(0.001)
for batch in range(int(sys.argv[2])):
    kids = {}
    for n in range(batch * 10, batch * 10 + 10):
        ready_r, ready_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(ready_r)
            child(n, ready_w)  # never returns: Ctrl-C unwinds it through interpreter exit
        os.close(ready_w)
        kids[n] = (pid, ready_r)
    for n, (pid, ready_r) in kids.items():
        select.select([ready_r], [], [], 30)
        os.close(ready_r)
    ready_at = time.monotonic()
    for n, delay in sorted(((n, rng.uniform(0, 1.0)) for n in kids), key=lambda item: item[1]):
        time.sleep(max(0.0, ready_at + delay - time.monotonic()))
        os.kill(kids[n][0], signal.SIGINT)
    deadline = time.monotonic() + 30
    for n, (pid, _) in kids.items():
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                results[n] = status
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                results[n] = None
                break
            time.sleep(0.01)
print(json.dumps(results))
"""


def _burn() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def test_sigint_at_random_moments_after_init_never_hangs(tmp_path: Path) -> None:
    """100 runs, each interrupted at a random instant of its first second after ``init()``
    returned, with both cores kept busy: each ends within seconds, as ``killed``."""
    store = tmp_path / ".localtrack"
    burners = [_burn(), _burn()]
    try:
        done = subprocess.run(
            [sys.executable, "-c", ZYGOTE, "1234", "10"], cwd=tmp_path, env=_env(store),
            capture_output=True, text=True, timeout=600,
        )
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    assert done.returncode == 0, done.stderr
    assert "could not finish" not in done.stderr, done.stderr
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(results) == 100
    hung = sorted(int(n) for n, status in results.items() if status is None)
    assert not hung, f"runs {hung} did not end within 30 s of Ctrl-C"
    layout = open_store(store)
    statuses = {n: load_run(layout, f"r{n}").manifest["status"] for n in results}
    assert set(statuses.values()) == {"killed"}, statuses

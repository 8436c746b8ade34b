"""Crash safety with real processes: SIGKILL at random points, looped; SIGTERM; exits.

The child logs in a loop, seals explicitly with ``run.flush()`` and prints ``sealed <step>``
after each seal returns. Whatever instant it is killed at (mid-log, mid-seal, mid-rename,
mid-compaction), the store stays readable, every acknowledged step survives exactly once,
no ``.parquet`` name ever holds a partial file, and the run reads as ``crashed``.
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from store_helpers import Child, run_code

from localtrack.storage.segments import has_parquet_footer, live_segments
from localtrack.store.project import open_store
from localtrack.store.reader import list_runs, load_run, metric_files, read_metrics
from localtrack.store.status import derive_status

pytestmark = pytest.mark.slow

LOGGER = """
import localtrack
run = localtrack.init(project="crash", id={run_id!r})
print("started", flush=True)
step = 0
while True:
    run.log({{"a": float(step), "b": step * 0.5, "c/d": -step}}, step=step)
    step += 1
    if step % {every} == 0:
        run.flush()
        print(f"sealed {{step - 1}}", flush=True)
"""


def _run_then_signal(code: str, store_dir: Path, cwd: Path, delay: float, signum: int) -> tuple[list[str], str, int]:
    """Start ``code``, let it log for ``delay`` seconds after it started, send ``signum``."""
    with Child(code, store_dir, cwd) as child:
        child.wait_for("started")
        time.sleep(delay)
        child.proc.send_signal(signum)
        code_ = child.finish(timeout=30)
        return list(child.lines), child.stderr, code_


def _acknowledged(lines: list[str]) -> int:
    return max((int(line.split()[1]) for line in lines if line.startswith("sealed ")), default=-1)


def _check_files(metrics: Path) -> None:
    """No partial file under a .parquet name (DuckDB's ``*.parquet`` matches dot-files too)."""
    for path in metrics.iterdir():
        if path.name.endswith(".parquet"):
            assert has_parquet_footer(path), f"partial file under a .parquet name: {path.name}"
            pq.read_metadata(path)
        else:
            assert path.name.startswith(".") and path.name.endswith(".tmp"), f"unexpected file {path.name}"
    assert all(not p.name.startswith(".") for p in live_segments(metrics))


def _steps(store_dir: Path, run_id: str, key: str) -> list[int]:
    table = read_metrics(open_store(store_dir), run_id)
    return table.filter(pc.equal(table.column("key"), key)).column("step").to_pylist()


def _check_survivors(store_dir: Path, run_id: str, acknowledged: int) -> int:
    layout = open_store(store_dir)
    _check_files(store_dir / "runs" / run_id / "metrics")
    assert metric_files(layout, run_id)[1] == []
    count = None
    for key in ("a", "b", "c/d"):
        steps = _steps(store_dir, run_id, key)
        assert len(steps) == len(set(steps)), f"{run_id} {key}: a point was read twice"
        assert sorted(steps) == list(range(len(steps))), f"{run_id} {key}: a hole in the steps"
        assert len(steps) - 1 >= acknowledged, f"{run_id} {key}: sealed step {acknowledged} lost (have {len(steps)})"
        count = len(steps) if count is None else count
        assert len(steps) == count, "keys of one log() call were sealed apart"
    return count or 0


def test_sigkill_at_random_points_keeps_every_sealed_step(store_dir: Path, tmp_path: Path) -> None:
    seed = int(os.environ.get("LT_CRASH_SEED", "0")) or random.randrange(1 << 30)
    rng = random.Random(seed)
    rounds = 0
    while rounds < 5:  # a fixed count, not a time budget: a loaded machine must not make it fewer
        run_id = f"victim{rounds}"
        every = rng.choice([1, 2, 7, 50, 400])  # every=1: seals and merges back to back
        lines, stderr, _ = _run_then_signal(
            LOGGER.format(run_id=run_id, every=every), store_dir, tmp_path, rng.uniform(0.02, 0.5), signal.SIGKILL
        )
        assert "Traceback" not in stderr, stderr
        acknowledged = _acknowledged(lines)
        _check_survivors(store_dir, run_id, acknowledged)
        record = load_run(open_store(store_dir), run_id)
        assert record.ok, record.error
        assert record.status == "crashed", f"seed {seed}: {record.manifest.get('status')}"
        assert derive_status(record.manifest) == "crashed"
        rounds += 1
    records = list_runs(open_store(store_dir))
    assert len(records) == rounds and all(r.ok and r.status == "crashed" for r in records)


def test_crashed_run_can_be_resumed_and_finished(store_dir: Path, tmp_path: Path) -> None:
    lines, _, _ = _run_then_signal(LOGGER.format(run_id="phoenix", every=5), store_dir, tmp_path, 0.3, signal.SIGKILL)
    survived = _check_survivors(store_dir, "phoenix", _acknowledged(lines))
    done = run_code(
        f"""
        import localtrack
        run = localtrack.init(project="crash", id="phoenix", resume="must")
        for step in range({survived}, {survived} + 10):
            run.log({{"a": float(step), "b": step * 0.5, "c/d": -step}}, step=step)
        run.finish()
        """,
        store_dir,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert _steps(store_dir, "phoenix", "a") == list(range(survived + 10))
    # The dead writer still reads as crashed, so the run's final status says so.
    assert load_run(open_store(store_dir), "phoenix").status == "crashed"


def test_sigterm_finishes_as_killed_and_keeps_everything_logged(store_dir: Path, tmp_path: Path) -> None:
    lines, stderr, code = _run_then_signal(LOGGER.format(run_id="termed", every=25), store_dir, tmp_path, 0.4, signal.SIGTERM)
    assert code != 0
    assert "Traceback" not in stderr, stderr
    acknowledged = _acknowledged(lines)
    count = _check_survivors(store_dir, "termed", acknowledged)
    assert count - 1 >= acknowledged
    record = load_run(open_store(store_dir), "termed")
    assert record.manifest["status"] == "killed" and record.status == "killed"
    assert record.manifest["ended_at"]


def test_sigint_finishes_as_killed(store_dir: Path, tmp_path: Path) -> None:
    _run_then_signal(LOGGER.format(run_id="interrupted", every=25), store_dir, tmp_path, 0.3, signal.SIGINT)
    record = load_run(open_store(store_dir), "interrupted")
    assert record.status == "killed"
    assert (record.manifest.get("error") or {}).get("type") == "KeyboardInterrupt"


EXITS = [
    pytest.param("raise ValueError('boom at step 3')", "failed", "ValueError", id="uncaught-exception"),
    pytest.param("raise KeyboardInterrupt", "killed", "KeyboardInterrupt", id="uncaught-keyboard-interrupt"),
    pytest.param("pass", "finished", None, id="normal-exit-without-finish"),
    pytest.param("import sys; sys.exit(0)", "finished", None, id="sys-exit-0"),
    pytest.param("with run:\n    raise RuntimeError('inside with')", "failed", "RuntimeError", id="with-block-exception"),
    pytest.param("with run:\n    raise KeyboardInterrupt", "killed", "KeyboardInterrupt", id="with-block-interrupt"),
    pytest.param("with run:\n    import sys; sys.exit(3)", "failed", "SystemExit", id="with-block-sys-exit-3"),
    pytest.param("with run:\n    import sys; sys.exit(0)", "finished", None, id="with-block-sys-exit-0"),
    pytest.param("run.finish(status='failed')", "failed", None, id="explicit-failed"),
    pytest.param("localtrack.finish(exit_code=2)", "failed", None, id="exit-code-2"),
]


@pytest.mark.parametrize(("ending", "status", "error_type"), EXITS)
def test_how_the_process_ends_is_how_the_run_ends(
    store_dir: Path, tmp_path: Path, ending: str, status: str, error_type: str | None
) -> None:
    code = (
        "import localtrack\n"
        "run = localtrack.init(project='exits', id='ending')\n"
        "for step in range(5):\n"
        "    run.log({'loss': 1.0 / (step + 1)})\n"
        f"{ending}\n"
    )
    done = run_code(code, store_dir, tmp_path)
    record = load_run(open_store(store_dir), "ending")
    assert record.ok, record.error
    assert record.manifest["status"] == status, done.stderr
    assert record.status == status
    error = record.manifest.get("error")
    if error_type is None:
        assert error is None
    else:
        assert error["type"] == error_type
        if error_type in ("ValueError", "RuntimeError"):
            assert error["message"] in ("boom at step 3", "inside with")
            assert error_type in error["traceback"]
    assert _steps(store_dir, "ending", "loss") == [0, 1, 2, 3, 4]
    assert "localtrack" not in done.stdout, "the library printed to stdout"

"""The index follows the run folders: adding, finishing and deleting a run re-reads only that
run; a writer that dies shows as crashed without any file changing; processes share the index."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import pytest
from query_samples import RunSpec, age_store, build_store, run_id, sample_specs, write_run

from localtrack.query.store import Store
from localtrack.storage.layout import StoreLayout
from localtrack.storage.segments import SegmentName, write_segment

REPO = Path(__file__).resolve().parents[2]


def finished_specs(n: int) -> list[RunSpec]:
    return [replace(s, status="finished") for s in sample_specs(n)]


@pytest.fixture
def layout(store_dir: Path) -> StoreLayout:
    layout = StoreLayout(store_dir)
    build_store(layout, finished_specs(30))
    age_store(layout)
    return layout


def test_query_add_finish_delete_touch_only_that_run(layout: StoreLayout) -> None:
    store = Store(layout.root)
    assert len(store.runs()) == 30
    assert store.index.last_refresh["runs_changed"] == 30  # built on first use
    store.refresh()
    assert store.index.last_refresh["runs_changed"] == 0

    new = replace(sample_specs(31)[30], status="running")
    write_run(layout, new)
    rows = {r["id"]: r for r in store.runs(filter="status = 'RUNNING'")}
    assert set(rows) == {new.id}
    assert store.index.last_refresh["runs_changed"] == 1

    write_run(layout, replace(new, status="finished", notes="done"))  # the writer finishes
    row = store.runs(filter=f"run_id = '{new.id}'")[0]
    assert (row["status"], row["notes"]) == ("finished", "done")
    assert store.index.last_refresh["runs_changed"] == 1

    shutil.rmtree(layout.run_dir(new.id))
    assert new.id not in store.runs().ids
    assert store.index.last_refresh["runs_changed"] == 1
    assert store.sql(f"select count(*) as n from metrics where run_id = '{new.id}'").to_pylist() == [{"n": 0}]
    assert store.sql("select count(*) as n from runs").to_pylist() == [{"n": 30}]


def test_query_two_handles_share_one_index(layout: StoreLayout) -> None:
    a, b = Store(layout.root), Store(layout.root)
    assert len(a.runs()) == len(b.runs()) == 30
    extra = sample_specs(32)[31]
    write_run(layout, extra)
    age_store(layout)  # past the racy window, so only b's refresh has work to do
    assert extra.id in b.runs().ids
    assert extra.id in a.runs().ids  # a sees b's refresh (and does not redo it)
    assert a.index.last_refresh["runs_changed"] == 0


def test_query_same_size_rewrite_within_a_tick_is_seen(layout: StoreLayout) -> None:
    spec = finished_specs(1)[0]
    store = Store(layout.root)
    for note in ("aaaa", "bbbb", "cccc"):
        write_run(layout, replace(spec, notes=note))
        assert store.runs(filter=f"run_id = '{spec.id}'")[0]["notes"] == note


def test_query_unrecorded_segment_of_a_running_run_is_seen(layout: StoreLayout) -> None:
    """A writer killed between sealing a segment and recording it: the file alone is enough."""
    import pyarrow as pa

    from localtrack.storage.segments import schema

    spec = replace(sample_specs(33)[32], status="crashed")
    write_run(layout, spec)
    store = Store(layout.root)
    before = store.runs(filter=f"run_id = '{spec.id}'")[0]["metrics"]["val/loss"]["count"]
    table = pa.table({"step": pa.array([999], pa.int64()), "timestamp": pa.array([0], pa.timestamp("us", tz="UTC")),
                      "key": ["val/loss"], "value": [0.001]}, schema=schema())
    write_segment(layout.run_dir(spec.id) / "metrics", SegmentName("w0", 2, 2), table)
    row = store.runs(filter=f"run_id = '{spec.id}'")[0]
    assert row["metrics"]["val/loss"]["count"] == before + 1
    assert row["metrics"]["val/loss"]["last"] == 0.001 and row["status"] == "crashed"


def _child_env(store: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALTRACK_")}
    env.update(PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1", LOCALTRACK_FLUSH_SECONDS="0.1", LOCALTRACK_DIR=str(store))
    return env


def test_query_sigkilled_writer_reads_as_crashed(store_dir: Path, tmp_path: Path) -> None:
    code = textwrap.dedent("""
        import sys, time, localtrack
        run = localtrack.init(project="p", name="victim", config={"lr": 0.1})
        for step in range(50):
            run.log({"loss": 1.0 / (step + 1)}, step=step)
        run.flush()
        print(run.id, flush=True)
        time.sleep(600)
    """)
    child = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, env=_child_env(store_dir),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        victim = child.stdout.readline().strip()
        assert victim, child.stderr.read() if child.stderr else ""
        store = Store(store_dir)
        (row,) = store.runs(filter="status = 'RUNNING'")
        assert row["id"] == victim and row["metrics"]["loss"]["count"] == 50
        manifest = (store_dir / "runs" / victim / "manifest.json").stat()
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        (row,) = store.runs()
        assert row["status"] == "crashed"
        assert (store_dir / "runs" / victim / "manifest.json").stat().st_mtime_ns == manifest.st_mtime_ns
        assert [r["id"] for r in store.runs(filter="attributes.status = 'CRASHED'")] == [victim]
        assert store.runs(filter="status = 'running'").ids == []
        assert store.runs(filter="metrics.loss < 0.03")[0]["metrics"]["loss"]["last"] == 1.0 / 50
        assert Store(store_dir).runs()[0]["status"] == "crashed"  # a fresh process-level handle agrees
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate()


def test_query_concurrent_cli_searches_share_the_index(layout: StoreLayout, tmp_path: Path) -> None:
    """Several CLI processes build and refresh one index at once, while a run is being written."""
    cli = [sys.executable, "-c", "from localtrack.cli.entry import main; main()"]
    writer_code = textwrap.dedent("""
        import localtrack
        run = localtrack.init(project="p", name="live")
        for step in range(3000):
            run.log({"x": float(step)}, step=step)
            if step % 300 == 0:
                run.flush()
        run.finish()
    """)
    env = _child_env(layout.root)
    writer = subprocess.Popen([sys.executable, "-c", writer_code], cwd=tmp_path, env=env)
    procs = [
        subprocess.Popen([*cli, "search", "--format", "json", "-F", "params.bs >= 16", "--store", str(layout.root)],
                         cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(5)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert writer.wait(timeout=120) == 0
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        ids = {r["id"] for r in json.loads(out)}
        assert {s.id for s in finished_specs(30) if isinstance(s.flat_params().get("bs"), int)} <= ids
    final = Store(layout.root)
    (live,) = final.runs(filter="name = 'live'")
    assert live["status"] == "finished" and live["metrics"]["x"]["count"] == 3000
    assert final.problems == []


def test_query_refresh_cost_follows_the_run_not_the_store(store_dir: Path) -> None:
    """Adding one run re-reads one run folder (timing is the benchmark's job; here we count)."""
    layout = StoreLayout(store_dir)
    build_store(layout, finished_specs(60))
    age_store(layout)
    store = Store(layout.root)
    store.refresh()
    write_run(layout, replace(finished_specs(61)[60], id=run_id(999)))
    started = time.perf_counter()
    store.refresh()
    assert store.index.last_refresh["runs_changed"] == 1
    assert time.perf_counter() - started < 30  # sanity only


def test_query_index_survives_a_reader_killed_mid_refresh(store_dir: Path, tmp_path: Path) -> None:
    """SIGKILL a process while it builds the index: the next reader gets a whole, correct index."""
    layout = StoreLayout(store_dir)
    specs = finished_specs(150)
    build_store(layout, specs)
    code = textwrap.dedent(f"""
        import sys
        from localtrack.query import index_refresh
        original = index_refresh.Refresher.summarise
        def slow(self, rks):
            original(self, rks)
            print("inside", flush=True)
            import time; time.sleep(60)  # killed here: rows inserted, transaction not committed
        index_refresh.Refresher.summarise = slow
        from localtrack.query.store import Store
        Store({str(store_dir)!r}).refresh()
    """)
    child = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, env=_child_env(store_dir),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "inside"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate()
    store = Store(store_dir)
    assert set(store.runs().ids) == {s.id for s in specs}
    assert store.sql("select count(*) as n from metrics").to_pylist()[0]["n"] == sum(
        len(p) for s in specs for p in s.history.values())
    assert store.problems == []

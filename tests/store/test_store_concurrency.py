"""Several real processes at once: distinct runs, two ranks of one run, and a reader in a loop.

Children wait on a barrier file so they really start together; a reader in this process lists
and reads every run while they write: it never errors and counts never go down.
"""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow.compute as pc
import pytest
from store_helpers import Child, run_code

import localtrack
from localtrack.errors import RunExistsError, RunNotFoundError
from localtrack.store.project import open_store
from localtrack.store.reader import list_runs, load_run, read_metrics

pytestmark = pytest.mark.slow

STEPS = 400

WRITER = """
import os, sys, time
go = {go!r}
while not os.path.exists(go):
    time.sleep(0.001)
import localtrack
run = localtrack.init(project="conc", name={name!r}, id={run_id!r}, resume={resume!r}, config={{"rank": {rank}}})
print("joined", run.id, flush=True)
# Ranks of one run wait for each other here: a rank that finished before the other joined
# would make the other resume an ended run (whose steps 0.. it would then drop, as wandb).
open(go + "-joined-{rank}", "w").close()
deadline = time.monotonic() + 30
while not all(os.path.exists(go + f"-joined-{{peer}}") for peer in {peers!r}) and time.monotonic() < deadline:
    time.sleep(0.002)
for step in range({steps}):
    run.log({{"loss": 1.0 / (step + 1), "rank{rank}/x": float({rank})}}, step=step)
    if step % 50 == 0:
        time.sleep(0.01)  # let seals interleave with the reader
hold = {hold!r}
if hold:
    print("waiting", flush=True)
    while not os.path.exists(hold):
        time.sleep(0.005)
run.finish()
print("finished", flush=True)
"""


def _writer(
    go: Path, rank: int, run_id: str | None, resume: str | None, hold: Path | None = None, peers: tuple[int, ...] = ()
) -> str:
    return WRITER.format(
        go=str(go), name=f"w{rank}", run_id=run_id, resume=resume, rank=rank, steps=STEPS, hold=str(hold) if hold else "",
        peers=peers,
    )


def _count(store_dir: Path, run_id: str, key: str) -> int:
    table = read_metrics(open_store(store_dir), run_id)
    return table.filter(pc.equal(table.column("key"), key)).num_rows


def test_many_writers_and_a_reader_at_once(store_dir: Path, tmp_path: Path) -> None:
    go = tmp_path / "go"
    hold = tmp_path / "rank1-may-finish"
    env = {"LOCALTRACK_FLUSH_SECONDS": "0.05"}
    children = [Child(_writer(go, rank, None, None), store_dir, tmp_path, **env) for rank in range(4)]
    children += [
        Child(_writer(go, 10, "ddp-job", "allow", peers=(11,)), store_dir, tmp_path, **env),
        Child(_writer(go, 11, "ddp-job", "allow", hold=hold, peers=(10,)), store_dir, tmp_path, **env),
    ]
    try:
        time.sleep(0.3)  # let every child reach the barrier
        go.touch()
        layout = open_store(store_dir)
        seen: dict[str, int] = {}
        rounds = 0
        rank0_done = False
        while any(c.proc.poll() is None for c in children[:5]) or rounds < 3:
            records = list_runs(layout)
            for record in records:
                assert record.ok, record.error
                rows = read_metrics(layout, record.id).num_rows
                assert rows >= seen.get(record.id, 0), f"{record.id}: rows went from {seen[record.id]} to {rows}"
                seen[record.id] = rows
            rounds += 1
            if not rank0_done and children[4].proc.poll() is not None:
                rank0_done = True
                # One rank finished, the other is alive: the run is still running.
                children[5].wait_for("waiting")
                record = load_run(layout, "ddp-job")
                assert record.status == "running", record.manifest["status"]
            time.sleep(0.01)
        assert rounds > 5, "the reader did not overlap the writers"
        children[5].wait_for("waiting")
        assert load_run(layout, "ddp-job").status == "running"
        hold.touch()
        for child in children:
            assert child.finish(timeout=60) == 0, child.stderr
            assert "Traceback" not in child.stderr, child.stderr
    finally:
        hold.touch()
        for child in children:
            child.__exit__(None, None, None)

    records = {r.name if r.id != "ddp-job" else r.id: r for r in list_runs(layout)}
    assert len(records) == 5, sorted(records)
    for rank in range(4):
        record = records[f"w{rank}"]
        assert record.status == "finished"
        assert _count(store_dir, record.id, "loss") == STEPS
        assert _count(store_dir, record.id, f"rank{rank}/x") == STEPS
        assert record.manifest["summary"]["loss"]["count"] == STEPS

    ddp = records["ddp-job"]
    assert ddp.status == "finished" and ddp.manifest["status"] == "finished"
    assert len(ddp.manifest["writers"]) == 2
    assert all(w["status"] == "finished" for w in ddp.manifest["writers"].values())
    assert _count(store_dir, "ddp-job", "loss") == 2 * STEPS, "a rank lost points"
    assert _count(store_dir, "ddp-job", "rank10/x") == STEPS
    assert _count(store_dir, "ddp-job", "rank11/x") == STEPS
    assert ddp.manifest["summary"]["loss"]["count"] == 2 * STEPS
    assert ddp.manifest["summary"]["rank11/x"]["count"] == STEPS
    assert ddp.manifest["config"]["rank"] in (10, 11)
    filenames = [f for w in ddp.manifest["writers"].values() for f in w["segments"]]
    assert len(filenames) == len(set(filenames)), "two writers share a segment file"


def test_two_ranks_racing_to_create_one_run_both_join(store_dir: Path, tmp_path: Path) -> None:
    """Repeated a few times: whichever rank renames the folder first, the other joins."""
    for attempt in range(3):
        go = tmp_path / f"go{attempt}"
        run_id = f"race{attempt}"
        with Child(_writer(go, 0, run_id, "allow", peers=(1,)), store_dir, tmp_path) as a, Child(
            _writer(go, 1, run_id, "allow", peers=(0,)), store_dir, tmp_path
        ) as b:
            time.sleep(0.2)
            go.touch()
            assert a.finish() == 0, a.stderr
            assert b.finish() == 0, b.stderr
        record = load_run(open_store(store_dir), run_id)
        assert record.status == "finished"
        assert len(record.manifest["writers"]) == 2
        assert _count(store_dir, run_id, "loss") == 2 * STEPS


def test_resume_must_on_a_missing_run_fails_cleanly(store_dir: Path) -> None:
    with pytest.raises(RunNotFoundError) as info:
        localtrack.init(project="conc", dir=store_dir, id="nobody-here", resume="must")
    assert info.value.value == "nobody-here"
    assert list((store_dir / "runs").iterdir()) == []


def test_existing_id_without_resume_is_refused(store_dir: Path) -> None:
    with localtrack.init(project="conc", dir=store_dir, id="taken") as run:
        run.log({"a": 1.0})
    with pytest.raises(RunExistsError) as info:
        localtrack.init(project="conc", dir=store_dir, id="taken")
    assert "resume" in str(info.value)
    assert load_run(open_store(store_dir), "taken").status == "finished"
    assert _count(store_dir, "taken", "a") == 1


def test_resume_allow_adds_a_writer_to_a_finished_run(store_dir: Path, tmp_path: Path) -> None:
    with localtrack.init(project="conc", dir=store_dir, id="again", config={"lr": 0.1}) as run:
        run.log({"a": 1.0}, step=0)
    done = run_code(
        """
        import localtrack
        with localtrack.init(id="again", resume="allow", config={"extra": 1}) as run:
            assert run.config["lr"] == 0.1, dict(run.config)
            run.log({"a": 2.0}, step=1)
        """,
        store_dir,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    record = load_run(open_store(store_dir), "again")
    assert record.status == "finished"
    assert record.manifest["config"] == {"lr": 0.1, "extra": 1}
    assert record.manifest["summary"]["a"]["count"] == 2 and record.manifest["summary"]["a"]["last"] == 2.0

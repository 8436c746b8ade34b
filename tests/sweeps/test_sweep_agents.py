"""Agents: trials become runs grouped under the sweep; parallel agents never run a trial twice."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

import localtrack
from localtrack.store.project import open_store
from localtrack.store.reader import load_run
from localtrack.sweeps.agent import Agent
from localtrack.sweeps.config import SweepConfigError
from localtrack.sweeps.results import spearman, sweep_report
from localtrack.sweeps.store import StoredSweep

REPO = Path(__file__).resolve().parents[2]
GRID = {"method": "grid", "metric": {"name": "loss", "goal": "minimize"},
        "parameters": {"lr": {"values": [0.1, 0.01, 0.001]}, "depth": {"values": [1, 2]}}}


def _train() -> None:
    run = localtrack.init(config={"lr": 99.0, "depth": 99, "epochs": 3})  # defaults the sweep overrides
    for epoch in range(run.config["epochs"]):
        run.log({"loss": run.config["lr"] * run.config["depth"] / (epoch + 1)})
    run.finish()


def test_function_agent_runs_each_grid_point_once_as_a_grouped_run(store_dir: Path) -> None:
    sweep_id = localtrack.sweep(GRID, project="sw", dir=store_dir)
    assert localtrack.agent(sweep_id, function=_train, count=4, dir=store_dir) == 4
    assert localtrack.agent(sweep_id, function=_train, dir=store_dir) == 2  # the rest, then stops
    assert localtrack.agent(sweep_id, function=_train, dir=store_dir) == 0
    layout = open_store(store_dir)
    report = sweep_report(StoredSweep(layout, sweep_id))
    assert report["counts"] == {"finished": 6}
    seen = set()
    for trial in report["trials"]:
        run = load_run(layout, trial["run_id"])
        assert run.manifest["group"] == sweep_id and run.manifest["project"] == "sw"
        assert run.manifest["tags"]["sweep_trial"] == trial["trial"]
        config = run.manifest["config"]
        assert {"lr": config["lr"], "depth": config["depth"]} == trial["params"]
        assert config["epochs"] == 3  # the script's own config is kept beside the params
        expected = trial["params"]["lr"] * trial["params"]["depth"] / 3
        assert trial["value"] == pytest.approx(expected)
        seen.add((config["lr"], config["depth"]))
    assert len(seen) == 6
    assert report["best"]["params"] == {"lr": 0.001, "depth": 1}
    assert report["importance"]["lr"] > report["importance"]["depth"] > 0


def test_a_failing_trial_is_failed_and_the_agent_goes_on(store_dir: Path) -> None:
    sweep_id = localtrack.sweep({"method": "random", "parameters": {"x": {"values": [1, 2]}}}, dir=store_dir)
    started: list[str] = []
    failed: set[str] = set()

    def train() -> None:  # every other trial fails: deterministic, unlike failing on a random draw
        run = localtrack.init()
        started.append(run.id)
        if len(started) % 2:
            failed.add(run.id)
            raise RuntimeError("diverged")
        run.log({"loss": 0.5})

    assert localtrack.agent(sweep_id, function=train, count=6, dir=store_dir) == 6
    rows = sweep_report(StoredSweep(open_store(store_dir), sweep_id))["trials"]
    assert len(failed) == 3 and len(rows) == 6
    assert {r["status"] for r in rows if r["run_id"] in failed} == {"failed"}
    assert {r["status"] for r in rows if r["run_id"] not in failed} == {"finished"}


CLAIMER = textwrap.dedent(
    """
    import json, sys, time
    from localtrack.store.project import open_store
    from localtrack.sweeps.agent import Agent
    store, sweep_id, go = sys.argv[1:4]
    while not __import__("os").path.exists(go):
        time.sleep(0.005)
    agent = Agent(open_store(store), sweep_id)
    mine = []
    while (trial := agent.next_trial()) is not None:
        mine.append(trial.key)
    print(json.dumps(mine))
    """
)


def test_parallel_agent_processes_split_the_grid_without_overlap(store_dir: Path, tmp_path: Path) -> None:
    big = {"method": "grid", "parameters": {"a": {"values": list(range(10))}, "b": {"values": list(range(6))}}}
    sweep_id = localtrack.sweep(big, dir=store_dir)
    go = tmp_path / "go"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALTRACK_")}
    env["PYTHONPATH"] = str(REPO)
    procs = [subprocess.Popen([sys.executable, "-c", CLAIMER, str(store_dir), sweep_id, str(go)],
                              stdout=subprocess.PIPE, text=True, env=env) for _ in range(4)]
    go.write_text("go")
    claimed = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    everything = [key for keys in claimed for key in keys]
    assert len(everything) == len(set(everything)) == 60
    assert all(p.returncode == 0 for p in procs)


def test_threads_racing_for_one_trial_file_get_it_once(store_dir: Path) -> None:
    sweep_id = localtrack.sweep({"method": "grid", "parameters": {"a": {"values": [1]}}}, dir=store_dir)
    sweep = StoredSweep(open_store(store_dir), sweep_id)
    barrier = threading.Barrier(8)
    wins = []

    def race(i: int) -> None:
        barrier.wait()
        if sweep.claim("grid-000000", {"a": 1}, f"run-{i}", f"agent{i}"):
            wins.append(i)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    assert sweep.read_trial("grid-000000")["run_id"] == f"run-{wins[0]}"
    assert [p.name for p in sweep.trials_dir.iterdir()] == ["grid-000000.json"]  # no temp file left behind


def test_stores_merged_like_git_checkouts_never_collide(store_dir: Path, tmp_path: Path) -> None:
    """Two machines with copies of the store: random trials have per-agent names, grid shards split."""
    sweep_id = localtrack.sweep({"method": "random", "parameters": {"x": {"min": 0.0, "max": 1.0}}}, dir=store_dir)
    grid_id = localtrack.sweep({"method": "grid", "parameters": {"a": {"values": list(range(7))}}}, dir=store_dir)
    other = tmp_path / "machine2" / ".localtrack"
    shutil.copytree(store_dir, other)
    keys = {}
    for name, root, shard in (("one", store_dir, (0, 2)), ("two", other, (1, 2))):
        layout = open_store(root)
        random_agent, grid_agent = Agent(layout, sweep_id), Agent(layout, grid_id, shard=shard)
        keys[name] = [random_agent.next_trial().key for _ in range(3)]
        keys[name] += [t.key for t in iter(grid_agent.next_trial, None)]
    assert not set(keys["one"]) & set(keys["two"])  # a merge adds files, never edits one
    grid_keys = sorted(k for k in keys["one"] + keys["two"] if k.startswith("grid-"))
    assert grid_keys == [f"grid-{i:06d}" for i in range(7)]


def test_bayes_uses_tpe_and_stays_in_bounds(store_dir: Path) -> None:
    pytest.importorskip("optuna")
    config = {"method": "bayes", "metric": {"name": "loss", "goal": "minimize"},
              "parameters": {"x": {"min": -5.0, "max": 5.0}, "k": {"values": ["a", "b"]}}}
    sweep_id = localtrack.sweep(config, dir=store_dir)

    def train() -> None:
        run = localtrack.init()
        run.log({"loss": (run.config["x"] - 1) ** 2 + (run.config["k"] == "b")})

    localtrack.agent(sweep_id, function=train, count=8, dir=store_dir)
    report = sweep_report(StoredSweep(open_store(store_dir), sweep_id))
    assert report["counts"] == {"finished": 8}
    assert all(-5 <= r["params"]["x"] <= 5 and r["params"]["k"] in ("a", "b") for r in report["trials"])
    assert report["best"]["value"] == min(r["value"] for r in report["trials"])


def test_bayes_without_optuna_says_what_to_install(store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sweep_id = localtrack.sweep({"method": "bayes", "metric": {"name": "m"}, "parameters": {"x": {"min": 0.0, "max": 1.0}}}, dir=store_dir)
    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(SweepConfigError, match="pip install optuna"):
        Agent(open_store(store_dir), sweep_id).next_trial()


def test_hostile_trial_files_are_reported_not_followed(store_dir: Path, tmp_path: Path) -> None:
    sweep_id = localtrack.sweep(GRID, dir=store_dir)
    sweep = StoredSweep(open_store(store_dir), sweep_id)
    sweep.trials_dir.mkdir()
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"key": "grid-000000", "params": {}, "run_id": "x"}))
    (sweep.trials_dir / "grid-000000.json").symlink_to(secret)
    (sweep.trials_dir / "grid-000001.json").write_text(json.dumps({"key": "grid-000001", "params": {}, "run_id": "../../etc"}))
    (sweep.trials_dir / "not-a-trial.json").write_text("{}")
    rows = sweep_report(sweep)["trials"]
    assert [(r["trial"], r["status"]) for r in rows] == [("grid-000000", "unreadable"), ("grid-000001", "unreadable")]
    trial = Agent(open_store(store_dir), sweep_id).next_trial()
    assert trial is not None and trial.key == "grid-000002"  # a claimed name stays claimed, however damaged


def test_spearman_measure() -> None:
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [9, 4, 1, 0]) == pytest.approx(-1.0)
    assert spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) == pytest.approx(0.8)
    assert spearman([1, 1, 1], [1, 2, 3]) is None
    assert spearman([1, 2], [1, 2]) is None

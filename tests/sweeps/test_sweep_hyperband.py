"""early_terminate: hyperband brackets, W&B's stopping rule, and agents that really stop trials."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import localtrack
from localtrack.store.project import open_store
from localtrack.store.reader import load_run
from localtrack.sweeps.config import SweepConfigError, parse_config
from localtrack.sweeps.hyperband import (
    Hyperband,
    HyperbandConfigError,
    compute_brackets,
    decide,
    hyperband_of,
)
from localtrack.sweeps.results import sweep_report
from localtrack.sweeps.store import StoredSweep
from localtrack.sweeps.watcher import metric_history

REPO = Path(__file__).resolve().parents[2]
PARAMS = {"q": {"values": [1]}}


# ---------------------------------------------------------------- brackets


def test_brackets_from_min_iter_grow_by_eta() -> None:
    assert compute_brackets(min_iter=3, eta=3)[:4] == (3, 9, 27, 81)  # W&B's documented example
    assert compute_brackets(min_iter=2, eta=2)[:5] == (2, 4, 8, 16, 32)
    assert compute_brackets(min_iter=1)[:3] == (1, 3, 9)  # eta defaults to 3


def test_brackets_from_max_iter_go_down_s_times() -> None:
    assert compute_brackets(max_iter=27, eta=3, s=2) == (3, 9)  # W&B's documented example
    assert compute_brackets(max_iter=81, eta=3, s=3) == (3, 9, 27)
    assert compute_brackets(max_iter=5, eta=2, s=2) == (1, 2)
    assert compute_brackets(max_iter=10, eta=3, s=5) == (1, 3)  # brackets below 1 iteration are dropped
    assert compute_brackets(min_iter=4, max_iter=100, eta=2, s=1)[:2] == (4, 8)  # min_iter wins, as in W&B


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ({"type": "hyperband", "max_iter": 27}, "needs s"),
        ({"type": "hyperband", "min_iter": 3, "eta": 1}, "eta must be an integer >= 2"),
        ({"type": "hyperband", "max_iter": 2, "eta": 3, "s": 1}, "leaves no bracket"),
    ],
)
def test_unusable_schedules_fail_at_create_with_one_line(spec: dict, problem: str) -> None:
    with pytest.raises(HyperbandConfigError, match=problem):
        hyperband_of(spec)
    with pytest.raises(SweepConfigError, match=problem):
        parse_config({"method": "grid", "metric": {"name": "loss"}, "parameters": PARAMS, "early_terminate": spec})


def test_early_terminate_needs_the_metric_it_judges_on() -> None:
    with pytest.raises(SweepConfigError, match=r"metric\.name"):
        parse_config({"method": "grid", "parameters": PARAMS, "early_terminate": {"type": "hyperband", "min_iter": 2}})


def test_reached_bracket_counts_logged_values() -> None:
    schedule = Hyperband((2, 6, 18), 3)
    assert [schedule.reached(n) for n in (0, 1, 2, 5, 6, 17, 18, 100)] == [None, None, 2, 2, 6, 6, 18, 18]


# ---------------------------------------------------------------- the rule


def test_a_trial_worse_than_the_top_third_is_stopped_at_its_bracket() -> None:
    schedule = Hyperband((2, 6), 3)
    others = [[5.0, 1.0, 0.9], [5.0, 2.0], [9.0]]  # the last never reached iteration 2
    stop = decide(schedule, "minimize", [4.0, 3.0], others)
    assert stop is not None
    # values at iteration 2 (the 2nd logged value): 1.0, 2.0 and ours 3.0; index floor(3/3) = 1 -> 2.0
    assert (stop.bracket, stop.value, stop.threshold, stop.values) == (2, 3.0, 2.0, (1.0, 2.0, 3.0))
    assert decide(schedule, "minimize", [4.0, 2.0], others) is None  # tied with the threshold: goes on
    assert decide(schedule, "minimize", [4.0], others) is None  # no bracket reached yet


def test_maximize_flips_the_order() -> None:
    schedule = Hyperband((1,), 2)
    others = [[0.9], [0.8]]
    stop = decide(schedule, "maximize", [0.1], others)
    assert stop is not None and stop.threshold == 0.8 and stop.values == (0.9, 0.8, 0.1)
    assert decide(schedule, "maximize", [0.95], others) is None


def test_alone_at_a_bracket_a_trial_is_never_stopped() -> None:
    assert decide(Hyperband((1, 3), 3), "minimize", [100.0, 100.0, 100.0], [[], [200.0]]) is None  # best at 1, alone at 3


def test_every_reached_bracket_is_judged_lowest_first() -> None:
    schedule = Hyperband((1, 3), 2)
    others = [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]
    assert decide(schedule, "minimize", [1.5, 1.5], others) is None  # the middle of 3 at iteration 1: goes on
    stop = decide(schedule, "minimize", [1.5, 1.5, 6.0, 6.0], others)  # the worst at iteration 3
    assert decide(schedule, "minimize", [9.0, 0.0, 0.0], others).bracket == 1  # however late one looks
    assert stop is not None
    assert (stop.bracket, stop.value, stop.threshold, stop.values) == (3, 6.0, 2.0, (1.0, 2.0, 6.0))


# ---------------------------------------------------------------- agents

TRAIN = textwrap.dedent(
    """
    import argparse, time, localtrack
    parser = argparse.ArgumentParser()
    parser.add_argument("--q", type=float, required=True)
    args = parser.parse_args()
    run = localtrack.init()
    good = args.q < 10
    for i in range(6 if good else 600):  # a bad trial would run 30 s: it is stopped long before
        run.log({"loss": args.q / (i + 1), "other": 1.0})
        time.sleep(0.01 if good else 0.05)
    run.finish()
    """
)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALTRACK_")}
    env.update(PYTHONPATH=str(REPO), LOCALTRACK_SYSTEM_METRICS="0", LOCALTRACK_FLUSH_SECONDS="0.1")
    return env


def _agent(store: Path, sweep_id: str, cwd: Path, *extra: str) -> subprocess.Popen[str]:
    code = "import sys; from localtrack.cli.entry import main; sys.exit(main(sys.argv[1:]))"
    argv = [sys.executable, "-c", code, "sweep", "agent", sweep_id, "--store", str(store), *extra,
            "--", sys.executable, "train.py"]
    return subprocess.Popen(argv, cwd=cwd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_agents_stop_bad_trials_at_the_first_bracket_and_let_good_ones_finish(store_dir: Path, tmp_path: Path) -> None:
    """Grid order makes it deterministic: two good trials (the second better than the first)
    run first in one agent; then two agents in parallel get the two bad ones, which are
    far worse than the top third at iteration 2 and are stopped there."""
    (tmp_path / "train.py").write_text(TRAIN)
    config = {"method": "grid", "metric": {"name": "loss", "goal": "minimize"},
              "parameters": {"q": {"values": [2, 1, 50, 60]}},
              "early_terminate": {"type": "hyperband", "min_iter": 2, "eta": 3}}
    sweep_id = localtrack.sweep(config, dir=store_dir)
    first = _agent(store_dir, sweep_id, tmp_path, "--count", "2")
    first_err = first.communicate(timeout=120)[1]
    assert first.returncode == 0, first_err
    later = [_agent(store_dir, sweep_id, tmp_path) for _ in range(2)]
    errors = [p.communicate(timeout=120)[1] for p in later]
    assert [p.returncode for p in later] == [0, 0], errors

    layout = open_store(store_dir)
    sweep = StoredSweep(layout, sweep_id)
    report = sweep_report(sweep)
    by_q = {row["params"]["q"]: row for row in report["trials"]}
    assert sorted(by_q) == [1, 2, 50, 60]
    stops = sweep.stops()
    for q in (2, 1):
        row = by_q[q]
        assert row["status"] == "finished" and row["early_terminated"] is None
        assert row["value"] == pytest.approx(q / 6)
        assert row["trial"] not in stops
    for q in (50, 60):
        row = by_q[q]
        run = load_run(layout, row["run_id"])
        assert row["status"] == "killed", errors
        assert run.manifest["tags"]["sweep_early_terminated"] == "2"
        assert row["early_terminated"]["bracket"] == 2
        logged = metric_history(sweep, row["run_id"], "loss")
        assert 2 <= len(logged) < 600
        record = stops[row["trial"]]
        # at iteration 2 the good trials had 1.0 and 0.5; with this one (and maybe the other
        # bad one) that is 3 or 4 values, and index floor(n/3) = 1 of them sorted is 1.0
        assert record["bracket"] == 2 and record["threshold"] == 1.0 and record["value"] == q / 2
        assert record["values_at_bracket"][:2] == [0.5, 1.0] and record["trials_at_bracket"] in (3, 4)
        assert "SIGTERM" in run.manifest["error"]["message"]
    assert report["best"]["params"] == {"q": 1}
    assert report["early_terminate"]["brackets"][:3] == [2, 6, 18]


def test_function_trials_stop_at_their_next_log_and_a_trial_without_the_metric_runs_on(store_dir: Path) -> None:
    config = {"method": "grid", "metric": {"name": "loss", "goal": "minimize"},
              "parameters": {"q": {"values": [1, 0, 50]}},
              "early_terminate": {"type": "hyperband", "min_iter": 1, "eta": 3}}
    sweep_id = localtrack.sweep(config, dir=store_dir)
    calls: dict[float, int] = {}

    def train() -> None:
        import time

        run = localtrack.init()
        q = run.config["q"]
        steps = 4 if q == 1 else 40
        for _ in range(steps):
            calls[q] = calls.get(q, 0) + 1
            run.log({"loss": q} if q else {"accuracy": 0.1})  # q == 0 never logs the sweep metric
            run.flush()  # sealed now, so the agent sees it at its next poll
            time.sleep(0.02)

    layout = open_store(store_dir)
    from localtrack.sweeps.agent import Agent

    agent = Agent(layout, sweep_id, poll_seconds=0.1)
    assert agent.run(function=train) == 3
    report = sweep_report(StoredSweep(layout, sweep_id))
    by_q = {row["params"]["q"]: row for row in report["trials"]}
    assert by_q[1]["status"] == "finished" and calls[1] == 4
    assert by_q[0]["status"] == "finished" and by_q[0]["early_terminated"] is None and calls[0] == 40
    assert by_q[50]["status"] == "killed" and by_q[50]["early_terminated"]["bracket"] == 1
    assert calls[50] < 40  # stopped at a log() call, long before its end
    assert report["best"]["params"] == {"q": 1}


def test_sweep_show_marks_early_terminated_trials(store_dir: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from localtrack.cli import output
    from localtrack.cli.entry import main
    from localtrack.sweeps.agent import Agent

    config = {"method": "grid", "metric": {"name": "loss", "goal": "minimize"},
              "parameters": {"q": {"values": [1, 50]}},
              "early_terminate": {"type": "hyperband", "min_iter": 1, "eta": 3}}
    sweep_id = localtrack.sweep(config, dir=store_dir)

    def train() -> None:
        run = localtrack.init()
        for _ in range(2 if run.config["q"] == 1 else 400):
            run.log({"loss": run.config["q"]})
            run.flush()

    Agent(open_store(store_dir), sweep_id, poll_seconds=0.05).run(function=train)
    monkeypatch.setattr(output, "_console", None)
    capsys.readouterr()
    assert main(["sweep", "show", sweep_id, "--store", str(store_dir), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    stopped = [t for t in data["trials"] if t["early_terminated"]]
    assert [t["params"]["q"] for t in stopped] == [50]
    assert stopped[0]["early_terminated"]["threshold"] == 1.0
    monkeypatch.setattr(output, "_console", None)
    assert main(["sweep", "show", sweep_id, "--store", str(store_dir)]) == 0
    table = capsys.readouterr().out
    assert "stopped@1" in table and "not enforced" not in table
    assert "brackets 1, 3, 9" in table


def test_hostile_stop_files_are_skipped(store_dir: Path, tmp_path: Path) -> None:
    config = {"method": "grid", "metric": {"name": "loss"}, "parameters": {"q": {"values": [1, 2]}},
              "early_terminate": {"type": "hyperband", "min_iter": 1}}
    sweep = StoredSweep(open_store(store_dir), localtrack.sweep(config, dir=store_dir))
    assert sweep.record_stop("grid-000000", "run-a", "agent", {"bracket": 1, "value": 2.0, "threshold": 1.0})
    assert not sweep.record_stop("grid-000000", "run-b", "agent", {"bracket": 3})  # written once
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps({"key": "grid-000001", "bracket": 1}))
    (sweep.stops_dir / "grid-000001.json").symlink_to(outside)
    (sweep.stops_dir / "grid-000002.json").write_text("[1, 2]")
    (sweep.stops_dir / "grid-000003.json").write_text(json.dumps({"key": "grid-000003", "bracket": "1" * 5000}))
    assert list(sweep.stops()) == ["grid-000000"]
    assert sweep.stops()["grid-000000"]["run_id"] == "run-a"

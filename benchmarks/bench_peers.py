"""localtrack against the other trackers importable in this Python, on the same workloads, in one run.

    /work/venv-peers/bin/python benchmarks/bench_peers.py [--repeat 3] [--scale 1] [--only W2]

Peers are never project dependencies: install them in a scratch venv beside localtrack
(``python3 -m venv V && V/bin/pip install trackio mlflow && V/bin/pip install -e .``) and
run this file with that venv's python. Peers wired in: trackio (its local SQLite store) and
MLflow (a local SQLite tracking database, its default, with its asynchronous logging on:
one SQLite transaction per logged dict otherwise takes minutes here); a peer not importable is left out. Each workload of each
tracker runs in its own fresh subprocess with its own temp folder, offline; the repetitions
alternate tracker by tracker (peer, us, peer, us, ...) so a busy machine slows all alike.

Workloads (wall time inside the subprocess, imports included, from before ``import`` to after
the last write is acknowledged):

  * W1  one run, 10 metrics x 10,000 steps (log a dict per step), init -> finish
  * W2  200 runs, 10 params each, 5 metrics x 100 steps, in one process
  * W3  right after W2 in the same process: a filtered top-10 search
        (p2 = 'adam' and latest m3 > 0.5, by latest m1 descending) through each tracker's
        own read API (trackio has none to filter: its run configs and logs are read back and
        filtered in Python, as a user would)

Printed: the median seconds of each tracker per workload, and localtrack's ratio to the best
peer (below 1: localtrack is faster).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

COMMON = textwrap.dedent("""
    import json, random, sys, time
    T0 = time.perf_counter()
    WORK = sys.argv[1]
    KIND = sys.argv[2]
    SCALE = float(sys.argv[3])
    STEPS, RUNS = max(1, int(10_000 * SCALE)), max(10, int(200 * SCALE))
    OPTS = ("adam", "sgd", "rmsprop")
    def params(i):
        rng = random.Random(i)
        return {f"p{j}": (rng.choice(OPTS) if j == 2 else rng.random() if j % 2 else rng.randint(1, 512))
                for j in range(10)}
    def w2_values(i, step):
        rng = random.Random(i * 1000 + step)
        return {f"m{k}": rng.random() for k in range(5)}
    def w1_values(step):
        return {f"m{k}": step * 0.001 + k for k in range(10)}
    def expected_top():
        rows = []
        for i in range(RUNS):
            if params(i)["p2"] != "adam":
                continue
            last = w2_values(i, 99)
            if last["m3"] > 0.5:
                rows.append((last["m1"], f"run-{i}"))
        return [name for _, name in sorted(rows, reverse=True)[:10]]
    def report(**figures):
        print(json.dumps(figures))
""")

LOCALTRACK = COMMON + textwrap.dedent("""
    import localtrack
    store = WORK + "/.localtrack"
    if KIND == "W1":
        run = localtrack.init(dir=store, project="w1", name="w1")
        for step in range(STEPS):
            run.log(w1_values(step), step=step)
        run.finish()
        report(W1=time.perf_counter() - T0)
    else:
        for i in range(RUNS):
            run = localtrack.init(dir=store, project="w2", name=f"run-{i}", config=params(i))
            for step in range(100):
                run.log(w2_values(i, step), step=step)
            run.finish()
        w2 = time.perf_counter() - T0
        t = time.perf_counter()
        found = localtrack.Store(store).runs(filter="params.p2 = 'adam' and metrics.m3 > 0.5",
                                            order_by="metrics.m1 DESC", limit=10)
        w3 = time.perf_counter() - t
        assert [r["name"] for r in found] == expected_top(), "wrong answer"
        report(W2=w2, W3=w3)
""")

MLFLOW = COMMON + textwrap.dedent("""
    import mlflow
    mlflow.set_tracking_uri("sqlite:///" + WORK + "/mlflow.db")  # MLflow 3's default backend
    mlflow.config.enable_async_logging(True)  # MLflow's fast path for training loops (flushed at end_run)
    if KIND == "W1":
        mlflow.set_experiment("w1")
        with mlflow.start_run(run_name="w1"):
            for step in range(STEPS):
                mlflow.log_metrics(w1_values(step), step=step)
        report(W1=time.perf_counter() - T0)
    else:
        mlflow.set_experiment("w2")
        for i in range(RUNS):
            with mlflow.start_run(run_name=f"run-{i}"):
                mlflow.log_params(params(i))
                for step in range(100):
                    mlflow.log_metrics(w2_values(i, step), step=step)
        w2 = time.perf_counter() - T0
        t = time.perf_counter()
        found = mlflow.search_runs(experiment_names=["w2"], filter_string="params.p2 = 'adam' and metrics.m3 > 0.5",
                                   order_by=["metrics.m1 DESC"], max_results=10, output_format="list")
        w3 = time.perf_counter() - t
        assert [r.info.run_name for r in found] == expected_top(), "wrong answer"
        report(W2=w2, W3=w3)
""")

TRACKIO = COMMON + textwrap.dedent("""
    import os
    os.environ["TRACKIO_DIR"] = WORK + "/trackio"
    import trackio
    if KIND == "W1":
        trackio.init(project="w1", name="w1", embed=False)
        for step in range(STEPS):
            trackio.log(w1_values(step), step=step)
        trackio.finish()
        report(W1=time.perf_counter() - T0)
    else:
        for i in range(RUNS):
            trackio.init(project="w2", name=f"run-{i}", config=params(i), embed=False)
            for step in range(100):
                trackio.log(w2_values(i, step), step=step)
            trackio.finish()
        w2 = time.perf_counter() - T0
        t = time.perf_counter()
        from trackio.sqlite_storage import SQLiteStorage
        configs = SQLiteStorage.get_all_run_configs("w2")  # keyed by run id
        rows = []
        for record in SQLiteStorage.get_run_records("w2"):
            name, run_id = str(record["name"]), record["id"]
            if (configs.get(run_id) or {}).get("p2") != "adam":
                continue
            logs = SQLiteStorage.get_logs("w2", name, run_id=run_id)
            last = max(logs, key=lambda r: r["step"]) if logs else {}
            if last.get("m3", 0) > 0.5:
                rows.append((last["m1"], name))
        found = [name for _, name in sorted(rows, reverse=True)[:10]]
        w3 = time.perf_counter() - t
        assert found == expected_top(), "wrong answer"
        report(W2=w2, W3=w3)
""")

PEERS = {"trackio": TRACKIO, "mlflow": MLFLOW}


def available() -> dict[str, str]:
    return {name: code for name, code in PEERS.items() if importlib.util.find_spec(name) is not None}


def run_one(code: str, kind: str, env: dict[str, str], scale: float) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix=f"lt-peers-{kind}-"))
    try:
        done = subprocess.run([sys.executable, "-c", code, str(work), kind, str(scale)], env={**env, "HOME": str(work)},
                              cwd=work, capture_output=True, text=True, timeout=1800)
        if done.returncode:
            raise RuntimeError(done.stderr[-2000:])
        return json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0,
                        help="shrink W1's steps and W2's runs alike for every tracker (e.g. 0.1 on a slow machine)")
    parser.add_argument("--only", choices=("W1", "W2"), action="append",
                        help="run only this workload (W2 also gives W3); repeatable; default both")
    args = parser.parse_args()
    peers = available()
    if importlib.util.find_spec("localtrack") is None:
        sys.exit("localtrack is not importable in this python (pip install -e the repo into it)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCALTRACK_", "MLFLOW_", "TRACKIO_", "WANDB_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode cached as after pip install
    env.update(PYTHONPYCACHEPREFIX=str(Path(tempfile.gettempdir()) / "lt-peers-pycache"), HF_HUB_OFFLINE="1",
               WANDB_MODE="offline", GRADIO_ANALYTICS_ENABLED="False",
               TRACKIO_NO_TELEMETRY="1", DO_NOT_TRACK="1")
    import localtrack  # the one the subprocesses import too (PYTHONPATH is passed on)

    print(f"localtrack from {Path(localtrack.__file__).parent}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, load average {os.getloadavg()[0]:.2f}; "
          f"peers found: {', '.join(peers) or 'none'}; {args.repeat} repetitions, alternating; "
          f"scale {args.scale:g} (W1 {max(1, int(10_000 * args.scale)):,} steps, W2 {max(10, int(200 * args.scale))} runs)")
    trackers = {"localtrack": LOCALTRACK, **peers}
    results: dict[str, dict[str, list[float]]] = {name: {} for name in trackers}
    errors: dict[str, str] = {}
    for kind in args.only or ("W1", "W2"):
        for _ in range(args.repeat):
            for peer in peers:
                for name in (peer, "localtrack"):
                    if name in errors:
                        continue
                    try:
                        figures = run_one(trackers[name], kind, env, args.scale)
                    except (RuntimeError, subprocess.TimeoutExpired) as exc:
                        errors[name] = str(exc).strip().splitlines()[-1] if str(exc).strip() else repr(exc)
                        continue
                    for workload, seconds in figures.items():
                        results[name].setdefault(workload, []).append(seconds)
    print(f"\n{'workload':44s} " + " ".join(f"{name:>12s}" for name in trackers) + "   localtrack / best peer")
    labels = {"W1": "W1 1 run, 10 metrics x 10k steps", "W2": "W2 200 runs x (10 params, 5x100 points)",
              "W3": "W3 filtered top-10 search right after W2"}
    for workload, label in labels.items():
        if not any(v.get(workload) for v in results.values()):
            continue
        medians = {name: statistics.median(v[workload]) for name, v in results.items() if v.get(workload)}
        cells = " ".join(f"{medians[name]:10.3f} s" if name in medians else f"{'-':>12s}" for name in trackers)
        best = min((s for name, s in medians.items() if name != "localtrack"), default=None)
        ratio = f"{medians['localtrack'] / best:6.2f}x" if best and "localtrack" in medians else "   n/a"
        print(f"{label:44s} {cells}   {ratio}")
    if args.scale != 1.0:
        print(f"(every tracker ran the workloads scaled by {args.scale:g}; the labels name the full size)")
    for name, message in errors.items():
        print(f"{name} failed: {message}")


if __name__ == "__main__":
    main()

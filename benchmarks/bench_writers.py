"""Many writers at once: 8 processes on distinct runs and 4 DDP ranks on one run, with a
DuckDB reader querying in a loop (RELIABILITY.md, load 2).

Prints the writers' combined logging rate, the reader's query rate and latency, and checks
what must hold: no error anywhere, no lost row, and counts that never go down.

    python benchmarks/bench_writers.py [--steps 20000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

WRITER = textwrap.dedent(
    """
    import os, sys, time
    go, rank, steps, run_id = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    import localtrack
    while not os.path.exists(go):
        time.sleep(0.001)
    kwargs = {"id": run_id, "resume": "allow"} if run_id != "-" else {"name": f"writer-{rank}"}
    run = localtrack.init(project="load", config={"rank": rank}, **kwargs)
    t0 = time.perf_counter()
    for step in range(steps):
        run.log({"loss": 1.0 / (step + 1), "acc": step / steps, f"rank{rank}/tokens": step * 512}, step=step)
        if step % 100 == 99:
            time.sleep(0.01)  # the training step: writers share 2 cores with the reader, as in real use
    run.finish()
    print(time.perf_counter() - t0)
    """
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30_000, help="steps per writer (3 metrics each)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lt-bench-writers-") as tmp:
        store = Path(tmp) / ".localtrack"
        go = Path(tmp) / "go"
        from localtrack.store.project import create_store

        create_store(store)  # as `localtrack init` would: the reader starts before any run exists
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALTRACK_")}
        env.update(LOCALTRACK_DIR=str(store), LOCALTRACK_FLUSH_SECONDS="0.5", PYTHONPATH=str(REPO))
        specs = [(rank, "-") for rank in range(8)] + [(100 + rank, "ddp-job") for rank in range(4)]
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", WRITER, str(go), str(rank), str(args.steps), run_id],
                cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            for rank, run_id in specs
        ]
        import localtrack

        time.sleep(1.0)  # let every writer import and wait at the barrier
        t0 = time.perf_counter()
        go.touch()
        latencies: list[float] = []
        errors: list[str] = []
        last_count = 0
        decreases = 0
        while any(p.poll() is None for p in procs):
            q0 = time.perf_counter()
            try:
                with localtrack.Store(store) as reader:
                    rows = reader.sql("select count(*) as n from metrics").to_pylist()[0]["n"]
                    reader.runs(filter="metrics.loss < 0.5", order_by="metrics.acc DESC", limit=5)
            except Exception as exc:  # the point of the benchmark: there must be none
                errors.append(f"{type(exc).__name__}: {exc}")
                continue
            latencies.append(time.perf_counter() - q0)
            decreases += rows < last_count
            last_count = max(last_count, rows)
        wall = time.perf_counter() - t0
        writer_errors = []
        for proc, (rank, _) in zip(procs, specs, strict=True):
            _, err = proc.communicate()
            if proc.returncode != 0 or "Traceback" in err:
                writer_errors.append(f"writer {rank}: exit {proc.returncode}: {err[-500:]}")

        expected = len(specs) * args.steps * 3
        with localtrack.Store(store) as reader:
            final = reader.sql("select count(*) as n from metrics").to_pylist()[0]["n"]
            runs = reader.runs().to_dicts()
        statuses = sorted({r["status"] for r in runs})
        latencies.sort()
        print(f"{len(specs)} writers ({len(specs) - 4} runs + 4 ranks on one run), {args.steps:,} steps x 3 metrics each, "
              f"{os.cpu_count()} cpus, load {os.getloadavg()[0]:.2f}")
        print(f"writers done in {wall:.2f} s: {expected / wall:,.0f} points/s combined")
        if latencies:
            print(f"reader: {len(latencies)} refresh+query rounds while writing, median {latencies[len(latencies) // 2] * 1000:.0f} ms, "
                  f"max {latencies[-1] * 1000:.0f} ms")
        print(f"rows: {final:,} of {expected:,} expected; counts went down {decreases} times; "
              f"reader errors {len(errors)}; writer errors {len(writer_errors)}; runs {len(runs)} {statuses}")
        for line in (errors + writer_errors)[:5]:
            print("  ", line)
        ok = final == expected and decreases == 0 and not errors and not writer_errors and statuses == ["finished"]
        print("held: no error, no lost row, counts never went down" if ok else "NOT HELD")
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

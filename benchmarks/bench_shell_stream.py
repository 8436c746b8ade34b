"""Shell logging cost: one ``log-metrics`` process per step vs ``log-metrics --stdin``.

Run:  python benchmarks/bench_shell_stream.py [--steps 10000] [--calls 10]

Real subprocesses, as a bash training loop runs them: ``--calls`` single
``log-metrics RUN --metrics ... --step N`` calls, then one ``log-metrics RUN --stdin`` fed
``--steps`` JSON lines (three metrics each). Prints wall time per call and per streamed
step, and checks every point arrived.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "import sys; from localtrack.cli.entry import main; sys.exit(main())"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=10)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALTRACK_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / ".localtrack"

        def lt(*argv: str, **kw: object) -> subprocess.CompletedProcess[bytes]:
            return subprocess.run([*CLI, *argv, "--store", str(store)], env=env, check=True, capture_output=True, **kw)

        subprocess.run([*CLI, "init"], cwd=tmp, env=env, check=True, capture_output=True)
        single = lt("create", "--name", "single").stdout.decode().strip()
        streamed = lt("create", "--name", "streamed").stdout.decode().strip()

        start = time.perf_counter()
        for step in range(args.calls):
            lt("log-metrics", single, "--metrics", json.dumps({"loss": 1 / (step + 1), "acc": 0.5, "lr": 0.1}),
               "--step", str(step))
        per_call = (time.perf_counter() - start) / args.calls

        lines = "".join(
            json.dumps({"step": s, "loss": 1 / (s + 1), "acc": s / args.steps, "lr": 0.1}) + "\n" for s in range(args.steps)
        ).encode()
        start = time.perf_counter()
        lt("log-metrics", streamed, "--stdin", input=lines)
        stream_total = time.perf_counter() - start

        sys.path.insert(0, str(REPO))
        from localtrack.store.project import open_store
        from localtrack.store.reader import read_metrics

        points = read_metrics(open_store(store), streamed).num_rows
    assert points == 3 * args.steps, points
    print(f"{args.calls} single log-metrics calls: {per_call:.3f} s per call (one step each)")
    print(f"1 log-metrics --stdin of {args.steps} steps: {stream_total:.2f} s total, "
          f"{stream_total / args.steps * 1e6:.0f} us per step ({points} points stored)")
    print(f"streaming {args.steps} steps costs as much as {stream_total / per_call:.1f} single calls")


if __name__ == "__main__":
    main()

"""Writer memory: peak RSS of one long run, beside the pure-Python floor's, in the same run.

    python benchmarks/bench_memory.py                 # 40M points (10 metrics x 4M steps)
    python benchmarks/bench_memory.py --points 10e6   # a shorter check

The writer's buffer is bounded (docs/FORMAT.md, "Writer memory"), and compaction never
merges past 2M rows, so its peak must not grow with the run. The floor appends the same
values to per-key lists, which holds every point in memory: its peak grows with the run.
Each side runs in a fresh interpreter; peak RSS is the child's ``ru_maxrss``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

MAKE = """
def make(step):
    x = step * 1e-4
    return {f"m{i}": round((i + 1) / (1.0 + x), 4) for i in range(10)}
"""

BASE = """
import json, resource, time
{make}
t0 = time.perf_counter()
import pyarrow  # both sides pay for the interpreter with pyarrow loaded
print(json.dumps({{"start_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}), flush=True)
"""

FLOOR = BASE + """
lists = {{}}
for step in range({steps}):
    for k, v in make(step).items():
        try:
            lists[k].append(v)
        except KeyError:
            lists[k] = [v]
print(json.dumps({{"seconds": time.perf_counter() - t0, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

TRACKER = BASE + """
import localtrack
run = localtrack.init(project="memory")
for step in range({steps}):
    run.log(make(step))
run.finish()
files = len(list((run.dir / "metrics").iterdir()))
print(json.dumps({{"seconds": time.perf_counter() - t0, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "files": files}}))
"""


def _run(code: str, store: Path) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALTRACK_")}
    env["LOCALTRACK_DIR"] = str(store)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True, cwd=store.parent)
    if done.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=float, default=40e6, help="points in the run (10 metrics per step)")
    args = parser.parse_args()
    steps = int(args.points) // 10
    with tempfile.TemporaryDirectory(prefix="lt-mem-") as tmp:
        store = Path(tmp) / ".localtrack"
        floor = _run(FLOOR.format(make=MAKE, steps=steps), store)
        ours = _run(TRACKER.format(make=MAKE, steps=steps), store)
    points = steps * 10
    print(f"one run of {points:,} points (10 metrics x {steps:,} steps), fresh interpreters")
    print(f"  floor (per-key lists)  peak RSS {floor['peak_rss_mb']:>8.0f} MB   {points / floor['seconds']:>12,.0f} points/s")
    print(f"  localtrack init..finish peak RSS {ours['peak_rss_mb']:>7.0f} MB   {points / ours['seconds']:>12,.0f} points/s"
          f"   ({ours['files']:.0f} segment files)")
    print(f"  ratio of peaks (localtrack / floor): {ours['peak_rss_mb'] / floor['peak_rss_mb']:.2f}")


if __name__ == "__main__":
    main()

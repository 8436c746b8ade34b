"""The CLI at scale, as a user runs it (whole processes), beside baselines measured in the same run.

    python benchmarks/bench_scale.py                          # 10,000 runs x 10 metrics x 100 steps
    python benchmarks/bench_scale.py --runs 100000 --steps 10 # the 100k-run check (fewer points)
    python benchmarks/bench_scale.py --store /tmp/s10k/.localtrack   # reuse a generated store

The store is generated like benchmarks/bench_query.py's (20 params, 10 metrics per run,
one sealed segment and one manifest per run). Figures, each a median over rounds that
alternate with the baselines (so a busy machine slows both alike):

  * small store: ``localtrack ls`` on the bundled example store vs a typer hello-world
    ``--help`` (target <= 1.3x)
  * first command after deleting ``index/`` (``ls``; builds the index)        target <= 3 s
  * warm: ``ls`` <= 250 ms, ``search --filter .. --top 10`` <= 250 ms, ``show RUN`` <= 200 ms,
    ``ls --format jsonl`` of every run <= 1 s  (at 100,000 runs: ``ls``/``search`` <= 1 s)
  * right after writes: the same ``search`` within the 2 s "racy" window after 200 runs were
    written and indexed vs the same search once they aged (target <= 2x)

Bytecode caching is on (as after pip install), in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from bench_query import generate, run_folder  # noqa: E402 - the same generated store

CLI = [sys.executable, "-c", "import sys; from localtrack.cli.entry import main; sys.exit(main())"]
HELLO_TYPER = """
import typer
app = typer.Typer()
@app.command()
def hello(name: str = "x") -> None:
    '''Say hello.'''
@app.command()
def bye() -> None:
    '''Say bye.'''
app()
"""
FILTER = "metrics.m3 > 0.5 and params.p2 = 'adam' and params.p0 < 0.01"


def environment(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALTRACK_") and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPYCACHEPREFIX=str(work / "pycache"), COLUMNS="140", NO_COLOR="1", TERM="dumb",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")])))
    return env


def run_once(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"{cmd[3:]} failed:\n{done.stderr}")
    return elapsed


def interleaved(commands: dict[str, list[str]], env: dict[str, str], rounds: int) -> dict[str, float]:
    """Median seconds of each command, run round-robin after one warm-up each."""
    for cmd in commands.values():
        run_once(cmd, env)
    times: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(rounds):
        for label, cmd in commands.items():
            times[label].append(run_once(cmd, env))
    return {label: statistics.median(values) for label, values in times.items()}


def line(label: str, seconds: float, target: float | None, baseline: float | None = None,
         baseline_name: str = "") -> str:
    ratio = f"  {seconds / baseline:5.2f}x {baseline_name}" if baseline else ""
    verdict = "" if target is None else ("  met" if seconds <= target else "  MISSED")
    goal = "" if target is None else f"  target <= {target * 1000:,.0f} ms"
    return f"{label:52s} {seconds * 1000:9.1f} ms{goal}{ratio}{verdict}"


def small_store(env: dict[str, str], rounds: int) -> None:
    example = REPO / ".localtrack.example"
    hello = [sys.executable, "-c", HELLO_TYPER, "--help"]
    ls = [*CLI, "ls", "--store", str(example)]
    medians = interleaved({"hello": hello, "ls": ls}, env, rounds)
    print("\n-- small store: the bundled example (5 runs)")
    print(line("baseline: typer hello-world --help", medians["hello"], None))
    print(line("localtrack ls --store .localtrack.example", medians["ls"], medians["hello"] * 1.3,
               medians["hello"], "typer hello --help (target <= 1.30x)"))


def big_store(root: Path, env: dict[str, str], rounds: int, runs: int) -> None:
    hello = [sys.executable, "-c", HELLO_TYPER, "--help"]
    store = ["--store", str(root)]
    shutil.rmtree(root / "index", ignore_errors=True)
    cold = run_once([*CLI, "ls", *store], env)
    big = runs >= 50_000
    commands = {
        "hello": hello,
        "ls": [*CLI, "ls", *store],
        "search": [*CLI, "search", *store, "--filter", FILTER, "--sort-by", "metrics.m1 DESC", "--top", "10"],
        "show": [*CLI, "show", *store, f"run-{runs // 2}"],
        "jsonl": [*CLI, "ls", *store, "--format", "jsonl"],
    }
    medians = interleaved(commands, env, rounds)
    hello_s = medians["hello"]
    print(f"\n-- {runs:,} runs (whole processes, median of {rounds}, alternating with the baseline)")
    print(line("baseline: typer hello-world --help", hello_s, None))
    print(line("first `ls` after deleting index/", cold, None if big else 3.0, hello_s, "hello"))
    print(line("warm `ls` (default view)", medians["ls"], 1.0 if big else 0.25, hello_s, "hello"))
    print(line("warm `search --filter .. --top 10`", medians["search"], 1.0 if big else 0.25, hello_s, "hello"))
    print(line("warm `show RUN`", medians["show"], None if big else 0.2, hello_s, "hello"))
    print(line("warm `ls --format jsonl` (every run)", medians["jsonl"], None if big else 1.0, hello_s, "hello"))


def after_writes(work: Path, env: dict[str, str], rounds: int) -> None:
    """200 runs written now; the same search inside the racy window and after it."""
    from localtrack.storage.layout import StoreLayout
    from localtrack.store.project import create_store

    root = work / "fresh" / ".localtrack"
    create_store(root)
    layout = StoreLayout(root)
    rng = random.Random(3)
    search = [*CLI, "search", "--store", str(root), "--filter", FILTER, "--sort-by", "metrics.m1 DESC",
              "--top", "10"]
    for i in range(200):
        run_folder(layout, i, 10, 5, 100, rng)
    first = run_once(search, env)  # indexes the 200 new runs
    racy = []
    written = max(p.stat().st_mtime for p in layout.runs_dir.glob("*/manifest.json"))
    while time.time() - written < 1.8 and len(racy) < rounds:
        racy.append(run_once(search, env))
    time.sleep(max(0.0, written + 2.2 - time.time()))
    aged = [run_once(search, env) for _ in range(max(3, len(racy)))]
    print("\n-- right after writes (200 runs x 5 metrics x 100 points, `search --filter .. --top 10`)")
    print(line("first search (indexes the 200 new runs)", first, None))
    if not racy:
        print("(the first search outlasted the 2 s racy window: no query inside it to time)")
        return
    r, a = statistics.median(racy), statistics.median(aged)
    print(line(f"search within 2 s of the writes ({len(racy)} runs)", r, None))
    print(line("the same search once the runs aged", a, None))
    print(f"{'ratio racy / aged':52s} {r / a:9.2f}x   target <= 2x  {'met' if r / a <= 2 else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--store", type=Path, help="use (or generate and keep) the store here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lt-bench-scale-"))
    env = environment(work)
    try:
        print(f"machine: {os.cpu_count()} cpus, load average {os.getloadavg()[0]:.2f}; Python "
              f"{sys.version.split()[0]}")
        small_store(env, args.rounds)
        after_writes(work, env, args.rounds)
        root = args.store or work / "big" / ".localtrack"
        if not (root / "FORMAT").is_file():
            took = generate(root, args.runs, 20, 10, args.steps)
            print(f"\ngenerated {args.runs:,} runs x 10 metrics x {args.steps} steps in {took:.0f} s: {root}")
            time.sleep(2.1)
        runs = sum(1 for _ in os.scandir(root / "runs"))
        big_store(root, env, args.rounds, runs)
        print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

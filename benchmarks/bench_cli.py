"""CLI start-up and listing speed: ``localtrack --help`` and ``localtrack ls`` on 1,000 runs.

Run:  python benchmarks/bench_cli.py [--runs 1000] [--repeat 7] [--store DIR]

Each figure is the median (and min) wall time of real subprocesses (the way a user runs
the CLI), run round-robin so a busy machine slows every command alike, printed next to
baselines measured in the same run: a bare interpreter start, and a
hello-world typer app's --help (what any typer CLI pays). Python's bytecode cache is on
(as after a normal pip install) and kept in a temporary folder, not in the source tree.

The store is built once: one real run written through the API, then cloned into N run
folders with new ids, names, params and summaries (same segment bytes), which is what the
listing reads.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
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


def build_store(root: Path, runs: int) -> Path:
    """A store with ``runs`` finished runs: 3 metrics x 50 steps each, 5 params (3 varying)."""
    import localtrack
    from localtrack.ids import new_run_id
    from localtrack.storage.layout import StoreLayout
    from localtrack.storage.manifest import read_manifest, write_manifest

    store = root / ".localtrack"
    template = localtrack.init(dir=store, project="bench", name="template",
                               config={"lr": 0.1, "batch_size": 32, "optimizer": "adam", "epochs": 50, "seed": 0})
    for step in range(50):
        template.log({"train/loss": 1 / (step + 1), "val/loss": 1.2 / (step + 1), "val/accuracy": step / 50}, step=step)
    template.finish()
    layout = StoreLayout(store)
    source = layout.run_dir(template.id)
    base = read_manifest(layout.manifest_path(template.id))
    for i in range(runs - 1):
        run_id = new_run_id()
        shutil.copytree(source, layout.run_dir(run_id))
        manifest = dict(base, id=run_id, name=f"sweep-{i:04d}")
        manifest["config"] = {**base["config"], "lr": 10 ** -(1 + i % 4), "batch_size": 16 * (1 + i % 3), "seed": i}
        summary = {k: dict(v) for k, v in base["summary"].items()}
        summary["val/accuracy"]["last"] = 0.5 + (i % 97) / 200
        manifest["summary"] = summary
        write_manifest(layout.manifest_path(run_id), manifest)
    return store


def run_once(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd[3:] if cmd[:3] == CLI else cmd)} failed:\n{done.stderr}")
    return elapsed


def timed_all(commands: dict[str, list[str]], env: dict[str, str], repeat: int) -> dict[str, list[float]]:
    """Seconds per run of each command, round-robin (so a busy machine slows all alike), after a warm-up."""
    for cmd in commands.values():
        run_once(cmd, env)
    times: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(repeat):
        for label, cmd in commands.items():
            times[label].append(run_once(cmd, env))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--store", type=Path, help="Reuse (or keep) the generated store here.")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="lt-bench-cli-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALTRACK_") and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPYCACHEPREFIX=str(work / "pycache"), COLUMNS="140", NO_COLOR="1", TERM="dumb",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")])))
    try:
        if args.store and (args.store / ".localtrack" / "FORMAT").is_file():
            store = args.store / ".localtrack"
        else:
            root = args.store or work
            root.mkdir(parents=True, exist_ok=True)
            t0 = time.perf_counter()
            store = build_store(root, args.runs)
            print(f"built a store of {args.runs} runs in {time.perf_counter() - t0:.1f} s: {store}")
        shutil.rmtree(store / "index", ignore_errors=True)
        ls = [*CLI, "ls", "--store", str(store)]
        start = time.perf_counter()
        first = subprocess.run(ls, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        cold = time.perf_counter() - start
        if first.returncode:
            raise SystemExit(first.stderr)

        base = {
            "baseline: python -c pass": [sys.executable, "-c", "pass"],
            "baseline: hello-world typer app --help": [sys.executable, "-c", HELLO_TYPER, "--help"],
        }
        ours = {
            "localtrack --help": [*CLI, "--help"],
            "localtrack ls --help": [*CLI, "ls", "--help"],
            f"localtrack ls ({args.runs} runs, table, first 50)": ls,
            f"localtrack ls --all ({args.runs} rows + sparklines)": [*ls, "--all"],
            f"localtrack ls --format json ({args.runs} runs)": [*ls, "-f", "json"],
            "localtrack ls --filter 'metrics.val/accuracy > 0.9'": [*ls, "--filter", "metrics.val/accuracy > 0.9"],
        }
        times = timed_all({**base, **ours}, env, args.repeat)
        python = statistics.median(times["baseline: python -c pass"])
        hello = statistics.median(times["baseline: hello-world typer app --help"])
        print(f"\n{args.repeat} rounds of subprocess runs (Python {sys.version.split()[0]}, bytecode cached, "
              f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f})")
        print(f"{'':58s} {'median':>9s} {'min':>9s}   ratios of medians")
        for label, values in times.items():
            med, low = statistics.median(values), min(values)
            ratio = "" if label in base else f"   {med / python:5.1f}x python   {med / hello:5.2f}x typer hello"
            print(f"{label:58s} {med * 1000:6.1f} ms {low * 1000:6.1f} ms{ratio}")
        print(f"{'first ls after deleting the index (builds it)':58s} {cold * 1000:7.1f} ms")
        print("\ntargets: --help well under 200 ms; ls on 1,000 runs under 500 ms")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

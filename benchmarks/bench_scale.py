"""The CLI at scale, as a user runs it (whole processes), beside baselines measured in the same run.

    python benchmarks/bench_scale.py                          # 10,000 runs x 10 metrics x 100 steps
    python benchmarks/bench_scale.py --runs 100000 --steps 10 # the 100k-run check (fewer points)
    python benchmarks/bench_scale.py --store /tmp/s10k/.localtrack   # reuse a generated store

The store holds what the writer leaves (20 params, 10 metrics per run, one sealed segment and
one manifest with its summary per run): one real run is the template, the others are written
from it with the writer's own encoders, without fsync (see ``generate``; ~600 runs per CPU
second, 200-500 runs/s on a loaded 2-core machine: 100,000 runs x 10 steps took 8.5 minutes
and 2 GB; ``--jobs N`` spreads it over processes, which only helps on idle cores; ``--store``
keeps the store to reuse). Figures, each a median over rounds that alternate with the
baselines (so a busy machine slows both alike):

  * small store: ``localtrack ls`` on the bundled example store vs a typer hello-world
    ``--help`` (target <= 1.3x)
  * first command after deleting ``index/`` (``ls``; builds the index)        target <= 3 s,
    then the first ``search``, ``show`` and ``ls --format jsonl`` after it (they fill in what
    the build leaves for later: metric means, listing entries beyond the first 100 runs)
  * warm: ``ls`` <= 250 ms, ``search --filter .. --top 10`` <= 250 ms, ``show RUN`` <= 200 ms (by name, and by short id),
    ``ls --format jsonl`` of every run <= 1 s  (at 100,000 runs: ``ls``/``search`` <= 1 s)
  * right after writes (in-process, a fresh ``Store`` per query): the same filtered search
    within the "racy" window after 200 runs were written and indexed vs once they aged
    (target <= 2x; the window is widened from 2 s to RACY_WINDOW so that a slow machine
    still gets queries inside it)

Bytecode caching is on (as after pip install), in a temporary folder. Beside each wall time
the process's CPU time (user + system) and its ratio to the baseline's are printed: on a
shared, loaded machine wall times inflate, CPU times much less. The issue set its millisecond
targets on a machine whose hello-world took 167 ms (ISSUE_HELLO_S); each verdict is printed
twice: against the target as written, and against it scaled by this run's hello-world (on a
machine 2.4x slower, 250 ms becomes 600 ms), which is the one a slower machine can judge.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))  # this checkout's localtrack, not another installed one

from bench_query import run_folder  # noqa: E402 - the racy-window workload's run folders

SLOT = re.compile(r'"@@(\w+)@@"')  # a placeholder in the manifest template's text


def random_config(rng: random.Random, params: int) -> dict[str, object]:
    """``params`` hyperparameters: a float (log-uniform), an int or an optimizer name, in turn."""
    optimizers = ("adam", "sgd", "adamw", "rmsprop")
    return {f"p{j}": (round(10 ** -rng.uniform(1, 4), 6) if j % 3 == 0 else rng.randint(1, 512) if j % 3 == 1
                      else rng.choice(optimizers)) for j in range(params)}


class ManifestTemplate:
    """A real run's manifest as text with slots for what differs per run.

    The template is the writer's own bytes (``dump_manifest``) of the real manifest with each
    per-run field replaced by a placeholder (the summary's, leaf by leaf: the run summary and
    its one writer's summary are the same values, spelled once); :meth:`fill` spells each
    run's values with the encoder's own function (``manifest._encode``) at the field's depth,
    so the result is byte for byte what ``dump_manifest`` writes for that run
    (tests/benchmarks checks it). The encoder sorts keys, and no slot's key depends on a
    value, so the template's order is every run's order.
    """

    def __init__(self, manifest: dict[str, Any]) -> None:
        from localtrack.storage.manifest import dump_manifest

        self.metric_keys = tuple(manifest["summary"])
        self.fields = tuple(next(iter(manifest["summary"].values()), {}))
        summary = {key: {field: f"@@s{index}_{field}@@" for field in self.fields}
                   for index, key in enumerate(self.metric_keys)}
        (writer_id,) = manifest["writers"]
        writer = dict(manifest["writers"][writer_id], segments={"@@segment@@": "@@record@@"}, summary=summary,
                      started_at="@@started_at@@", heartbeat_at="@@heartbeat_at@@", ended_at="@@ended_at@@")
        slotted = dict(manifest, writers={"@@writer@@": writer}, id="@@id@@", name="@@name@@",
                       project="@@project@@", config="@@config@@", tags="@@tags@@",
                       created_at="@@created_at@@", ended_at="@@ended_at@@", duration=60.0, summary=summary,
                       artifacts=[dict(a, created_at="@@artifact_at@@") for a in manifest.get("artifacts", [])])
        text = dump_manifest(slotted).decode("utf-8")
        pieces = SLOT.split(text)  # literal, slot name, literal, ..., literal
        self.head, self.slots, self.tails = pieces[0], pieces[1::2], pieces[2::2]
        # Each slot's value is encoded at its depth: the indentation of the line it is on.
        self.depths: dict[str, int] = {}
        for match in SLOT.finditer(text):
            line = text[text.rfind("\n", 0, match.start()) + 1:match.start()]
            self.depths[match.group(1)] = (len(line) - len(line.lstrip(" "))) // 2

    def fill(self, values: dict[str, Any], summary: dict[str, dict[str, Any]]) -> bytes:
        """The manifest bytes of one run: ``values`` holds a value per slot, ``summary`` the
        run's per-metric summary (the template's keys and fields)."""
        from localtrack.storage.manifest import _encode, _quote

        if tuple(summary) != self.metric_keys:
            raise ValueError(f"summary keys {tuple(summary)} are not the template's {self.metric_keys}")
        values = dict(values)
        for index, key in enumerate(self.metric_keys):
            stats = summary[key]
            for field in self.fields:
                values[f"s{index}_{field}"] = stats[field]
        spelled: dict[str, str] = {}
        for name, value in values.items():
            kind = type(value)
            if kind is float and math.isfinite(value):
                spelled[name] = float.__repr__(value)  # what _encode writes for these three
            elif kind is str:
                spelled[name] = _quote(value)
            elif kind is int:
                spelled[name] = int.__repr__(value)
            else:
                out: list[str] = []
                _encode(value, self.depths[name], out)
                spelled[name] = "".join(out)
        parts = [self.head]
        for name, tail in zip(self.slots, self.tails, strict=True):
            parts.append(spelled[name])
            parts.append(tail)
        return "".join(parts).encode("utf-8")


class SegmentMaker:
    """One run's sealed segment, its manifest record and its summary, from the run's points.

    The points are what one writer leaves after logging every key at steps 0..steps-1 in one
    seal: the table is sorted by key, then step (the seal's order), its step and key columns
    are the same for every run and built once, the timestamp and value columns are built
    from arrays in bulk, and the bytes are the writer's own ``encode_table``. The record and
    summary are computed from the values directly (``build_table_and_summary`` and
    ``segment_record`` give the same: tests/benchmarks checks it).
    """

    def __init__(self, keys: tuple[str, ...], steps: int) -> None:
        import pyarrow as pa

        from localtrack.storage import arrow_columns
        from localtrack.storage.segments import schema

        self.keys = tuple(sorted(keys))
        self.steps = steps
        self.schema = schema()
        self.timestamp = pa.timestamp("us", tz="UTC")
        self.step_column = arrow_columns.int64(list(range(steps)) * len(self.keys))
        self.key_column = arrow_columns.strings([key for key in self.keys for _ in range(steps)])

    def seal(self, values: list[float], micros: list[int]) -> tuple[bytes, dict[str, Any], dict[str, Any]]:
        """(segment bytes, manifest record, per-key summary) of ``values`` (key-major: every step
        of the first key, then the next) logged at ``micros`` (one per step, increasing)."""
        import pyarrow as pa

        from localtrack.storage import arrow_columns
        from localtrack.storage.segments import digest_bytes, encode_table
        from localtrack.store.summary import iso_from_micros

        steps = self.steps
        table = pa.Table.from_arrays([self.step_column, arrow_columns.int64(micros * len(self.keys), self.timestamp),
                                      self.key_column, arrow_columns.float64(values)], schema=self.schema)
        data = encode_table(table)
        record = {"rows": len(values), "bytes": len(data), "digest": digest_bytes(data),
                  "min_step": 0, "max_step": steps - 1}
        last_at = iso_from_micros(micros[-1])
        summary = {}
        for index, key in enumerate(self.keys):
            column = values[index * steps:(index + 1) * steps]
            summary[key] = {"last": column[-1], "min": min(column), "max": max(column), "count": steps,
                            "step": steps - 1, "timestamp": last_at, "sum": sum(column, 0.0), "nans": 0}
        return data, record, summary


def generate(root: Path, runs: int, params: int, metrics: int, steps: int, jobs: int = 1,
             chunk: int = 1000) -> float:
    """``runs`` finished runs as the writer leaves them (the same files and manifest fields, one
    sealed Parquet segment each, distinct params and metric values per run), fast: one real
    run (init/log/finish) is the template; every other run is written by :func:`write_runs`,
    ``chunk`` runs at a time, in ``jobs`` processes (spawned: this one runs the writer's
    flusher thread, which a fork would copy mid-step).

    Nothing is fsynced: this is a benchmark's scratch store, which need not survive a power
    cut (the writer fsyncs; a reader sees the same files either way). Files are created in
    place (``write_new_file``), not through a temp name and a rename: no reader runs while
    the store is generated.
    """
    import json

    import localtrack

    started = time.perf_counter()
    rng = random.Random(0)
    keys = tuple(f"m{j}" for j in range(metrics))
    template_run = localtrack.init(project="proj0", name="run-0", dir=str(root), config=random_config(rng, params),
                                   tags={"sweep": "s0"}, system_metrics=False)
    for s in range(steps):
        template_run.log({k: rng.random() for k in keys}, step=s)
    template_run.finish()
    runs_dir = root / "runs"
    (template_id,) = [e.name for e in os.scandir(runs_dir)]
    manifest = json.loads((runs_dir / template_id / "manifest.json").read_bytes())
    lock = (runs_dir / template_id / ".lock").read_bytes()
    work = [(root, manifest, lock, keys, steps, params, first, min(first + chunk, runs))
            for first in range(1, runs, chunk)]
    if jobs <= 1 or len(work) <= 1:
        for job in work:
            write_runs(*job)
    else:
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(jobs) as pool:
            pool.starmap(write_runs, work, chunksize=1)
    return time.perf_counter() - started


def write_runs(root: Path, manifest: dict[str, Any], lock: bytes, keys: tuple[str, ...], steps: int, params: int,
               first: int, stop: int) -> None:
    """Runs ``first..stop-1`` of :func:`generate`, with the template run's ``manifest`` and
    ``.lock`` bytes; each run's values are drawn from a generator seeded with ``first``, so a
    store is the same whatever the number of processes."""
    from localtrack.storage.atomic import write_new_file
    from localtrack.storage.segments import SegmentName

    rng = random.Random(first)
    template = ManifestTemplate(manifest)
    maker = SegmentMaker(keys, steps)
    base = datetime(2025, 1, 1, tzinfo=timezone.utc).timestamp()
    stamp = "%Y-%m-%dT%H:%M:%S.%fZ"
    draw = rng.random
    points = range(steps * len(keys))
    runs_dir = root / "runs"
    for i in range(first, stop):
        created = base + i * 60.0
        run_id = f"20250101-{i:09d}-b{i % 100000:05d}"
        run_dir = runs_dir / run_id
        metrics_dir = run_dir / "metrics"
        os.mkdir(run_dir)
        os.mkdir(metrics_dir)
        write_new_file(run_dir / ".lock", lock, durable=False)
        micros = [round((created + s * 0.01) * 1e6) for s in range(steps)]
        data, record, summary = maker.seal([draw() for _ in points], micros)
        segment = SegmentName(f"w{i:09d}", 1, 1)
        write_new_file(metrics_dir / segment.filename, data, durable=False)
        iso = [datetime.fromtimestamp(created + d, tz=timezone.utc).strftime(stamp) for d in (0, 0.01, 60, 60.01)]
        text = template.fill({
            "id": run_id, "name": f"run-{i}", "project": f"proj{i % 4}", "config": random_config(rng, params),
            "tags": {"sweep": f"s{i % 10}"}, "created_at": iso[0], "ended_at": iso[2], "writer": segment.writer,
            "segment": segment.filename, "record": record, "started_at": iso[1], "heartbeat_at": iso[3],
            "artifact_at": iso[1]}, summary)
        write_new_file(run_dir / "manifest.json", text, durable=False)


CLI = [sys.executable, "-c", "import sys; from localtrack.cli.entry import main; sys.exit(main())"]
ISSUE_HELLO_S = 0.167  # typer hello-world --help on the machine where issue 12 set its targets
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
RACY_WINDOW = 8.0
FILTER = "metrics.m3 > 0.5 and params.p2 = 'adam' and params.p0 < 0.01"


def environment(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALTRACK_") and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPYCACHEPREFIX=str(work / "pycache"), COLUMNS="140", NO_COLOR="1", TERM="dumb",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")])))
    return env


CPU: dict[str, float] = {}  # label -> median CPU seconds (user + system) of the process


def run_once(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one process; CPU time is what a loaded machine cannot inflate."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            err.seek(0)
            raise SystemExit(f"{cmd[3:]} failed:\n{err.read().decode(errors='replace')}")
    return elapsed, usage.ru_utime + usage.ru_stime


def interleaved(commands: dict[str, list[str]], env: dict[str, str], rounds: int) -> dict[str, float]:
    """Median wall seconds of each command, run round-robin after one warm-up each (CPU medians in CPU)."""
    for cmd in commands.values():
        run_once(cmd, env)
    times: dict[str, list[tuple[float, float]]] = {label: [] for label in commands}
    for _ in range(rounds):
        for label, cmd in commands.items():
            times[label].append(run_once(cmd, env))
    CPU.update({label: statistics.median(c for _, c in values) for label, values in times.items()})
    return {label: statistics.median(w for w, _ in values) for label, values in times.items()}


def line(label: str, seconds: float, target: float | None, baseline: float | None = None,
         baseline_name: str = "", cpu: tuple[float, float] | None = None) -> str:
    """One figure: wall time, its target and verdict, the ratio to the baseline (wall; CPU too)."""
    ratio = f"  {seconds / baseline:5.2f}x {baseline_name}" if baseline else ""
    if cpu is not None:
        ratio += f"  (cpu {cpu[0] * 1000:,.0f} ms: {cpu[0] / cpu[1]:.2f}x)"
    verdict = "" if target is None else ("  met" if seconds <= target else "  MISSED")
    goal = "" if target is None else f"  target <= {target * 1000:,.0f} ms"
    if target is not None and baseline and baseline_name == "hello":
        # The issue's millisecond targets were set where the hello-world took ISSUE_HELLO_S;
        # on a slower or busier machine the same target, scaled by this run's hello-world:
        scaled = target * baseline / ISSUE_HELLO_S
        verdict += f" (at this machine's speed: <= {scaled * 1000:,.0f} ms, {'met' if seconds <= scaled else 'MISSED'})"
    return f"{label:46s} {seconds * 1000:9.1f} ms{goal}{ratio}{verdict}"


def small_store(env: dict[str, str], rounds: int) -> None:
    example = REPO / ".localtrack.example"
    hello = [sys.executable, "-c", HELLO_TYPER, "--help"]
    ls = [*CLI, "ls", "--store", str(example)]
    medians = interleaved({"hello": hello, "ls": ls}, env, rounds)
    print("\n-- small store: the bundled example (5 runs)")
    print(line("baseline: typer hello-world --help", medians["hello"], None) + f"  (cpu {CPU['hello'] * 1000:,.0f} ms)")
    print(line("localtrack ls --store .localtrack.example", medians["ls"], medians["hello"] * 1.3,
               medians["hello"], "hello (target <= 1.30x)", (CPU["ls"], CPU["hello"])))


def big_store(root: Path, env: dict[str, str], rounds: int, runs: int) -> None:
    hello = [sys.executable, "-c", HELLO_TYPER, "--help"]
    store = ["--store", str(root)]
    hello_first = run_once(hello, env)
    shutil.rmtree(root / "index", ignore_errors=True)
    cold, cold_cpu = run_once([*CLI, "ls", *store], env)
    # the first call of each other command after that build (the listing writes the entries
    # `ls` shows up front; the rest, and the metric means, are filled in when first asked for)
    firsts = {key: run_once(cmd, env) for key, cmd in (
        ("search", [*CLI, "search", *store, "--filter", FILTER, "--sort-by", "metrics.m1 DESC", "--top", "10"]),
        ("show", [*CLI, "show", *store, f"run-{runs // 2}"]),
        ("jsonl", [*CLI, "ls", *store, "--format", "jsonl"]))}
    big = runs >= 50_000
    commands = {
        "hello": hello,
        "ls": [*CLI, "ls", *store],
        "search": [*CLI, "search", *store, "--filter", FILTER, "--sort-by", "metrics.m1 DESC", "--top", "10"],
        "show": [*CLI, "show", *store, f"run-{runs // 2}"],
        "jsonl": [*CLI, "ls", *store, "--format", "jsonl"],
    }
    # the same run by its short id: a name must be checked against every run (any may have been
    # renamed to it), an id names one folder (see query/fastshow.py)
    short = f"b{runs // 2 % 100000:05d}"
    if (root / "runs" / f"20250101-{runs // 2:09d}-{short}").is_dir():
        commands["show_id"] = [*CLI, "show", *store, short]
    medians = interleaved(commands, env, rounds)
    hello_s, hello_cpu = medians["hello"], CPU["hello"]
    print(f"\n-- {runs:,} runs (whole processes, median of {rounds}, alternating with the baseline)")
    print(line("baseline: typer hello-world --help", hello_s, None) + f"  (cpu {hello_cpu * 1000:,.0f} ms)")
    print(line("first `ls` after deleting index/", cold, None if big else 3.0, hello_s, "hello",
               (cold_cpu, hello_cpu)))
    for label, key in (("then the first `search --filter .. --top 10`", "search"), ("then the first `show RUN`", "show"),
                       ("then the first `ls --format jsonl` (every run)", "jsonl")):
        print(line(label, firsts[key][0], None, hello_s, "hello", (firsts[key][1], hello_cpu)))
    print(line("(the baseline's own first call)", hello_first[0], None) + f"  (cpu {hello_first[1] * 1000:,.0f} ms)")
    for label, key, target in (("warm `ls` (default view)", "ls", 1.0 if big else 0.25),
                               ("warm `search --filter .. --top 10`", "search", 1.0 if big else 0.25),
                               ("warm `show RUN`", "show", None if big else 0.2),
                               ("warm `show RUN` by its short id", "show_id", None if big else 0.2),
                               ("warm `ls --format jsonl` (every run)", "jsonl", None if big else 1.0)):
        if key in medians:
            print(line(label, medians[key], target, hello_s, "hello", (CPU[key], hello_cpu)))


def after_writes(work: Path, rounds: int) -> None:
    """200 runs written now; the same search (a fresh Store each time, as a new process would)
    inside the 2 s racy window after the writes and once the runs aged."""
    import localtrack
    from localtrack.query import index_refresh, index_scan
    from localtrack.storage.layout import StoreLayout
    from localtrack.store.project import create_store

    # Indexing 200 runs can take longer than the 2 s window on a loaded machine, leaving no
    # query inside it; widen the window in this process (the mechanism is the same).
    window = RACY_WINDOW
    index_scan.RACY_SECONDS = index_refresh.RACY_SECONDS = window
    root = work / "fresh" / ".localtrack"
    create_store(root)
    layout = StoreLayout(root)
    rng = random.Random(3)

    def search() -> float:
        started = time.perf_counter()
        with localtrack.Store(root) as store:
            store.runs(filter=FILTER, order_by="metrics.m1 DESC", limit=10)
        return time.perf_counter() - started

    for i in range(200):
        run_folder(layout, i, 10, 5, 100, rng)
    written = max(p.stat().st_mtime for p in layout.runs_dir.glob("*/manifest.json"))
    first = search()  # indexes the 200 new runs
    racy = []
    while time.time() - written < window - 0.5 and len(racy) < 4 * rounds:
        racy.append(search())
    time.sleep(max(0.0, written + window + 0.2 - time.time()))
    search()  # the first query after the window settles the runs (clears their racy flag)
    aged = [search() for _ in range(max(rounds, len(racy)))]
    print("\n-- right after writes (in-process, 200 runs x 5 metrics x 100 points, filtered top-10 search;"
          f" racy window widened to {window:.0f} s)")
    print(line("first search (indexes the 200 new runs)", first, None))
    if not racy:
        print("(the first search outlasted the 2 s racy window: no query inside it to time)")
        return
    r, a = statistics.median(racy), statistics.median(aged)
    print(line(f"search inside the racy window (median of {len(racy)})", r, None))
    print(line(f"the same search once the runs aged (median of {len(aged)})", a, None))
    print(f"{'ratio racy / aged':46s} {r / a:9.2f}x   target <= 2x  {'met' if r / a <= 2 else 'MISSED'}")
    index_scan.RACY_SECONDS = index_refresh.RACY_SECONDS = 2.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--store", type=Path, help="use (or generate and keep) the store here")
    parser.add_argument("--jobs", type=int, default=1, help="processes generating the store (default 1)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lt-bench-scale-"))
    env = environment(work)
    try:
        print(f"machine: {os.cpu_count()} cpus, load average {os.getloadavg()[0]:.2f}; Python "
              f"{sys.version.split()[0]}")
        small_store(env, args.rounds)
        after_writes(work, args.rounds)
        root = args.store or work / "big" / ".localtrack"
        if not (root / "FORMAT").is_file():
            took = generate(root, args.runs, 20, 10, args.steps, args.jobs)
            print(f"\ngenerated {args.runs:,} runs x 10 metrics x {args.steps} steps in {took:.0f} s"
                  f" ({args.runs / took:,.0f} runs/s, {args.jobs} process(es)): {root}")
            time.sleep(2.1)
        runs = sum(1 for _ in os.scandir(root / "runs"))
        big_store(root, env, args.rounds, runs)
        print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

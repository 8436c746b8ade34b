"""Reading changed run folders into the rows the index will hold (no DuckDB: pure Python).

:func:`plan_runs` reads each run's manifest and lists its segments (the per-run work of a
refresh; the database writes follow in index_refresh). On a cold build of thousands of runs
this is seconds of pure Python, so the runs are split with a helper process (a fresh
interpreter running :func:`worker`, so no DuckDB thread is ever forked) that plans the later
part while this process plans the first; the helper's plans come back marshalled. Any failure of
the helper (no interpreter to start, a crash) only means this process plans those runs itself.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import marshal
import os
import pickle
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localtrack.envvars import LOCALTRACK_INDEX_HELPER
from localtrack.query.index_rows import (
    artifact_rows,
    liveness,
    manifest_summary_rows,
    param_rows,
    recorded_rows,
    recorded_segments,
    run_row,
    summary_rows,
    tag_rows,
)
from localtrack.query.index_scan import (
    LINK,
    MISSING,
    RACY_SECONDS,
    ManifestStats,
    Stored,
    segments_signature_of,
)
from localtrack.query.index_schema import ID_TABLES
from localtrack.storage.layout import StoreLayout
from localtrack.storage.objects import HASH_BUFFER
from localtrack.storage.segments import live_segments, segment_problem, small_segment_is_sound
from localtrack.store.reader import load_run

TABLE_ORDER = ("runs_t", "params_t", "tags_t", "summary_t", "artifacts_t", "msum_t", "problems_t", "files_t")
PARALLEL_MIN_RUNS = 1500  # below this a helper's start-up (~0.2 s) costs more than it saves
HELPER_SHARE = 0.5  # of the runs, for the helper: it starts later, but this process inserts every row after


@dataclass
class RunPlan:
    """Everything the index will hold for one run, read from its folder before any write."""

    run_id: str
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=lambda: {t: [] for t in TABLE_ORDER})
    files: list[str] = field(default_factory=list)
    live: tuple[dict[str, Any], str] | None = None
    stored: Stored | None = None
    from_points: bool = True  # summaries computed from the segments (False: from the manifest)
    means_known: bool = False  # with from_points False: the manifest recorded every mean (else lazily)
    encoded: bool = False  # its rows are in an EncodedRuns of the helper, not here

    def problem(self, message: str) -> None:
        self.rows["problems_t"].append((self.run_id, message))

    def remember(self, fingerprint: tuple[int, int, int], signature: str, *, deep: bool, racy: bool,
                 digest: str = "") -> None:
        self.stored = Stored(fingerprint, signature, deep, racy, digest)
        self.rows["files_t"] = [(self.run_id, *fingerprint, signature, deep, racy, digest)]


@dataclass
class EncodedRuns:
    """Rows of runs the planning helper encoded itself (:func:`index_documents.encode_rows`
    documents per table), their rk numbered from 0: the inserting process adds its next
    free rk (``runs`` of them are used)."""

    documents: dict[str, list[bytes]]
    runs: int
    table_rows: dict[str, int] = field(default_factory=dict)  # rows per table (for progress)


class Plans(dict[str, RunPlan]):
    """Run id -> plan, in planning order, and the rows the helper encoded for its runs."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.encoded: list[EncodedRuns] = []


ROW_TABLES = (*TABLE_ORDER, "segments_t", "lazy_t")


def table_rows(plans: Iterable[RunPlan], next_rk: int) -> tuple[dict[str, list[tuple[Any, ...]]], int, list[str]]:
    """The rows of these plans per table, their runs numbered from ``next_rk`` (a new rk per
    run with a row), the next free rk, and the segment files whose points give the summaries."""
    rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in ROW_TABLES}
    computed: list[str] = []  # segment files of runs whose summaries come from their points
    for entry in plans:
        for table in ID_TABLES:
            rows[table].extend(entry.rows[table])
        if not entry.rows["runs_t"]:
            continue
        rk, next_rk = next_rk, next_rk + 1
        rows["runs_t"].extend((rk, *r) for r in entry.rows["runs_t"])
        for table in ("params_t", "tags_t", "summary_t", "artifacts_t", "msum_t"):
            rows[table].extend((rk, *r[1:]) for r in entry.rows[table])
        rows["segments_t"].extend((rk, f, place) for place, f in enumerate(entry.files))  # live_segments' order: writer id, seal
        if entry.from_points:
            computed.extend(entry.files)
        elif entry.files and not entry.means_known:
            rows["lazy_t"].append((rk,))  # means from the points when first asked for
    return rows, next_rk, computed


def encode_finished(plans: list[RunPlan]) -> EncodedRuns:
    """The rows of these runs as documents (rk from 0), the plans marked ``encoded``: for runs
    whose summaries come from their manifests (a refresh never has to re-read those), while
    the other process of a split build is still planning."""
    from localtrack.query.index_documents import encode_rows

    with no_cyclic_gc():
        rows, runs, _ = table_rows(plans, 0)
        documents = {table: encode_rows(table, rows[table]) for table in ROW_TABLES if rows[table]}
    for plan in plans:
        plan.encoded = True
    return EncodedRuns(documents, runs, {table: len(rows[table]) for table in documents})


class _ScanLayout(StoreLayout):
    """A layout whose ``runs/`` is checked for links once per scan, not once per run read
    (the check walks the path with ``lstat``: a tenth of a cold build's per-run cost)."""

    @functools.cached_property
    def runs_dir(self) -> Path:
        return StoreLayout(self.root).runs_dir


def plan_one(layout: StoreLayout, run_id: str, stats: ManifestStats, scan_start: float,
             buffer: bytearray | None = None, *, for_index: bool = True) -> RunPlan:
    """One run folder read into its rows (``buffer``: reused for hashing its segments).

    ``for_index=False``: for a reader that answers from the plan and keeps nothing (query/
    pysearch), without what only the index stores: artifact rows and a racy manifest's digest."""
    run_dir = layout.runs_dir / run_id
    entry = RunPlan(run_id)
    try:
        is_folder = stat.S_ISDIR(os.lstat(run_dir).st_mode)  # lstat: a link is no folder
    except OSError:
        is_folder = False
    if not is_folder:
        entry.problem(f"{run_dir} is not a folder (a symbolic link?); not followed")
        entry.remember(LINK, "", deep=False, racy=False)
        return entry
    fingerprint = stats.of(run_id)  # taken before reading: a later change shows as a new fingerprint
    racy = fingerprint != MISSING and fingerprint[0] / 1e9 > scan_start - RACY_SECONDS
    digest = stats.digest(run_id) if racy and for_index else ""  # before load_run: a rewrite in between shows
    metrics_dir = run_dir / "metrics"
    linked = metrics_dir.is_symlink()
    live = [] if linked else live_segments(metrics_dir)  # before reading, like the fingerprint
    signature = "!symlink" if linked else segments_signature_of(live)
    record = load_run(layout, run_id)
    if not record.ok:
        entry.problem(record.error or "unreadable manifest")
        entry.remember(fingerprint, signature, deep=False, racy=racy, digest=digest)
        return entry
    manifest = record.manifest
    running = manifest.get("status") == "running"
    entry.rows["runs_t"].append(run_row(run_id, manifest, record.status))
    entry.rows["params_t"].extend(param_rows(run_id, manifest))
    entry.rows["tags_t"].extend(tag_rows(run_id, manifest))
    entry.rows["summary_t"].extend(summary_rows(run_id, manifest))
    if for_index:
        entry.rows["artifacts_t"].extend(artifact_rows(run_id, manifest))
    if running:
        entry.live = (liveness(manifest), record.status)
    if linked:
        entry.problem(f"{metrics_dir} is a symbolic link; not followed")
    recorded = recorded_segments(manifest)
    damaged = False
    for path in live:
        # a file sealed but not yet recorded (a writer killed in between): footer check only
        recorded_size, recorded_digest = recorded.get(path.name, (None, None))
        sound = (buffer is not None and recorded_size is not None and recorded_digest is not None
                 and small_segment_is_sound(path, recorded_size, recorded_digest, buffer))
        problem = None if sound else segment_problem(path, recorded_size, recorded_digest, buffer=buffer)
        if problem:
            entry.problem(f"{path}: {problem}")
            damaged = True
        else:
            entry.files.append(str(path))
    if not (running or linked or damaged) and {p.name for p in live} == set(recorded):
        found = manifest_summary_rows(manifest.get("summary"))
        if found is not None and sum(r[5] for r in found[0]) == recorded_rows(manifest):
            entry.rows["msum_t"] = [(run_id, *row) for row in found[0]]
            entry.from_points = False
            entry.means_known = found[1]
    entry.remember(fingerprint, signature, deep=running, racy=racy, digest=digest)
    return entry


def plan_serial(layout: StoreLayout, run_ids: list[str], scan_start: float,
                progress: Any = None, scale: float = 1.0, *, for_index: bool = True) -> dict[str, RunPlan]:
    """:func:`plan_one` for each run, in this process (``progress`` told ``n * scale`` runs done)."""
    plan: dict[str, RunPlan] = {}
    buffer = bytearray(HASH_BUFFER)
    layout = _ScanLayout(layout.root)
    total = round(len(run_ids) * scale)
    with ManifestStats(layout.runs_dir) as stats, no_cyclic_gc():
        for n, run_id in enumerate(run_ids):
            plan[run_id] = plan_one(layout, run_id, stats, scan_start, buffer, for_index=for_index)
            if progress is not None and n % 50 == 0:
                progress("reading run folders", round(n * scale), total)
    return plan


@contextlib.contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """The cyclic collector paused while plans pile up: they hold no cycles, but millions of new
    rows make it re-scan everything kept so far, again and again (~6% of a cold build)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def plan_runs(layout: StoreLayout, run_ids: list[str], progress: Any = None) -> Plans:
    """The plans of these runs, in their order (split with a helper process when there are
    many: it answers the rows of its finished runs encoded, in ``Plans.encoded``)."""
    scan_start = time.time()
    progress = progress if len(run_ids) > 100 else None
    helper = _start_helper(layout, run_ids, scan_start) if len(run_ids) >= PARALLEL_MIN_RUNS else None
    if helper is None:
        return Plans(plan_serial(layout, run_ids, scan_start, progress))
    mine, theirs, proc = helper
    try:
        plan = Plans(plan_serial(layout, mine, scan_start, progress, len(run_ids) / max(len(mine), 1)))
        plan.encoded.append(encode_finished([p for p in plan.values() if not p.from_points]))
    except BaseException:  # interrupted: leave no helper behind
        proc.kill()
        proc.wait()
        raise
    answer = _finish_helper(proc, theirs)
    if answer is None:
        plan.update(plan_serial(layout, theirs, scan_start))
    else:
        plan.update(answer[0])
        plan.encoded.append(answer[1])
    if progress is not None:
        progress("reading run folders", len(run_ids), len(run_ids))
    return plan


def _start_helper(layout: StoreLayout, run_ids: list[str],
                  scan_start: float) -> tuple[list[str], list[str], subprocess.Popen[bytes]] | None:
    if (os.cpu_count() or 1) < 2 or not sys.executable or os.environ.get(LOCALTRACK_INDEX_HELPER) == "0":
        return None
    split = len(run_ids) - int(len(run_ids) * HELPER_SHARE)
    mine, theirs = run_ids[:split], run_ids[split:]
    package_root = str(Path(__file__).resolve().parents[2])  # this localtrack, whatever sys.path says
    code = f"import sys; sys.path.insert(0, {package_root!r}); from localtrack.query.index_plan import worker; worker()"
    try:
        proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
    except OSError:
        return None
    request = pickle.dumps((str(layout.root), theirs, scan_start), protocol=pickle.HIGHEST_PROTOCOL)

    def send() -> None:  # a thread: the pipe fills before the helper has finished starting
        assert proc.stdin is not None
        try:
            proc.stdin.write(request)
        except OSError:  # the helper died: _finish_helper sees its exit status
            pass
        finally:
            with contextlib.suppress(OSError):
                proc.stdin.close()

    threading.Thread(target=send, name="localtrack-index-helper", daemon=True).start()
    return mine, theirs, proc


def _finish_helper(proc: subprocess.Popen[bytes], theirs: list[str]) -> tuple[dict[str, RunPlan], EncodedRuns] | None:
    """The helper's plans and encoded rows, or None if it failed (the caller then plans those
    runs itself)."""
    assert proc.stdout is not None
    try:
        data = proc.stdout.read()
    finally:
        proc.stdout.close()
        proc.wait()
    if proc.returncode != 0:
        return None
    try:
        with no_cyclic_gc():  # our own helper's answer: plain values only
            wire, encoded_ids, documents, runs, counts = marshal.loads(data)
            kept = _from_wire(wire)
            encoded = {run_id: RunPlan(run_id, live=None, stored=Stored(*stored), from_points=False, encoded=True)
                       for run_id, stored in encoded_ids.items()}
    except Exception:  # a torn answer: plan those runs here instead
        return None
    plans = {run_id: kept.get(run_id) or encoded[run_id] for run_id in theirs if run_id in kept or run_id in encoded}
    if list(plans) != theirs or len(kept) + len(encoded) != len(theirs):
        return None
    return plans, EncodedRuns(documents, runs, counts)


# Rows cross the pipe with marshal (plain values, C speed: pickling 4,500 plan objects took
# seconds); the only non-plain values are the rows' datetimes, sent as ISO text at these
# positions of the plan rows (a test checks them against the tables' TIMESTAMPTZ columns).
TIME_FIELDS = {"runs_t": (7, 8), "artifacts_t": (8,)}


def _to_wire(plans: dict[str, RunPlan]) -> dict[str, Any]:
    wire: dict[str, Any] = {}
    for run_id, plan in plans.items():
        rows = dict(plan.rows)
        for table, positions in TIME_FIELDS.items():
            rows[table] = [tuple(v.isoformat() if n in positions and v is not None else v for n, v in enumerate(row))
                           for row in rows[table]]
        wire[run_id] = (rows, plan.files, plan.live, tuple(plan.stored) if plan.stored else None, plan.from_points,
                        plan.means_known)
    return wire


def _from_wire(wire: dict[str, Any]) -> dict[str, RunPlan]:
    from datetime import datetime

    plans: dict[str, RunPlan] = {}
    for run_id, (rows, files, live, stored, from_points, means_known) in wire.items():
        for table, positions in TIME_FIELDS.items():
            rows[table] = [tuple(datetime.fromisoformat(v) if n in positions and v is not None else v
                                 for n, v in enumerate(row)) for row in rows[table]]
        plans[run_id] = RunPlan(run_id, rows, files, live, Stored(*stored) if stored else None, from_points,
                                means_known)
    return plans


def worker() -> None:
    """The helper process: plan the runs named on stdin; answer on stdout the plans of runs
    whose summaries come from their points (the refresh may have to re-read those) and, for
    the others, their fingerprints and their rows already encoded (rk from 0)."""
    root, run_ids, scan_start = pickle.loads(sys.stdin.buffer.read())
    plans = plan_serial(StoreLayout(Path(root)), run_ids, scan_start)
    kept = {run_id: plan for run_id, plan in plans.items() if plan.from_points}
    finished = [plan for plan in plans.values() if not plan.from_points]
    batch = encode_finished(finished)
    with no_cyclic_gc():
        stored = {plan.run_id: tuple(plan.stored) for plan in finished if plan.stored is not None}
        data = marshal.dumps((_to_wire(kept), stored, batch.documents, batch.runs, batch.table_rows))
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()

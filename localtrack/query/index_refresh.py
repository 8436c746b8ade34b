"""Bringing the index up to date: find the run folders that changed, re-read only those.

A changed run's rows are deleted and inserted again whole: its manifest rows, its live
segment files (``segments_t``; the points stay in them) and its per-metric summaries. Those
come from the manifest's ``summary`` when the writers' record covers exactly the segments on
disk and the run is finished (the mean follows lazily, see index_load); otherwise (a running
run, a segment sealed but not yet recorded, a damaged segment) they are computed from the
readable segments. So the cost is proportional to the runs that changed, and reading a
finished run costs its manifest, not its points. Damage is recorded in ``problems_t`` and
never stops the refresh of the other runs.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localtrack.query import duck
from localtrack.query.index_load import (
    insert_rows,
    manifest_summary_rows,
    recorded_rows,
    summary_from_points_sql,
)
from localtrack.query.index_rows import (
    artifact_rows,
    liveness,
    param_rows,
    recorded_segments,
    run_row,
    summary_rows,
    tag_rows,
)
from localtrack.query.index_scan import (
    LINK,
    MISSING,
    RACY_SECONDS,
    Changes,
    ManifestStats,
    RunListing,
    Stored,
    detect_changes,
    segments_signature_of,
)
from localtrack.query.index_schema import ID_TABLES, RK_TABLES
from localtrack.storage.layout import StoreLayout
from localtrack.storage.segments import live_segments, segment_problem
from localtrack.store.reader import load_run
from localtrack.store.status import derive_status

TABLE_ORDER = ("runs_t", "params_t", "tags_t", "summary_t", "artifacts_t", "msum_t", "problems_t", "files_t")


@dataclass
class RunPlan:
    """Everything the index will hold for one run, read from its folder before any write."""

    run_id: str
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=lambda: {t: [] for t in TABLE_ORDER})
    files: list[str] = field(default_factory=list)
    live: tuple[dict[str, Any], str] | None = None
    stored: Stored | None = None
    from_points: bool = True  # summaries computed from the segments (False: from the manifest, mean lazily)

    def problem(self, message: str) -> None:
        self.rows["problems_t"].append((self.run_id, message))

    def remember(self, fingerprint: tuple[int, int, int], signature: str, *, deep: bool, racy: bool,
                 digest: str = "") -> None:
        self.stored = Stored(fingerprint, signature, deep, racy, digest)
        self.rows["files_t"] = [(self.run_id, *fingerprint, signature, deep, racy, digest)]
BATCH_FILES = 2000
READ_RETRIES = 3


class Refresher:
    """One refresh pass over a store (runs inside the index lock)."""

    def __init__(self, layout: StoreLayout, con: Any, stored: dict[str, Stored],
                 running: dict[str, tuple[dict[str, Any], str]], listing: RunListing | None = None) -> None:
        self.layout = layout
        self.listing = listing or RunListing(layout.runs_dir)
        self.con = con
        self.stored = stored
        self.running = running
        self.settled = 0  # runs settled by the last run() (a transaction for the caller to commit)
        self.progress: Any = None  # (phase, done, total) callback for long refreshes (the CLI's bar)

    # ------------------------------------------------------------------ detect
    def changed_runs(self) -> Changes:
        """Runs to (re)index, to drop, and racy runs now settled (see index_scan)."""
        return detect_changes(self.layout.runs_dir, self.listing, self.stored)

    def settle(self, run_ids: list[str]) -> None:
        """Mark racy runs whose manifest proved unchanged and old enough as settled (the caller
        commits): from now on their stat alone is enough, their rows are not touched."""
        run_ids = [r for r in run_ids if r in self.stored and self.stored[r].racy]
        self.settled = len(run_ids)
        if not run_ids:
            return
        self.con.execute("BEGIN TRANSACTION")
        self.con.execute("UPDATE files_t SET racy = false WHERE run_id IN (SELECT unnest(?::VARCHAR[]))", [run_ids])
        for run_id in run_ids:
            self.stored[run_id] = self.stored[run_id]._replace(racy=False, digest="")

    def run(self, changes: Changes | None = None) -> int:
        """Apply every change in one transaction (the caller commits); returns how many runs changed.

        Segment files that pass the cheap checks but that DuckDB cannot read anyway (or that a
        compaction removed meanwhile) abort the transaction; they are found by bisection, the
        run is reported (or re-listed) and the transaction is replayed without them. Racy runs
        found settled (and nothing else) only get their flag cleared (also to be committed).
        """
        changes = changes if changes is not None else self.changed_runs()
        changed, removed = changes.changed, changes.removed
        if not changed and not removed:
            self.settle(changes.settled)
            return 0
        self.settled = 0  # the settled runs stay racy a while longer; a later check settles them
        plan = self.plan(changed)
        for _ in range(READ_RETRIES + 1):
            self.con.execute("BEGIN TRANSACTION")
            try:
                self.apply(changed + removed, plan)
                break
            except duck.Error:
                self.con.execute("ROLLBACK")
                files = [f for entry in plan.values() if entry.from_points for f in entry.files]
                bad = self.find_unreadable(files)
                if not bad:
                    raise
                self.exclude(plan, bad)
        else:  # pragma: no cover - files keep vanishing under us
            raise duck.Error("segment files kept changing during the index refresh")
        for run_id in removed:
            self.stored.pop(run_id, None)
            self.running.pop(run_id, None)
        for run_id, entry in plan.items():
            assert entry.stored is not None, run_id  # plan_one remembers every run it plans
            self.stored[run_id] = entry.stored
            if entry.live is not None:
                self.running[run_id] = entry.live
            else:
                self.running.pop(run_id, None)
        return len(changed) + len(removed)

    def apply(self, drop: list[str], plan: dict[str, RunPlan]) -> None:
        self.delete(drop)
        con = self.con
        next_rk = int(con.execute("SELECT value FROM meta WHERE key = 'next_rk'").fetchone()[0])
        rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in (*TABLE_ORDER, "segments_t", "lazy_t")}
        computed: list[str] = []  # segment files of runs whose summaries come from their points
        for entry in plan.values():
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
            elif entry.files:
                rows["lazy_t"].append((rk,))
        con.execute("UPDATE meta SET value = ? WHERE key = 'next_rk'", [str(next_rk)])
        scratch = self.layout.tmp_dir
        for table, table_rows in rows.items():
            insert_rows(con, table, table_rows, scratch)
        self.summarise(computed)

    def summarise(self, files: list[str]) -> None:
        """Per-metric last/min/max/mean/count/step computed from these segment files' points
        (the runs whose manifest summary is not trusted; see :meth:`plan_one`)."""
        progress = self.progress if len(files) > BATCH_FILES else None
        for start in range(0, len(files), BATCH_FILES):
            if progress is not None:
                progress("reading metric points", start, len(files))
            sql, params = summary_from_points_sql(files[start : start + BATCH_FILES])
            self.con.execute(f"INSERT INTO msum_t {sql}", params)
        if progress is not None:
            progress("reading metric points", len(files), len(files))

    def delete(self, run_ids: list[str]) -> None:
        """Remove every row of these runs (only runs the index holds: new runs have none)."""
        run_ids = [r for r in run_ids if r in self.stored]
        if not run_ids:
            return
        con = self.con
        if len(run_ids) <= 64:
            marks = ", ".join("?" * len(run_ids))
            gone = [r[0] for r in con.execute(f"SELECT rk FROM runs_t WHERE id IN ({marks})", run_ids).fetchall()]
            if gone:
                rk_marks = ", ".join("?" * len(gone))
                for table in RK_TABLES:
                    con.execute(f"DELETE FROM {table} WHERE rk IN ({rk_marks})", gone)
                con.execute(f"DELETE FROM runs_t WHERE id IN ({marks})", run_ids)
            for table in ID_TABLES:
                con.execute(f"DELETE FROM {table} WHERE run_id IN ({marks})", run_ids)
            return
        con.execute("CREATE OR REPLACE TEMP TABLE _lt_ids (id VARCHAR)")
        self._fill_ids(run_ids)
        con.execute("CREATE OR REPLACE TEMP TABLE _lt_rks AS SELECT rk FROM runs_t WHERE id IN (SELECT id FROM _lt_ids)")
        for table in RK_TABLES:
            con.execute(f"DELETE FROM {table} WHERE rk IN (SELECT rk FROM _lt_rks)")
        con.execute("DELETE FROM runs_t WHERE id IN (SELECT id FROM _lt_ids)")
        for table in ID_TABLES:
            con.execute(f"DELETE FROM {table} WHERE run_id IN (SELECT id FROM _lt_ids)")
        con.execute("DROP TABLE _lt_ids")
        con.execute("DROP TABLE _lt_rks")

    def _fill_ids(self, run_ids: list[str]) -> None:
        insert_rows(self.con, "_lt_ids", [(r,) for r in run_ids], self.layout.tmp_dir)

    # ------------------------------------------------------------------ plan
    def plan(self, run_ids: list[str]) -> dict[str, RunPlan]:
        """Read the changed runs' folders (no database writes yet)."""
        scan_start = time.time()
        progress = self.progress if len(run_ids) > 100 else None
        plan: dict[str, RunPlan] = {}
        with ManifestStats(self.layout.runs_dir) as stats:
            for n, run_id in enumerate(run_ids):
                plan[run_id] = self.plan_one(run_id, stats, scan_start)
                if progress is not None and n % 50 == 0:
                    progress("reading run folders", n, len(run_ids))
        if progress is not None:
            progress("reading run folders", len(run_ids), len(run_ids))
        return plan

    def plan_one(self, run_id: str, stats: ManifestStats, scan_start: float) -> RunPlan:
        run_dir = self.layout.runs_dir / run_id
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
        digest = stats.digest(run_id) if racy else ""  # before load_run: a rewrite in between shows
        metrics_dir = run_dir / "metrics"
        linked = metrics_dir.is_symlink()
        live = [] if linked else live_segments(metrics_dir)  # before reading, like the fingerprint
        signature = "!symlink" if linked else segments_signature_of(live)
        record = load_run(self.layout, run_id)
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
        entry.rows["artifacts_t"].extend(artifact_rows(run_id, manifest))
        if running:
            entry.live = (liveness(manifest), record.status)
        if linked:
            entry.problem(f"{metrics_dir} is a symbolic link; not followed")
        recorded = recorded_segments(manifest)
        damaged = False
        for path in live:
            # a file sealed but not yet recorded (a writer killed in between): footer check only
            problem = segment_problem(path, *recorded.get(path.name, (None, None)))
            if problem:
                entry.problem(f"{path}: {problem}")
                damaged = True
            else:
                entry.files.append(str(path))
        if not (running or linked or damaged) and {p.name for p in live} == set(recorded):
            summary = manifest_summary_rows(manifest.get("summary"))
            if summary is not None and sum(r[5] for r in summary) == recorded_rows(manifest):
                entry.rows["msum_t"] = [(run_id, *row) for row in summary]
                entry.from_points = False
        entry.remember(fingerprint, signature, deep=running, racy=racy, digest=digest)
        return entry

    def exclude(self, plan: dict[str, RunPlan], bad: list[str]) -> None:
        """Drop unreadable files from the plan; a run whose file vanished is read again."""
        owner = {f: run_id for run_id, entry in plan.items() for f in entry.files}
        replan: set[str] = set()
        for path in bad:
            run_id = owner[path]
            if not Path(path).exists():
                replan.add(run_id)  # compacted away meanwhile: list the run's segments again
                continue
            entry = plan[run_id]
            entry.files.remove(path)
            entry.problem(f"{path}: unreadable segment (DuckDB could not read it)")
        if replan:
            with ManifestStats(self.layout.runs_dir) as stats:
                for run_id in replan:
                    plan[run_id] = self.plan_one(run_id, stats, time.time())

    def find_unreadable(self, files: list[str]) -> list[str]:
        """The files DuckDB cannot read, by bisection (cheap when there are few)."""
        if not files:
            return []
        try:
            self.con.execute("SELECT count(*) FROM read_parquet(?)", [files]).fetchall()
            return []
        except duck.Error:
            if len(files) == 1:
                return files
        middle = len(files) // 2
        return self.find_unreadable(files[:middle]) + self.find_unreadable(files[middle:])

    # ------------------------------------------------------------------ status
    def update_live_status(self) -> None:
        """Re-derive the status of runs marked running: a writer can die without touching a file."""
        now = time.time()
        for run_id, (live, old) in list(self.running.items()):
            status = derive_status(live, now)
            if status != old:
                self.con.execute("UPDATE runs_t SET status = ? WHERE id = ?", [status, run_id])
                self.running[run_id] = (live, status)

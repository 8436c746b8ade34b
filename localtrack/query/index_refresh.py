"""Bringing the index up to date: find the run folders that changed, re-read only those.

A changed run's rows are deleted and inserted again whole: its manifest rows, its live
segment files (``segments_t``; the points stay in them) and its per-metric summaries. Those
come from the manifest's ``summary`` when the writers' record covers exactly the segments on
disk and the run is finished (the mean from its recorded sum, or lazily, see index_load); otherwise (a running
run, a segment sealed but not yet recorded, a damaged segment) they are computed from the
readable segments. So the cost is proportional to the runs that changed, and reading a
finished run costs its manifest, not its points. Damage is recorded in ``problems_t`` and
never stops the refresh of the other runs.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from localtrack.query import duck
from localtrack.query.index_load import insert_document, insert_rows, summary_from_points_sql
from localtrack.query.index_plan import RunPlan, no_cyclic_gc, plan_one, plan_runs, table_rows
from localtrack.query.index_scan import Changes, ManifestStats, RunListing, Stored, detect_changes
from localtrack.query.index_schema import ID_TABLES, RK_TABLES
from localtrack.storage.layout import StoreLayout
from localtrack.store.status import derive_status

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
                with no_cyclic_gc():  # hundreds of thousands of row tuples, no cycles
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
        rows, next_rk, computed = table_rows((entry for entry in plan.values() if not entry.encoded), next_rk)
        encoded = [(batch, next_rk + sum(b.runs for b in getattr(plan, "encoded", [])[:n]))
                   for n, batch in enumerate(getattr(plan, "encoded", []))]  # the helper's runs: after ours
        next_rk += sum(batch.runs for batch, _ in encoded)
        con.execute("UPDATE meta SET value = ? WHERE key = 'next_rk'", [str(next_rk)])
        scratch = self.layout.tmp_dir
        total = sum(len(r) for r in rows.values()) + sum(sum(batch.table_rows.values()) for batch, _ in encoded)
        report = self.progress if total > 10_000 else None  # a cold build: seconds of inserts
        done = 0
        for table, table_list in rows.items():
            if report is not None:
                report("writing the index", done, total)
            insert_rows(con, table, table_list, scratch)
            done += len(table_list)
            for batch, offset in encoded:  # rks stay in insertion order: the helper's runs come after ours
                for document in batch.documents.get(table, []):
                    insert_document(con, table, document, scratch, offset)
                done += batch.table_rows.get(table, 0)
        if report is not None:
            report("writing the index", total, total)
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
        """Read the changed runs' folders (no database writes yet; see index_plan)."""
        return plan_runs(self.layout, run_ids, self.progress)

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
                    plan[run_id] = plan_one(self.layout, run_id, stats, time.time())

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

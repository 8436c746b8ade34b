"""The index: a DuckDB file under ``<store>/index/`` kept in step with the run folders.

Every operation runs in a *session*: take the index lock (``index/.index.lock``), attach the
DuckDB file to this process's in-memory connection, bring it up to date with the run folders
(only the runs whose fingerprint changed are re-read), run the query, detach, unlock. The
file is never held open between calls, so any number of processes (CLI invocations, a
notebook) can share it; DuckDB's transactions keep it whole if a process dies mid-refresh;
a file that fails to open or read is deleted and rebuilt. A store we cannot write (read-only
file system) gets an in-memory index that lives as long as the Store object.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from localtrack.errors import CorruptRunError
from localtrack.query import duck, progress
from localtrack.query.index_refresh import Refresher
from localtrack.query.index_scan import Changes, RunListing, Stored
from localtrack.query.index_schema import (
    INDEX_FILENAME,
    LOCK_FILENAME,
    SCHEMA_VERSION,
    create_statements,
)
from localtrack.query.scan_state import ScanCache, StoredRuns, runs_directory, state_key
from localtrack.storage.layout import StoreLayout
from localtrack.storage.lease import run_lock

DB = "idx"
T = TypeVar("T")


class Index:
    """One store's index, as seen by this process."""

    def __init__(self, layout: StoreLayout) -> None:
        self.layout = layout
        self.path = layout.index_dir / INDEX_FILENAME
        self.lock_path = layout.index_dir / LOCK_FILENAME
        self.con = duck.connect_memory(layout.tmp_dir / "duckdb")
        self._mutex = threading.RLock()
        self._depth = 0
        self._memory_only: bool | None = None
        self._cache_key: tuple[str, str] | None = None
        self.stored: dict[str, Stored] = {}
        self.running: dict[str, tuple[dict[str, Any], str]] = {}
        self.last_refresh: dict[str, Any] = {}
        self.listing = RunListing(layout.runs_dir)
        self.scan = ScanCache(layout.index_dir)  # the saved scan state (scan_state): stored + listing
        self.meta: dict[str, str] = {}
        self._is_attached = False
        # rk -> (tags, params, metrics) of result rows: a run's rk changes whenever its rows
        # change, so entries never go stale (bounded; cleared when the index is rebuilt)
        self.details: dict[int, tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]] = {}
        self.listing_key: str | None = None  # the index state the listing files were last seen at
        self.keep_listing = False  # write the listing files (fastlist) after each refresh: `ls` asks
        self.listing_want: set[str] | str | None = None  # run ids whose listing entries to write ("all")
        self.listing_sparks = True  # with their sparklines (False: only the first runs' get them)
        self.listing_force: set[str] = set()  # run ids whose entries to write again (they lack sparklines)
        self.progress: Callable[[str, int, int], None] | None = progress.HOOK  # (phase, done, total)

    # ------------------------------------------------------------------ sessions
    @contextlib.contextmanager
    def session(self, refresh: bool = True) -> Iterator[Any]:
        """The connection, with the index attached as the default database and up to date."""
        with self._mutex:
            if self._depth:
                self._depth += 1
                try:
                    yield self.con
                finally:
                    self._depth -= 1
                return
            with self._locked():
                self._attach()
                self._depth = 1
                try:
                    if refresh:
                        self._refresh_or_rebuild()
                    yield self.con
                except duck.Error as exc:
                    unreadable = self._set_aside(exc)
                    if unreadable is None:
                        raise
                    raise unreadable from None
                finally:
                    self._depth = 0
                    self._detach()

    def retrying(self, fn: Callable[[Any], T]) -> T:
        """``fn(connection)`` in a session, run again (a few times at most) after a segment
        it met was set aside as unparseable (see :meth:`_set_aside`): one forged file costs its
        own run's points, never the whole answer."""
        for attempt in range(MAX_SET_ASIDE + 1):
            try:
                with self.session() as con:
                    return fn(con)
            except SegmentSetAside:
                if attempt == MAX_SET_ASIDE:
                    raise
        raise AssertionError("unreachable")

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if self._memory_only is None:
            self._memory_only = not _writable_dir(self.layout.index_dir)
        if self._memory_only:
            yield
            return
        with run_lock(self.lock_path):
            yield

    def _attach(self) -> None:
        if self._memory_only:
            if not self._is_attached:
                self.con.execute(f"ATTACH ':memory:' AS {DB}")
                self._is_attached = True
            self._use()
            return
        try:
            self.con.execute(f"ATTACH {duck.quote_literal(str(self.path))} AS {DB}")
            self._is_attached = True
            self._use()
        except duck.Error:
            self._discard_file()
            self.con.execute(f"ATTACH {duck.quote_literal(str(self.path))} AS {DB}")
            self._is_attached = True
            self._use()

    def _use(self) -> None:
        self.con.execute(f"USE {DB}")
        self._ensure_schema()

    def release_file(self) -> None:
        """Detach the index file early (still holding the lock) so a sandbox can attach it read-only."""
        if not self._memory_only and self._is_attached:
            self.con.execute("USE memory")
            self.con.execute(f"DETACH {DB}")
            self._is_attached = False

    def _detach(self) -> None:
        if self._memory_only or not self._is_attached:
            return
        try:
            self.con.execute("USE memory")
            self.con.execute(f"DETACH {DB}")
        except duck.Error:  # pragma: no cover - a broken connection: start a fresh one
            self.con = duck.connect_memory(self.layout.tmp_dir / "duckdb")
        self._is_attached = False

    def _discard_file(self) -> None:
        """Delete an index file that cannot be opened (it is only a cache)."""
        with contextlib.suppress(duck.Error):
            self.con.execute("USE memory")
        with contextlib.suppress(duck.Error):
            self.con.execute(f"DETACH {DB}")
        self._is_attached = False
        for path in (self.path, self.path.with_name(self.path.name + ".wal")):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        self._forget()

    def _forget(self) -> None:
        """Drop this process's picture of the index (it was rebuilt or replaced)."""
        self._cache_key = None
        self.stored, self.running = {}, {}
        self.details.clear()

    def _ensure_schema(self) -> None:
        """Read the index's meta table; create the tables when missing or of another schema."""
        con = self.con
        try:
            self.meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
            if self.meta.get("schema_version") == str(SCHEMA_VERSION):
                return
        except duck.Error:
            self.meta = {}
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [DB]).fetchall()]
        for table in tables:
            if table.isidentifier():
                con.execute(f'DROP TABLE IF EXISTS "{table}"')
        con.execute("BEGIN TRANSACTION")
        for statement in create_statements():
            con.execute(statement)
        self.meta = {"schema_version": str(SCHEMA_VERSION), "build_id": secrets.token_hex(8), "generation": "0",
                     "next_rk": "1"}
        con.executemany("INSERT INTO meta VALUES (?, ?)", [list(kv) for kv in self.meta.items()])
        con.execute("COMMIT")

    def _refresh_or_rebuild(self, changes: Changes | None = None) -> None:
        try:
            self._refresh(changes)
        except duck.Error:
            # A damaged index file (or a bug): rebuild it from the run folders once.
            with contextlib.suppress(duck.Error):
                self.con.execute("ROLLBACK")
            self._drop()
            self._attach()
            self._refresh()

    def _drop(self) -> None:
        """Forget the index: detach the in-memory one, or delete the file (it is only a cache)."""
        if self._memory_only:
            with contextlib.suppress(duck.Error):
                self.con.execute("USE memory")
                self.con.execute(f"DETACH {DB}")
            self._is_attached = False
            self._forget()
        else:
            self._discard_file()

    # ------------------------------------------------------------------ refresh
    def _refresher(self) -> Refresher:
        """A refresher over this process's picture of the index (reloaded if another process changed it)."""
        key = (self.meta.get("build_id", ""), self.meta.get("generation", ""))
        if key != self._cache_key:
            if self._cache_key is None or key[0] != self._cache_key[0]:
                self.details.clear()  # another build: run numbers (rk) mean other runs now
            self._load_cache()
            self._cache_key = key
        refresher = Refresher(self.layout, self.con, self.stored, self.running, self.listing)
        refresher.progress = self.progress
        return refresher

    def _refresh(self, changes: Changes | None = None) -> None:
        refresher = self._refresher()
        started = time.perf_counter()
        try:
            changed = refresher.run(changes)
        finally:
            if self.progress is not None:
                self.progress("done", 1, 1)
        if changed or refresher.settled:
            self._commit_generation()
        refresher.update_live_status()
        self._save_scan()
        if self.keep_listing:
            self._sync_listing()
        self.last_refresh = {"runs_changed": changed, "seconds": time.perf_counter() - started}

    def _commit_generation(self) -> None:
        """Commit the open transaction as the index's next state (the listing, the scan state
        and the search columns are keyed on ``build_id:generation``)."""
        build_id, generation = self._cache_key or (self.meta.get("build_id", ""), self.meta.get("generation", "0"))
        generation = str(int(generation or 0) + 1)
        self.con.execute("UPDATE meta SET value = ? WHERE key = 'generation'", [generation])
        self.con.execute("COMMIT")
        self._cache_key = (build_id, generation)
        self.meta["generation"] = generation

    def _sync_listing(self) -> None:
        """Rewrite the DuckDB-free listing (``fastlist``) if it lags behind the index."""
        if self._memory_only:
            return
        from localtrack.query.fastlist import header_key
        from localtrack.query.listing_write import listing_key, write_listing

        key = listing_key(self.meta)
        if self.listing_want is None:
            if key == self.listing_key:
                return
            if header_key(self.layout.index_dir) == key:
                self.listing_key = key
                return
        for _ in range(MAX_SET_ASIDE):
            try:
                write_listing(self)
                return
            except duck.Error as exc:  # a forged segment: set aside, its run listed with the problem
                if self._set_aside(exc) is None:
                    break
            except (OSError, ValueError):
                break
        self.listing_key = None  # only a cache: `ls` then asks the index

    def sync_search_columns(self, names: list[str]) -> None:
        """After a search of a big store, write what the next one reads without DuckDB: the
        listing and the columns ``names`` (with those the file held) of
        :mod:`localtrack.query.search_columns`, where they lag behind the index. Not while a
        run is running: its next flush changes the store again."""
        from localtrack.query.fastlist import header_key
        from localtrack.query.listing_write import listing_key
        from localtrack.query.pysearch import SMALL_STORE_RUNS
        from localtrack.query.search_columns import MAX_COLUMNS, columns_state, write_columns

        index_dir = self.layout.index_dir
        stored = self.stored
        runs = stored.rough_len() if isinstance(stored, StoredRuns) else len(stored)
        if not names or self._memory_only or runs <= SMALL_STORE_RUNS or self.running:
            return
        held_key, held = columns_state(index_dir)
        if held_key == listing_key(self.meta) and set(names) <= set(held) and header_key(index_dir) == held_key:
            return
        with self.session(refresh=False) as con:
            key = listing_key(self.meta)
            if self.running:
                return
            self._sync_listing()
            if header_key(index_dir) != key:
                return
            wanted = list(dict.fromkeys([*names, *held]))[:MAX_COLUMNS]
            try:
                write_columns(con, index_dir, key, wanted)
            except (OSError, duck.Error):  # only a cache: the next search asks the index
                pass

    def _set_aside(self, exc: Exception) -> SegmentSetAside | None:
        """Take a segment DuckDB cannot parse out of the index, as one line naming it; None
        when ``exc`` is about no segment of this store that the index reads.

        The readers' checks (a regular file, ``PAR1`` at both ends, the recorded size and
        xxh3-128 digest) pass for bytes forged together with their manifest record (a hostile
        commit): only DuckDB's read finds them out, in whatever query first reads that file.
        The file leaves ``segments_t`` and its run gets a ``problems_t`` row, as a segment
        that fails those checks does; the rest of the store reads on. It stays aside until
        the run folder changes (then the run is read again, and the file met again)."""
        unreadable = _unreadable_segment(exc, self.layout)
        if unreadable is None:
            return None
        path = str(unreadable.value)
        con = self.con
        with contextlib.suppress(duck.Error):
            con.execute("ROLLBACK")  # a transaction the failed statement left open
        owner = con.execute("SELECT r.id FROM segments_t f JOIN runs_t r USING (rk) WHERE f.file = ?",
                            [path]).fetchall()
        if not owner:
            return None
        con.execute("BEGIN")
        con.execute("DELETE FROM segments_t WHERE file = ?", [path])
        con.execute("INSERT INTO problems_t VALUES (?, ?)", [owner[0][0], str(unreadable).removesuffix(_SEGMENT_ADVICE)])
        self._commit_generation()
        self.details.clear()
        return SegmentSetAside(str(unreadable), path)

    def read(self, fn: Callable[[Any], T]) -> T:
        """``fn(connection)`` over an up-to-date index.

        The check of the run folders (a ``stat`` per run) and the query overlap: the query runs
        on a thread while the folders are checked; if nothing changed (the common case) its
        answer stands, else the index is refreshed and the query runs again.
        """
        with self._mutex:
            if self._depth:
                return fn(self.con)
            with self._locked():
                self._attach()
                self._depth = 1
                try:
                    for attempt in range(MAX_SET_ASIDE + 1):
                        try:
                            return self._read_overlapped(fn)
                        except duck.Error as exc:  # asked again without a segment set aside
                            unreadable = self._set_aside(exc)
                            if unreadable is None:
                                raise
                            if attempt == MAX_SET_ASIDE:
                                raise unreadable from None
                    raise AssertionError("unreachable")
                finally:
                    self._depth = 0
                    self._detach()

    def _read_overlapped(self, fn: Callable[[Any], T]) -> T:
        try:
            refresher = self._refresher()
            refresher.update_live_status()
        except duck.Error:
            self._refresh_or_rebuild()
            return fn(self.con)
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                box["value"] = fn(self.con)
            except BaseException as exc:  # handed back to the caller below
                box["error"] = exc

        started = time.perf_counter()
        worker = threading.Thread(target=work, name="localtrack-query", daemon=True)
        worker.start()
        try:
            changes = refresher.changed_runs()
        finally:
            worker.join()
        if not changes:
            if changes.settled:  # the answer stands; only racy flags to clear
                self._refresh_or_rebuild(changes)
            else:
                self._save_scan()
            self.last_refresh = {"runs_changed": 0, "seconds": time.perf_counter() - started}
            if "error" in box:
                raise box["error"]
            value: T = box["value"]
            return value
        self._refresh_or_rebuild(changes)
        return fn(self.con)

    def _save_scan(self) -> None:
        """Save the scan state for the next process (skipped when the file holds it already)."""
        if not self._memory_only:
            self.scan.save(state_key(self.meta), self.listing, self.stored, lambda: runs_directory(self.con))

    def _load_cache(self) -> None:
        saved = None if self._memory_only else self.scan.load(state_key(self.meta))
        if saved is not None:  # the scan state saved for this index state: no files_t read
            self.stored = saved  # type: ignore[assignment]
        else:
            rows = self.con.execute(  # the segment lists matter only for runs checked deeply
                "SELECT run_id, m_mtime, m_size, m_ino, CASE WHEN deep THEN segs ELSE '' END, deep, racy, "
                "CASE WHEN racy THEN m_digest ELSE '' END FROM files_t"
            ).fetchall()
            self.stored = {r[0]: Stored((r[1], r[2], r[3]), r[4], r[5], r[6], r[7] or "") for r in rows}
        self.running = {}
        import json

        for run_id, writers, status in self.con.execute(
            "SELECT id, writers, status FROM runs_t WHERE status_raw = 'running'"
        ).fetchall():
            try:
                self.running[run_id] = (json.loads(writers or "{}"), status)
            except ValueError:
                self.running[run_id] = ({}, status)

    def refresh(self) -> None:
        """Bring the index up to date now."""
        with self.session():
            pass

    def rebuild(self) -> None:
        """Throw the index away and build it again from the run folders."""
        with self._mutex, self._locked():
            self._drop()
        self.refresh()

    def problems(self) -> list[tuple[str, str]]:
        """(run_id, message) for every damaged run or segment seen."""
        with self.session() as con:
            return [(r[0], r[1]) for r in con.execute(
                "SELECT run_id, message FROM problems_t ORDER BY run_id, message").fetchall()]

    def close(self) -> None:
        with self._mutex:
            self.con.close()

    @property
    def file_path(self) -> Path | None:
        """The index file, or None when the index lives in memory (read-only store)."""
        if self._memory_only is None:
            self._memory_only = not _writable_dir(self.layout.index_dir)
        return None if self._memory_only else self.path


def _writable_dir(path: Path) -> bool:
    """Create the index folder if needed; False when the store cannot be written."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(path, os.W_OK | os.X_OK)


MAX_SET_ASIDE = 8  # forged segments set aside within one query before its error is given


class SegmentSetAside(CorruptRunError):
    """A query met a segment DuckDB cannot parse; it is now out of the index (see
    ``Index._set_aside``), so the same query asked again answers without it."""


_SEGMENT_ADVICE = "; `localtrack verify` names every damaged run, `localtrack rm RUN` moves one aside"
_PARQUET_PATH = re.compile(r"'([^']+\.parquet)'")


def _unreadable_segment(exc: Exception, layout: StoreLayout) -> CorruptRunError | None:
    """DuckDB's error on a metric segment of this store that its reader cannot parse (a file
    whose recorded size and digest match but whose bytes are no Parquet: a hostile commit), as
    one line naming the file; None for any other error."""
    text = str(exc)
    found = _PARQUET_PATH.search(text)
    if found is None or not found.group(1).startswith(str(layout.root)):
        return None
    first = text.strip().splitlines()[0].replace(found.group(0), "").replace(" in file ", "").strip(" :")
    return CorruptRunError(f"{found.group(1)}: this metric segment is not readable Parquet (DuckDB: {first})"
                           f"{_SEGMENT_ADVICE}", found.group(1))

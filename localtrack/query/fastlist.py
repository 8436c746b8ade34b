"""The run listing without DuckDB: what ``localtrack ls`` shows when it neither filters nor sorts.

Importing DuckDB and pyarrow costs more than everything else ``ls`` does on a small store,
and a 10,000-run listing through the index moves every run's details through SQL. The
listing files (written by :mod:`localtrack.query.listing_write` when ``ls`` finds them
behind the run folders; other queries never pay for them) hold the rows in the default order; here they are checked against the run folders with the
same test the index uses (one ``stat`` per manifest, see ``index_scan.detect_changes``) and
used only when nothing changed. Otherwise :func:`open_listing` refreshes the index (which
rewrites the listing) and reads it again; ``None`` means "ask the index" (say, a read-only
store, where the index lives in memory).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from collections.abc import Iterator, MutableMapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from localtrack.query.index_scan import RunListing, Stored, detect_changes
from localtrack.query.listing_order import Entries, header_stamp, load_order, save_order
from localtrack.query.scan_state import ScanCache, ScanState
from localtrack.storage.layout import StoreLayout

# 2: an entry's sparkline line may be ``null`` (written for a reader that draws none); version 1
# readers would fail on it, so the files are named anew and never read by them (nor theirs by us)
LISTING_VERSION = 2
HEADER_FILENAME = f"listing-v{LISTING_VERSION}.json"
ROWS_PREFIX = f"listing-v{LISTING_VERSION}-"
SPARK_BUCKETS = 8  # the sparkline width ``ls`` draws
MAX_HEADER_BYTES = 1 << 30


def valid_rows_name(name: str, prefix: str = ROWS_PREFIX) -> bool:
    """``listing-v2-<hex>.rows``, a plain name inside index/ (``prefix`` ``listing-``: version 1's)."""
    token = name[len(prefix):-len(".rows")] if name.startswith(prefix) and name.endswith(".rows") else ""
    return bool(token) and token.isascii() and token.isalnum() and len(token) <= 64


def read_header(index_dir: Path, *, files: bool = True) -> dict[str, Any] | None:
    """The listing header as written (not checked against the run folders), or None.

    Without ``files`` the run folders' fingerprints (half of the header, which a saved scan
    state holds already) are cut out before parsing, when they can be found; see
    :func:`_without_files`."""
    return read_keyed_header(index_dir, files=files)[1]


def read_keyed_header(index_dir: Path, *, files: bool = True) -> tuple[str | None, dict[str, Any] | None]:
    """(the index state line 1 names, the header) of one read of the file; (None, None) if unusable."""
    try:
        with open(index_dir / HEADER_FILENAME, "rb") as handle:
            line = handle.readline(256)
            data = handle.read(MAX_HEADER_BYTES + 1)
    except OSError:
        return None, None
    if len(data) > MAX_HEADER_BYTES:
        return None, None
    try:
        key, length = json.loads(line)
        if not isinstance(key, str) or length != len(data):
            key = None
        try:
            header = json.loads(data if files else _without_files(data))
        except ValueError:  # the cut did not fit this header's layout: the whole of it
            header = json.loads(data)
    except (ValueError, TypeError):
        return None, None
    if not isinstance(header, dict) or header.get("version") != LISTING_VERSION:
        return None, None
    return key, header


_FILES_START, _FILES_END = b',"files":[', b'],"live":'


def _without_files(data: bytes) -> bytes:
    """The header's text with its ``"files"`` list left out (listing_write writes it between
    ``runs`` and ``live``). Inside a JSON string every quote is escaped, so ``,"files":[`` and
    ``],"live":`` occur only as the header's own keys, and the files list holds no objects."""
    start = data.find(_FILES_START)
    end = data.find(_FILES_END, start) if start >= 0 else -1
    if start < 0 or end < 0 or data.find(_FILES_START, start + 1) >= 0:
        return data
    return data[:start] + data[end + 1:]


def header_key(index_dir: Path) -> str | None:
    """The index state (``build_id:generation``) a whole listing was written from; cheap (line 1
    holds it with the length of line 2, which must match the file's size)."""
    try:
        with open(index_dir / HEADER_FILENAME, "rb") as handle:
            line = handle.readline(256)
            size = os.fstat(handle.fileno()).st_size
    except OSError:
        return None
    try:
        key, length = json.loads(line)
    except (ValueError, TypeError):
        return None
    if not isinstance(key, str) or not isinstance(length, int) or len(line) + length != size:
        return None
    return key


class Listing:
    """The runs of a store in the default order (newest first), as ``Store.runs()`` gives them."""

    def __init__(self, layout: StoreLayout, header: dict[str, Any]) -> None:
        self.layout = layout
        self._sparks: dict[str, dict[str, list[float]]] = {}
        self.state: ScanState | None = None  # the scan state the listing was checked with (fastshow reads it)
        self.key: str | None = None  # the index state it was written from, once checked (search_columns reads it)
        self._load(header)

    def _load(self, header: dict[str, Any]) -> None:
        self.runs: Sequence[list[Any]] = header["runs"]  # [id, rk, project, offset, length] (or listing_order.Entries)
        self.problems: list[tuple[str, str]] = [(str(p[0]), str(p[1])) for p in header.get("problems", [])]
        self.live: dict[str, Any] = header.get("live") or {}
        name = str(header["rows_file"])
        if not valid_rows_name(name):  # a path from disk: never leave index/
            raise ValueError(f"not a listing rows file name: {name!r}")
        self.rows_path = self.layout.index_dir / name

    def entries(self, project: str | None = None) -> Sequence[list[Any]]:
        """The runs (optionally of one project), in order."""
        if project is None:
            return self.runs
        return [e for e in self.runs if e[2] == project]

    def entry_of(self, run_id: str) -> list[Any] | None:
        """The entry of one run, or None when the listing does not hold it."""
        if isinstance(self.runs, Entries):
            i = self.runs.position(run_id)
            return None if i is None else self.runs[i]
        return next((e for e in self.runs if e[0] == run_id), None)

    def complete(self, entries: Sequence[list[Any]], *, sparks: bool = True,
                 force: Sequence[str] = ()) -> Sequence[list[Any]]:
        """These entries, every one written: runs whose entry is not written yet (the listing
        writes the first runs up front), or is to be written again (``force``: it lacks the
        sparklines), have the index write them (with their sparklines when ``sparks``), then the
        listing is read again. ValueError if the runs changed meanwhile (the caller then asks
        the index)."""
        missing = [e[0] for e in entries if e[3] is None]
        if not missing and not force:
            return entries
        from localtrack.query.index import Index

        index = Index(self.layout)
        index.keep_listing = True
        index.listing_want = "all" if len(missing) == len(self.runs) and not force else {*missing, *force}
        index.listing_sparks = sparks
        index.listing_force = set(force)
        try:
            index.refresh()
        finally:
            index.close()
        header = read_header(self.layout.index_dir)
        if header is None:
            raise ValueError("the listing could not be written")
        self._load(header)
        by_id = {e[0]: e for e in self.runs}
        out = []
        for old in entries:
            new = by_id.get(old[0])
            if new is None or new[1] != old[1] or new[3] is None:
                raise ValueError(f"run {old[0]} changed while the listing was being completed")
            out.append(new)
        return out

    def rows(self, entries: Sequence[list[Any]], *, sparks: bool = True) -> list[dict[str, Any]]:
        """The full rows (params, tags, metric summaries) of these runs; with ``sparks`` their
        sparklines too (for :meth:`trend_series`: entries written without them are written again)."""
        entries = self.complete(entries, sparks=sparks)
        out, lacking = self._read_rows(entries, sparks)
        if lacking:
            entries = self.complete(entries, force=lacking)
            out, lacking = self._read_rows(entries, sparks)
            if lacking:
                raise ValueError(f"the listing entries of {len(lacking)} runs lack their sparklines")
        return out

    def _read_rows(self, entries: Sequence[list[Any]], sparks: bool) -> tuple[list[dict[str, Any]], list[str]]:
        """(the rows of these written entries, the runs whose sparklines were wanted and are not there)."""
        from localtrack.store.status import derive_status

        out: list[dict[str, Any]] = []
        lacking: list[str] = []
        now = time.time()
        with open(self.rows_path, "rb") as handle:
            for run_id, _rk, _project, offset, length in entries:
                handle.seek(offset)
                row_text, sparks_text, _ = handle.read(length).split(b"\n")
                row = json.loads(row_text)
                if row.get("id") != run_id:
                    raise ValueError(f"listing entry of {run_id} holds another run")
                for name in ("created_at", "ended_at"):
                    if row.get(name) is not None:
                        row[name] = datetime.fromisoformat(row[name])
                if run_id in self.live:
                    row["status"] = derive_status(self.live[run_id], now)
                if sparks:
                    found = json.loads(sparks_text)
                    if found is None:  # written for a reader that draws none
                        lacking.append(run_id)
                    else:
                        self._sparks[run_id] = {k: [math.nan if v is None else float(v) for v in values]
                                                for k, values in found.items()}
                out.append(row)
        return out, lacking

    def json_lines(self, entries: Sequence[list[Any]]) -> Iterator[str | dict[str, Any]]:
        """Each run as its ``--format jsonl`` line when the stored text is that line already
        (no NaN/infinity to spell out, status not re-derived), else as its row (to convert).
        Entries missing are written without sparklines: this output prints none."""
        entries = self.complete(entries, sparks=False)
        with open(self.rows_path, "rb") as handle:
            for entry in entries:
                run_id, _rk, _project, offset, length = entry
                handle.seek(offset)
                row_text = handle.read(length).split(b"\n", 1)[0]
                if run_id in self.live or b"NaN" in row_text or b"Infinity" in row_text:
                    yield self._read_rows([entry], False)[0][0]
                    continue
                yield row_text.decode()

    def trend_series(self, run_ids: Sequence[str] | None, keys: Sequence[str],
                     buckets: int) -> dict[tuple[str, str], list[float]]:
        """Sparkline buckets (``SPARK_BUCKETS`` of them) of rows already read by :meth:`rows`."""
        if buckets != SPARK_BUCKETS:
            raise ValueError(f"the listing keeps {SPARK_BUCKETS}-bucket sparklines, not {buckets}")
        ids = list(self._sparks) if run_ids is None else run_ids
        out: dict[tuple[str, str], list[float]] = {}
        for run_id in ids:
            series = self._sparks.get(run_id, {})
            for key in keys:
                if key in series:
                    out[(run_id, key)] = list(series[key])
        return out


def discard(layout: StoreLayout) -> None:
    """Forget a listing found damaged while reading it: the next ``ls`` has it written afresh."""
    with contextlib.suppress(OSError):
        os.unlink(layout.index_dir / HEADER_FILENAME)


def current_listing(layout: StoreLayout) -> Listing | None:
    """The listing if it matches the run folders exactly now, else None.

    The run folders are compared with the scan state saved for the listing's index state
    (``scan_state``) when there is one, else with the fingerprints in the header (and the
    state is saved then, for the next ``ls``)."""
    index_dir = layout.index_dir
    cache = ScanCache(index_dir)
    line_key = header_key(index_dir)
    saved = cache.load(line_key) if line_key is not None else None
    before = header_stamp(index_dir / HEADER_FILENAME)
    stamp = (line_key, *before) if line_key is not None and before is not None else None
    header = load_order(index_dir, stamp) if saved is not None and stamp is not None else None
    key = line_key if header is not None else None
    fresh_order = header is None
    if header is None:
        key, header = read_keyed_header(index_dir, files=saved is None)
    if header is None or key is None or key != line_key:
        return None
    stored: MutableMapping[str, Stored]
    try:
        if saved is not None:
            stored = saved
        else:
            stored = {str(f[0]): Stored((int(f[1]), int(f[2]), int(f[3])), str(f[4]), bool(f[5]), bool(f[6]),
                                        str(f[7])) for f in header["files"]}
        listing = Listing(layout, header)
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    state = saved.state if saved is not None else None  # (checking may turn it into a plain dict)
    runs = RunListing(layout.runs_dir)
    changes = detect_changes(layout.runs_dir, runs, stored)
    if changes:
        return None
    if listing.runs and not os.path.isfile(listing.rows_path):
        return None
    if not changes.settled:  # settled runs: the index has flags to clear first (a new state)
        cache.save(key, runs, stored)
        if fresh_order and stamp is not None and (key, *(header_stamp(index_dir / HEADER_FILENAME) or ())) == stamp:
            save_order(index_dir, stamp, header)  # the same header file all along: its order for the next ls
    listing.state = state
    listing.key = key
    return listing


def open_listing(layout: StoreLayout) -> Listing | None:
    """The listing, refreshing the index first when the run folders changed; None: use the index."""
    listing = current_listing(layout)
    if listing is not None:
        return listing
    from localtrack.query.index import Index

    for attempt in range(2):
        index = Index(layout)
        index.keep_listing = True
        try:
            index.refresh()
        finally:
            index.close()
        listing = current_listing(layout)
        if listing is not None or attempt:
            return listing
        # the index is current but the listing still does not match: damaged, or its rows file
        # gone; drop it so the index writes it afresh (or a run changed meanwhile: refresh again)
        with contextlib.suppress(OSError):
            os.unlink(layout.index_dir / HEADER_FILENAME)
    return None

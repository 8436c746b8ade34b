"""Writing the run listing: the rows ``localtrack ls`` shows, kept beside the DuckDB index.

The listing is a derived cache under ``index/`` (git-ignored, rebuilt from the index at any
time) that :mod:`localtrack.query.fastlist` reads without importing DuckDB or pyarrow:

* ``listing-v2.json``: line 1 the index state it was written from (build id, generation),
  line 2 one JSON object: every run folder's fingerprint (the same as ``files_t``), the runs
  in the default order (newest first) with the byte range of each run's entry, the problems
  and the liveness of runs still marked running;
* ``listing-v2-<token>.rows``: the entries, two JSON lines per run: its row as
  ``Store.runs()`` returns it (timestamps as ISO strings, written the way ``ls --format
  jsonl`` prints a row, so that output is mostly a copy) and its sparkline buckets per metric,
  or ``null`` when they were not asked for (they cost reading the run's points).

Entries are written for the first ``EAGER_ENTRIES`` runs of the default order (what ``ls``
shows) and for the runs a reader asks for (``index.listing_want``); the others stay ``null`` in
the header until a reader needs them (:meth:`fastlist.Listing.complete`), so a cold ``ls`` of a
10,000-run store reads fifty runs' points, not every run's. A reader that prints no sparklines
(``ls --format jsonl``, ``json``, ``csv``) asks without them (``index.listing_sparks`` False):
then only the eager runs' entries get them, and the others' are written again with them when
a reader that draws them meets one (``index.listing_force``). Entries are appended when runs change (a run's ``rk`` changes whenever its rows do, so an
entry is reused while its ``rk`` stands); the file is rewritten under a new name when more
than half of it is stale. Everything happens inside the index lock; the JSON header is
replaced atomically, so a reader sees an old or a new listing, never a mix.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

from localtrack.query.fastlist import (
    HEADER_FILENAME,
    LISTING_VERSION,
    ROWS_PREFIX,
    SPARK_BUCKETS,
    read_header,
    valid_rows_name,
)
from localtrack.query.index_load import files_of, points_sql
from localtrack.query.results import ATTRIBUTE_COLUMNS
from localtrack.storage.atomic import atomic_write_bytes

_ORDER = "ORDER BY created_at DESC NULLS LAST, id DESC"  # search()'s default order
# series.trend_series' buckets (the points of a run and key split evenly in step order), with
# each series' length taken from its summary row instead of a second window
_SPARKS = """
WITH pts AS (
    SELECT p.rk, p.key, p.value, row_number() OVER w AS rn, s."count" AS n
    FROM {points} p JOIN msum_t s ON s.rk = p.rk AND s.key = p.key
    WINDOW w AS (PARTITION BY p.rk, p.key ORDER BY p.step, p."timestamp")
)
SELECT rk, key, (rn * least(n, ?) + n - 1) // n - 1 AS bucket, avg(value) FILTER (WHERE isfinite(value))
FROM pts GROUP BY ALL ORDER BY rk, key, bucket
"""
# The same buckets from each series gathered as one ordered list (a hash aggregate, no window
# sort: ~40% less CPU at 10,000 runs), bucket i being list items floor(i*n/k)+1 .. floor((i+1)*n/k)
# (1-based, inclusive), which is exactly the rows the window's formula puts in bucket i. The
# lists are held in memory, so only for batches of at most LIST_SPARK_POINTS points.
_LIST_SPARKS = """
WITH series AS (SELECT p.rk, p.key, list(p.value ORDER BY p.step, p."timestamp") AS v FROM {points} p GROUP BY p.rk, p.key),
sized AS (SELECT rk, key, v, len(v) AS n, least(len(v), ?) AS k FROM series)
SELECT rk, key, [list_avg(list_filter(v[(i * n) // k + 1 : ((i + 1) * n) // k], lambda x: isfinite(x))) FOR i IN range(k)]
FROM sized ORDER BY rk, key
"""
LIST_SPARK_POINTS = 20_000_000
ENTRY_BATCH = 2000
EAGER_ENTRIES = 100  # entries written up front: the runs `ls` shows by default (50), with room


def listing_key(meta: dict[str, str]) -> str:
    return f"{meta.get('build_id', '')}:{meta.get('generation', '')}"


def write_listing(index: Any) -> None:
    """Bring the listing in step with the attached, up-to-date index (inside its lock)."""
    from localtrack.query.search import _attach_details, _base_row

    con, index_dir = index.con, index.layout.index_dir
    key = listing_key(index.meta)
    old = read_header(index_dir)
    old_entries: dict[int, tuple[int, int]] = {}
    rows_name = ""
    if old is not None and old.get("build") == index.meta.get("build_id"):
        rows_name = str(old.get("rows_file") or "")
        old_entries = {int(e[1]): (int(e[3]), int(e[4])) for e in old.get("runs", []) if e[3] is not None}
    order = con.execute(f"SELECT rk, id, project FROM runs_t {_ORDER}").fetchall()
    rows_path = index_dir / rows_name if valid_rows_name(rows_name) else None
    size = _file_size(rows_path)
    if rows_path is None or size is None:
        old_entries, rows_path = {}, None
    else:
        live = sum(old_entries[rk][1] for rk, _, _ in order if rk in old_entries)
        if size > 2 * live + (1 << 20):  # mostly stale: start a new file
            old_entries, rows_path = {}, None
    if rows_path is None:
        rows_path = index_dir / f"{ROWS_PREFIX}{secrets.token_hex(6)}.rows"
        size = 0
    asked = getattr(index, "listing_want", None)
    force = getattr(index, "listing_force", None) or set()  # entries to write again (they lack sparklines)
    first = {rk for rk, _, _ in order[:EAGER_ENTRIES]}
    if asked == "all":
        eager = {rk for rk, _, _ in order}
    else:
        eager = first | {rk for rk, run_id, _ in order if run_id in (asked or ())}
    wanted = [rk for rk, run_id, _ in order if rk in eager and (rk not in old_entries or run_id in force)]
    # sparklines cost the run's points: for the runs `ls` shows first, and whenever the reader draws them
    sparks = set(wanted) if getattr(index, "listing_sparks", True) else first
    ranges = dict(old_entries)
    report = getattr(index, "progress", None) if len(wanted) > EAGER_ENTRIES else None
    with open(rows_path, "ab") as out:
        offset = out.tell()
        for start in range(0, len(wanted), ENTRY_BATCH):
            if report is not None:
                report("listing runs", start, len(wanted))
            batch = wanted[start : start + ENTRY_BATCH]
            for rk, data in _entries(con, batch, _attach_details, _base_row, sparks):
                out.write(data)
                ranges[rk] = (offset, len(data))
                offset += len(data)
    if report is not None:
        report("done", 1, 1)
    stored = index.stored
    header = {
        "version": LISTING_VERSION,
        "build": index.meta.get("build_id"),
        "rows_file": rows_path.name,
        "runs": [[run_id, rk, project, *ranges.get(rk, (None, None))] for rk, run_id, project in order],
        "files": [[run_id, *s.manifest, s.segs, s.deep, s.racy, s.digest] for run_id, s in stored.items()],
        "live": {run_id: live for run_id, (live, _status) in index.running.items()},
        "problems": [list(r) for r in con.execute(
            "SELECT run_id, message FROM problems_t ORDER BY run_id, message").fetchall()],
    }
    body = json.dumps(header, separators=(",", ":")).encode()
    atomic_write_bytes(index_dir / HEADER_FILENAME, json.dumps([key, len(body)]).encode() + b"\n" + body,
                       durable=False)
    _remove_other_rows_files(index_dir, rows_path.name)
    index.listing_key = key


def _entries(con: Any, rks: list[int], attach: Any, base_row: Any,
             with_sparks: set[int] | None = None) -> list[tuple[int, bytes]]:
    """(rk, entry bytes) of the given runs, read from the index; sparklines only for the runs
    in ``with_sparks`` (None: all), the others' line 2 is ``null``."""
    if not rks:
        return []
    columns = ", ".join(f'"{c}"' for c in ATTRIBUTE_COLUMNS)
    found = con.execute(f"SELECT rk, {columns} FROM runs_t WHERE rk IN (SELECT unnest(?::BIGINT[]))", [rks]).fetchall()
    rows = [base_row(r[1:]) for r in found]
    attach(con, rows, [r[0] for r in found], None)
    sparks: dict[int, dict[str, list[float | None]]] = {}
    drawn = [rk for rk in rks if with_sparks is None or rk in with_sparks]
    if drawn:
        points, params = points_sql(files_of(con, drawn))
        total = con.execute('SELECT sum("count") FROM msum_t WHERE rk IN (SELECT unnest(?::BIGINT[]))',
                            [drawn]).fetchone()
        if total is not None and (total[0] or 0) <= LIST_SPARK_POINTS:
            for rk, key, buckets in con.execute(_LIST_SPARKS.format(points=points),
                                                [*params, SPARK_BUCKETS]).fetchall():
                sparks.setdefault(rk, {})[key] = buckets
        else:
            for rk, key, _bucket, value in con.execute(_SPARKS.format(points=points),
                                                       [*params, SPARK_BUCKETS]).fetchall():
                sparks.setdefault(rk, {}).setdefault(key, []).append(value)
    drawn_set = set(drawn)
    out = []
    for (rk, *_), row in zip(found, rows, strict=True):
        for name in ("created_at", "ended_at"):
            value = row.get(name)
            row[name] = value.isoformat() if value is not None else None
        # line 1: the row as `ls --format jsonl` prints it (json.dumps' defaults; NaN as NaN);
        # line 2: the sparkline buckets, or null when not drawn (fastlist writes them when first drawn)
        text = json.dumps(row, ensure_ascii=False) + "\n" + (
            json.dumps(sparks.get(rk, {}), separators=(",", ":")) if rk in drawn_set else "null")
        out.append((rk, (text + "\n").encode()))
    return out


def _file_size(path: Path | None) -> int | None:
    if path is None:
        return None
    try:
        return os.lstat(path).st_size
    except OSError:
        return None


OLD_FILES = ("listing-v1.json", "listing-v1.order")  # version 1's listing, which this one replaces


def _remove_other_rows_files(index_dir: Path, keep: str) -> None:
    """Every rows file but ``keep``, and what version 1 left (a store upgraded in place)."""
    for name in OLD_FILES:
        with contextlib.suppress(OSError):
            os.unlink(index_dir / name)
    with contextlib.suppress(OSError), os.scandir(index_dir) as entries:
        for entry in entries:
            if entry.name != keep and (valid_rows_name(entry.name) or valid_rows_name(entry.name, "listing-")):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def drop_listing(index_dir: Path) -> None:
    """Remove the listing (the index it mirrors is being rebuilt)."""
    with contextlib.suppress(OSError):
        os.unlink(index_dir / HEADER_FILENAME)
    _remove_other_rows_files(index_dir, "")

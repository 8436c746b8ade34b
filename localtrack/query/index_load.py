"""Moving rows into the index and metric points out of the segment files, cheaply.

Two costs dominated a cold index build at 10,000 runs: handing Python rows to DuckDB (through
Arrow, whose ``pa.array`` and DuckDB's ``register`` both import pandas: over a second) and
copying every metric point into the index file (10M points re-encoded, then aggregated). So:

* rows go in as one JSON document of columns per table, written to a temp file that
  DuckDB's own reader parses (C++, no pandas, no pyarrow; doubles travel as JSON numbers
  with NaN and infinities as the tokens DuckDB reads back);
* the index keeps no metric points: ``segments_t`` lists each run's live segment files and
  :func:`points_sql` reads the ones a query needs straight from Parquet (explicit file lists,
  so a query about ten runs opens ten runs' files);
* per-metric summaries come from the manifests the writers keep (``summary``: last, min, max,
  count, step, and the mean from ``sum``/``nans``); a manifest from before those fields gets
  its means from the segments, only for the runs a query shows (:func:`ensure_means`; runs
  still waiting are in ``lazy_t``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from localtrack.query import duck
from localtrack.query.index_documents import COLUMN_TYPES, TRAVELS_AS_TEXT, encode_rows
from localtrack.store.summary import LAST_ORDER_SQL

MEAN_BATCH_FILES = 2000


def _write_document(folder: Path, data: bytes) -> Path:
    for where in (folder, Path(tempfile.gettempdir())):
        path = where / f"index-rows-{os.getpid()}-{secrets.token_hex(6)}.json"
        try:
            where.mkdir(parents=True, exist_ok=True)
            with open(path, "xb") as handle:
                handle.write(data)
            return path
        except OSError:
            continue
    raise OSError("no folder to stage the index rows in (the store's tmp/ and the system's are not writable)")


def insert_rows(con: Any, table: str, rows: Sequence[tuple[Any, ...]], scratch: Path) -> None:
    """Append ``rows`` (tuples in the table's column order) to ``table`` in one statement."""
    if not rows:
        return
    columns = COLUMN_TYPES[table]
    if len(rows) <= 100:  # small: one VALUES statement beats a file
        width = len(columns)
        row = f"({', '.join('?' * width)})"
        con.execute(f"INSERT INTO {table} VALUES {', '.join([row] * len(rows))}", [v for r in rows for v in r])
        return
    for document in encode_rows(table, rows):
        insert_document(con, table, document, scratch)


def insert_document(con: Any, table: str, data: bytes, scratch: Path, rk_offset: int = 0) -> None:
    """One document of :func:`encode_rows` appended to ``table`` (``rk_offset`` added to its
    rk column: the helper numbers its runs from 0), read by DuckDB's JSON reader."""
    columns = COLUMN_TYPES[table]
    path = _write_document(scratch, data)
    try:
        spec = ", ".join(f"c{n}: '{'VARCHAR' if kind in TRAVELS_AS_TEXT else kind}[]'"
                         for n, (_name, kind) in enumerate(columns))
        select = ", ".join(f"CAST(unnest(c{n}) AS {kind})" if kind in TRAVELS_AS_TEXT
                           else f"unnest(c{n}) + {int(rk_offset)}" if name == "rk" and rk_offset
                           else f"unnest(c{n})"
                           for n, (name, kind) in enumerate(columns))
        size = max(path.stat().st_size + 1, 1 << 24)  # the document is one JSON object
        con.execute(f"INSERT INTO {table} SELECT {select} FROM read_json({duck.quote_literal(str(path))}, "
                    f"columns = {{{spec}}}, format = 'unstructured', maximum_object_size = {size})")
    finally:
        with contextlib.suppress(OSError):
            path.unlink()


# ---------------------------------------------------------------------- points from Parquet
def files_of(con: Any, rks: Sequence[int] | None) -> list[str]:
    """The live segment files of these runs (None: of every run), as the index listed them."""
    if rks is None:
        return [r[0] for r in con.execute("SELECT file FROM segments_t ORDER BY rk, file").fetchall()]
    if not rks:
        return []
    return [r[0] for r in con.execute(
        "SELECT file FROM segments_t WHERE rk IN (SELECT unnest(?::BIGINT[])) ORDER BY rk, file", [list(rks)]
    ).fetchall()]


EMPTY_POINTS = ('(SELECT NULL::BIGINT AS rk, NULL::VARCHAR AS key, NULL::BIGINT AS step, '
                'NULL::TIMESTAMPTZ AS "timestamp", NULL::DOUBLE AS value, NULL::BIGINT AS ord WHERE false)')


def points_sql(files: list[str]) -> tuple[str, list[Any]]:
    """A relation (rk, key, step, timestamp, value) over these segment files, and its params."""
    if not files:
        return EMPTY_POINTS, []
    return ('(SELECT f.rk, p.key, p.step, p."timestamp", p.value, (f.place << 32) + p.file_row_number AS ord '
            "FROM read_parquet(?, filename = true, file_row_number = true) p "
            "JOIN segments_t f ON f.file = p.filename)", [files])


def summary_from_points_sql(files: list[str]) -> tuple[str, list[Any]]:
    """msum_t rows computed from the points of these files (runs whose manifest summary is not trusted)."""
    relation, params = points_sql(files)
    return (
        f'SELECT rk, key, arg_max(value, {LAST_ORDER_SQL}), '
        "min(value) FILTER (WHERE NOT isnan(value)), max(value) FILTER (WHERE NOT isnan(value)), "
        "avg(value) FILTER (WHERE NOT isnan(value)), count(*), max(step) "
        f"FROM {relation} GROUP BY rk, key ORDER BY rk, key",
        params,
    )


def ensure_means(con: Any, rks: Sequence[int] | None) -> None:
    """Fill ``msum_t.mean`` of these runs (None: every run) where it still waits (``lazy_t``).

    Each run's segments are read once; a run whose files cannot be read now (a writer
    compacting them this instant) keeps waiting and its mean stays NULL for this answer."""
    if rks is None:
        pending = [r[0] for r in con.execute("SELECT rk FROM lazy_t ORDER BY rk").fetchall()]
    elif not rks:
        return
    elif len(rks) <= 200:
        pending = [r[0] for r in con.execute(
            f"SELECT rk FROM lazy_t WHERE rk IN ({', '.join('?' * len(rks))}) ORDER BY rk", list(rks)).fetchall()]
    else:
        pending = [r[0] for r in con.execute(
            "SELECT rk FROM lazy_t WHERE rk IN (SELECT unnest(?::BIGINT[])) ORDER BY rk", [list(rks)]).fetchall()]
    if not pending:
        return
    start = 0
    while start < len(pending):
        batch = pending[start:start + MEAN_BATCH_FILES]
        start += len(batch)
        try:
            _fill_means(con, batch)
        except duck.Error:
            for rk in batch if len(batch) > 1 else []:
                with contextlib.suppress(duck.Error):
                    _fill_means(con, [rk])


def _fill_means(con: Any, rks: list[int]) -> None:
    relation, params = points_sql(files_of(con, rks))
    con.execute(
        "UPDATE msum_t SET mean = a.mean FROM (SELECT rk, key, avg(value) FILTER (WHERE NOT isnan(value)) AS mean "
        f"FROM {relation} GROUP BY rk, key) a WHERE msum_t.rk = a.rk AND msum_t.key = a.key",
        params,
    )
    con.execute("DELETE FROM lazy_t WHERE rk IN (SELECT unnest(?::BIGINT[]))", [rks])


def uses_mean(sql: str) -> bool:
    """Whether a compiled search reads the metric mean (then every run's mean must be known)."""
    return '"mean"' in sql

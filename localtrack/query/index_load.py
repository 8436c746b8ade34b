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
  count, step); the mean, which writers do not record, is computed from the segments only
  for the runs a query shows (:func:`ensure_means`; runs still waiting are in ``lazy_t``).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from localtrack.query import duck
from localtrack.store.summary import LAST_ORDER_SQL

# DuckDB type of each column, per table (as index_schema.TABLES declares them)
COLUMN_TYPES: dict[str, list[tuple[str, str]]] = {
    "files_t": [("run_id", "VARCHAR"), ("m_mtime", "BIGINT"), ("m_size", "BIGINT"), ("m_ino", "BIGINT"),
                ("segs", "VARCHAR"), ("deep", "BOOLEAN"), ("racy", "BOOLEAN"), ("m_digest", "VARCHAR")],
    "runs_t": [("rk", "BIGINT"), ("id", "VARCHAR"), ("name", "VARCHAR"), ("project", "VARCHAR"),
               ("group", "VARCHAR"), ("parent", "VARCHAR"), ("status_raw", "VARCHAR"), ("status", "VARCHAR"),
               ("created_at", "TIMESTAMPTZ"), ("ended_at", "TIMESTAMPTZ"), ("duration", "DOUBLE"),
               ("git_commit", "VARCHAR"), ("git_branch", "VARCHAR"), ("git_dirty", "BOOLEAN"),
               ("notes", "VARCHAR"), ("writers", "VARCHAR")],
    "params_t": [("rk", "BIGINT"), ("key", "VARCHAR"), ("value", "VARCHAR"), ("num", "DOUBLE"),
                 ("kind", "VARCHAR"), ("json", "VARCHAR")],
    "tags_t": [("rk", "BIGINT"), ("key", "VARCHAR"), ("value", "VARCHAR")],
    "summary_t": [("rk", "BIGINT"), ("key", "VARCHAR"), ("value", "VARCHAR"), ("num", "DOUBLE"),
                  ("kind", "VARCHAR"), ("json", "VARCHAR")],
    "artifacts_t": [("rk", "BIGINT"), ("name", "VARCHAR"), ("version", "BIGINT"), ("type", "VARCHAR"),
                    ("kind", "VARCHAR"), ("hash", "VARCHAR"), ("size", "BIGINT"), ("files", "BIGINT"),
                    ("created_at", "TIMESTAMPTZ"), ("info", "VARCHAR")],
    "msum_t": [("rk", "BIGINT"), ("key", "VARCHAR"), ("last", "DOUBLE"), ("min", "DOUBLE"), ("max", "DOUBLE"),
               ("mean", "DOUBLE"), ("count", "BIGINT"), ("step", "BIGINT")],
    "problems_t": [("run_id", "VARCHAR"), ("message", "VARCHAR")],
    "segments_t": [("rk", "BIGINT"), ("file", "VARCHAR"), ("place", "BIGINT")],
    "lazy_t": [("rk", "BIGINT")],
    "_lt_ids": [("id", "VARCHAR")],
}
_TRAVELS_AS_TEXT = {"TIMESTAMPTZ"}  # isoformat, cast back by DuckDB (doubles travel as JSON numbers, NaN and
# infinities as the NaN/Infinity tokens DuckDB's reader accepts: a repr round-trips exactly)
MEAN_BATCH_FILES = 2000
# Rows per JSON document: DuckDB reads each as one object (its size limit is a 32-bit number,
# and the whole object is held while it is read), so 2M param rows of 100k runs go in batches.
JSON_BATCH_ROWS = 200_000


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        return repr(value)  # 'nan', 'inf', '-inf' cast back exactly; a repr round-trips
    if hasattr(value, "isoformat"):
        text: str = value.isoformat()
        return text
    return str(value)


def _write_document(folder: Path, document: dict[str, list[Any]]) -> Path:
    data = json.dumps(document, ensure_ascii=False, allow_nan=True, separators=(",", ":")).encode()
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
    for start in range(0, len(rows), JSON_BATCH_ROWS):
        _insert_document(con, table, columns, rows[start:start + JSON_BATCH_ROWS], scratch)


def _insert_document(con: Any, table: str, columns: Sequence[tuple[str, str]], rows: Sequence[tuple[Any, ...]],
                     scratch: Path) -> None:
    """One batch of rows as one JSON document of columns, read by DuckDB's JSON reader."""
    document: dict[str, list[Any]] = {}
    for n, ((_name, kind), values) in enumerate(zip(columns, zip(*rows, strict=True), strict=True)):
        document[f"c{n}"] = [_as_text(v) for v in values] if kind in _TRAVELS_AS_TEXT else list(values)
    path = _write_document(scratch, document)
    try:
        spec = ", ".join(f"c{n}: '{'VARCHAR' if kind in _TRAVELS_AS_TEXT else kind}[]'"
                         for n, (_name, kind) in enumerate(columns))
        select = ", ".join(f"CAST(unnest(c{n}) AS {kind})" if kind in _TRAVELS_AS_TEXT else f"unnest(c{n})"
                           for n, (_name, kind) in enumerate(columns))
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

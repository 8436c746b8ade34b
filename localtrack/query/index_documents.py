"""Index rows as the JSON documents DuckDB's own reader loads (no DuckDB here: the planning
helper process encodes its share of rows without importing it; see index_load).

A document is one JSON object of columns, ``{"c0": [...], "c1": [...]}``, in a table's
column order; doubles travel as JSON numbers (NaN and infinities as the tokens DuckDB's
reader accepts: a repr round-trips exactly), timestamps as ISO text cast back by DuckDB.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

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
TRAVELS_AS_TEXT = {"TIMESTAMPTZ"}  # isoformat, cast back by DuckDB (doubles travel as JSON numbers, NaN and
# infinities as the NaN/Infinity tokens DuckDB's reader accepts: a repr round-trips exactly)
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



def encode_rows(table: str, rows: Sequence[tuple[Any, ...]]) -> list[bytes]:
    """``rows`` of ``table`` (tuples in its column order) as documents of at most
    ``JSON_BATCH_ROWS`` rows each."""
    columns = COLUMN_TYPES[table]
    documents = []
    for start in range(0, len(rows), JSON_BATCH_ROWS):
        document: dict[str, list[Any]] = {}
        batch = rows[start:start + JSON_BATCH_ROWS]
        for n, ((_name, kind), values) in enumerate(zip(columns, zip(*batch, strict=True), strict=True)):
            document[f"c{n}"] = [_as_text(v) for v in values] if kind in TRAVELS_AS_TEXT else list(values)
        documents.append(json.dumps(document, ensure_ascii=False, allow_nan=True, separators=(",", ":")).encode())
    return documents

"""Small adapters over the duckdb Python API (it changed between 1.x and 2.x)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import duckdb

from localtrack.envvars import LOCALTRACK_QUERY_MEMORY_LIMIT
from localtrack.errors import InvalidValueError

Error = duckdb.Error
DEFAULT_MEMORY_LIMIT = "2GB"


def connect_memory(spill_dir: Path | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with UTC timestamps and no extension auto-install.

    Big queries spill to ``spill_dir`` (the store's git-ignored ``tmp/``), never to a ``.tmp``
    folder in the user's working directory, which is DuckDB's default for in-memory databases.
    """
    limit = os.environ.get(LOCALTRACK_QUERY_MEMORY_LIMIT) or DEFAULT_MEMORY_LIMIT
    try:
        con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False, "memory_limit": limit})
    except duckdb.Error as exc:
        raise InvalidValueError(
            f"{LOCALTRACK_QUERY_MEMORY_LIMIT}={limit!r} is not a memory size DuckDB understands "
            f"(e.g. 512MB, 4GB): {exc}",
            limit,
        ) from None
    con.execute("SET TimeZone = 'UTC'")
    if spill_dir is not None:
        con.execute(f"SET temp_directory = {quote_literal(str(spill_dir))}")
    return con


def arrow(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    """Run a query and return a pyarrow Table (without duckdb's copy warning)."""
    rel = con.sql(sql, params=params) if params else con.sql(sql)
    if rel is None:  # pragma: no cover - not a query
        raise ValueError("statement returned no rows")
    to_table = getattr(rel, "to_arrow_table", None) or rel.fetch_arrow_table
    return to_table()


def quote_literal(text: str) -> str:
    """A SQL string literal of one of our own paths (used where duckdb takes no parameter)."""
    return "'" + text.replace("'", "''") + "'"

"""Small adapters over the duckdb Python API (it changed between 1.x and 2.x)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import duckdb

from localtrack.envvars import LOCALTRACK_QUERY_MEMORY_LIMIT
from localtrack.errors import InvalidValueError, LocaltrackError

Error = duckdb.Error
DEFAULT_MEMORY_LIMIT = "2GB"


def connect_memory(spill_dir: Path | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with UTC timestamps and no extension auto-install.

    Big queries spill to ``spill_dir`` (the store's git-ignored ``tmp/duckdb``, created here
    if need be), never to a ``.tmp`` folder in the user's working directory, which is DuckDB's
    default for in-memory databases. When that folder cannot be made (a read-only store, or a
    planted symbolic link) spilling is off: a query too big for the memory limit then fails
    with one line instead of writing somewhere else.
    """
    limit = os.environ.get(LOCALTRACK_QUERY_MEMORY_LIMIT) or DEFAULT_MEMORY_LIMIT
    try:
        con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False, "memory_limit": limit})
    except (duckdb.InvalidInputException, duckdb.ParserException, duckdb.ConversionException) as exc:
        raise InvalidValueError(
            f"{LOCALTRACK_QUERY_MEMORY_LIMIT}={limit!r} is not a memory size DuckDB understands "
            f"(e.g. 512MB, 4GB): {first_line(exc)}",
            limit,
        ) from None
    except duckdb.Error as exc:
        raise engine_error(exc) from None
    con.execute("SET TimeZone = 'UTC'")
    if spill_dir is not None:
        usable = spill_folder(spill_dir)
        con.execute(f"SET temp_directory = {quote_literal(str(usable) if usable else '')}")
    return con


def spill_folder(path: Path) -> Path | None:
    """``path`` (and its parent, the store's ``tmp/``) as real folders, or None if they cannot be.

    Created one level at a time with ``lstat`` checks: a symbolic link is never followed or
    given a target (the store's own folders are never links; ``verify`` names them).
    """
    for folder in (path.parent, path):
        try:
            mode = os.lstat(folder).st_mode
        except FileNotFoundError:
            try:
                os.mkdir(folder)
            except FileExistsError:
                pass
            except OSError:
                return None
            mode = os.lstat(folder).st_mode
        except OSError:
            return None
        if not stat.S_ISDIR(mode):  # a link (S_ISDIR of lstat is false for one) or a file
            return None
    return path


def first_line(exc: BaseException) -> str:
    """The first line of an error message, bounded (DuckDB adds context lines)."""
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def engine_error(exc: BaseException) -> LocaltrackError:
    """One clear line for a DuckDB failure that is not the user's query: disk, memory, I/O."""
    text = first_line(exc)
    limit = os.environ.get(LOCALTRACK_QUERY_MEMORY_LIMIT) or DEFAULT_MEMORY_LIMIT
    if isinstance(exc, duckdb.OutOfMemoryException) or "out of memory" in text.lower():
        return LocaltrackError(
            f"the query needs more memory than the limit ({limit}): {text}; "
            f"raise {LOCALTRACK_QUERY_MEMORY_LIMIT} (e.g. 4GB) or free space in the store's tmp/ for spilling",
            limit,
        )
    if isinstance(exc, duckdb.IOException):
        hint = "the disk is full; free space and retry" if "space" in text.lower() else "check the disk and permissions"
        return LocaltrackError(f"the query engine could not read or write its files: {text} ({hint})", text)
    return LocaltrackError(f"the query engine failed: {text}", text)


def is_engine_failure(exc: BaseException) -> bool:
    """A DuckDB error about resources (memory, disk) rather than the statement itself."""
    return isinstance(exc, (duckdb.OutOfMemoryException, duckdb.IOException)) or "out of memory" in str(exc).lower()


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

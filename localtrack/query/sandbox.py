"""Raw SQL from users (``store.sql``, ``localtrack sql``), run read-only in a sandbox.

The statement must be one SELECT (checked with DuckDB's own parser, not a regex). It runs on
a fresh in-memory connection that sees the index read-only through views, after
``allowed_directories`` is set to the store, then ``enable_external_access = false``, then
``lock_configuration = true`` (that order: each step needs the one before): no file outside
the store can be read, nothing can be written, no extension loaded, no setting changed back.
"""

from __future__ import annotations

from typing import Any

import duckdb

from localtrack.errors import FilterSyntaxError
from localtrack.query import duck
from localtrack.query.index import Index
from localtrack.query.index_load import ensure_means, files_of
from localtrack.query.index_schema import view_definitions

MAX_SQL_CHARS = 100_000
ALLOWED_TYPES = frozenset({"SELECT"})


def check_statement(query: str) -> None:
    """Refuse anything but exactly one SELECT statement."""
    if not isinstance(query, str):
        raise FilterSyntaxError(f"sql must be a string, got {type(query).__name__}", query)
    if len(query) > MAX_SQL_CHARS:
        raise FilterSyntaxError(f"sql is {len(query)} characters long; the limit is {MAX_SQL_CHARS}", query[:80])
    parser = duck.connect_memory()
    try:
        statements = parser.extract_statements(query)
    except duckdb.Error as exc:
        raise FilterSyntaxError(f"sql: {_first_line(exc)}", query) from None
    finally:
        parser.close()
    if len(statements) != 1:
        raise FilterSyntaxError(
            f"sql: give exactly one SELECT statement (got {len(statements)})", query)
    kind = getattr(statements[0].type, "name", str(statements[0].type)).upper()
    if kind not in ALLOWED_TYPES:
        raise FilterSyntaxError(
            f"sql: only SELECT queries are allowed; {kind} statements are refused (the store is read-only here)",
            query,
        )


_first_line = duck.first_line


def sandbox_connection(index: Index, files: list[str] | None = None) -> duckdb.DuckDBPyConnection:
    """A locked-down connection with the views over the index (call inside an index session)."""
    con = duck.connect_memory(index.layout.tmp_dir / "duckdb")
    try:
        path = index.file_path
        views = view_definitions("idx.main", files_of(index.con, None) if files is None else files)
        if path is not None:
            con.execute(f"ATTACH {duck.quote_literal(str(path))} AS idx (READ_ONLY)")
            for name, select in views.items():
                con.execute(f"CREATE VIEW {name} AS {select}")
        else:  # in-memory index (read-only store): hand the sandbox copies of the tables
            for name, select in views.items():
                table = duck.arrow(index.con, select)
                con.register(f"_lt_{name}", table)
                con.execute(f"CREATE VIEW {name} AS SELECT * FROM _lt_{name}")
        root = str(index.layout.root.resolve())
        con.execute("SET allowed_directories = ?", [[root]])
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def run_sql(index: Index, query: str) -> Any:
    """Run one read-only SELECT over the views; returns an Arrow table."""
    check_statement(query)
    with index.session():
        ensure_means(index.con, None)  # metric_summary shows every run's mean
        files = files_of(index.con, None)  # the metrics view reads them (the index holds no points)
        index.release_file()
        sandbox = sandbox_connection(index, files)
        try:
            return duck.arrow(sandbox, query)
        except duckdb.Error as exc:
            if duck.is_engine_failure(exc):
                raise duck.engine_error(exc) from None
            raise FilterSyntaxError(f"sql: {_first_line(exc)}", query) from None
        finally:
            sandbox.close()

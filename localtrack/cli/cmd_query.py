"""``localtrack search`` and ``localtrack sql``: the query engine from the shell (rendering only)."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from localtrack.cli.common import ListFormatOption, StoreOption
from localtrack.cli.output import ListFormat, emit_rows


def search_command(
    filter: Annotated[
        Optional[str],
        typer.Option("--filter", "-F", help="MLflow-style filter, e.g. \"metrics.acc > 0.9 and params.model = 'bert'\"."),
    ] = None,
    sort_by: Annotated[
        Optional[str], typer.Option("--sort-by", "-s", help="Comma-separated 'key ASC|DESC' (default: newest first).")
    ] = None,
    top: Annotated[Optional[int], typer.Option("--top", "-n", min=0, help="Show at most this many runs.")] = None,
    columns: Annotated[
        Optional[str],
        typer.Option("--columns", "-c", help="Comma-separated columns, e.g. id,name,metrics.acc,min(metrics.loss),params.lr."),
    ] = None,
    project: Annotated[Optional[str], typer.Option("--project", "-p", help="Only runs of this project.")] = None,
    format: ListFormatOption = ListFormat.table,
    store: StoreOption = None,
) -> None:
    """Search runs with an MLflow-compatible filter (plus OR, NOT, parentheses, min()/max()/mean()/count()).

    --format json prints an array of run objects (every field, or id, name, status and the
    --columns asked for), jsonl the same objects one per line; csv prints the columns. See docs/FILTERS.md for the language.

    Example:

        localtrack search -F "metrics.val_acc > 0.9 and params.optimizer = 'adam'" --sort-by "metrics.val_acc DESC" --top 5
    """
    from localtrack.cli.search_view import search

    search(filter, sort_by, top, columns, project, format, store)


def sql_command(
    query: Annotated[str, typer.Argument(help="One SELECT over the views runs, params, tags, metrics, metric_summary, artifacts, problems.")],
    format: ListFormatOption = ListFormat.table,
    store: StoreOption = None,
) -> None:
    """Run one read-only SQL query (DuckDB dialect) over the store's index.

    --format json prints the rows as an array of objects, jsonl one object per line.
    Sandboxed: only SELECT; no file outside the store can be read, nothing can be written.

    Example:

        localtrack sql "select r.name, m.last from runs r join metric_summary m on m.run_id = r.id where m.key = 'val/acc' order by m.last desc limit 5"
    """
    from localtrack.query.store import Store

    table = Store(store).sql(query)
    rows: list[dict[str, Any]] = table.to_pylist()
    emit_rows(rows, format, columns=list(table.column_names))


def register(app: typer.Typer) -> None:
    app.command("search")(search_command)
    app.command("sql")(sql_command)


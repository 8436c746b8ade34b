"""``localtrack search`` and ``localtrack sql``: the query engine from the shell (rendering only)."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from localtrack.cli.common import ListFormatOption, StoreOption
from localtrack.cli.output import ListFormat, emit_json, emit_jsonl, emit_rows, print_warning


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
    from localtrack.query.columns import DEFAULT_COLUMNS, flat_rows, referenced_columns
    from localtrack.query.store import Store

    table = Store(store).runs(filter=filter, order_by=sort_by, limit=top, project=project)
    for run_id, message in table.problems[:5]:
        print_warning(f"run {run_id}: {message}")
    if len(table.problems) > 5:
        print_warning(f"{len(table.problems) - 5} more problems (see `localtrack verify`)")
    asked = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    if format in (ListFormat.json, ListFormat.jsonl) and asked is None:
        (emit_json if format == ListFormat.json else emit_jsonl)(table.to_dicts())
        return
    shown = asked or [*DEFAULT_COLUMNS, *referenced_columns(filter, sort_by)]
    if format in (ListFormat.json, ListFormat.jsonl):
        shown = [*(c for c in ("id", "name", "status") if c not in shown), *shown]
    rows = flat_rows(list(table), shown)
    if format == ListFormat.table:
        rows = [{name: _cell(name, value) for name, value in row.items()} for row in rows]
    emit_rows(rows, format, columns=shown, title=None if format != ListFormat.table else f"{len(rows)} runs")


def _cell(column: str, value: Any) -> Any:
    """A value as people read it in the table (json/csv keep the exact value)."""
    from localtrack.cli import humanize
    from localtrack.ids import short_id

    if value is None:
        return ""
    if column in ("id", "run_id", "parent") and isinstance(value, str):
        return short_id(value)
    if column in ("created_at", "ended_at", "start_time", "end_time", "created"):
        return humanize.relative_time(value)
    if column == "duration":
        return humanize.duration_text(value)
    if isinstance(value, float):
        return humanize.number(value)
    if isinstance(value, (list, dict, bool)):
        return humanize.param_text(value)
    return value


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


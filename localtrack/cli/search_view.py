"""``localtrack search``, the command itself: the read API's search, rendered.

Kept apart from its typer declarations (:mod:`localtrack.cli.cmd_query`) so that a plain
``search`` command line (:mod:`localtrack.cli.fast_argv`) runs without importing typer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from localtrack.cli.output import ListFormat, emit_json, emit_jsonl, emit_rows, print_warning


def search(filter: str | None = None, sort_by: str | None = None, top: int | None = None,
           columns: str | None = None, project: str | None = None, format: ListFormat = ListFormat.table,
           store: Path | None = None) -> None:
    """Print the runs a search finds (``search_command``'s arguments)."""
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

"""``localtrack ls``, the command itself: the runs at a glance.

Without ``--filter`` and ``--sort-by`` the rows come from the index's listing files
(``localtrack.query.fastlist``: no DuckDB, no pyarrow, only the runs shown are decoded);
with them, or when the listing cannot be had, from ``Store.runs()``. Both give the same rows.
Kept apart from its typer declarations (:mod:`localtrack.cli.cmd_ls`) so that a plain ``ls``
command line (:mod:`localtrack.cli.fast_argv`) runs without importing typer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from localtrack.cli.output import ListFormat

DEFAULT_TOP = 50


def ls(project: str | None = None, filter: str | None = None, sort_by: str | None = None, top: int | None = None,
       all_runs: bool = False, columns: list[str] | None = None, group_by: str | None = None,
       fmt: ListFormat = ListFormat.table, store: Path | None = None) -> None:
    """Print the runs (``ls_command``'s arguments)."""
    from localtrack.cli import ls_render
    from localtrack.cli.output import emit_csv, emit_json, emit_jsonl, print_warning, safe

    limit = top if top is not None else (None if all_runs or fmt != ListFormat.table else DEFAULT_TOP)
    found = None if filter or sort_by else _from_listing(
        store, project, limit, group_by, lines=fmt == ListFormat.jsonl and not columns, sparks=fmt == ListFormat.table)
    if found is None:
        from localtrack.query.store import Store

        reader: Any = Store(store)  # cli.common's open_reader, without importing typer
        table = reader.runs(filter=filter, order_by=sort_by, project=project)
        rows = table.to_dicts()
        total, problems = len(rows), table.problems
        if group_by:
            rows = ls_render.group_rows(rows, group_by)
        shown = rows[:limit] if limit is not None else rows
    else:
        reader, shown, total, problems = found
    for run_id, message in problems[:5]:
        print_warning(f"run {safe(run_id)} could not be read: {safe(message)}")
    if len(problems) > 5:
        print_warning(f"{len(problems) - 5} more runs could not be read; `localtrack verify` names them")
    wanted = ls_render.parse_columns(columns, shown) if columns else None
    if fmt == ListFormat.json:
        emit_json(shown)
        return
    if fmt == ListFormat.jsonl:
        emit_jsonl(shown)
        return
    if fmt == ListFormat.csv:
        flat = [ls_render.flat_row(r) for r in shown]
        emit_csv(flat, ls_render.csv_columns(shown, wanted))
        return
    ls_render.print_runs(reader, shown, total=total, columns=wanted, group_by=group_by, filtered=bool(filter or project))


def _from_listing(store: Path | None, project: str | None, limit: int | None, group_by: str | None,
                  *, lines: bool = False, sparks: bool = True) -> tuple[Any, list[Any], int, list[tuple[str, str]]] | None:
    """(sparkline source, rows shown, total, problems) from the listing files; None: ask the index.

    With ``lines`` (``--format jsonl``) the rows may come as their finished JSON lines; without
    ``sparks`` (a format that draws none) the runs' sparklines are not read (nor computed)."""
    from localtrack.cli import ls_render
    from localtrack.query.fastlist import discard, open_listing
    from localtrack.query.store import Store

    layout = Store(store).layout  # cli.common's open_layout, without importing typer
    listing = open_listing(layout)
    if listing is None:
        return None
    entries = listing.entries(project)
    shown: list[Any]  # rows, or with ``lines`` finished JSON lines among them
    try:
        if group_by:  # groups gather runs from the whole list
            rows = ls_render.group_rows(listing.rows(entries, sparks=sparks), group_by)
            shown = rows[:limit] if limit is not None else rows
        elif lines:
            shown = list(listing.json_lines(entries[:limit] if limit is not None else entries))
        else:
            shown = listing.rows(entries[:limit] if limit is not None else entries, sparks=sparks)
    except (OSError, ValueError, KeyError, TypeError):  # a damaged cache file: the index answers
        discard(layout)  # and the next ls gets a listing written afresh
        return None
    return listing, shown, len(entries), listing.problems

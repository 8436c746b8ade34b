"""Editing and moving runs: tag, note, rename, rm (to the trash), restore, export."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from localtrack.cli.common import RUN_HELP, FormatOption, StoreOption
from localtrack.cli.output import OutputFormat


class TagAction(str, Enum):
    add = "add"
    rm = "rm"


class ExportWhat(str, Enum):
    metrics = "metrics"
    runs = "runs"


def _tag_line(tags: dict[str, str]) -> str:
    from localtrack.cli.output import safe

    return ", ".join(safe(k) if v == "" else f"{safe(k)}={safe(v)}" for k, v in sorted(tags.items())) or "(no tags)"


def tag_command(
    run: Annotated[str, typer.Argument(help=RUN_HELP)],
    action: Annotated[Optional[TagAction], typer.Argument(help="add or rm (omit to list the tags).")] = None,
    tags: Annotated[Optional[list[str]], typer.Argument(help="Labels, or key=value tags.", show_default=False)] = None,
    store: StoreOption = None,
) -> None:
    """Add or remove tags of a run (a label, or key=value); safe while the run is writing.

    Example:

        localtrack tag @latest add best-so-far stage=prod
    """
    from localtrack.cli.common import find_run, open_layout
    from localtrack.cli.output import console, safe
    from localtrack.store import manage

    layout = open_layout(store)
    record = find_run(layout, run)
    if action is None:
        if tags:
            raise typer.BadParameter("say add or rm before the tags", param_hint="ACTION")
        current = record.manifest.get("tags") if isinstance(record.manifest.get("tags"), dict) else {}
        console().print(f"{safe(record.name)}: {_tag_line(current)}")
        return
    if not tags:
        raise typer.BadParameter(f"give at least one tag to {action.value}", param_hint="TAGS")
    if action == TagAction.add:
        after = manage.change_tags(layout, record.id, add=tags)
    else:
        after = manage.change_tags(layout, record.id, remove=tags)
    console().print(f"{safe(record.name)}: {_tag_line(after)}")


def note_command(
    run: Annotated[str, typer.Argument(help=RUN_HELP)],
    text: Annotated[Optional[str], typer.Argument(help="The note (- reads stdin; omit to print the notes).")] = None,
    append: Annotated[bool, typer.Option("--append", "-a", help="Add to the notes instead of replacing them.")] = False,
    store: StoreOption = None,
) -> None:
    """Set (or append to) a run's notes; safe while the run is writing.

    Example:

        localtrack note @latest "lr too high: loss diverges after epoch 3"
    """
    import sys

    from localtrack.cli.common import find_run, open_layout
    from localtrack.cli.output import console, safe_text
    from localtrack.store import manage

    layout = open_layout(store)
    record = find_run(layout, run)
    if text is None:
        notes = record.manifest.get("notes")
        console().print(safe_text(notes if isinstance(notes, str) and notes else "(no notes)", lines=True))
        return
    if text == "-":
        text = sys.stdin.read().rstrip("\n")
    manage.set_notes(layout, record.id, text, append=append)


def rename_command(
    run: Annotated[str, typer.Argument(help=RUN_HELP)],
    name: Annotated[str, typer.Argument(help="The new name (the id does not change).")],
    store: StoreOption = None,
) -> None:
    """Rename a run (its id and folder stay the same); safe while the run is writing.

    Example:

        localtrack rename brisk-river-42 bert-base-lr3e-4
    """
    from localtrack.cli.common import find_run, open_layout
    from localtrack.cli.output import console, safe
    from localtrack.store import manage

    layout = open_layout(store)
    record = find_run(layout, run)
    manage.rename_run(layout, record.id, name)
    console().print(f"Renamed {safe(record.id)}: {safe(record.name)} → {safe(name.strip())}")


def rm_command(
    runs: Annotated[list[str], typer.Argument(help="Runs to remove (ids, prefixes, names).")],
    purge: Annotated[bool, typer.Option("--purge", help="Delete for good instead of moving to the trash.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Also remove runs that are still running.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before --purge.")] = False,
    store: StoreOption = None,
) -> None:
    """Move runs to the trash (restore them with `localtrack restore`), or --purge them.

    A run in the trash keeps its files (and its artifacts stay referenced) until purged.

    Example:

        localtrack rm brisk-river-42 && localtrack restore brisk-river-42
    """
    import sys

    from localtrack.cli.common import find_run, open_layout
    from localtrack.cli.output import console, safe
    from localtrack.errors import RunNotFoundError
    from localtrack.store import manage

    layout = open_layout(store)
    targets: list[tuple[str, str]] = []
    for ref in runs:
        try:
            record = find_run(layout, ref)
            targets.append((record.id, record.name))
        except RunNotFoundError:
            if not purge:
                raise
            trashed = manage.resolve_trashed(layout, ref)  # purge also empties the trash
            targets.append((trashed.id, trashed.name))
    targets = list(dict.fromkeys(targets))
    if purge and not yes:
        if not sys.stdin.isatty():
            raise typer.BadParameter("--purge deletes for good; add --yes to confirm", param_hint="--purge")
        names = ", ".join(safe(name) for _, name in targets)
        typer.confirm(f"Delete {len(targets)} run(s) for good: {names}?", abort=True)
    for run_id, name in targets:
        if purge:
            manage.purge_run(layout, run_id, force=force)
            console().print(f"Deleted {safe(name)} ({safe(run_id)})")
        else:
            manage.trash_run(layout, run_id, force=force)
            console().print(f"Moved {safe(name)} ({safe(run_id)}) to the trash; `localtrack restore {safe(run_id)}` brings it back")


def restore_command(
    runs: Annotated[Optional[list[str]], typer.Argument(help="Trashed runs to restore (omit to list the trash).")] = None,
    fmt: FormatOption = OutputFormat.table,
    store: StoreOption = None,
) -> None:
    """Bring runs back from the trash; without RUN, list what is in the trash.

    Example:

        localtrack restore brisk-river-42
    """
    from localtrack.cli.common import open_layout
    from localtrack.cli.humanize import relative_time
    from localtrack.cli.output import console, emit_rows, safe
    from localtrack.store import manage

    layout = open_layout(store)
    if not runs:
        rows = [
            {"id": t.id, "name": t.name, "status": t.status, "project": t.project, "created_at": t.created_at,
             "trashed": relative_time(t.trashed_at) if fmt == OutputFormat.table else t.trashed_at}
            for t in manage.list_trash(layout)
        ]
        if not rows and fmt == OutputFormat.table:
            console().print("The trash is empty.")
            return
        emit_rows(rows, fmt, columns=["id", "name", "status", "project", "trashed"] if fmt == OutputFormat.table else None)
        return
    targets = [manage.resolve_trashed(layout, ref) for ref in runs]
    for trashed in targets:
        manage.restore_run(layout, trashed.id)
        console().print(f"Restored {safe(trashed.name)} ({safe(trashed.id)})")


def export_command(
    runs: Annotated[Optional[list[str]], typer.Argument(help="Runs: ids, prefixes, names, @latest or globs.")] = None,
    to: Annotated[Path, typer.Option("--to", help="Output file: .csv, .parquet or .json.")] = ...,  # type: ignore[assignment]
    filter: Annotated[Optional[str], typer.Option("--filter", help="Export the runs matching this filter.")] = None,
    what: Annotated[ExportWhat, typer.Option("--what", help="metrics: every point (long format); runs: one row per run.")] = ExportWhat.metrics,
    metric: Annotated[Optional[list[str]], typer.Option("--metric", "-m", help="Only these metrics (comma-separated).")] = None,
    store: StoreOption = None,
) -> None:
    """Export runs to a file: their metric points (run, name, key, step, timestamp, value) or a run table.

    Example:

        localtrack export --filter "params.optimizer = 'sgd'" --to sgd_runs.parquet
    """
    from localtrack.cli.cmd_compare import split_list
    from localtrack.cli.common import open_reader
    from localtrack.cli.output import console, safe
    from localtrack.cli.selection import select_runs

    suffix = to.suffix.lower()
    if suffix not in (".csv", ".parquet", ".json"):
        raise typer.BadParameter(f"{to.name!r}: the file must end in .csv, .parquet or .json", param_hint="--to")
    reader = open_reader(store)
    rows = select_runs(reader, runs, filter, what="runs to export")
    keys = split_list(metric)
    if what == ExportWhat.metrics:
        table = _points_table(reader, rows, keys or None)
        count = f"{table.num_rows} points of {len(rows)} run{'s' if len(rows) != 1 else ''}"
    else:
        table = _runs_table(rows, keys)
        count = f"{len(rows)} run{'s' if len(rows) != 1 else ''}"
    write_table(table, to, suffix)
    console().print(f"Exported {count} to {safe(to)}")


def _points_table(reader: Any, rows: list[dict[str, Any]], keys: list[str] | None) -> Any:
    import pyarrow as pa

    points = reader.metrics(runs=[str(r["id"]) for r in rows], keys=keys)
    names = {str(r["id"]): str(r.get("name")) for r in rows}
    table = points.select(["run", "key", "step", "timestamp", "value"])
    name_col = pa.array([names.get(r, r) for r in table.column("run").to_pylist()], pa.string())
    return table.add_column(1, "name", name_col)


def _runs_table(rows: list[dict[str, Any]], keys: list[str]) -> Any:
    from localtrack.query.results import RunTable

    if keys:
        rows = [{**r, "metrics": {k: v for k, v in (r.get("metrics") or {}).items() if k in keys}} for r in rows]
    return RunTable(rows).to_arrow()


def write_table(table: Any, path: Path, suffix: str) -> None:
    """Write an Arrow table as CSV, Parquet or a JSON array of objects, atomically."""
    import io
    import json

    from localtrack.cli.output import jsonable
    from localtrack.storage.atomic import atomic_write_bytes

    if suffix == ".parquet":
        import pyarrow.parquet as pq

        sink = io.BytesIO()
        pq.write_table(table, sink)
        data = sink.getvalue()
    elif suffix == ".csv":
        import pyarrow.csv as pacsv

        sink = io.BytesIO()
        pacsv.write_csv(table, sink)
        data = sink.getvalue()
    else:
        data = (json.dumps(jsonable(table.to_pylist()), ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    atomic_write_bytes(path, data, durable=False)


def register(app: typer.Typer) -> None:
    app.command("tag")(tag_command)
    app.command("note")(note_command)
    app.command("rename")(rename_command)
    app.command("rm")(rm_command)
    app.command("restore")(restore_command)
    app.command("export")(export_command)

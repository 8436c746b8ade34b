"""Editing and moving runs: tag, note, rename, rm (to the trash), restore, export."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from localtrack.cli.common import RUN_HELP, FormatOption, ReportFormatOption, StoreOption
from localtrack.cli.output import OutputFormat, ReportFormat


class TagAction(str, Enum):
    add = "add"
    rm = "rm"


class ExportWhat(str, Enum):
    metrics = "metrics"
    runs = "runs"


class ExportFormat(str, Enum):
    """export's --format: text/json say what was written to a file; the others are data for --to -."""

    text = "text"
    json = "json"
    csv = "csv"
    jsonl = "jsonl"
    parquet = "parquet"


FILE_FORMATS = {".csv": "csv", ".parquet": "parquet", ".json": "json", ".jsonl": "jsonl"}


def _tag_line(tags: dict[str, str]) -> str:
    from localtrack.cli.output import safe

    return ", ".join(safe(k) if v == "" else f"{safe(k)}={safe(v)}" for k, v in sorted(tags.items())) or "(no tags)"


def tag_command(
    run: Annotated[str, typer.Argument(help=RUN_HELP)],
    action: Annotated[Optional[TagAction], typer.Argument(help="add or rm (omit to list the tags).")] = None,
    tags: Annotated[Optional[list[str]], typer.Argument(help="Labels, or key=value tags.", show_default=False)] = None,
    fmt: ReportFormatOption = ReportFormat.text,
    store: StoreOption = None,
) -> None:
    """Add or remove tags of a run (a label, or key=value); safe while the run is writing.

    Prints the run's tags afterwards; --format json prints {"run", "name", "tags": {key: value}} (a label's value is "").

    Example:

        localtrack tag @latest add best-so-far stage=prod
    """
    from localtrack.cli.common import open_reader
    from localtrack.cli.output import console, emit_json, safe

    lt = open_reader(store)
    if action is None:
        record = lt.resolve(run)
        if tags:
            raise typer.BadParameter("say add or rm before the tags", param_hint="ACTION")
    elif not tags:
        lt.resolve(run)
        raise typer.BadParameter(f"give at least one tag to {action.value}", param_hint="TAGS")
    elif action == TagAction.add:
        record = lt.change_tags(run, add=tags)
    else:
        record = lt.change_tags(run, remove=tags)
    after = record.tags
    if fmt == ReportFormat.json:
        emit_json({"run": record.id, "name": record.name, "tags": after})
        return
    console().print(f"{safe(record.name)}: {_tag_line(after)}")


def note_command(
    run: Annotated[str, typer.Argument(help=RUN_HELP)],
    text: Annotated[Optional[str], typer.Argument(help="The note (- reads stdin; omit to print the notes).")] = None,
    append: Annotated[bool, typer.Option("--append", "-a", help="Add to the notes instead of replacing them.")] = False,
    fmt: ReportFormatOption = ReportFormat.text,
    store: StoreOption = None,
) -> None:
    """Set (or append to) a run's notes; safe while the run is writing.

    Without TEXT prints the notes; --format json prints {"run", "name", "notes"} (the notes after any change).

    Example:

        localtrack note @latest "lr too high: loss diverges after epoch 3"
    """
    import sys

    from localtrack.cli.common import open_reader
    from localtrack.cli.output import console, emit_json, safe_text

    lt = open_reader(store)
    if text is not None:
        record = lt.resolve(run)
        if text == "-":
            text = sys.stdin.read().rstrip("\n")
        record = lt.set_note(record, text, append=append)
        if fmt != ReportFormat.json:
            return
    else:
        record = lt.resolve(run)
    notes = record.notes
    if fmt == ReportFormat.json:
        emit_json({"run": record.id, "name": record.name, "notes": notes})
        return
    console().print(safe_text(notes or "(no notes)", lines=True))


def rename_command(
    run: Annotated[str, typer.Argument(help=RUN_HELP)],
    name: Annotated[str, typer.Argument(help="The new name (the id does not change).")],
    fmt: ReportFormatOption = ReportFormat.text,
    store: StoreOption = None,
) -> None:
    """Rename a run (its id and folder stay the same); safe while the run is writing.

    The "Renamed" line goes to stderr; --format json prints {"run", "old_name", "name"} on stdout.

    Example:

        localtrack rename brisk-river-42 bert-base-lr3e-4
    """
    from localtrack.cli.common import open_reader
    from localtrack.cli.output import report, safe

    lt = open_reader(store)
    record = lt.resolve(run)
    new_name = lt.rename(record, name).name
    report(fmt, {"run": record.id, "old_name": record.name, "name": new_name},
           f"Renamed {safe(record.id)}: {safe(record.name)} → {safe(new_name)}")


def rm_command(
    runs: Annotated[list[str], typer.Argument(help="Runs to remove (ids, prefixes, names).")],
    purge: Annotated[bool, typer.Option("--purge", help="Delete for good instead of moving to the trash.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Also remove runs that are still running.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before --purge.")] = False,
    fmt: ReportFormatOption = ReportFormat.text,
    store: StoreOption = None,
) -> None:
    """Move runs to the trash (restore them with `localtrack restore`), or --purge them.

    A run in the trash keeps its files (and its artifacts stay referenced) until purged; after a purge, `localtrack gc --grace 0 --yes` reclaims their artifacts' space at once. One status line per run goes to stderr; --format json prints {"runs": [{"id", "name"}], "count", "purged": true|false} on stdout.

    Example:

        localtrack rm brisk-river-42 && localtrack restore brisk-river-42
    """
    import sys

    from localtrack.cli.common import open_reader
    from localtrack.cli.output import emit_json, safe, status

    lt = open_reader(store)
    found = [lt.resolve(ref, include_trash=purge) for ref in runs]  # purge also empties the trash
    targets = list(dict.fromkeys((r.id, r.name) for r in found))
    if purge and not yes:
        if not sys.stdin.isatty():
            raise typer.BadParameter("--purge deletes for good; add --yes to confirm", param_hint="--purge")
        names = ", ".join(safe(name) for _, name in targets)
        typer.confirm(f"Delete {len(targets)} run(s) for good: {names}?", abort=True)
    for run_id, name in targets:
        lt.remove(run_id, purge=purge, force=force)
        if purge:
            line = f"Deleted {safe(name)} ({safe(run_id)})"
        else:
            line = f"Moved {safe(name)} ({safe(run_id)}) to the trash; `localtrack restore {safe(run_id)}` brings it back"
        if fmt != ReportFormat.json:
            status(line)
    if fmt == ReportFormat.json:
        emit_json({"runs": [{"id": i, "name": n} for i, n in targets], "count": len(targets), "purged": purge})


def restore_command(
    runs: Annotated[Optional[list[str]], typer.Argument(help="Trashed runs to restore (omit to list the trash).")] = None,
    fmt: FormatOption = OutputFormat.table,
    store: StoreOption = None,
) -> None:
    """Bring runs back from the trash; without RUN, list what is in the trash.

    Restoring prints one status line per run on stderr; --format json prints {"runs": [{"id", "name"}], "count"} on stdout (listing the trash, an array of the trashed runs).

    Example:

        localtrack restore brisk-river-42
    """
    from localtrack.cli.common import open_reader
    from localtrack.cli.humanize import relative_time
    from localtrack.cli.output import console, emit_json, emit_rows, safe, status

    lt = open_reader(store)
    if not runs:
        rows = [
            {"id": t.id, "name": t.name, "status": t.status, "project": t.project, "created_at": t.created_at,
             "trashed": relative_time(t.trashed_at) if fmt == OutputFormat.table else t.trashed_at}
            for t in lt.trash()
        ]
        if not rows and fmt == OutputFormat.table:
            console().print("The trash is empty.")
            return
        emit_rows(rows, fmt, columns=["id", "name", "status", "project", "trashed"] if fmt == OutputFormat.table else None)
        return
    targets = [lt.find_trashed(ref) for ref in runs]
    for trashed in targets:
        lt.restore(trashed.id)
        if fmt == OutputFormat.table:
            status(f"Restored {safe(trashed.name)} ({safe(trashed.id)})")
    restored = [{"id": t.id, "name": t.name} for t in targets]
    if fmt == OutputFormat.json:
        emit_json({"runs": restored, "count": len(restored)})
    elif fmt == OutputFormat.csv:
        emit_rows(restored, fmt)


def export_command(
    runs: Annotated[Optional[list[str]], typer.Argument(help="Runs: ids, prefixes, names, @latest or globs.")] = None,
    to: Annotated[
        Path, typer.Option("--to", help="Output file: .csv, .parquet, .json or .jsonl; - writes the data to stdout.")
    ] = ...,  # type: ignore[assignment]
    filter: Annotated[Optional[str], typer.Option("--filter", help="Export the runs matching this filter.")] = None,
    what: Annotated[ExportWhat, typer.Option("--what", help="metrics: every point (long format); runs: one row per run.")] = ExportWhat.metrics,
    metric: Annotated[Optional[list[str]], typer.Option("--metric", "-m", help="Only these metrics (comma-separated).")] = None,
    fmt: Annotated[
        Optional[ExportFormat],
        typer.Option("--format", "-f", show_default=False,
                     help="With --to -: the data's format, csv (default), jsonl, json or parquet. "
                     "With a file: text (a status line on stderr) or json (a report on stdout)."),
    ] = None,
    store: StoreOption = None,
) -> None:
    """Export runs to a file or stdout: their metric points (run, name, key, step, timestamp, value) or a run table.

    A file's format comes from its name. `--to -` writes the data to stdout as --format says (parquet only to a pipe or file, never a terminal). The "Exported" status line goes to stderr; with a file, --format json prints {"path", "format", "what", "runs", "rows", "bytes"} on stdout instead.

    Example:

        localtrack export --filter "params.optimizer = 'sgd'" --to sgd_runs.parquet

        localtrack export @latest --to - --format jsonl | jq .value
    """
    import sys

    from localtrack.cli.cmd_compare import split_list
    from localtrack.cli.common import open_reader
    from localtrack.cli.output import emit_json, safe, status
    from localtrack.cli.selection import select_runs

    to_stdout = str(to) == "-"
    if to_stdout:
        kind = (fmt or ExportFormat.csv).value
        if kind == ExportFormat.text.value:
            raise typer.BadParameter("--to - writes data: pick --format csv, jsonl, json or parquet", param_hint="--format")
        if kind == "parquet" and _is_terminal(sys.stdout):
            raise typer.BadParameter("parquet is binary: redirect stdout (> runs.parquet) or use --format csv", param_hint="--format")
    else:
        found = FILE_FORMATS.get(to.suffix.lower())
        if found is None:
            raise typer.BadParameter(f"{to.name!r}: the file must end in .csv, .parquet, .json or .jsonl (or use --to -)", param_hint="--to")
        if fmt not in (None, ExportFormat.text, ExportFormat.json) and fmt.value != found:
            raise typer.BadParameter(f"--format {fmt.value} is for --to -; {to.name!r} is written as {found} (its name says so)",
                                     param_hint="--format")
        kind = found
    reader = open_reader(store)
    rows = select_runs(reader, runs, filter, what="runs to export")
    keys = split_list(metric)
    if what == ExportWhat.metrics:
        table = _points_table(reader, rows, keys or None)
        count = f"{table.num_rows} points of {len(rows)} run{'s' if len(rows) != 1 else ''}"
    else:
        table = _runs_table(rows, keys)
        count = f"{len(rows)} run{'s' if len(rows) != 1 else ''}"
    data = table_bytes(table, kind)
    if to_stdout:
        if kind != "parquet" and _is_terminal(sys.stdout):  # a person reading: escape control characters
            from localtrack.cli.output import safe_lines

            data = safe_lines(data.decode("utf-8", "replace"), sys.maxsize).encode("utf-8")
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        status(f"Exported {count} to stdout ({kind})")
        return
    from localtrack.storage.atomic import atomic_write_bytes

    atomic_write_bytes(to, data, durable=False)
    if fmt == ExportFormat.json:
        emit_json({"path": str(to), "format": kind, "what": what.value, "runs": len(rows), "rows": table.num_rows,
                   "bytes": len(data)})
        return
    status(f"Exported {count} to {safe(to)}")


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


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


def table_bytes(table: Any, kind: str) -> bytes:
    """An Arrow table as the bytes of a CSV, Parquet, JSON (one array of objects) or JSON Lines file."""
    import io
    import json

    from localtrack.cli.output import jsonable

    if kind == "parquet":
        import pyarrow.parquet as pq

        sink = io.BytesIO()
        pq.write_table(table, sink)
        return sink.getvalue()
    if kind == "csv":
        import pyarrow.csv as pacsv

        sink = io.BytesIO()
        pacsv.write_csv(table, sink)
        return sink.getvalue()
    rows = jsonable(table.to_pylist())
    if kind == "jsonl":
        return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")
    return (json.dumps(rows, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def register(app: typer.Typer) -> None:
    app.command("tag")(tag_command)
    app.command("note")(note_command)
    app.command("rename")(rename_command)
    app.command("rm")(rm_command)
    app.command("restore")(restore_command)
    app.command("export")(export_command)

"""``localtrack export``: parse the options, call ``Store.export``, say what was written."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from localtrack.cli.common import StoreOption


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
    from localtrack.query.export import FILE_FORMATS

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
    if to_stdout:
        written = _export_to_stdout(reader, rows, kind, what.value, keys)
    else:
        written = reader.export(rows, to=to, format=kind, what=what.value, metrics=keys)
    runs_word = f"{written.runs} run{'s' if written.runs != 1 else ''}"
    count = f"{written.rows} points of {runs_word}" if what == ExportWhat.metrics else runs_word
    if to_stdout:
        status(f"Exported {count} to stdout ({kind})")
    elif fmt == ExportFormat.json:
        emit_json(written.to_dict())
    else:
        status(f"Exported {count} to {safe(to)}")


def _export_to_stdout(reader: Any, rows: list[dict[str, Any]], kind: str, what: str, keys: list[str]) -> Any:
    """Data on stdout; for a person at a terminal, control characters in it are escaped."""
    import sys

    sys.stdout.flush()
    if kind == "parquet" or not _is_terminal(sys.stdout):
        return reader.export(rows, to=sys.stdout.buffer, format=kind, what=what, metrics=keys)
    import io

    from localtrack.cli.output import safe_lines

    sink = io.BytesIO()
    written = reader.export(rows, to=sink, format=kind, what=what, metrics=keys)
    sys.stdout.buffer.write(safe_lines(sink.getvalue().decode("utf-8", "replace"), sys.maxsize).encode("utf-8"))
    sys.stdout.buffer.flush()
    return written


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def register(app: typer.Typer) -> None:
    app.command("export")(export_command)

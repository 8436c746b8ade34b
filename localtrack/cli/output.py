"""Rendering for people (rich) and for scripts (json, csv); the CLI's only home of rich.

Every string from a store is hostile: :func:`safe` shows control characters and ANSI
escapes as visible escapes, and markup is never interpreted.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
import unicodedata
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # rich loads on first output, so `--help` and registration stay fast
    from rich.console import Console
    from rich.text import Text


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


_ESCAPE_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def safe(value: Any) -> str:
    """A string safe to put on a terminal: control/invisible characters become ``\\xNN`` escapes."""
    text = "" if value is None else str(value)
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch == " " or unicodedata.category(ch) not in _ESCAPE_CATEGORIES:
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)


def safe_lines(value: Any) -> str:
    """Like :func:`safe` but keeps line breaks (and tabs): for notes and other prose."""
    text = "" if value is None else str(value)
    return "\n".join("\t".join(safe(part) for part in line.split("\t")) for line in text.split("\n"))


def safe_text(value: Any, style: str = "") -> Text:
    """A rich Text (never parsed as markup) of a hostile string."""
    from rich.text import Text

    return Text(safe(value), style=style)


_console: Console | None = None
_err_console: Console | None = None


def console() -> Console:
    global _console
    if _console is None:
        from rich.console import Console

        _console = Console(highlight=False, soft_wrap=False)
    return _console


def err_console() -> Console:
    global _err_console
    if _err_console is None:
        from rich.console import Console

        _err_console = Console(stderr=True, highlight=False)
    return _err_console


def print_error(message: str, hint: str = "") -> None:
    """One red line on stderr (plus a dim hint), the shape of every user mistake."""
    from rich.text import Text

    line = Text("error: ", style="bold red")
    line.append(safe_lines(message), style="red")
    if hint:
        line.append(f"  ({hint})", style="dim")
    err_console().print(line, soft_wrap=True)


def print_warning(message: str) -> None:
    from rich.text import Text

    line = Text("warning: ", style="bold yellow")
    line.append(safe(message), style="yellow")
    err_console().print(line, soft_wrap=True)


def jsonable(value: Any) -> Any:
    """Values for ``--format json``: NaN/inf become null-free strings, like the manifest."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def json_text(value: Any) -> str:
    """Indented JSON, readable (non-ASCII kept) but terminal-safe.

    json.dumps already escapes C0 controls; bidi overrides, C1 controls, zero-width and other
    invisible characters, and lone surrogates are escaped too. The data is unchanged: the
    escapes decode to the same strings.
    """
    text = json.dumps(jsonable(value), indent=2, ensure_ascii=False, sort_keys=False)
    if text.isascii():
        return text
    return "".join(_json_escape(ch) if not ch.isascii() and _unsafe(ch) else ch for ch in text)


def _unsafe(ch: str) -> bool:
    return unicodedata.category(ch) in _ESCAPE_CATEGORIES


def _json_escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def emit_json(value: Any) -> None:
    sys.stdout.write(json_text(value) + "\n")


def emit_csv(rows: list[dict[str, Any]], columns: list[str] | None = None) -> None:
    columns = columns or list(dict.fromkeys(k for row in rows for k in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writerow({c: safe(c) if sys.stdout.isatty() else c for c in columns})
    on_terminal = sys.stdout.isatty()  # a person reading: show control characters escaped
    for row in rows:
        cells = {k: _csv_cell(row.get(k)) for k in columns}
        if on_terminal:
            cells = {k: safe(v) if isinstance(v, str) else v for k, v in cells.items()}
        writer.writerow(cells)
    sys.stdout.write(buffer.getvalue())


def _csv_cell(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(jsonable(value), ensure_ascii=False, sort_keys=True)
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def emit_rows(rows: list[dict[str, Any]], fmt: OutputFormat, *, columns: list[str] | None = None, title: str | None = None) -> None:
    """Print rows as a rich table, a JSON array of objects, or CSV."""
    if fmt == OutputFormat.json:
        emit_json(rows)
        return
    if fmt == OutputFormat.csv:
        emit_csv(rows, columns)
        return
    from rich.table import Table
    from rich.text import Text

    columns = columns or list(dict.fromkeys(k for row in rows for k in row))
    from rich import box

    table = Table(title=title, header_style="bold", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                  padding=(0, 1, 0, 0), title_justify="left")
    cells = [[safe(format_cell(row.get(c))) for c in columns] for row in rows]
    used, hidden = 0, []
    for index, column in enumerate(columns):
        # One line per row: a column keeps its natural width up to 28 characters, longer cells
        # end in "…"; columns that do not fit the terminal are cut at its edge, never wrapped.
        width = min(max([len(column), *(len(line[index]) for line in cells)]), 28)
        table.add_column(safe(column), overflow="ellipsis", no_wrap=True, min_width=width)
        used += width + (1 if index else 0)
        if used > console().width:
            hidden.append(column)
    for line in cells:
        table.add_row(*(Text(cell) for cell in line))
    console().print(table, crop=True)
    if hidden:
        note = f"{len(hidden)} column(s) cut at the terminal's edge ({', '.join(hidden[:4])}{', …' if len(hidden) > 4 else ''})"
        console().print(Text(safe(note + "; widen the terminal, pick --columns, or use --format csv"), style="dim"))


def format_cell(value: Any) -> str:
    """A compact human rendering of one value."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:.6g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)

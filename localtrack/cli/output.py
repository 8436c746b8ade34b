"""Rendering for people (rich) and for scripts (json, csv); the CLI's only home of rich.

Every string from a store is hostile. It reaches rich through one door, :func:`safe_text`:
cut to a bounded length (with a note saying how much is left out), control characters, ANSI
escapes and bidi overrides shown as visible escapes, and never parsed as markup. The consoles
below send every plain ``str`` they are handed through the same door, so a forgotten
escape cannot turn ``[link=...]`` into a hyperlink or ``[/x]`` into a crash.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
import unicodedata
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # rich loads on first output, so `--help` and registration stay fast
    from rich.console import Console
    from rich.text import Text


class OutputFormat(str, Enum):
    """``--format`` of a command that shows data."""

    table = "table"
    json = "json"
    csv = "csv"


class ListFormat(str, Enum):
    """``--format`` of a long listing: also JSON Lines, one object per line, for streaming."""

    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


class ReportFormat(str, Enum):
    """``--format`` of a command that does something: a status line, or one JSON object."""

    text = "text"
    json = "json"


_ESCAPE_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
VALUE_LIMIT = 2_000  # characters of one value (a param, a name, a cell) a view shows
PROSE_LIMIT = 20_000  # characters of prose (notes, an error message) a view shows
PIPE_WIDTH = 100_000  # "unlimited": the width of output that is not a terminal
_width_override: int | None = None


def set_width(width: int | None) -> None:
    """``--width N``: render at N columns whether or not stdout is a terminal."""
    global _width_override, _console, _err_console
    _width_override = width
    _console = _err_console = None


def size_text(size: Any) -> str:
    """Bytes for people, in binary units everywhere: ``999 B``, ``1.5 KiB``, ``2.0 GiB``."""
    if isinstance(size, bool) or not isinstance(size, (int, float)) or not math.isfinite(size):
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024:
            return f"{int(size)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} PiB"


def _cut(text: str, limit: int) -> tuple[str, str]:
    """``text`` cut to ``limit`` characters, and the note saying what was left out."""
    if len(text) <= limit:
        return text, ""
    rest = len(text[limit:].encode("utf-8", "surrogatepass"))
    return text[:limit], f"… ({size_text(rest)} more; see --format json)"


def _escape(text: str) -> str:
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


def safe(value: Any, limit: int = VALUE_LIMIT) -> str:
    """A string safe to put on a terminal: bounded, control/invisible characters as ``\\xNN``.

    For composing a line before it goes to rich (as a str, which the consoles send through
    :func:`safe_text`, or by passing it to :func:`safe_text` yourself).
    """
    text, note = _cut("" if value is None else str(value), limit)
    return _escape(text) + (" " + note if note else "")


def safe_lines(value: Any, limit: int = PROSE_LIMIT) -> str:
    """Like :func:`safe` but keeps line breaks (and tabs): for notes and other prose."""
    text, note = _cut("" if value is None else str(value), limit)
    escaped = "\n".join("\t".join(_escape(part) for part in line.split("\t")) for line in text.split("\n"))
    return escaped + ("\n" + note if note else "")


def safe_text(value: Any, style: str = "", *, lines: bool = False, limit: int | None = None) -> Text:
    """The one way a user or disk string becomes rich output: a Text, never parsed as markup.

    ``lines`` keeps line breaks (notes, messages); otherwise a line break shows as ``\\x0a``.
    Longer than ``limit`` characters, the text is cut and ends in a note saying how much more
    there is (the whole value is in ``--format json``).
    """
    from rich.text import Text

    if isinstance(value, Text):  # already made here (or a literal); keep its styles
        return value
    text = "" if value is None else str(value)
    cut, note = _cut(text, limit or (PROSE_LIMIT if lines else VALUE_LIMIT))
    if lines:
        escaped = "\n".join("\t".join(_escape(part) for part in line.split("\t")) for line in cut.split("\n"))
    else:
        escaped = _escape(cut)
    out = Text(escaped, style=style)
    if note:
        out.append(("\n" if lines else " ") + note, style="dim")
    return out


def _safe_console_class() -> type[Console]:
    from rich.console import Console

    class SafeConsole(Console):
        """A Console that never reads markup, emoji codes or control bytes from a plain str."""

        def render_str(self, text: str, **kwargs: Any) -> Text:
            kwargs.update(markup=False, emoji=False, highlight=False)
            return super().render_str(safe_lines(text), **kwargs)

    return SafeConsole


_console: Console | None = None
_err_console: Console | None = None


def _make_console(stderr: bool) -> Console:
    """A console at the width asked for: --width, else COLUMNS, else the terminal's, else unlimited.

    Output that is not a terminal (a pipe, a log file) is for machines: never cut to 80 columns.
    """
    cls = _safe_console_class()
    width = _width_override
    made = cls(stderr=stderr, width=width, highlight=False, markup=False, emoji=False)
    if width is None and not made.is_terminal and not os.environ.get("COLUMNS", "").strip().isdigit():
        made.width = PIPE_WIDTH
    return made


def console() -> Console:
    global _console
    if _console is None:
        _console = _make_console(stderr=False)
    return _console


def err_console() -> Console:
    global _err_console
    if _err_console is None:
        _err_console = _make_console(stderr=True)
    return _err_console


def unlimited() -> bool:
    """Whether output has no width to fit (piped, no COLUMNS or --width): then nothing is cut."""
    return console().width >= PIPE_WIDTH


def drawing_width(asked: int | None = None) -> int:
    """Columns for a drawing (a plot): asked, else the console's, but never "unlimited"."""
    width = console().width
    if asked:
        return min(asked, width)
    return width if width < PIPE_WIDTH else 100


def print_error(message: str, hint: str = "", *, label: str = "error") -> None:
    """One red line on stderr (plus a dim hint), the shape of every user mistake."""
    from rich.text import Text

    line = Text(f"{label}: ", style="bold red")
    line.append_text(safe_text(message, "red", lines=True))
    if hint:
        line.append(f"  ({hint})", style="dim")
    err_console().print(line, soft_wrap=True)


def print_warning(message: str) -> None:
    from rich.text import Text

    line = Text("warning: ", style="bold yellow")
    line.append_text(safe_text(message, "yellow"))
    err_console().print(line, soft_wrap=True)


def jsonable(value: Any) -> Any:
    """Values for ``--format json``: NaN/inf as the manifest spells them, times as ISO text."""
    from localtrack.query.export import json_ready

    return json_ready(value)


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


def emit_jsonl(rows: list[Any]) -> None:
    """JSON Lines: one object per line, the objects of ``--format json``, terminal-safe the same way.

    A row may come as its JSON text already (from the listing): printed as is, escapes aside."""
    write = sys.stdout.write
    chunk: list[str] = []
    for row in rows:
        line = row if isinstance(row, str) else json.dumps(jsonable(row), ensure_ascii=False)
        if not line.isascii():
            line = "".join(_json_escape(ch) if not ch.isascii() and _unsafe(ch) else ch for ch in line)
        chunk.append(line)
        if len(chunk) >= 500:
            write("\n".join(chunk) + "\n")
            chunk = []
    if chunk:
        write("\n".join(chunk) + "\n")


def status(message: str) -> None:
    """A line saying what a command did ("Exported ...", "Deleted ..."): stderr, so stdout holds only data."""
    err_console().print(message, soft_wrap=True)


def report(fmt: ReportFormat, data: dict[str, Any], line: str | None) -> None:
    """The end of a command that does something: its JSON object on stdout, or its status line on stderr."""
    if fmt == ReportFormat.json:
        emit_json(data)
    elif line:
        status(line)


def emit_csv(rows: list[dict[str, Any]], columns: list[str] | None = None) -> None:
    columns = columns or list(dict.fromkeys(k for row in rows for k in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    person = sys.stdout.isatty()  # a person reading: show control characters escaped (CSV is never cut)
    writer.writerow({c: safe(c, sys.maxsize) if person else c for c in columns})
    for row in rows:
        cells = {k: _csv_cell(row.get(k)) for k in columns}
        if person:
            cells = {k: safe(v, sys.maxsize) if isinstance(v, str) else v for k, v in cells.items()}
        writer.writerow(cells)
    sys.stdout.write(buffer.getvalue())


def _csv_cell(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return blob_text(value)
    if isinstance(value, (dict, list)):
        return json.dumps(jsonable(value), ensure_ascii=False, sort_keys=True)
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def emit_rows(rows: list[dict[str, Any]], fmt: OutputFormat | ListFormat, *, columns: list[str] | None = None, title: str | None = None) -> None:
    """Print rows as a rich table, a JSON array of objects, JSON Lines, or CSV.

    On a terminal a column keeps its natural width up to 28 characters (longer cells end in
    "…") and columns that do not fit are cut at its edge, never wrapped. Piped, nothing is cut.
    """
    if fmt == OutputFormat.json:
        emit_json(rows)
        return
    if fmt == ListFormat.jsonl:
        emit_jsonl(rows)
        return
    if fmt == OutputFormat.csv:
        emit_csv(rows, columns)
        return
    from rich import box
    from rich.table import Table

    columns = columns or list(dict.fromkeys(k for row in rows for k in row))
    table = Table(title=title, header_style="bold", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                  padding=(0, 1, 0, 0), title_justify="left")
    cells = [[safe_text(format_cell(row.get(c))) for c in columns] for row in rows]
    headers = [safe_text(c) for c in columns]
    cap = VALUE_LIMIT + 60 if unlimited() else 28
    used, hidden = 0, []
    for index, header in enumerate(headers):
        width = min(max([header.cell_len, *(line[index].cell_len for line in cells)]), cap)
        table.add_column(header, overflow="ellipsis", no_wrap=True, min_width=width)
        used += width + (1 if index else 0)
        if used > console().width:
            hidden.append(header.plain)
    for line in cells:
        table.add_row(*line)
    console().print(table, crop=True)
    if hidden:
        names = ", ".join(hidden[:4]) + (", …" if len(hidden) > 4 else "")
        note = f"{len(hidden)} column(s) cut at the terminal's edge ({names}); widen the terminal, pick --columns, or use --format csv"
        console().print(safe_text(note, "dim"))


def blob_text(value: bytes | bytearray | memoryview) -> str:
    """Bytes as DuckDB writes a BLOB (the rule lives with the exports)."""
    from localtrack.query.export import blob_text as as_text

    return as_text(value)


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
    if isinstance(value, (bytes, bytearray, memoryview)):
        return blob_text(value)
    if isinstance(value, (dict, list)):
        return json.dumps(jsonable(value), ensure_ascii=False, sort_keys=True)
    return str(value)

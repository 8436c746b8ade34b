"""Writing runs out: their metric points or a run table, as CSV, JSON, JSON Lines or Parquet.

``Store.export`` is the one way to do it (``localtrack export`` calls it): the data goes to a
file (written atomically, its format from its name unless told) or to an open stream, and
the caller gets back a small :class:`ExportReport` of what was written.
"""

from __future__ import annotations

import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from localtrack.errors import InvalidValueError

ExportFormat = Literal["csv", "json", "jsonl", "parquet"]
ExportWhat = Literal["metrics", "runs"]

FORMATS: tuple[str, ...] = ("csv", "json", "jsonl", "parquet")
FILE_FORMATS = {".csv": "csv", ".parquet": "parquet", ".json": "json", ".jsonl": "jsonl"}
POINT_COLUMNS = ("run", "name", "key", "step", "timestamp", "value")


@dataclass(frozen=True)
class ExportReport:
    """What one export wrote: ``path`` is None when it went to a stream."""

    path: str | None
    format: str
    what: str
    runs: int
    rows: int
    bytes: int

    def to_dict(self) -> dict[str, Any]:
        """The JSON report ``localtrack export --format json`` prints."""
        return {"path": self.path, "format": self.format, "what": self.what, "runs": self.runs, "rows": self.rows,
                "bytes": self.bytes}


def format_for(to: Any, format: str | None) -> str:
    """The format an export uses: ``format`` if given, else the file's suffix (a stream: csv)."""
    if format is not None:
        if format not in FORMATS:
            raise InvalidValueError(f"export format {format!r}: pick one of {', '.join(FORMATS)}", format)
        return format
    if isinstance(to, (str, os.PathLike)):
        path = Path(to)
        found = FILE_FORMATS.get(path.suffix.lower())
        if found is None:
            raise InvalidValueError(
                f"{path.name!r}: the file must end in .csv, .parquet, .json or .jsonl (or pass format=...)", str(to))
        return found
    return "csv"


def points_table(points: Any, rows: Sequence[Mapping[str, Any]]) -> Any:
    """The long metric table (run, name, key, step, timestamp, value) of ``rows``' points."""
    import pyarrow as pa

    names = {str(r["id"]): str(r.get("name")) for r in rows}
    table = points.select(["run", "key", "step", "timestamp", "value"])
    name_col = pa.array([names.get(r, r) for r in table.column("run").to_pylist()], pa.string())
    return table.add_column(1, "name", name_col)


def runs_table(rows: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> Any:
    """One row per run (the read API's run table), its metrics limited to ``keys`` if any."""
    from localtrack.query.results import RunTable

    chosen = [dict(r) for r in rows]
    if keys:
        chosen = [{**r, "metrics": {k: v for k, v in (r.get("metrics") or {}).items() if k in keys}} for r in chosen]
    return RunTable(chosen).to_arrow()


def json_ready(value: Any) -> Any:
    """A value JSON can hold: non-finite floats spelled as the manifest does, times as ISO text,
    bytes as DuckDB writes a BLOB (``--format json`` output and exports share this one rule)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return blob_text(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def blob_text(value: bytes | bytearray | memoryview) -> str:
    """Bytes as DuckDB writes a BLOB: printable ASCII kept, every other byte as ``\\xNN``."""
    return "".join(chr(b) if 0x20 <= b < 0x7F and b != 0x5C else f"\\x{b:02X}" for b in bytes(value))


def table_bytes(table: Any, kind: str) -> bytes:
    """An Arrow table as the bytes of a CSV, Parquet, JSON (one array of objects) or JSON Lines file."""
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
    rows = json_ready(table.to_pylist())
    if kind == "jsonl":
        return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")
    return (json.dumps(rows, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def write_file(path: str | os.PathLike[str], data: bytes) -> None:
    """Write an output file (export, report, HTML page) whole or not at all."""
    from localtrack.storage.atomic import atomic_write_bytes

    atomic_write_bytes(Path(path), data, durable=False)


def write_to(to: Any, data: bytes, kind: str) -> str | None:
    """Send ``data`` to a path (returns it) or a binary or text stream (returns None)."""
    if isinstance(to, (str, os.PathLike)):
        write_file(to, data)
        return str(to)
    if isinstance(to, io.TextIOBase):
        if kind == "parquet":
            raise InvalidValueError("parquet is binary: export it to a path or a binary stream (e.g. io.BytesIO)", kind)
        to.write(data.decode("utf-8"))
    elif hasattr(to, "write"):
        to.write(data)
    else:
        raise InvalidValueError(f"export to= takes a path or a writable stream, got {type(to).__name__}",
                                type(to).__name__)
    flush = getattr(to, "flush", None)
    if callable(flush):
        flush()
    return None

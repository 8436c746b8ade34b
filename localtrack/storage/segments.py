"""Sealed Parquet metric segments: naming, writing, the covering rule, footer checks.

A segment is named ``<writer>-<first>-<last>.parquet`` where ``first..last`` is the range of
that writer's seal numbers it holds. A fresh seal covers one number (``-000007-000007``);
compaction writes one file covering a range, then deletes the files inside it. A reader
lists the folder and keeps, per writer, only files whose range no other file contains, so
between compaction's rename and its deletes no point is ever read twice, and none is missed.

pyarrow is imported inside functions: the logging path must import fast.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import xxhash

from localtrack.storage.atomic import atomic_write_bytes
from localtrack.storage.links import refuse_link
from localtrack.storage.parquet_lite import KeyedColumns, SegmentColumns
from localtrack.storage.parquet_lite import encode as encode_columns

if TYPE_CHECKING:
    import pyarrow as pa

SEGMENT_RE = re.compile(r"([a-z0-9]{1,32})-(\d{6,12})-(\d{6,12})\.parquet\Z")
PARQUET_MAGIC = b"PAR1"


@dataclass(frozen=True, order=True)
class SegmentName:
    """A parsed segment file name."""

    writer: str
    first: int
    last: int

    @property
    def filename(self) -> str:
        return f"{self.writer}-{self.first:06d}-{self.last:06d}.parquet"

    def contains(self, other: SegmentName) -> bool:
        return (
            self.writer == other.writer
            and self.first <= other.first
            and other.last <= self.last
            and (self.first, self.last) != (other.first, other.last)
        )


def parse_segment_name(filename: str) -> SegmentName | None:
    """The segment named by ``filename``, or None for anything else (temp files, junk)."""
    match = SEGMENT_RE.match(filename)
    if not match:
        return None
    first, last = int(match.group(2)), int(match.group(3))
    if first > last:
        return None
    return SegmentName(match.group(1), first, last)


def recorded_segment_name(filename: Any, writer_id: str) -> SegmentName | None:
    """The segment a writer's manifest record names, or None unless it is a segment name of
    that writer (``<writer_id>-<first>-<last>.parquet``): the one rule for recorded names."""
    name = parse_segment_name(filename) if isinstance(filename, str) else None
    return name if name is not None and name.writer == writer_id else None


def live_segments(metrics_dir: Path) -> list[Path]:
    """The segment files a reader should read: every sealed file not covered by another."""
    if metrics_dir.is_symlink():
        return []  # never follow a link out of the store (reader.metric_files reports it)
    try:
        names = [n for n in (parse_segment_name(e.name) for e in _scandir_files(metrics_dir)) if n]
    except FileNotFoundError:
        return []
    by_writer: dict[str, list[SegmentName]] = {}
    for name in names:
        by_writer.setdefault(name.writer, []).append(name)
    live: list[SegmentName] = []
    for group in by_writer.values():
        # Widest ranges first: a file is dropped when a kept file already contains it.
        group.sort(key=lambda n: (n.first, -n.last))
        kept: list[SegmentName] = []
        for name in group:
            if not any(k.contains(name) for k in kept):
                kept.append(name)
        live.extend(kept)
    live.sort()  # (writer, seal): logging order per writer
    return [metrics_dir / n.filename for n in live]


def _scandir_files(directory: Path) -> list[Any]:
    import os

    with os.scandir(directory) as entries:
        return [e for e in entries if e.is_file(follow_symlinks=False)]


def schema() -> pa.Schema:
    """The long-format metric schema every segment has."""
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("step", pa.int64(), nullable=False),
            pa.field("timestamp", pa.timestamp("us", tz="UTC"), nullable=False),
            pa.field("key", pa.string(), nullable=False),
            pa.field("value", pa.float64()),
        ]
    )


SMALL_SEGMENT_ROWS = 10_000


def encode_table(table: pa.Table) -> bytes:
    """Parquet bytes for a metric table (encodings chosen for long-format metrics).

    zstd, except for small tables: zstd's per-column setup costs about 0.1 ms, more than it
    saves on a few hundred rows (short runs, 2-second seals), so those use lz4.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    small = table.num_rows < SMALL_SEGMENT_ROWS
    sink = pa.BufferOutputStream()
    pq.write_table(
        table,
        sink,
        compression="lz4" if small else "zstd",
        compression_level=None if small else 3,
        use_dictionary=["key"],
        column_encoding={
            "step": "DELTA_BINARY_PACKED",
            "timestamp": "DELTA_BINARY_PACKED",
            "value": "BYTE_STREAM_SPLIT",
        },
        write_statistics=True,
        row_group_size=1 << 20,
    )
    data: bytes = sink.getvalue().to_pybytes()
    return data


def digest_bytes(data: bytes | memoryview) -> str:
    """The xxh3-128 hex digest recorded for every segment (catches bit rot in ``verify``)."""
    return xxhash.xxh3_128_hexdigest(data)


def write_segment(
    metrics_dir: Path, name: SegmentName, table: pa.Table | SegmentColumns | KeyedColumns, *, durable: bool = True
) -> dict[str, Any]:
    """Seal ``table`` (a pyarrow table, or plain columns written without pyarrow) as segment
    ``name``; return its manifest record. ``durable=False``: the caller fsyncs the file and
    ``metrics_dir`` later, before it acknowledges anything (a run's first seal)."""
    data = encode_columns(table) if isinstance(table, (SegmentColumns, KeyedColumns)) else encode_table(table)
    refuse_link(metrics_dir)  # a planted metrics/ link never receives our segments
    atomic_write_bytes(metrics_dir / name.filename, data, durable=durable)
    return segment_record(data, table)


def segment_record(data: bytes, table: pa.Table | SegmentColumns | KeyedColumns) -> dict[str, Any]:
    if isinstance(table, (SegmentColumns, KeyedColumns)):
        fields = table.record_fields()
        return {"rows": fields["rows"], "bytes": len(data), "digest": digest_bytes(data),
                "min_step": fields["min_step"], "max_step": fields["max_step"]}
    import pyarrow.compute as pc

    steps = pc.min_max(table.column("step"))
    return {
        "rows": table.num_rows,
        "bytes": len(data),
        "digest": digest_bytes(data),
        "min_step": steps["min"].as_py(),
        "max_step": steps["max"].as_py(),
    }


def segment_problem(
    path: Path, size: int | None = None, digest: str | None = None, buffer: bytearray | None = None
) -> str | None:
    """Why a segment file is not sound, or None: the one check every reader, the index and
    ``verify`` make. A regular file (never a link) that is complete Parquet (``PAR1`` at both
    ends) and, when the manifest recorded them, of the recorded ``size`` and xxh3-128 ``digest``
    (streamed, so a large file is not held in memory)."""
    import os
    import stat

    from localtrack.storage.objects import hash_fd

    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return "segment is missing"
    except OSError as exc:
        return f"segment cannot be read ({exc.strerror or exc})"
    if not stat.S_ISREG(info.st_mode):
        return "segment is not a regular file (a link?); refusing to read it"
    if digest is not None or size is not None:
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            try:
                actual, actual_size = hash_fd(fd, buffer)
            finally:
                os.close(fd)
        except OSError as exc:
            return f"segment cannot be read ({exc.strerror or exc})"
        if digest is not None and actual != digest:
            return f"segment content hashes to {actual}, the manifest records {digest[:40]} (bit rot or tampering)"
        if size is not None and actual_size != size:
            return f"segment is {actual_size} bytes, the manifest records {size}"
    if not has_parquet_footer(path):
        return "segment is not a complete Parquet file (truncated or damaged)"
    return None


def small_segment_is_sound(path: Path | str, size: int, digest: str, buffer: bytearray) -> bool:
    """True when a segment that fits ``buffer`` is surely sound: one open (no link followed)
    and one read for what :func:`segment_problem` checks in three (regular file, recorded size
    and xxh3-128 digest, ``PAR1`` at both ends). False means only "not proved": the caller
    asks segment_problem, which words the problem."""
    import os
    import stat

    if not 12 <= size <= len(buffer):
        return False
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size != size:
            return False
        view = memoryview(buffer)
        read = os.readv(fd, [view[: size + 1]])  # one byte more: a file grown since fstat shows
    except OSError:
        return False
    finally:
        os.close(fd)
    data = view[:read]
    return (read == size and data[:4] == PARQUET_MAGIC and data[size - 4:] == PARQUET_MAGIC
            and digest_bytes(data) == digest)


def has_parquet_footer(path: Path) -> bool:
    """Cheap check that a file is a complete Parquet file (magic at both ends)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
            handle.seek(0, 2)
            size = handle.tell()
            if size < 12:
                return False
            handle.seek(size - 4)
            tail = handle.read(4)
    except OSError:
        return False
    return head == PARQUET_MAGIC and tail == PARQUET_MAGIC


def read_segments(paths: list[Path]) -> pa.Table:
    """Read and concatenate segment files (raises on a damaged one; callers report it)."""
    import pyarrow as pa

    from localtrack.storage.arrow_columns import empty_table, read_parquet

    tables = [read_parquet(p) for p in paths]
    if not tables:
        return empty_table(schema())
    return pa.concat_tables(tables)

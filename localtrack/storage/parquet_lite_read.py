"""The format :mod:`localtrack.storage.parquet_lite` writes: its fixed numbers, the columns
it holds (:class:`SegmentColumns`), and the reader of its files (:func:`decode`), for
compaction and the pure-Python search, without pyarrow.

The bytes may be hostile (a run folder can arrive through a git commit): every size is
checked against the bytes there, inflation stops at the size a page declares, and anything
not written by parquet_lite, or not readable at C speed, raises :class:`NotOurSegment`.
"""

from __future__ import annotations

import struct
import sys
import zlib
from array import array
from dataclasses import dataclass, field
from itertools import accumulate, islice, repeat
from operator import add
from typing import Any

CREATED_BY = "localtrack parquet_lite 2"
# Version 1 wrote one PLAIN/BYTE_STREAM_SPLIT page per column; version 2 one page per key
# (DELTA_BINARY_PACKED steps and times). decode() reads both.
_READABLE = (b"localtrack parquet_lite 1", CREATED_BY.encode())
MAGIC = b"PAR1"
_LITTLE = sys.byteorder == "little"

# parquet.thrift enums
_INT64, _DOUBLE, _BYTE_ARRAY = 2, 5, 6
_REQUIRED, _OPTIONAL = 0, 1
_PLAIN, _RLE, _DELTA_BINARY_PACKED, _RLE_DICTIONARY, _BYTE_STREAM_SPLIT = 0, 3, 5, 8, 9
_UNCOMPRESSED, _GZIP = 0, 2
_DATA_PAGE, _DICTIONARY_PAGE = 0, 2
_UTF8, _TIMESTAMP_MICROS = 0, 10

_BLOCK = 128  # DELTA_BINARY_PACKED: values per block, in 4 miniblocks of 32
_MINIBLOCK = 32


@dataclass
class SegmentColumns:
    """One segment's rows as plain columns: rows sorted by key, then step (then logging order).

    ``keys`` are the distinct keys in sorted order and ``key_counts[i]`` how many rows (in a
    row) have ``keys[i]``; the key column is those runs.
    """

    steps: array[int] = field(default_factory=lambda: array("q"))
    micros: array[int] = field(default_factory=lambda: array("q"))
    keys: list[str] = field(default_factory=list)
    key_counts: list[int] = field(default_factory=list)
    values: array[float] = field(default_factory=lambda: array("d"))

    @property
    def num_rows(self) -> int:
        return len(self.steps)

    def record_fields(self) -> dict[str, Any]:
        """What the manifest records about the rows (see ``segments.segment_record``)."""
        if not self.steps:
            return {"rows": 0, "min_step": None, "max_step": None}
        # Each key's steps ascend: its first and last rows hold its extremes (no pass over all rows).
        firsts, lasts, start = [], [], 0
        for count in self.key_counts:
            if count:
                firsts.append(self.steps[start])
                lasts.append(self.steps[start + count - 1])
            start += count
        return {"rows": self.num_rows, "min_step": min(firsts), "max_step": max(lasts)}

    def to_table(self) -> Any:
        """The same rows as a pyarrow table of the segment schema (imports pyarrow)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        from localtrack.storage import arrow_columns as columns_of
        from localtrack.storage.segments import schema

        indices = array("i")
        for index, count in enumerate(self.key_counts):
            indices.extend(array("i", [index]) * count)
        return pa.Table.from_arrays(
            [
                columns_of.int64(self.steps.tolist()),
                columns_of.int64(self.micros.tolist(), pa.timestamp("us", tz="UTC")),
                pc.take(columns_of.strings(self.keys), columns_of.int32(indices)),
                columns_of.float64(self.values.tolist()),
            ],
            schema=schema(),
        )


class NotOurSegment(ValueError):
    """The file was not written by this module (or is damaged): read it with pyarrow."""


MAX_PAGE_BYTES = 1 << 27  # a page holds one key of one segment: at most 8 bytes x 2M rows (compaction's bound)
MAX_ROWS = 1 << 24  # a segment holds at most ~2M rows (MAX_MERGED_ROWS); a footer claiming more is hostile
MAX_NESTING = 16  # thrift structs inside structs: this module writes 4 levels


class _Reader:
    """Thrift compact protocol, as much of it as this module writes, reading bytes that may be
    hostile (a run folder from a git commit): every size is checked against the bytes there."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos
        self.depth = 0

    def byte(self) -> int:
        value = self.data[self.pos]
        self.pos += 1
        return value

    def varint(self) -> int:
        shift = result = 0
        while True:
            byte = self.byte()
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7
            if shift > 70:
                raise NotOurSegment("varint too long")

    def zigzag(self) -> int:
        value = self.varint()
        return (value >> 1) ^ -(value & 1)

    def value(self, kind: int) -> Any:
        if kind in (1, 2):
            return kind == 1
        if kind == 3:
            return self.byte()
        if kind in (4, 5, 6):
            return self.zigzag()
        if kind == 8:
            size = self.varint()
            if size > len(self.data) - self.pos:
                raise NotOurSegment("binary field runs past the end")
            self.pos += size
            return self.data[self.pos - size : self.pos]
        if kind == 9:
            header = self.byte()
            size, elem = header >> 4, header & 0x0F
            if size == 15:
                size = self.varint()
            if size > len(self.data) - self.pos or elem in (1, 2):  # every element takes a byte or more
                raise NotOurSegment("list longer than the bytes left")
            return [self.value(elem) for _ in range(size)]
        if kind == 12:
            return self.struct()
        raise NotOurSegment(f"thrift type {kind} not written by {CREATED_BY}")

    def struct(self) -> dict[int, Any]:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise NotOurSegment("structs nested too deep")
        fields: dict[int, Any] = {}
        last = 0
        while True:
            header = self.byte()
            if header == 0:
                self.depth -= 1
                return fields
            kind, delta = header & 0x0F, header >> 4
            fid = last + delta if delta else self.zigzag()
            fields[fid] = self.value(kind)
            last = fid


def _page_body(data: bytes, chunk: dict[int, Any], offset: int) -> tuple[dict[int, Any], bytes, int]:
    reader = _Reader(data, offset)
    header = reader.struct()
    end = reader.pos + header[3]
    if not 0 <= header[2] <= MAX_PAGE_BYTES or not 0 <= header[3] <= len(data) - reader.pos:
        raise NotOurSegment("page size out of bounds")
    if chunk[4] == _GZIP:  # never inflate past the size the header declares (a bomb stops there)
        inflater = zlib.decompressobj(47)
        body = inflater.decompress(data[reader.pos : end], header[2] + 1)
    else:
        body = data[reader.pos : end]
    if len(body) != header[2]:
        raise NotOurSegment("page size does not match its header")
    return header, body, end


def _from_le(typecode: str, raw: bytes) -> array[Any]:
    buffer = array(typecode)
    buffer.frombytes(raw)
    if not _LITTLE:
        buffer.byteswap()
    return buffer


def decode(data: bytes) -> SegmentColumns:
    """The columns of a segment this module wrote; raises :class:`NotOurSegment` otherwise."""
    try:
        if data[:4] != MAGIC or data[-4:] != MAGIC:
            raise NotOurSegment("not a Parquet file")
        size = struct.unpack("<I", data[-8:-4])[0]
        meta = _Reader(data, len(data) - 8 - size).struct()
        if meta.get(6) not in _READABLE or len(meta[4]) != 1:
            raise NotOurSegment(f"not written by {CREATED_BY}")
        rows = meta[3]
        if not 0 <= rows <= MAX_ROWS:
            raise NotOurSegment("row count out of bounds")
        chunks = {bytes(c[3][3][0]).decode(): c[3] for c in meta[4][0][1]}
        steps = _int64_column(data, chunks["step"], rows)
        micros = _int64_column(data, chunks["timestamp"], rows)
        _, dictionary, _ = _page_body(data, chunks["key"], chunks["key"][11])
        keys: list[str] = []
        reader = _Reader(dictionary)
        while reader.pos < len(dictionary):
            length = struct.unpack_from("<I", dictionary, reader.pos)[0]
            keys.append(dictionary[reader.pos + 4 : reader.pos + 4 + length].decode("utf-8"))
            reader.pos += 4 + length
        _, indices, _ = _page_body(data, chunks["key"], chunks["key"][9])
        counts = [0] * len(keys)
        byte_width = (indices[0] + 7) // 8
        reader = _Reader(indices, 1)
        while reader.pos < len(indices):
            header = reader.varint()
            if header & 1:
                raise NotOurSegment("bit-packed run")
            counts[int.from_bytes(indices[reader.pos : reader.pos + byte_width], "little")] += header >> 1
            reader.pos += byte_width
        values = array("d")
        for encoding, count, body in _data_pages(data, chunks["value"], rows):
            if encoding != _BYTE_STREAM_SPLIT:
                raise NotOurSegment("value page not BYTE_STREAM_SPLIT")
            values += _split_doubles(body, count)
    except NotOurSegment:
        raise
    except (IndexError, KeyError, TypeError, ValueError, OverflowError, struct.error, zlib.error,
            UnicodeDecodeError) as exc:
        raise NotOurSegment(f"damaged segment: {exc}") from exc
    if len(steps) != rows or len(micros) != rows or len(values) != rows or sum(counts) != rows:
        raise NotOurSegment("columns differ in length")
    return SegmentColumns(steps, micros, keys, counts, values)


def _data_pages(data: bytes, chunk: dict[int, Any], rows: int) -> list[tuple[int, int, bytes]]:
    """(encoding, value count, body) of each data page of a column chunk, until ``rows``."""
    pages: list[tuple[int, int, bytes]] = []
    pos, got = chunk[9], 0
    while True:
        header, body, pos = _page_body(data, chunk, pos)
        count = header[5][1]
        if not 0 <= count <= rows - got:
            raise NotOurSegment("page value count out of bounds")
        pages.append((header[5][2], count, body))
        got += count
        if got == rows:
            return pages
        if count == 0:
            raise NotOurSegment("empty data page")


def _split_doubles(body: bytes, count: int) -> array[float]:
    """A value page's doubles: one RLE run of definition level 1 (no nulls), byte planes."""
    levels = struct.unpack_from("<I", body)[0]
    run = _Reader(body[4 : 4 + levels]).varint()
    if run & 1 or run >> 1 != count:
        raise NotOurSegment("value column has nulls")
    split = body[4 + levels :]
    if len(split) != 8 * count:
        raise NotOurSegment("value page size does not match its count")
    raw = bytearray(len(split))
    for i in range(8):
        raw[i::8] = split[i * count : (i + 1) * count]
    return _from_le("d", bytes(raw))


def _int64_column(data: bytes, chunk: dict[int, Any], rows: int) -> array[int]:
    column = array("q")
    for encoding, count, body in _data_pages(data, chunk, rows):
        if encoding == _PLAIN:
            part = _from_le("q", body)
        elif encoding == _DELTA_BINARY_PACKED:
            part = _undelta(body, count)
        else:
            raise NotOurSegment(f"int64 page encoding {encoding} not written by {CREATED_BY}")
        if len(part) != count:
            raise NotOurSegment("page length does not match its count")
        column += part
    return column


_UNPACK = {8: "B", 16: "H", 32: "I", 64: "Q"}


def _undelta(body: bytes, count: int) -> array[int]:
    """Values of a DELTA_BINARY_PACKED page as :func:`_delta_binary_packed` writes it
    (blocks of 128, 4 miniblocks, byte-aligned widths); anything else is refused."""
    reader = _Reader(body)
    if (reader.varint(), reader.varint(), reader.varint()) != (_BLOCK, _BLOCK // _MINIBLOCK, count):
        raise NotOurSegment("delta page header not written by this module")
    if count == 0:
        return array("q")
    first = reader.zigzag()
    deltas: list[int] = []
    remaining = count - 1
    while remaining > 0:
        low = reader.zigzag()
        widths = body[reader.pos : reader.pos + 4]
        if len(widths) != 4:
            raise NotOurSegment("delta block runs past the page")
        reader.pos += 4
        for width in widths:
            if remaining <= 0:
                break
            used = min(_MINIBLOCK, remaining)
            if width == 0:
                deltas.extend(repeat(low, used))
            else:
                size = _MINIBLOCK * width // 8
                packed = array(_UNPACK[width])
                packed.frombytes(body[reader.pos : reader.pos + size])
                if len(packed) != _MINIBLOCK:
                    raise NotOurSegment("delta miniblock runs past the page")
                if not _LITTLE:
                    packed.byteswap()
                reader.pos += size
                deltas.extend(map(add, islice(packed, used), repeat(low)))
            remaining -= used
    return array("q", accumulate(deltas, initial=first))

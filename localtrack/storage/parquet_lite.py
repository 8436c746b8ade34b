"""A small pure-Python Parquet writer (and reader of its own files) for metric segments.

Importing pyarrow costs a fresh process ~0.3 s, more than a short run and a quarter of a
1M-point one. This module writes the one fixed segment schema (``step`` int64,
``timestamp`` timestamp[us, UTC], ``key`` string, ``value`` float64 nullable; see
:func:`localtrack.storage.segments.schema`) with the standard library only, for seals and
merges of any size, as a file pyarrow and duckdb read back to the same table, schema
included (tests/store pins it), no larger than pyarrow's.

The layout is deliberately simple, so that encoding and decoding are C-level work
(``array``, ``zlib``, bytes slicing), never a Python loop per row:

- one row group; one data page (v1) per key in every column but ``key``, GZIP compressed
  (below 20,000 rows: one page per column, ``step`` and ``timestamp`` PLAIN);
- ``step`` and ``timestamp``: DELTA_BINARY_PACKED with byte-aligned widths only (packing is
  an ``array`` copy; constant-stride steps pack to nothing); a key whose rows equal the
  previous key's (one seal's block: all its keys share steps and times) reuses its page;
- ``value``: BYTE_STREAM_SPLIT float64, each byte plane deflated in turn (noise stored),
  definition levels as one RLE run (the writer never logs a null);
- ``key``: a dictionary page (PLAIN) and RLE_DICTIONARY indices, one RLE run per key (rows
  are sorted by key, then step).

:func:`decode` reads back only files this module wrote (``created_by`` names it), which is all
compaction needs, and all the pure-Python search reads.
"""

from __future__ import annotations

import struct
import sys
import zlib
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate, islice, repeat
from operator import add, sub
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

# thrift compact protocol types
_T_TRUE, _T_I32, _T_I64, _T_BINARY, _T_LIST, _T_STRUCT = 1, 5, 6, 8, 9, 12


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


# ---------------------------------------------------------------------------- thrift compact
def _varint(value: int, out: bytearray) -> None:
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def _zigzag(value: int) -> int:
    return (value << 1) ^ (value >> 63)


class _Struct:
    """Writes one thrift compact-protocol struct; fields must be added in increasing id order."""

    def __init__(self, out: bytearray) -> None:
        self.out = out
        self.last = 0

    def _header(self, fid: int, kind: int) -> None:
        delta = fid - self.last
        if 0 < delta <= 15:
            self.out.append((delta << 4) | kind)
        else:
            self.out.append(kind)
            _varint(_zigzag(fid), self.out)
        self.last = fid

    def i32(self, fid: int, value: int) -> _Struct:
        self._header(fid, _T_I32)
        _varint(_zigzag(value), self.out)
        return self

    def i64(self, fid: int, value: int) -> _Struct:
        self._header(fid, _T_I64)
        _varint(_zigzag(value), self.out)
        return self

    def true(self, fid: int) -> _Struct:
        self._header(fid, _T_TRUE)
        return self

    def binary(self, fid: int, value: bytes) -> _Struct:
        self._header(fid, _T_BINARY)
        _varint(len(value), self.out)
        self.out += value
        return self

    def struct(self, fid: int) -> _Struct:
        self._header(fid, _T_STRUCT)
        return _Struct(self.out)

    def list(self, fid: int, kind: int, size: int) -> None:
        self._header(fid, _T_LIST)
        _list_header(kind, size, self.out)

    def end(self) -> None:
        self.out.append(0)


def _list_header(kind: int, size: int, out: bytearray) -> None:
    if size < 15:
        out.append((size << 4) | kind)
    else:
        out.append(0xF0 | kind)
        _varint(size, out)


# ---------------------------------------------------------------------------- encoding
def _le(buffer: array[Any]) -> bytes:
    if not _LITTLE:
        buffer = array(buffer.typecode, buffer)
        buffer.byteswap()
    return buffer.tobytes()


_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, no mtime
_PROBE_BYTES = 4096  # a stream longer than 4x this is sampled first: noise is stored, not deflated
_LEVEL = 4  # beats pyarrow's zstd level 3 on these streams (bytes), about as fast once noise is stored


def _gzip(streams: Sequence[bytes]) -> bytes:
    """The gzip container Parquet's GZIP codec names, around one raw deflate stream of
    ``streams`` in turn.

    Each stream gets its own deflater, sync-flushed (byte-aligned, non-final blocks) before
    the next starts: still one valid deflate stream. A value page's streams are its
    BYTE_STREAM_SPLIT byte planes: the sign/exponent planes compress well, the low mantissa
    planes of noisy floats not at all, and deflate is slowest on what it cannot compress. So
    the first 4 KB of a long stream are deflated and flushed alone: if they did not shrink to
    90%, the rest is appended as stored blocks (a memory copy). The window is just larger
    than the data: a short run's page is a few KB, where deflate's setup (a 32 KB window and
    its hash) costs more than compressing it."""
    total = sum(len(s) for s in streams)
    level = _LEVEL
    if total <= 4 * _PROBE_BYTES:  # small: one deflater beats nine setups, level 1 its slower levels
        streams, level = [b"".join(streams)], 1
    bits = min(15, max(9, total.bit_length() + 1))
    memory = 8 if bits == 15 else max(1, bits - 8)
    out = [_GZIP_HEADER]
    crc = 0
    last = len(streams) - 1
    for index, data in enumerate(streams):
        ending = zlib.Z_FINISH if index == last else zlib.Z_SYNC_FLUSH
        packer = zlib.compressobj(level, zlib.DEFLATED, -bits, memory)
        if len(data) > 4 * _PROBE_BYTES:
            head = packer.compress(data[:_PROBE_BYTES]) + packer.flush(zlib.Z_SYNC_FLUSH)
            out.append(head)
            if len(head) > 0.9 * _PROBE_BYTES:
                out.append(_stored_blocks(data[_PROBE_BYTES:], final=index == last))
            else:
                out.append(packer.compress(data[_PROBE_BYTES:]))
                out.append(packer.flush(ending))
        else:
            out.append(packer.compress(data))
            out.append(packer.flush(ending))
        crc = zlib.crc32(data, crc)
    if not streams:
        out.append(_stored_blocks(b"", final=True))
    out.append(struct.pack("<II", crc, total & 0xFFFFFFFF))
    return b"".join(out)


def _stored_blocks(data: bytes, *, final: bool) -> bytes:
    """``data`` as deflate stored blocks (at a byte boundary: after a sync flush, or first)."""
    out = []
    size = len(data)
    for start in range(0, max(size, 1), 65535):
        part = data[start : start + 65535]
        out.append(b"\x01" if final and start + 65535 >= size else b"\x00")
        out.append(struct.pack("<HH", len(part), len(part) ^ 0xFFFF))
        out.append(part)
    return b"".join(out)


def _rle_runs(runs: Sequence[tuple[int, int]], byte_width: int) -> bytes:
    """RLE/bit-packing hybrid, RLE runs only: (count, value) pairs."""
    out = bytearray()
    for count, value in runs:
        if count:
            _varint(count << 1, out)
            out += value.to_bytes(byte_width, "little")
    return bytes(out)


def _byte_planes(raw: bytes, width: int) -> list[bytes]:
    """BYTE_STREAM_SPLIT: byte ``i`` of every value, for each ``i``, in turn (concatenated)."""
    return [raw[i::width] for i in range(width)]


_BLOCK = 128  # DELTA_BINARY_PACKED: values per block, in 4 miniblocks of 32
_MINIBLOCK = 32
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
# Byte-aligned bit widths only, so bit packing is array.tobytes() (LSB first = little-endian):
# the (width, array typecode) for a block whose largest adjusted delta has n bits.
_WIDTH_FOR_BITS = [(0, "")] + [(8, "B")] * 8 + [(16, "H")] * 8 + [(32, "I")] * 16 + [(64, "Q")] * 32


def _delta_binary_packed(values: array[int]) -> bytes | None:
    """DELTA_BINARY_PACKED bytes for int64 ``values`` (a key's steps: width 0; its timestamps:
    mostly 8 bits, deflated after), or None when a delta leaves int64 (the page stays PLAIN).

    Every miniblock of a block has the block's width, one of 0/8/16/32/64 bits, so packing is
    a C-level array copy; one minimum delta serves the whole page."""
    count = len(values)
    out = bytearray()
    _varint(_BLOCK, out)
    _varint(_BLOCK // _MINIBLOCK, out)
    _varint(count, out)
    if count == 0:
        _varint(0, out)
        return bytes(out)
    first = values[0]
    _varint(_zigzag(first), out)
    if count == 1:
        return bytes(out)
    blocks = (count - 1 + _BLOCK - 1) // _BLOCK
    stride = values[1] - first
    if (
        _INT64_MIN <= stride <= _INT64_MAX
        and _INT64_MIN <= first + stride * (count - 1) <= _INT64_MAX
        and values == array("q", range(first, first + stride * count, stride) if stride else [first] * count)
    ):  # constant stride (steps): every width is 0, no packed bytes at all
        block_head = bytearray()
        _varint(_zigzag(stride), block_head)
        return bytes(out) + bytes(block_head + b"\0\0\0\0") * blocks
    as_list = values.tolist()
    deltas = list(map(sub, islice(as_list, 1, None), as_list))
    low, high = min(deltas), max(deltas)
    if low < _INT64_MIN or high > _INT64_MAX:  # the format computes deltas in int64
        return None
    if low > 0 and _WIDTH_FOR_BITS[high.bit_length()] == _WIDTH_FOR_BITS[(high - low).bit_length()]:
        low = 0  # the same widths without subtracting: one pass fewer
    header = bytearray()
    _varint(_zigzag(low), header)
    head = bytes(header)
    adjusted = list(map(sub, deltas, repeat(low))) if low else deltas
    parts = [bytes(out)]
    tail = len(adjusted) - _BLOCK  # blocks before this one are full
    for start in range(0, len(adjusted), _BLOCK):
        chunk = adjusted[start : start + _BLOCK]
        width, code = _WIDTH_FOR_BITS[max(chunk).bit_length()]
        parts.append(head)
        if start < tail:
            parts.append(bytes((width, width, width, width)))
        else:
            used = (len(chunk) + _MINIBLOCK - 1) // _MINIBLOCK
            parts.append(bytes([width]) * used + bytes(_BLOCK // _MINIBLOCK - used))
            chunk += [0] * (used * _MINIBLOCK - len(chunk))  # pad the last miniblock
        if width:
            packed = array(code, chunk)
            if not _LITTLE:
                packed.byteswap()
            parts.append(packed.tobytes())
    return b"".join(parts)


def _page(
    out: bytearray, streams: Sequence[bytes], num_values: int, encoding: int, *, dictionary: bool = False,
    compress: bool = True,
) -> tuple[int, int]:
    """Append one page (its body is ``streams`` in turn; gzip-compressed if ``compress``);
    return (its offset, its uncompressed size incl. header)."""
    offset = len(out)
    size = sum(len(s) for s in streams)
    compressed = _gzip(streams) if compress else b"".join(streams)
    header = bytearray()
    page = _Struct(header).i32(1, _DICTIONARY_PAGE if dictionary else _DATA_PAGE)
    page.i32(2, size).i32(3, len(compressed))
    if dictionary:
        inner = page.struct(7)
        inner.i32(1, num_values).i32(2, _PLAIN)
    else:
        inner = page.struct(5)
        inner.i32(1, num_values).i32(2, encoding).i32(3, _RLE).i32(4, _RLE)
    inner.end()
    page.end()
    out += header
    out += compressed
    return offset, len(header) + size


def _int64_pages(out: bytearray, column: array[int], runs: list[tuple[int, int]], delta: bool) -> tuple[list[tuple[int, int]], set[int]]:
    """One DELTA_BINARY_PACKED page per key (PLAIN if a delta leaves int64); returns each
    page's (offset, uncompressed size) and the encodings used. A key whose rows equal an
    earlier key's (a block's steps and times are every one of its keys') copies that key's
    encoded page instead of encoding it again."""
    pages: list[tuple[int, int]] = []
    encodings: set[int] = set()
    done: list[tuple[bytes, bytes, int, int]] = []  # (rows' bytes, page, its size, encoding)
    for start, end in runs:
        part = column[start:end]
        raw = part.tobytes()
        known = next((entry for entry in done if entry[0] == raw), None)  # bytes ==: a memcmp
        if known is None:
            body = _delta_binary_packed(part) if delta else None
            encoding = _DELTA_BINARY_PACKED if body is not None else _PLAIN
            scratch = bytearray()
            _, size = _page(scratch, [body if body is not None else _le(part)], end - start, encoding)
            known = (raw, bytes(scratch), size, encoding)
            done.append(known)
        _, page, size, encoding = known
        encodings.add(encoding)
        pages.append((len(out), size))
        out += page
    return pages, encodings


PAGE_PER_KEY_ROWS = 20_000


def _key_runs(columns: SegmentColumns) -> list[tuple[int, int]]:
    """(start, end) row range of each key; one empty range for an empty segment."""
    runs: list[tuple[int, int]] = []
    start = 0
    for count in columns.key_counts:
        runs.append((start, start + count))
        start += count
    return runs or [(0, 0)]


def encode(columns: SegmentColumns) -> bytes:
    """Parquet bytes for ``columns`` (see the module docstring for the layout)."""
    rows = columns.num_rows
    if sum(columns.key_counts) != rows or len(columns.micros) != rows or len(columns.values) != rows:
        raise ValueError("segment columns differ in length")
    out = bytearray(MAGIC)
    chunks: list[dict[str, Any]] = []
    # A page per key and DELTA_BINARY_PACKED pay off in a long seal (keys share their steps'
    # and times' page; each key's byte planes deflate apart); a short run's seal is format 1's
    # layout (one page per column, PLAIN steps and times): there, encoding costs more than the
    # bytes it would save.
    long = rows >= PAGE_PER_KEY_ROWS
    runs = _key_runs(columns) if long else [(0, rows)]

    def chunk(name: str, kind: int, encodings: list[int], pages: list[tuple[int, int]], start: int, uncompressed: int,
              dict_offset: int | None = None, codec: int = _GZIP) -> None:
        chunks.append({"name": name, "type": kind, "encodings": encodings, "data_offset": pages[-1][0] if dict_offset is not None else pages[0][0],
                       "dict_offset": dict_offset, "start": start, "size": len(out) - start,
                       "uncompressed": uncompressed, "codec": codec})

    for name, buffer in (("step", columns.steps), ("timestamp", columns.micros)):
        start = len(out)
        pages, used = _int64_pages(out, buffer, runs, delta=long)
        chunk(name, _INT64, sorted(used), pages, start, sum(size for _, size in pages))

    start = len(out)
    dictionary = bytearray()
    for key in columns.keys:
        encoded = key.encode("utf-8")
        dictionary += struct.pack("<I", len(encoded))
        dictionary += encoded
    # The key column is a few bytes per key (its names, one RLE run each): not worth a codec.
    dict_page = _page(out, [bytes(dictionary)], len(columns.keys), _PLAIN, dictionary=True, compress=False)
    bit_width = max(1, (len(columns.keys) - 1).bit_length())
    indices = bytes([bit_width]) + _rle_runs(list(zip(columns.key_counts, range(len(columns.keys)), strict=True)), (bit_width + 7) // 8)
    data_page = _page(out, [indices], rows, _RLE_DICTIONARY, compress=False)
    chunk("key", _BYTE_ARRAY, [_PLAIN, _RLE, _RLE_DICTIONARY], [dict_page, data_page], start,
          dict_page[1] + data_page[1], dict_page[0], _UNCOMPRESSED)

    start = len(out)
    sizes = 0
    value_pages = []
    for first, end in runs:  # one page per key: its definition levels (one run), its byte planes
        levels = _rle_runs([(end - first, 1)], 1)
        planes = _byte_planes(_le(columns.values[first:end]), 8)
        offset, size = _page(out, [struct.pack("<I", len(levels)) + levels, *planes], end - first, _BYTE_STREAM_SPLIT)
        value_pages.append((offset, size))
        sizes += size
    chunk("value", _DOUBLE, [_RLE, _BYTE_STREAM_SPLIT], value_pages, start, sizes)

    footer = _file_metadata(rows, chunks)
    out += footer
    out += struct.pack("<I", len(footer))
    out += MAGIC
    return bytes(out)


def _schema_prefix() -> bytes:
    """FileMetaData's fields 1 (version) and 2 (the schema): the same in every segment."""
    out = bytearray()
    meta = _Struct(out).i32(1, 2)  # version 2: logical types
    meta.list(2, _T_STRUCT, 5)
    _Struct(out).binary(4, b"schema").i32(5, 4).end()
    for name, kind, repetition in (("step", _INT64, _REQUIRED), ("timestamp", _INT64, _REQUIRED),
                                   ("key", _BYTE_ARRAY, _REQUIRED), ("value", _DOUBLE, _OPTIONAL)):
        element = _Struct(out).i32(1, kind).i32(3, repetition).binary(4, name.encode())
        if name == "timestamp":
            element.i32(6, _TIMESTAMP_MICROS)
            logical = element.struct(10)
            timestamp = logical.struct(8)
            timestamp.true(1)  # isAdjustedToUTC
            unit = timestamp.struct(2)
            unit.struct(2).end()  # MICROS
            unit.end()
            timestamp.end()
            logical.end()
        elif name == "key":
            element.i32(6, _UTF8)
            logical = element.struct(10)
            logical.struct(1).end()  # STRING
            logical.end()
        element.end()
    return bytes(out)


_SCHEMA_PREFIX = _schema_prefix()


def _file_metadata(rows: int, chunks: list[dict[str, Any]]) -> bytes:
    out = bytearray(_SCHEMA_PREFIX)
    meta = _Struct(out)
    meta.last = 2  # fields 1 (version) and 2 (schema) are in the prefix
    meta.i64(3, rows)
    meta.list(4, _T_STRUCT, 1)
    group = _Struct(out)
    group.list(1, _T_STRUCT, len(chunks))
    for info in chunks:
        column = _Struct(out).i64(2, info["start"])
        data = column.struct(3)
        data.i32(1, info["type"])
        data.list(2, _T_I32, len(info["encodings"]))
        for encoding in info["encodings"]:
            _varint(_zigzag(encoding), out)
        data.list(3, _T_BINARY, 1)
        _varint(len(info["name"]), out)
        out += info["name"].encode()
        data.i32(4, info["codec"]).i64(5, rows).i64(6, info["uncompressed"]).i64(7, info["size"]).i64(9, info["data_offset"])
        if info["dict_offset"] is not None:
            data.i64(11, info["dict_offset"])
        data.end()
        column.end()
    group.i64(2, sum(info["uncompressed"] for info in chunks)).i64(3, rows).end()
    meta.binary(6, CREATED_BY.encode())
    meta.end()
    return bytes(out)


# ---------------------------------------------------------------------------- decoding (own files)
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


def merge(parts: list[SegmentColumns]) -> SegmentColumns:
    """Consecutive segments of one writer as one: rows sorted by key, then step, with ties in
    the order of ``parts`` (as compaction's stable sort of their concatenation)."""
    pieces: dict[str, list[tuple[SegmentColumns, int, int]]] = {}
    for part in parts:
        start = 0
        for key, count in zip(part.keys, part.key_counts, strict=True):
            pieces.setdefault(key, []).append((part, start, start + count))
            start += count
    merged = SegmentColumns()
    for key in sorted(pieces):
        steps, micros, values = array("q"), array("q"), array("d")
        ordered = True  # each piece is step-sorted: only where two meet can the order break
        for part, start, end in pieces[key]:
            if steps and start < end and steps[-1] > part.steps[start]:
                ordered = False
            steps += part.steps[start:end]
            micros += part.micros[start:end]
            values += part.values[start:end]
        if not ordered:
            order = sorted(range(len(steps)), key=steps.__getitem__)  # stable: ties keep part order
            steps = array("q", [steps[i] for i in order])
            micros = array("q", [micros[i] for i in order])
            values = array("d", [values[i] for i in order])
        merged.steps += steps
        merged.micros += micros
        merged.values += values
        merged.keys.append(key)
        merged.key_counts.append(len(steps))
    return merged

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
  an ``array`` copy; constant-stride steps pack to nothing; for values that never decrease,
  the deltas come from one big-integer subtraction, see :func:`_ascending_blocks`); a key
  whose rows are an earlier key's (one seal's block: all its keys share steps and times,
  the very arrays in a :class:`KeyedColumns`) reuses its page;
- ``value``: BYTE_STREAM_SPLIT float64, each byte plane deflated in turn (noise stored),
  definition levels as one RLE run (the writer never logs a null);
- ``key``: a dictionary page (PLAIN) and RLE_DICTIONARY indices, one RLE run per key (rows
  are sorted by key, then step).

:func:`decode` (in :mod:`localtrack.storage.parquet_lite_read`, with the format's constants
and :class:`SegmentColumns`) reads back only files this module wrote (``created_by`` names it),
which is all compaction needs, and all the pure-Python search reads.
"""

from __future__ import annotations

import struct
import zlib
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import islice, repeat
from operator import sub
from typing import Any, Union

from localtrack.storage.parquet_lite_read import (
    _BLOCK,
    _BYTE_ARRAY,
    _BYTE_STREAM_SPLIT,
    _DATA_PAGE,
    _DELTA_BINARY_PACKED,
    _DICTIONARY_PAGE,
    _DOUBLE,
    _GZIP,
    _INT64,
    _LITTLE,
    _MINIBLOCK,
    _OPTIONAL,
    _PLAIN,
    _REQUIRED,
    _RLE,
    _RLE_DICTIONARY,
    _TIMESTAMP_MICROS,
    _UNCOMPRESSED,
    _UTF8,
    CREATED_BY,
    MAGIC,
    NotOurSegment,
    SegmentColumns,
    decode,
)

__all__ = ["CREATED_BY", "MAGIC", "KeyedColumns", "NotOurSegment", "SegmentColumns", "decode", "encode", "merge"]


@dataclass
class KeyedColumns:
    """A seal's rows as one piece per key, in key order: ``pieces[i]`` is key ``keys[i]``'s
    (steps, micros, values), its steps ascending. Pieces may share their steps and micros
    arrays (one seal's block: all its keys have the same rows), and :func:`encode` then
    encodes that page once, without comparing bytes; nothing is concatenated.
    """

    keys: list[str] = field(default_factory=list)
    pieces: list[tuple[array[int], array[int], array[float]]] = field(default_factory=list)

    @property
    def num_rows(self) -> int:
        return sum(len(piece[0]) for piece in self.pieces)

    def record_fields(self) -> dict[str, Any]:
        """What the manifest records about the rows (as :meth:`SegmentColumns.record_fields`)."""
        used = [steps for steps, _, _ in self.pieces if steps]
        if not used:
            return {"rows": 0, "min_step": None, "max_step": None}
        return {"rows": self.num_rows, "min_step": min(s[0] for s in used), "max_step": max(s[-1] for s in used)}

    def to_columns(self) -> SegmentColumns:
        """The same rows as whole columns (one copy of each)."""
        columns = SegmentColumns()
        columns.steps.frombytes(b"".join(piece[0].tobytes() for piece in self.pieces))
        columns.micros.frombytes(b"".join(piece[1].tobytes() for piece in self.pieces))
        columns.values.frombytes(b"".join(piece[2].tobytes() for piece in self.pieces))
        columns.keys = list(self.keys)
        columns.key_counts = [len(piece[0]) for piece in self.pieces]
        return columns

    def to_table(self) -> Any:
        """The same rows as a pyarrow table of the segment schema (imports pyarrow)."""
        return self.to_columns().to_table()


Columns = Union[SegmentColumns, KeyedColumns]

# thrift compact protocol types
_T_TRUE, _T_I32, _T_I64, _T_BINARY, _T_LIST, _T_STRUCT = 1, 5, 6, 8, 9, 12


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


_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
# Byte-aligned bit widths only, so bit packing is array.tobytes() (LSB first = little-endian):
# the (width, array typecode) for a block whose largest adjusted delta has n bits.
_WIDTH_FOR_BITS = [(0, "")] + [(8, "B")] * 8 + [(16, "H")] * 8 + [(32, "I")] * 16 + [(64, "Q")] * 32


_LOW_HALF = bytes(range(128))  # the bytes whose top bit is clear (deleted by translate: what is left is not)


def _delta_binary_packed(values: array[int]) -> bytes | None:
    """DELTA_BINARY_PACKED bytes for int64 ``values`` (a key's steps: width 0; its timestamps:
    mostly 8 bits, deflated after), or None when a delta leaves int64 (the page stays PLAIN).

    Every miniblock of a block has the block's width, one of 0/8/16/32/64 bits, so packing is
    a C-level copy; one minimum delta serves the whole page."""
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
    if _LITTLE and count > _BLOCK:
        fast = _ascending_blocks(values, count, blocks)
        if fast is not None:
            return bytes(out) + fast
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


def _ascending_blocks(values: array[int], count: int, blocks: int) -> bytes | None:
    """:func:`_delta_binary_packed`'s blocks (the same bytes) for values that are all >= 0 and
    never decrease (steps, timestamps), computed without a Python-level pass per value; None
    for any other values (then the general way decides).

    The deltas come all at once from one big-integer subtraction: the rows after the first
    minus the rows before the last, each an 8-byte little-endian lane. Every value is >= 0,
    so every delta is in (-2**63, 2**63); when the difference's lanes all have their top bit
    clear, no lane borrowed from the next (the base-2**64 digits are unique) and they are
    exactly the deltas. Narrow widths are strided views of those lanes."""
    raw = values.tobytes()
    if raw[7::8].translate(None, _LOW_HALF):  # a value below 0
        return None
    size = 8 * (count - 1)
    diff = int.from_bytes(raw[8:], "little") - int.from_bytes(raw[:-8], "little")
    if diff < 0:
        return None
    lanes = diff.to_bytes(size, "little")
    if lanes[7::8].translate(None, _LOW_HALF):  # a delta below 0: the values stepped back
        return None
    if lanes == lanes[:8] * (count - 1):  # constant stride (steps): every width is 0, no packed bytes at all
        block_head = bytearray()
        _varint(_zigzag(int.from_bytes(lanes[:8], "little")), block_head)
        return bytes(block_head + b"\0\0\0\0") * blocks
    deltas = memoryview(lanes).cast("Q")
    n = count - 1
    tops = [max(deltas[start : start + _BLOCK]) for start in range(0, n, _BLOCK)]
    low, high = min(deltas), max(tops)
    if low > 0 and _WIDTH_FOR_BITS[high.bit_length()] == _WIDTH_FOR_BITS[(high - low).bit_length()]:
        low = 0  # the same widths without subtracting (as the general way)
    if low:  # every lane minus low: still >= 0, so again no lane borrows
        lanes = (diff - low * int.from_bytes((b"\x01" + bytes(7)) * n, "little")).to_bytes(size, "little")
    view = memoryview(lanes)
    narrow: dict[int, Any] = {8: lanes[0::8], 16: view.cast("H")[::4], 32: view.cast("I")[::2], 64: view.cast("Q")}
    header = bytearray()
    _varint(_zigzag(low), header)
    head = bytes(header)
    parts = []
    tail = n - _BLOCK  # blocks before this one are full
    for index, start in enumerate(range(0, n, _BLOCK)):
        end = min(start + _BLOCK, n)
        width = _WIDTH_FOR_BITS[(tops[index] - low).bit_length()][0]
        parts.append(head)
        if start < tail:
            parts.append(bytes((width, width, width, width)))
        else:
            used = (end - start + _MINIBLOCK - 1) // _MINIBLOCK
            parts.append(bytes([width]) * used + bytes(_BLOCK // _MINIBLOCK - used))
        if width:
            packed = narrow[width][start:end]
            parts.append(packed if width == 8 else packed.tobytes())
            if start >= tail:
                parts.append(bytes((used * _MINIBLOCK - (end - start)) * width // 8))  # pad the last miniblock
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


def _int64_pages(out: bytearray, parts: Sequence[array[int]], delta: bool) -> tuple[list[tuple[int, int]], set[int]]:
    """One DELTA_BINARY_PACKED page per part (a key's rows; PLAIN if a delta leaves int64);
    returns each page's (offset, uncompressed size) and the encodings used. A part that is
    an earlier part's array, or has its bytes (a block's steps and times are every one of its
    keys'), copies that part's encoded page instead of encoding it again."""
    pages: list[tuple[int, int]] = []
    encodings: set[int] = set()
    by_id: dict[int, tuple[bytes, int, int]] = {}  # id(part) -> (page, its size, encoding)
    by_bytes: dict[bytes, tuple[bytes, int, int]] = {}
    for part in parts:
        known = by_id.get(id(part))
        if known is None:
            raw = part.tobytes()
            known = by_bytes.get(raw)
            if known is None:
                body = _delta_binary_packed(part) if delta else None
                encoding = _DELTA_BINARY_PACKED if body is not None else _PLAIN
                scratch = bytearray()
                _, size = _page(scratch, [body if body is not None else _le(part)], len(part), encoding)
                known = by_bytes[raw] = (bytes(scratch), size, encoding)
            by_id[id(part)] = known
        page, size, encoding = known
        encodings.add(encoding)
        pages.append((len(out), size))
        out += page
    return pages, encodings


PAGE_PER_KEY_ROWS = 20_000


def encode(columns: Columns) -> bytes:
    """Parquet bytes for ``columns`` (see the module docstring for the layout)."""
    rows = columns.num_rows
    # A page per key and DELTA_BINARY_PACKED pay off in a long seal (keys share their steps'
    # and times' page; each key's byte planes deflate apart); a short run's seal is format 1's
    # layout (one page per column, PLAIN steps and times): there, encoding costs more than the
    # bytes it would save.
    long = rows >= PAGE_PER_KEY_ROWS
    if isinstance(columns, KeyedColumns):
        if not long:
            return encode(columns.to_columns())
        keys = columns.keys
        counts = [len(piece[0]) for piece in columns.pieces]
        pieces = columns.pieces
        for steps, micros, values in pieces:
            if len(micros) != len(steps) or len(values) != len(steps):
                raise ValueError("segment columns differ in length")
    else:
        if sum(columns.key_counts) != rows or len(columns.micros) != rows or len(columns.values) != rows:
            raise ValueError("segment columns differ in length")
        keys, counts = columns.keys, columns.key_counts
        if long:
            pieces = []
            start = 0
            for count in counts:
                end = start + count
                pieces.append((columns.steps[start:end], columns.micros[start:end], columns.values[start:end]))
                start = end
        else:
            pieces = [(columns.steps, columns.micros, columns.values)]
    if not pieces:  # an empty segment: one empty page per column
        pieces = [(array("q"), array("q"), array("d"))]
    out = bytearray(MAGIC)
    chunks: list[dict[str, Any]] = []

    def chunk(name: str, kind: int, encodings: list[int], pages: list[tuple[int, int]], start: int, uncompressed: int,
              dict_offset: int | None = None, codec: int = _GZIP) -> None:
        chunks.append({"name": name, "type": kind, "encodings": encodings, "data_offset": pages[-1][0] if dict_offset is not None else pages[0][0],
                       "dict_offset": dict_offset, "start": start, "size": len(out) - start,
                       "uncompressed": uncompressed, "codec": codec})

    for name, parts in (("step", [piece[0] for piece in pieces]), ("timestamp", [piece[1] for piece in pieces])):
        start = len(out)
        pages, used = _int64_pages(out, parts, delta=long)
        chunk(name, _INT64, sorted(used), pages, start, sum(size for _, size in pages))

    start = len(out)
    dictionary = bytearray()
    for key in keys:
        encoded = key.encode("utf-8")
        dictionary += struct.pack("<I", len(encoded))
        dictionary += encoded
    # The key column is a few bytes per key (its names, one RLE run each): not worth a codec.
    dict_page = _page(out, [bytes(dictionary)], len(keys), _PLAIN, dictionary=True, compress=False)
    bit_width = max(1, (len(keys) - 1).bit_length())
    indices = bytes([bit_width]) + _rle_runs(list(zip(counts, range(len(keys)), strict=True)), (bit_width + 7) // 8)
    data_page = _page(out, [indices], rows, _RLE_DICTIONARY, compress=False)
    chunk("key", _BYTE_ARRAY, [_PLAIN, _RLE, _RLE_DICTIONARY], [dict_page, data_page], start,
          dict_page[1] + data_page[1], dict_page[0], _UNCOMPRESSED)

    start = len(out)
    sizes = 0
    value_pages = []
    for _, _, values in pieces:  # one page per key: its definition levels (one run), its byte planes
        levels = _rle_runs([(len(values), 1)], 1)
        planes = _byte_planes(_le(values), 8)
        offset, size = _page(out, [struct.pack("<I", len(levels)) + levels, *planes], len(values), _BYTE_STREAM_SPLIT)
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

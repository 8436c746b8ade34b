"""Arrow columns built from Python lists without ``pa.array``.

``pa.array(list)`` asks pyarrow's pandas shim whether the list is "array-like", and the shim
imports pandas to answer (hundreds of milliseconds, and at interpreter shutdown an import
that fails: "can't register atexit after shutdown"). The same happens for ``pa.scalar``,
``schema.empty_table()`` and ``pq.read_table``. The seal path therefore builds every column
from ``array.array`` buffers (a C-level conversion, faster than ``pa.array`` too) and reads
segments through ``ParquetFile``. The logging path never imports pyarrow: every seal is pure
Python (storage/parquet_lite.py) unless the process had loaded pyarrow before a run began;
then :func:`warm_up` runs the whole path once, on the thread that calls ``init()``, so nothing
is imported later: not by the flusher thread, not in a signal handler, not at exit.
"""

from __future__ import annotations

from array import array
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa


def float64(values: list[Any] | array[float]) -> pa.Array:
    """A float64 array (values are floats, or ints float64 holds exactly)."""
    import pyarrow as pa

    buffer = array("d", values)
    return pa.Array.from_buffers(pa.float64(), len(buffer), [None, pa.py_buffer(buffer)])


def int64(values: list[int], type_: Any = None) -> pa.Array:
    """An int64 array (or another 64-bit integer-backed type such as a timestamp)."""
    import pyarrow as pa

    buffer = array("q", values)
    return pa.Array.from_buffers(type_ or pa.int64(), len(buffer), [None, pa.py_buffer(buffer)])


def int32(values: array[int]) -> pa.Array:
    import pyarrow as pa

    return pa.Array.from_buffers(pa.int32(), len(values), [None, pa.py_buffer(values)])


def strings(values: list[str]) -> pa.Array:
    """A UTF-8 string array."""
    import pyarrow as pa

    encoded = [v.encode("utf-8") for v in values]
    offsets = array("i", [0])
    total = 0
    for item in encoded:
        total += len(item)
        offsets.append(total)
    data = b"".join(encoded)
    return pa.Array.from_buffers(pa.string(), len(encoded), [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def float64_scalar(value: float) -> pa.Scalar:
    """A pyarrow scalar, without ``pa.scalar`` (which imports pandas)."""
    return float64([value])[0]


def empty_table(schema: pa.Schema) -> pa.Table:
    import pyarrow as pa

    return pa.Table.from_batches([], schema=schema)


def read_parquet(path: Any) -> pa.Table:
    """One Parquet file as a table (``ParquetFile.read``: ``pq.read_table`` imports pandas)."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as handle:
        return handle.read()


_warm = False


def is_warm() -> bool:
    """Whether :func:`warm_up` has run in this process (sealing with pyarrow imports nothing)."""
    return _warm


def warm_up() -> None:
    """Import and exercise everything sealing and compaction use, once per process.

    Called on the thread that logs, outside ``finish()``: a seal at interpreter exit or after
    Ctrl-C then imports nothing (an import there can fail, or wait forever on an import lock
    that another thread holds).
    """
    global _warm
    if _warm:
        return
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from localtrack.storage import segments

    table = pa.Table.from_arrays(
        [
            int64([0, 1]),
            int64([0, 1], pa.timestamp("us", tz="UTC")),
            strings(["a", "a"]),
            float64([0.5, 1.5]),
        ],
        schema=segments.schema(),
    )
    indices = pc.sort_indices(table, sort_keys=[("key", "ascending"), ("step", "ascending")])
    table = table.take(indices)
    pc.min_max(table.column("value"))
    pc.multiply(float64([1.0]), float64_scalar(2.0))
    for rows in (2, segments.SMALL_SEGMENT_ROWS):  # both codecs
        big = pa.concat_tables([table] * (rows // 2))
        data = segments.encode_table(big)
        segments.segment_record(data, big)
        with pq.ParquetFile(pa.BufferReader(data)) as handle:
            handle.read()
    empty_table(segments.schema())
    _warm = True

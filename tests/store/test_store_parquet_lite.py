"""The pure-Python segment writer (storage/parquet_lite.py) against pyarrow's, read by both readers.

A segment written without pyarrow must read back, through pyarrow.parquet and through duckdb,
as the very table (values, order, schema, nullability, time zone) the pyarrow writer's segment
of the same rows reads back as; and a short run in a fresh process must never load pyarrow.
"""

from __future__ import annotations

import io
import json
import math
import struct
import subprocess
import sys
import textwrap
from array import array
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from store_helpers import child_env

from localtrack.storage import parquet_lite, parquet_lite_read, segments
from localtrack.storage.arrow_columns import read_parquet

INT64 = st.integers(-(2**63), 2**63 - 1)
MICROS = st.integers(-(2**50), 2**50)  # timestamps duckdb and Python can both represent
FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=64)
KEY = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)


@st.composite
def segment_columns(draw: Any) -> parquet_lite.SegmentColumns:
    """Rows as a seal makes them: distinct keys in sorted order, each key's steps ascending."""
    keys = sorted(draw(st.lists(KEY, min_size=1, max_size=20, unique=True)))
    columns = parquet_lite.SegmentColumns()
    for key in keys:
        count = draw(st.integers(1, 40))
        columns.steps.extend(sorted(draw(st.lists(st.integers(0, 2**62), min_size=count, max_size=count))))
        columns.micros.extend(draw(st.lists(MICROS, min_size=count, max_size=count)))
        columns.values.extend(draw(st.lists(FLOATS, min_size=count, max_size=count)))
        columns.keys.append(key)
        columns.key_counts.append(count)
    return columns


@st.composite
def long_key_columns(draw: Any) -> parquet_lite.SegmentColumns:
    """Keys long enough for several DELTA_BINARY_PACKED blocks (128 values each): steps at a
    constant stride or anywhere in int64 (a delta past int64 makes the page PLAIN), times with
    small deltas, pauses (wider blocks) and steps back."""
    keys = sorted(draw(st.lists(KEY, min_size=1, max_size=4, unique=True)))
    columns = parquet_lite.SegmentColumns()
    shared = draw(st.booleans())  # every key with the same steps and times, as one seal's block
    count = draw(st.integers(1, 700))
    start, stride = draw(st.integers(-(2**40), 2**40)), draw(st.integers(0, 3))
    gaps = st.one_of(st.integers(0, 300), st.integers(0, 2**40), st.integers(-(2**20), 0))
    for key in keys:
        if not shared or not columns.keys:
            if draw(st.booleans()):
                steps = [start + stride * i for i in range(count)]
            else:
                steps = sorted(draw(st.lists(INT64, min_size=count, max_size=count)))
            micros = [0]
            for gap in draw(st.lists(gaps, min_size=count - 1, max_size=count - 1)):
                micros.append(max(-(2**50), min(2**50, micros[-1] + gap)))  # what datetime holds
        columns.steps.extend(steps)
        columns.micros.extend(micros)
        columns.values.extend(draw(st.lists(FLOATS, min_size=count, max_size=count)))
        columns.keys.append(key)
        columns.key_counts.append(count)
    return columns


@settings(max_examples=40, deadline=None)
@given(long_key_columns())
def test_long_keys_read_back_the_same_through_pyarrow_duckdb_and_decode(tmp_path_factory: Any,
                                                                        columns: parquet_lite.SegmentColumns) -> None:
    saved = parquet_lite.PAGE_PER_KEY_ROWS
    parquet_lite.PAGE_PER_KEY_ROWS = 0  # the long-seal layout (a page per key, DELTA steps/times) at any size
    try:
        data = parquet_lite.encode(columns)
    finally:
        parquet_lite.PAGE_PER_KEY_ROWS = saved
    _same_tables(read_parquet(pa.BufferReader(data)), columns.to_table())
    folder = tmp_path_factory.mktemp("long")
    ours, theirs = folder / "ours.parquet", folder / "theirs.parquet"
    ours.write_bytes(data)
    theirs.write_bytes(_pyarrow_bytes(columns))
    assert _duck_rows(ours) == _duck_rows(theirs)
    back = parquet_lite.decode(data)
    assert (back.steps, back.micros, back.keys, back.key_counts) == (columns.steps, columns.micros, columns.keys, columns.key_counts)
    assert back.values.tobytes() == columns.values.tobytes()


def test_steps_and_times_are_delta_encoded_one_page_per_key() -> None:
    """What makes a long run's segment small: steps at a constant stride cost no packed bits,
    times a byte or less per point; a page per key, encoded once when keys share rows."""
    count = 8_000  # 24,000 rows: past PAGE_PER_KEY_ROWS (a smaller seal keeps format 1's layout)
    assert 3 * count >= parquet_lite.PAGE_PER_KEY_ROWS
    steps = array("q", range(count)) * 3
    micros = array("q", [1_700_000_000_000_000 + 3 * i + i % 5 for i in range(count)]) * 3
    columns = parquet_lite.SegmentColumns(steps, micros, ["a", "b", "c"], [count] * 3, array("d", [0.5] * count * 3))
    data = parquet_lite.encode(columns)
    meta = pq.ParquetFile(io.BytesIO(data)).metadata.row_group(0)
    for index in (0, 1):
        assert "DELTA_BINARY_PACKED" in meta.column(index).encodings
    assert meta.column(0).total_compressed_size < 0.05 * count * 3  # steps: almost nothing
    assert meta.column(1).total_compressed_size < 0.5 * count * 3  # times: under half a byte per row
    assert len(data) < 0.7 * count * 3
    _same_tables(read_parquet(pa.BufferReader(data)), columns.to_table())


ASCENDING = st.one_of(
    st.lists(st.integers(0, 300), min_size=2, max_size=700),  # timestamps' small steps, equal ones included
    st.lists(st.integers(0, 2**20), min_size=2, max_size=400),  # pauses: wider blocks
    st.lists(st.sampled_from([0, 1, 7, 2**31, 2**40, 2**62]), min_size=2, max_size=300),
)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**62), ASCENDING, st.booleans())
def test_ascending_int64_pages_are_the_general_ways_bytes(first: int, gaps: list[int], unsorted: bool) -> None:
    """The big-integer delta path (values >= 0 that never decrease) writes exactly the bytes of
    the Python-level path; anything else (a step back, a negative value) goes the general way."""
    values = [first]
    for gap in gaps:
        values.append(min(2**63 - 1, values[-1] + gap))
    if unsorted:
        values.reverse()
    column = array("q", values)
    fast = parquet_lite._delta_binary_packed(column)
    general = parquet_lite._ascending_blocks
    try:
        parquet_lite._ascending_blocks = lambda *args: None  # type: ignore[assignment]
        slow = parquet_lite._delta_binary_packed(column)
    finally:
        parquet_lite._ascending_blocks = general
    assert fast == slow
    assert fast is not None and parquet_lite_read._undelta(fast, len(column)) == column


@settings(max_examples=40, deadline=None)
@given(long_key_columns())
def test_keyed_columns_encode_to_the_same_bytes(columns: parquet_lite.SegmentColumns) -> None:
    """A seal's per-key pieces (KeyedColumns, sharing arrays where keys share rows) are the
    same file as the concatenated columns."""
    keyed = parquet_lite.KeyedColumns()
    start = 0
    shared: dict[bytes, tuple[array[int], array[int]]] = {}
    for key, count in zip(columns.keys, columns.key_counts, strict=True):
        steps, micros = columns.steps[start : start + count], columns.micros[start : start + count]
        steps, micros = shared.setdefault(steps.tobytes() + micros.tobytes(), (steps, micros))
        keyed.keys.append(key)
        keyed.pieces.append((steps, micros, columns.values[start : start + count]))
        start += count
    saved = parquet_lite.PAGE_PER_KEY_ROWS
    for layout in (0, saved):  # the long layout at any size, then whichever this size gets
        parquet_lite.PAGE_PER_KEY_ROWS = layout
        try:
            assert parquet_lite.encode(keyed) == parquet_lite.encode(columns)
        finally:
            parquet_lite.PAGE_PER_KEY_ROWS = saved
    assert keyed.record_fields() == columns.record_fields()
    _same_tables(keyed.to_table(), columns.to_table())


def _bits(values: list[Any]) -> list[Any]:
    """Floats compared bit for bit (NaN equals NaN, -0.0 differs from 0.0)."""
    return [struct.pack("<d", v) if isinstance(v, float) else v for v in values]


def _same_tables(ours: pa.Table, theirs: pa.Table) -> None:
    assert ours.schema.equals(theirs.schema, check_metadata=True)
    for name in ours.column_names:
        assert _bits(ours.column(name).to_pylist()) == _bits(theirs.column(name).to_pylist()), name


def _pyarrow_bytes(columns: parquet_lite.SegmentColumns) -> bytes:
    return segments.encode_table(columns.to_table())


def _duck_rows(path: Path) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    connection = duckdb.connect()
    try:
        kinds = connection.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
        rows = connection.execute("SELECT step, epoch_us(timestamp), key, value FROM read_parquet(?)", [str(path)]).fetchall()
    finally:
        connection.close()
    return [k[:2] for k in kinds], [(s, t, k, struct.pack("<d", v)) for s, t, k, v in rows]


@settings(max_examples=60, deadline=None)
@given(segment_columns())
def test_pyarrow_reads_our_segment_as_it_reads_its_own(columns: parquet_lite.SegmentColumns) -> None:
    ours = read_parquet(pa.BufferReader(parquet_lite.encode(columns)))
    theirs = read_parquet(pa.BufferReader(_pyarrow_bytes(columns)))
    _same_tables(ours, theirs)
    assert ours.schema.equals(segments.schema())  # step/timestamp/key required, value nullable, tz UTC


@settings(max_examples=25, deadline=None)
@given(segment_columns())
def test_duckdb_reads_our_segment_as_it_reads_pyarrows(tmp_path_factory: Any, columns: parquet_lite.SegmentColumns) -> None:
    folder = tmp_path_factory.mktemp("duck")
    ours, theirs = folder / "ours.parquet", folder / "theirs.parquet"
    ours.write_bytes(parquet_lite.encode(columns))
    theirs.write_bytes(_pyarrow_bytes(columns))
    assert _duck_rows(ours) == _duck_rows(theirs)


def test_file_metadata_readers_see_matches_pyarrows() -> None:
    """The Arrow schema readers derive (pq.ParquetFile.schema_arrow) and the row counts match;
    ours carries no ARROW:schema key/value pair, and none is needed to get the schema right."""
    columns = parquet_lite.SegmentColumns(
        array("q", [0, 1, 0]), array("q", [10, 20, 30]), ["a", "b/é"], [2, 1], array("d", [0.5, math.nan, -1.0])
    )
    ours = pq.ParquetFile(io.BytesIO(parquet_lite.encode(columns)))
    theirs = pq.ParquetFile(io.BytesIO(_pyarrow_bytes(columns)))
    assert ours.schema_arrow.equals(theirs.schema_arrow)
    assert ours.schema_arrow.equals(segments.schema())
    assert ours.metadata.num_rows == theirs.metadata.num_rows == 3
    assert ours.metadata.num_row_groups == 1
    assert ours.metadata.created_by == parquet_lite.CREATED_BY
    assert ours.schema_arrow.metadata is None


def test_readers_completeness_check_accepts_our_segment(tmp_path: Path) -> None:
    columns = parquet_lite.SegmentColumns(array("q", [5]), array("q", [7]), ["k"], [1], array("d", [1.0]))
    data = parquet_lite.encode(columns)
    path = tmp_path / "w0-000001-000001.parquet"
    path.write_bytes(data)
    assert segments.segment_problem(path, len(data), segments.digest_bytes(data)) is None
    path.write_bytes(data[:-1])
    assert segments.segment_problem(path) is not None


@settings(max_examples=60, deadline=None)
@given(segment_columns())
def test_decode_gives_back_what_was_encoded(columns: parquet_lite.SegmentColumns) -> None:
    back = parquet_lite.decode(parquet_lite.encode(columns))
    assert back.record_fields() == {"rows": len(columns.steps), "min_step": min(columns.steps), "max_step": max(columns.steps)}
    assert back.keys == columns.keys and back.key_counts == columns.key_counts
    assert back.steps == columns.steps and back.micros == columns.micros
    assert back.values.tobytes() == columns.values.tobytes()


@settings(max_examples=40, deadline=None)
@given(st.lists(segment_columns(), min_size=1, max_size=4))
def test_merge_matches_compaction_with_pyarrow(parts: list[parquet_lite.SegmentColumns]) -> None:
    """Merging without pyarrow gives the rows pyarrow's concat + stable sort by (key, step) gives."""
    merged = parquet_lite.merge(parts)
    expected = pa.concat_tables([p.to_table() for p in parts]).sort_by([("key", "ascending"), ("step", "ascending")])
    _same_tables(read_parquet(pa.BufferReader(parquet_lite.encode(merged))), expected)


def test_decode_refuses_a_segment_it_did_not_write() -> None:
    columns = parquet_lite.SegmentColumns(array("q", [1]), array("q", [2]), ["k"], [1], array("d", [3.0]))
    with pytest.raises(parquet_lite.NotOurSegment):
        parquet_lite.decode(_pyarrow_bytes(columns))
    data = parquet_lite.encode(columns)
    with pytest.raises(parquet_lite.NotOurSegment):
        parquet_lite.decode(data[: len(data) // 2] + data[-8:])


_SAMPLE = parquet_lite.SegmentColumns(array("q", [1, 2, 3]), array("q", [5, 6, 7]), ["a", "b"], [2, 1],
                                      array("d", [0.5, 1.5, 2.5]))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_hostile_segment_is_refused_never_crashes_or_hangs(data: Any) -> None:
    """Bytes from a run folder that came through git: any change or truncation of a segment we
    wrote decodes to columns or raises NotOurSegment (never another error, never a hang)."""
    good = bytearray(parquet_lite.encode(_SAMPLE))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(good) - 1))
        good[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(good)))
    hostile = bytes(good[:cut] if data.draw(st.booleans()) else good)
    try:
        parquet_lite.decode(hostile)
    except parquet_lite.NotOurSegment:
        pass


def _thrift_with_footer(meta: bytes) -> bytes:
    return parquet_lite.MAGIC + meta + struct.pack("<I", len(meta)) + parquet_lite.MAGIC


@pytest.mark.parametrize(
    "meta",
    [
        bytes([0x19, 0xF1]) + b"\xff" * 8 + b"\x7f",  # field 1: a list of 2**63 bools, in 11 bytes
        bytes([0x19, 0xFC]) + b"\xff\xff\xff\xff\x0f",  # a list of 4G structs
        bytes([0x1C]) * 5000,  # structs nested 5,000 deep
        bytes([0x18]) + b"\xff\xff\xff\xff\x0f",  # a binary of 4 GB in a 10-byte file
    ],
)
def test_sizes_in_the_footer_are_checked_against_the_bytes_there(meta: bytes) -> None:
    with pytest.raises(parquet_lite.NotOurSegment):
        parquet_lite.decode(_thrift_with_footer(meta))


def test_a_page_that_inflates_past_its_declared_size_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A gzip bomb stops at the size the page header declares (checked, then refused)."""
    data = parquet_lite.encode(_SAMPLE)
    monkeypatch.setattr(parquet_lite_read, "MAX_PAGE_BYTES", 8)  # every real page is bigger than this
    with pytest.raises(parquet_lite.NotOurSegment, match="page size"):
        parquet_lite.decode(data)


def test_mismatched_column_lengths_are_refused() -> None:
    with pytest.raises(ValueError):
        parquet_lite.encode(parquet_lite.SegmentColumns(array("q", [1, 2]), array("q", [2]), ["k"], [2], array("d", [3.0])))


SHORT_RUNS = """
import json, sys, time, localtrack
from localtrack.store.reader import read_metrics
from localtrack.storage import arrow_columns
mode = sys.argv[1]
run = localtrack.init(project="lite", config={"lr": 0.1})
if mode == "short":
    for step in range(100):
        run.log({"a": step * 0.5, "b": 1.0})
elif mode == "slow":  # many flusher seals of a few points each: merged without pyarrow
    for step in range(60):
        run.log({"a": float(step)})
        time.sleep(0.004)
else:  # past 20k points, the size that loaded pyarrow before parquet_lite sealed any size
    for step in range(15_000):
        run.log({"a": float(step), "b": 2.0})
run.finish()
loaded = "pyarrow" in sys.modules
print(json.dumps({"pyarrow_loaded": loaded, "warm": arrow_columns.is_warm(), "dir": str(run.dir)}))
"""


def _child_run(tmp_path: Path, mode: str) -> dict[str, Any]:
    store = tmp_path / "store"
    # "slow" seals every 50 ms; "big" fills its buffer long before the flusher's first seal.
    flush = {"slow": "0.05", "big": "30"}.get(mode, "0.2")
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SHORT_RUNS), mode], cwd=tmp_path, capture_output=True, text=True,
        env=child_env(store, LOCALTRACK_FLUSH_SECONDS=flush), timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _read_run(run_dir: Path) -> tuple[pa.Table, dict[str, Any]]:
    manifest = json.loads((run_dir / "manifest.json").read_text())
    files = segments.live_segments(run_dir / "metrics")
    table = pa.concat_tables([read_parquet(p) for p in files]).sort_by([("key", "ascending"), ("step", "ascending")])
    return table, manifest


def test_a_short_run_never_loads_pyarrow_and_reads_back_whole(tmp_path: Path) -> None:
    out = _child_run(tmp_path, "short")
    assert out["pyarrow_loaded"] is False
    table, manifest = _read_run(Path(out["dir"]))
    assert manifest["status"] == "finished"
    assert table.column("key").to_pylist() == ["a"] * 100 + ["b"] * 100
    assert table.column("value").to_pylist() == [s * 0.5 for s in range(100)] + [1.0] * 100
    assert manifest["summary"]["a"]["count"] == 100 and manifest["summary"]["a"]["last"] == 49.5
    [record] = [r for w in manifest["writers"].values() for r in w["segments"].values()]
    assert record["rows"] == 200 and record["min_step"] == 0 and record["max_step"] == 99


def test_many_small_seals_are_merged_without_pyarrow(tmp_path: Path) -> None:
    out = _child_run(tmp_path, "slow")
    assert out["pyarrow_loaded"] is False
    table, manifest = _read_run(Path(out["dir"]))
    assert table.column("step").to_pylist() == list(range(60))
    assert table.column("value").to_pylist() == [float(s) for s in range(60)]
    [writer] = manifest["writers"].values()
    assert len(writer["segments"]) == 1, "finish() merges the small trailing segments"
    assert len(list((Path(out["dir"]) / "metrics").iterdir())) == 1


def test_a_long_run_never_loads_pyarrow_and_reads_back_whole(tmp_path: Path) -> None:
    """Past the old pure-Python seal size (20k points) the run still seals without pyarrow,
    and every point reads back through pyarrow and duckdb, summary included."""
    out = _child_run(tmp_path, "big")
    assert out["pyarrow_loaded"] is False and out["warm"] is False
    table, manifest = _read_run(Path(out["dir"]))
    assert table.num_rows == 30_000
    assert table.column("value").to_pylist()[:15_000] == [float(s) for s in range(15_000)]
    assert table.column("step").to_pylist()[15_000:] == list(range(15_000))
    assert manifest["summary"]["b"]["count"] == 15_000 and manifest["summary"]["a"]["max"] == 14_999.0
    [path] = segments.live_segments(Path(out["dir"]) / "metrics")
    assert pq.ParquetFile(path).metadata.created_by == parquet_lite.CREATED_BY
    ours = read_parquet(path)
    micros = ours.column("timestamp").cast(pa.int64()).to_pylist()
    expected = list(zip(ours.column("step").to_pylist(), micros, ours.column("key").to_pylist(),
                        [struct.pack("<d", v) for v in ours.column("value").to_pylist()], strict=True))
    assert _duck_rows(path)[1] == expected

"""``log-metrics --stdin`` lines: any bytes at all are a step, a blank line, or one clear error."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localtrack.errors import LocaltrackError
from localtrack.store import shell_writer
from localtrack.store.project import open_store
from localtrack.store.reader import read_metrics
from localtrack.store.shell_stream import parse_line, stream_metrics

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)


@given(st.binary(max_size=200))
def test_any_bytes_are_a_step_a_blank_or_a_localtrack_error(raw: bytes) -> None:
    try:
        parse_line(raw, 7)
    except LocaltrackError as exc:
        assert str(exc).startswith("stdin line 7: ") and "\n" not in str(exc)


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=4))
def test_any_json_object_is_a_step_or_a_localtrack_error(obj: dict) -> None:
    try:
        point = parse_line(json.dumps(obj).encode(), 3)
    except LocaltrackError as exc:
        assert str(exc).startswith("stdin line 3: ")
        return
    assert point is not None
    assert all(isinstance(v, float) for v in point.metrics.values())
    assert set(point.metrics) | {"step"} >= set(obj) - {"step"}


def test_stream_from_an_in_memory_file(store_dir: Path) -> None:
    """Without a pollable descriptor (a file object in a library call) it reads plainly."""
    layout = open_store(store_dir)
    run_id = shell_writer.create_run(layout, project="p", name="n")
    source = io.BytesIO(b'{"step": 5, "a": 1}\n{"a": 2}\n\n{"step": 1, "b": 3}')
    result = stream_metrics(layout, run_id, source)
    assert (result.lines, result.steps, result.last_step) == (4, 3, 6)
    rows = sorted((r["key"], r["step"], r["value"]) for r in read_metrics(layout, run_id).to_pylist())
    assert rows == [("a", 5, 1.0), ("a", 6, 2.0), ("b", 1, 3.0)]


def test_a_line_longer_than_the_limit_is_refused(store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from localtrack.store import shell_stream

    monkeypatch.setattr(shell_stream, "MAX_LINE_BYTES", 100)
    layout = open_store(store_dir)
    run_id = shell_writer.create_run(layout, project="p", name="n")
    source = io.BytesIO(b'{"a": 1}\n' + b" " * 500 + b"\n")
    with pytest.raises(LocaltrackError, match="stdin line 2: longer than 100 bytes"):
        stream_metrics(layout, run_id, source)
    assert [r["value"] for r in read_metrics(layout, run_id).to_pylist()] == [1.0]

"""The manifest encoder writes exactly what ``json.dumps(sort_keys, indent=2)`` would.

docs/FORMAT.md defines the manifest bytes that way; the encoder is hand-written for speed, so
this pins it to the standard library's output for any JSON-shaped value.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localtrack.storage.manifest import MAX_DEPTH, _jsonable, dump_manifest, parse_manifest

LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(st.characters(blacklist_categories=("Cs",))),
)
VALUES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.text(st.characters(blacklist_categories=("Cs",)), max_size=8), inner, max_size=4),
    ),
    max_leaves=40,
)


def _reference(value: dict[str, Any]) -> bytes:
    text = json.dumps(_jsonable(value), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(st.characters(blacklist_categories=("Cs",)), max_size=8), VALUES, max_size=6))
def test_encoder_matches_json_dumps_byte_for_byte(manifest: dict[str, Any]) -> None:
    try:
        expected = _reference(manifest)
    except (ValueError, UnicodeEncodeError) as exc:
        with pytest.raises(type(exc)):
            dump_manifest(manifest)
        return
    assert dump_manifest(manifest) == expected


def test_odd_but_valid_shapes() -> None:
    manifest = {
        "empty": {}, "list": [], "nested": [[], [{}], {"z": [1, 2.5, -0.0]}], 1: "int key", "u": "é\n\t\"\\\x00",
        "floats": [1e308, 5e-324, math.nan, math.inf, -math.inf], "big": 2**80, "bool": [True, False, None],
    }
    assert dump_manifest(manifest) == _reference(manifest)
    parsed = json.loads(dump_manifest(manifest))
    assert parsed["floats"] == [1e308, 5e-324, "NaN", "Infinity", "-Infinity"]


def test_unencodable_values_raise_like_json() -> None:
    with pytest.raises(TypeError):
        dump_manifest({"x": {1, 2}})
    deep: Any = 1
    for _ in range(MAX_DEPTH + 2):
        deep = [deep]
    with pytest.raises(ValueError):
        dump_manifest({"deep": deep})


def test_round_trip_through_the_reader() -> None:
    manifest = {"format_version": 1, "id": "x", "config": {"lr": math.nan, "b": [1, 2]}}
    assert parse_manifest(dump_manifest(manifest), "t") == {"format_version": 1, "id": "x", "config": {"lr": "NaN", "b": [1, 2]}}


@pytest.mark.parametrize("levels", [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1])
def test_depth_limit_is_the_same_as_before(levels: int) -> None:
    deep: Any = 1
    for _ in range(levels):
        deep = [deep]
    try:
        _jsonable({"d": deep})
    except ValueError:
        with pytest.raises(ValueError):
            dump_manifest({"d": deep})
    else:
        assert dump_manifest({"d": deep}) == _reference({"d": deep})

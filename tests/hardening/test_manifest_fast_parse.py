"""The fast manifest parse (plain C parse + a proof that no key was duplicated) against the strict one.

A cold index build reads every manifest, so parse_manifest first tries the plain parser and
proves the result is what the strict parse (duplicate keys refused at every depth, nesting
bounded) would give; these tests check that proof cannot be fooled: any text the strict parse
refuses is never accepted by the fast path, and any text it accepts gives the same dict.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localtrack.errors import CorruptRunError
from localtrack.storage.manifest import (
    MAX_DEPTH,
    _fast_json,
    _nested_deeper_than,
    dump_manifest,
    load_strict_json,
    parse_manifest,
)

# keys and strings full of the characters the colon count must see through
TEXT = st.text(alphabet=st.sampled_from(['a', 'b', ':', '"', '\\', ' ', '\n', '{', '[', 'é', '\x01']), max_size=6)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False), TEXT)


def _objects(children: Any) -> Any:
    # an object is a list of pairs so that duplicate keys can be written
    return st.lists(st.tuples(st.sampled_from(["a", "b", "a:b", ":"]) | TEXT, children), max_size=4).map(
        lambda pairs: ("object", pairs))


VALUES = st.recursive(SCALARS, lambda children: st.lists(children, max_size=4) | _objects(children), max_leaves=25)


def _write(value: Any, rng: random.Random, escape_colons: bool) -> str:
    """JSON text for ``value`` with random spacing; ``escape_colons`` spells some colons ``\\u003a``."""
    space = rng.choice(["", " ", "\n  "])
    if isinstance(value, tuple):
        pairs = [f"{_string(k, rng, escape_colons)}{space}:{space}{_write(v, rng, escape_colons)}" for k, v in value[1]]
        return "{" + ("," + space).join(pairs) + "}"
    if isinstance(value, list):
        return "[" + ("," + space).join(_write(v, rng, escape_colons) for v in value) + "]"
    if isinstance(value, str):
        return _string(value, rng, escape_colons)
    return json.dumps(value)


def _string(text: str, rng: random.Random, escape_colons: bool) -> str:
    out = json.dumps(text, ensure_ascii=rng.random() < 0.5)
    if escape_colons:
        out = out.replace(":", rng.choice(["\\u003a", "\\u003A"]))
    return out


def _strict(data: bytes) -> Any:
    """What the strict path gives: the value, or the refusal (duplicate key, too deep)."""
    try:
        value = load_strict_json(data, "t", "manifest", CorruptRunError)
    except CorruptRunError:
        return "refused"
    if isinstance(value, (dict, list)) and _nested_deeper_than(value, MAX_DEPTH):
        return "refused"
    return value


@settings(max_examples=400, deadline=None)
@given(pairs=_objects(VALUES), seed=st.integers(0, 2**32), escape_colons=st.booleans())
def test_fast_parse_accepts_only_what_the_strict_parse_accepts_and_gives_the_same_dict(
        pairs: Any, seed: int, escape_colons: bool) -> None:
    data = _write(pairs, random.Random(seed), escape_colons).encode()
    fast, strict = _fast_json(data), _strict(data)
    if strict == "refused":
        assert fast is None
    elif fast is not None:
        assert fast == strict and json.dumps(fast) == json.dumps(strict)  # same keys in the same order


@pytest.mark.parametrize("text", [
    '{"a": 1, "a": 2}',
    '{"x": {"y": {"a": 1, "b": 2, "a": 3}}}',
    '{"l": [1, [2, {"k": 1, "k": 1}]]}',
    '{"a":1,"a":2,"b": "c\\": "}',  # the lost pair's colon hidden in a string
    '{"a":1,"a":2,"b":"\\u003a"}',  # ... or spelled as an escape: text colons = kept keys + kept colons
    '{"a":1,"a":2,"b":"\\u003A"}',
    '{"a": {"p": 1, "q": 2}, "a": 3}',
])
def test_duplicate_keys_at_any_depth_are_refused_as_before(text: str) -> None:
    data = text.encode()
    assert _fast_json(data) is None
    with pytest.raises(CorruptRunError, match="duplicate key"):
        parse_manifest(b'{"format_version": 1, "m": ' + data + b"}", "t")


def test_nesting_is_bounded_exactly_where_it_was() -> None:
    def nested(levels: int) -> bytes:  # root object + levels - 1 lists below it
        return b'{"format_version": 1, "x": ' + b"[" * (levels - 1) + b"]" * (levels - 1) + b"}"

    assert _fast_json(nested(MAX_DEPTH)) is not None
    assert parse_manifest(nested(MAX_DEPTH), "t")["format_version"] == 1
    assert _fast_json(nested(MAX_DEPTH + 1)) is None
    with pytest.raises(CorruptRunError, match="nested deeper"):
        parse_manifest(nested(MAX_DEPTH + 1), "t")
    with pytest.raises(CorruptRunError, match="nested too deeply"):
        parse_manifest(b'{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "t")


def test_a_manifest_the_writer_wrote_takes_the_fast_path_and_reads_the_same() -> None:
    manifest = {"format_version": 1, "id": "r", "created_at": "2025-01-01T00:00:00Z", "notes": "a: b \u003a",
                "config": {"lr": 0.1, "opt": {"name": "adam", "betas": [0.9, 0.99]}, "url": "http://x:80/"},
                "writers": {}, "summary": {"loss": {"count": 3, "last": 0.5, "min": 0.1, "max": 1.0, "step": 2}}}
    data = dump_manifest(manifest)
    assert _fast_json(data) == manifest
    assert parse_manifest(data, "t") == load_strict_json(data, "t", "manifest", CorruptRunError) == manifest


def test_bytes_that_are_not_utf8_json_fall_back_to_the_strict_error() -> None:
    for data in (b'{"a": "\xff"}', '{"a": 1}'.encode("utf-16"), b'{"a": ', b"[1, 2]", b'"text"'):
        assert _fast_json(data) is None
        with pytest.raises(CorruptRunError):
            parse_manifest(data, "t")

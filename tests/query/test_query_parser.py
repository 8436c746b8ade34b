"""The filter parser: hostile and random input only ever raises FilterSyntaxError, with a caret."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from localtrack.errors import FilterSyntaxError, LocaltrackError
from localtrack.query.filter_parser import parse_filter, parse_order_by
from localtrack.query.filter_sql import compile_filter, compile_order
from localtrack.query.store import Store

BAD = [
    ("metrics.acc >", 13, "expected a value"),
    ("metrics.acc 0.9", 12, "expected a comparison"),
    ("metrics.acc > 0.9 params.lr = 1", 18, "unexpected"),
    ("foo = 1", 0, "unknown attribute"),
    ("datasets.name = 'x'", 0, "dataset filters are not supported"),
    ("weird.x = 1", 0, "unknown field prefix"),
    ("params.x = 'abc", 11, "unterminated"),
    ("params.x = bert", 11, "quote strings"),
    ("metrics.acc = null", 14, "IS NULL"),
    ("metrics.acc > '0.9'", 14, "without quotes"),
    ("metrics.acc LIKE 'a%'", 0, "not metrics"),
    ("params.x LIKE 3", 14, "quoted pattern"),
    ("params.x IN ()", 13, "expected a value"),
    ("params.x IN (1, 2", 17, "',' or ')'"),
    ("params.x IS 3", 12, "NULL after IS"),
    ("params.x NOT = 3", 13, "LIKE, ILIKE or IN after NOT"),
    ("(metrics.acc > 1", 16, "')'"),
    ("metrics.acc > 1)", 15, "unexpected"),
    ("min(params.lr) < 1", 0, "applies to metrics"),
    ("min(metrics.acc < 1", 16, "')' to close"),
    ("metrics. > 1", 9, "expected a key"),
    ("metrics.'' > 1", 8, "empty key"),
    ("status ~ 'x'", 7, "unexpected character"),
    ("metrics.acc > 1e", 14, "malformed number"),
    ("start_time > 'yesterday'", 13, "ISO date"),
    ("duration > 'long'", 11, "numbers"),
    ("git_dirty = 3", 12, "true or false"),
    ("params.flag < true", 14, "booleans compare"),
    ("status LIKE 3", 12, "quoted pattern"),
    ("AND", 0, "expected a field"),
    ("metrics.acc > 1 AND", 19, "expected a field"),
]


@pytest.mark.parametrize(("text", "pos", "words"), BAD, ids=[b[0] for b in BAD])
def test_query_syntax_errors_point_at_the_problem(text: str, pos: int, words: str) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        compile_filter(parse_filter(text), text)
    error = info.value
    assert isinstance(error, LocaltrackError) and isinstance(error, ValueError)
    assert words in str(error)
    assert error.position == pos
    lines = str(error).splitlines()
    assert lines[-2].strip() == text.strip()
    caret = lines[-1]
    assert caret.index("^") - lines[-2].index(text[0]) == pos


def test_query_error_shows_control_characters_harmlessly() -> None:
    with pytest.raises(FilterSyntaxError) as info:
        parse_filter("params.x = 1 \x1b[31m")
    assert "\x1b" not in str(info.value)


def test_query_deep_nesting_is_refused_not_a_crash() -> None:
    with pytest.raises(FilterSyntaxError, match="nested"):
        parse_filter("(" * 5000 + "metrics.a > 1" + ")" * 5000)
    with pytest.raises(FilterSyntaxError, match="nested"):
        parse_filter("NOT " * 2000 + "metrics.a > 1")


def test_query_huge_filter_is_refused() -> None:
    with pytest.raises(FilterSyntaxError, match="limit"):
        parse_filter("metrics.a > 1 AND " * 5000 + "metrics.a > 1")


@pytest.mark.parametrize("bad", [3, b"metrics.a > 1", ["metrics.a > 1"]])
def test_query_non_string_filter(bad: object) -> None:
    with pytest.raises(FilterSyntaxError):
        parse_filter(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["metrics.acc UP", "metrics.acc DESC params.x", ", metrics.a", "metrics.a DESC,", "nope DESC"])
def test_query_bad_order_by(bad: str) -> None:
    with pytest.raises(FilterSyntaxError):
        compile_order(parse_order_by(bad))


# ---------------------------------------------------------------- fuzzing
VOCAB = [
    "metrics.acc", "metrics.", "params.lr", "params.model", "tags.x", "attributes.status", "status", "run_name",
    "min(", "max(", "count(", "mean(", "(", ")", ",", "=", "!=", "<", "<=", ">", ">=", "==", "<>", "LIKE",
    "ILIKE", "IN", "NOT", "IS", "NULL", "AND", "OR", "and", "or", "'x'", "'1e-05'", '"y"', "`k`", "0.5", "-3",
    "1e9", "true", "FALSE", "'", '"', "`", "--", "/*", "*/", ";", "\\", "'; DROP TABLE runs_t; --", "%",
    "read_csv('/etc/passwd')", "\x00", "é", "\u202e", "metrics.`a``b`", "params.'o''k'",
]


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80))
def test_query_fuzz_text_only_raises_filter_syntax_error(text: str) -> None:
    try:
        compile_filter(parse_filter(text), text)
        compile_order(parse_order_by(text), text)
    except FilterSyntaxError:
        pass


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(VOCAB), max_size=12))
def test_query_fuzz_tokens_run_or_raise_filter_syntax_error(sample_store: Store, words: list[str]) -> None:
    """Token soup is either refused by the parser or runs against the real index without error."""
    text = " ".join(words)
    try:
        sample_store.runs(filter=text, order_by=None)
    except FilterSyntaxError:
        pass
    try:
        sample_store.runs(order_by=text, limit=3)
    except FilterSyntaxError:
        pass

"""Hostile filters and SQL: nothing a user types is spliced into SQL; raw SQL is read-only and
cannot touch files outside the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localtrack.errors import FilterSyntaxError
from localtrack.query.filter_parser import parse_filter, parse_order_by
from localtrack.query.filter_sql import compile_filter, compile_order
from localtrack.query.store import Store

FILTER_ATTACKS_REFUSED = [
    "params.lr = '1' OR 1=1 --",
    "params.lr = '1' OR 1=1",
    "tags.x = 'a'; DROP TABLE runs_t; --",
    "metrics.acc > 0 /* comment */",
    "metrics.acc > 0 -- comment",
    "params.x = read_csv('/etc/passwd')",
    "read_csv('/etc/passwd') IS NOT NULL",
    "params.x = 'a' UNION SELECT * FROM runs_t",
    "params.x IN (SELECT id FROM runs_t)",
    "COPY runs_t TO '/tmp/x.csv'",
    "ATTACH '/tmp/evil.db' AS evil",
    "INSTALL httpfs",
    "metrics.acc > (SELECT 1)",
    "params.x = $1",
    "params.x = ?",
    "params.model = 'x\\' OR 1=1 --'",
    'params.model = "x\\" OR 1=1 --"',
]

FILTER_ATTACKS_HARMLESS = [
    "params.model = 'x'' OR ''1''=''1'",
    "params.model = 'C:\\data\\'",
    'params.model = "\\\\server\\share"',
    "params.`x' OR 1=1 --` = 'a'",
    "params.`a``b` = 'x'",
    'tags."mlflow.runName\'); DROP TABLE runs_t; --" = \'x\'',
    "metrics.`acc; DROP TABLE runs_t` > 0",
    "params.model LIKE '%'' OR 1=1 --'",
    "tags.x IN ('a'')--', 'b')",
]


@pytest.mark.parametrize("text", FILTER_ATTACKS_REFUSED)
def test_query_filter_injection_refused(sample_store: Store, text: str) -> None:
    before = len(sample_store.runs())
    with pytest.raises(FilterSyntaxError):
        sample_store.runs(filter=text)
    assert len(sample_store.runs()) == before


@pytest.mark.parametrize("text", FILTER_ATTACKS_HARMLESS)
def test_query_filter_injection_is_just_a_string(sample_store: Store, text: str) -> None:
    before = len(sample_store.runs())
    assert len(sample_store.runs(filter=text)) == 0
    assert len(sample_store.runs()) == before


KEYS = st.text(min_size=1, max_size=20)


@settings(max_examples=200, deadline=None)
@given(key=KEYS, value=st.text(max_size=20), agg=st.sampled_from(["", "min", "count"]))
def test_query_sql_text_never_depends_on_user_strings(key: str, value: str, agg: str) -> None:
    """The SQL for ``params.`<key>` = '<value>'`` is the same text whatever key and value are."""
    def quoted_key(k: str) -> str:
        return "`" + k.replace("`", "``") + "`"

    def quoted_value(v: str) -> str:
        return "'" + v.replace("'", "''") + "'"

    for template in ("params.{k} = {v}", "tags.{k} LIKE {v}", "params.{k} IN ({v}, {v})", "NOT tags.{k} = {v}"):
        text = template.format(k=quoted_key(key), v=quoted_value(value))
        benign = template.format(k="`k`", v="'v'")
        got, ref = compile_filter(parse_filter(text), text), compile_filter(parse_filter(benign), benign)
        assert got.sql == ref.sql
        assert key in got.params and (value in got.params or template.startswith("NOT") is False)
    metric = f"{agg}(metrics.{quoted_key(key)})" if agg else f"metrics.{quoted_key(key)}"
    joins, params, terms = compile_order(parse_order_by(f"{metric} DESC"))
    ref_joins, _, ref_terms = compile_order(parse_order_by(f"{agg}(metrics.k) DESC" if agg else "metrics.k DESC"))
    assert (joins, terms) == (ref_joins, ref_terms) and params == [key]


SQL_REFUSED = [
    "COPY (select 1) TO '{tmp}/copied.csv'",
    "COPY runs TO '{tmp}/copied.csv'",
    "EXPORT DATABASE '{tmp}/exported'",
    "ATTACH '{tmp}/evil.db' AS evil",
    "DETACH idx",
    "USE idx",
    "INSTALL httpfs",
    "LOAD httpfs",
    "CREATE TABLE x AS SELECT 1",
    "CREATE VIEW v AS SELECT 1",
    "INSERT INTO idx.runs_t (id) VALUES ('x')",
    "UPDATE idx.runs_t SET name = 'x'",
    "DELETE FROM idx.runs_t",
    "DROP TABLE idx.runs_t",
    "ALTER TABLE idx.runs_t ADD COLUMN x INT",
    "PRAGMA database_list",
    "SET enable_external_access = true",
    "SET allowed_directories = ['/']",
    "RESET lock_configuration",
    "CHECKPOINT",
    "VACUUM",
    "CALL pragma_version()",
    "select 1; drop table idx.runs_t",
    "select 1; select 2",
    "select * from read_csv('/etc/passwd')",
    "select * from read_text('/etc/passwd')",
    "select * from read_blob('/etc/passwd')",
    "select * from glob('/etc/*')",
    "select * from read_text('{tmp}/outside.txt')",
    "select * from read_parquet('{tmp}/*.parquet')",
    "select * from read_json_auto('/etc/hostname')",
    "select * from query_table('idx.runs_t'); copy runs to '{tmp}/x.csv'",
    "select * from 'https://example.com/x.csv'",
    "",
    "   ;  ",
    "not sql at all",
]


@pytest.mark.parametrize("statement", SQL_REFUSED)
def test_query_sql_sandbox_refuses(sample_store: Store, tmp_path: Path, statement: str) -> None:
    (tmp_path / "outside.txt").write_text("secret")
    before = sorted(p.name for p in tmp_path.iterdir())
    runs = len(sample_store.runs())
    with pytest.raises(FilterSyntaxError):
        sample_store.sql(statement.format(tmp=tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert len(sample_store.runs()) == runs


def test_query_sql_sandbox_settings_are_locked(sample_store: Store) -> None:
    rows = sample_store.sql(
        "select name, value from duckdb_settings() where name in "
        "('enable_external_access', 'lock_configuration', 'allowed_directories')").to_pylist()
    settings_now = {r["name"]: r["value"] for r in rows}
    assert settings_now["enable_external_access"] == "false"
    assert settings_now["lock_configuration"] == "true"


def test_query_sql_may_read_inside_the_store(sample_store: Store, sample_root: Path) -> None:
    """allowed_directories is the store: its own segment files may be read directly."""
    files = sorted(sample_root.glob("runs/*/metrics/*.parquet"))
    n = sample_store.sql(f"select count(*) as n from read_parquet('{files[0]}')").to_pylist()[0]["n"]
    assert n > 0

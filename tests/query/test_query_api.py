"""The read API: result shapes, ordering rules, one run, metric points, raw SQL views."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from query_samples import RunSpec

import localtrack
from localtrack.errors import AmbiguousRunError, FilterSyntaxError, RunNotFoundError
from localtrack.ids import short_id
from localtrack.query.results import ROW_KEYS, RunTable
from localtrack.query.store import Store


def _num(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def model_order(specs: list[RunSpec], keys: list[tuple[Callable[[RunSpec], Any], bool]]) -> list[str]:
    """Expected order: numbers numerically before strings in byte order, missing/NaN last, then newest first."""
    runs = sorted(specs, key=lambda s: (s.created, s.id), reverse=True)
    for value_of, descending in reversed(keys):
        numbers = [s for s in runs if _num(value_of(s)) is not None and not isinstance(value_of(s), str)]
        texts = [s for s in runs if value_of(s) is not None and s not in numbers]
        missing = [s for s in runs if value_of(s) is None]
        numbers.sort(key=lambda s: _num(value_of(s)), reverse=descending)
        texts.sort(key=lambda s: str(value_of(s)).encode(), reverse=descending)
        runs = numbers + texts + missing
    return [s.id for s in runs]


def param(key: str) -> Callable[[RunSpec], Any]:
    def value(s: RunSpec) -> Any:
        v = s.flat_params().get(key)
        if isinstance(v, str) and _num(v) is not None:
            return _num(v)  # numeric-looking strings sort as numbers
        return v

    return value


ORDERS: list[tuple[Any, list[tuple[Callable[[RunSpec], Any], bool]]]] = [
    (None, []),
    ("metrics.acc DESC", [(lambda s: s.last("acc"), True)]),
    ("metrics.acc", [(lambda s: s.last("acc"), False)]),
    ("metrics.`val/loss` ASC", [(lambda s: s.last("val/loss"), False)]),  # NaN last
    ("min(metrics.val/loss) DESC", [(lambda s: s.agg("min", "val/loss"), True)]),
    ("count(metrics.acc) desc, metrics.acc asc", [(lambda s: s.agg("count", "acc"), True), (lambda s: s.last("acc"), False)]),
    ("params.model ASC", [(param("model"), False)]),  # byte order: 'BERT-large' < 'Bert' < 'a b' < 'bert'
    ("params.model DESC", [(param("model"), True)]),
    ("params.lr ASC, metrics.acc DESC", [(param("lr"), False), (lambda s: s.last("acc"), True)]),
    (["params.bs DESC", "metrics.acc"], [(param("bs"), True), (lambda s: s.last("acc"), False)]),
    ("params.dropout", [(param("dropout"), False)]),
    ("params.use_bn DESC", [(lambda s: None if s.flat_params().get("use_bn") is None else str(s.flat_params()["use_bn"]), True)]),
    ("tags.sweep DESC, name", [(lambda s: s.tags.get("sweep"), True), (lambda s: s.name, False)]),
    ("attributes.start_time ASC", [(lambda s: s.created.timestamp(), False)]),
    ("created DESC", [(lambda s: s.created.timestamp(), True)]),
    ("name DESC", [(lambda s: s.name, True)]),
]


@pytest.mark.parametrize(("order_by", "keys"), ORDERS, ids=[str(o[0]) for o in ORDERS])
def test_query_ordering(sample_store: Store, specs: list[RunSpec], order_by: Any, keys: list[Any]) -> None:
    assert sample_store.runs(order_by=order_by).ids == model_order(specs, keys)


def test_query_order_and_limit(sample_store: Store, specs: list[RunSpec]) -> None:
    expected = model_order([s for s in specs if (s.last("acc") or 0) > 0.6], [(lambda s: s.last("acc"), True)])
    assert sample_store.runs(filter="metrics.acc > 0.6", order_by="metrics.acc DESC", limit=5).ids == expected[:5]
    assert len(sample_store.runs(limit=0)) == 0
    assert len(sample_store.runs()) == len(specs)
    with pytest.raises(ValueError):
        sample_store.runs(limit=-1)


def test_query_project_argument(sample_store: Store, specs: list[RunSpec]) -> None:
    assert set(sample_store.runs(project="vision").ids) == {s.id for s in specs if s.project == "vision"}
    assert set(sample_store.runs(filter="metrics.acc > 0.7", project="nlp").ids) == {
        s.id for s in specs if s.project == "nlp" and (s.last("acc") or 0) > 0.7}


def test_query_row_shape(sample_store: Store, specs: list[RunSpec]) -> None:
    by_id = {s.id: s for s in specs}
    table = sample_store.runs()
    for row in table:
        spec = by_id[row["id"]]
        assert tuple(row) == ROW_KEYS
        assert row["name"] == spec.name and row["status"] == spec.status and row["project"] == spec.project
        assert row["params"] == spec.flat_params()
        assert row["tags"] == spec.tags
        assert set(row["metrics"]) == set(spec.history)
        for key, stats in row["metrics"].items():
            assert set(stats) == {"last", "min", "max", "mean", "count", "step"}
            assert stats["count"] == len(spec.history[key])
            assert stats["step"] == max(s for s, _ in spec.history[key])
            assert stats["min"] == spec.agg("min", key)
            last = stats["last"]
            assert (math.isnan(last) and spec.last(key) is None) or last == spec.last(key)
        assert row["created_at"].utcoffset().total_seconds() == 0
        assert row["created_at"] == spec.created
    dicts = table.to_dicts()
    dicts[0]["params"]["lr"] = "changed"
    assert table[0]["params"].get("lr") != "changed"


def test_query_to_arrow_wide_layout(sample_store: Store, specs: list[RunSpec]) -> None:
    table = sample_store.runs(order_by="name")
    arrow = table.to_arrow()
    assert arrow.num_rows == len(specs)
    names = arrow.column_names
    assert names[:4] == ["id", "name", "project", "group"]
    assert "params.lr" in names and "metrics.acc" in names and "tags.sweep" in names and "params.optim.name" in names
    assert arrow.schema.field("params.bs").type == pa.int64()
    assert arrow.schema.field("params.lr").type == pa.float64()
    assert arrow.schema.field("params.model").type == pa.string()
    assert arrow.schema.field("params.use_bn").type == pa.bool_()
    assert arrow.schema.field("params.layers").type == pa.string()  # lists: MLflow's str()
    assert arrow.schema.field("created_at").type == pa.timestamp("us", tz="UTC")
    acc = dict(zip(arrow.column("id").to_pylist(), arrow.column("metrics.acc").to_pylist(), strict=True))
    for spec in specs:
        assert acc[spec.id] == spec.last("acc")
    assert RunTable([]).to_arrow().num_rows == 0


def test_query_pandas_and_polars_are_optional(sample_store: Store) -> None:
    table = sample_store.runs(limit=3)
    for name, convert in (("pandas", table.to_pandas), ("polars", table.to_polars)):
        try:
            __import__(name)
        except ImportError:
            with pytest.raises(ImportError, match=f"pip install {name}"):
                convert()
        else:
            assert len(convert()) == 3


def test_query_run_by_reference(sample_store: Store, specs: list[RunSpec]) -> None:
    spec = specs[4]
    for ref in (spec.id, spec.id[:-2], short_id(spec.id), spec.name):
        assert sample_store.run(ref).id == spec.id
    newest = max(specs, key=lambda s: (s.created, s.id))
    assert sample_store.run("@latest").id == newest.id
    with pytest.raises(AmbiguousRunError) as info:
        sample_store.run("dup-name")
    assert len(info.value.candidates) == sum(s.name == "dup-name" for s in specs) > 1
    with pytest.raises(RunNotFoundError):
        sample_store.run("no-such-run")
    with pytest.raises(RunNotFoundError):
        sample_store.run("")


def test_query_run_info(sample_store: Store, specs: list[RunSpec]) -> None:
    spec = specs[9]
    info = sample_store.run(spec.id)
    assert info.status == spec.status and info.name == spec.name
    assert info.config == spec.params and info.params == spec.flat_params()
    assert info.summary["acc"]["mean"] == pytest.approx(spec.agg("mean", "acc"))
    points = info.metrics(["acc"])
    assert points.column_names == ["step", "timestamp", "key", "value"]
    assert points.column("value").to_pylist() == [v for _, v in spec.history["acc"]]
    assert info.metrics().num_rows == sum(len(v) for v in spec.history.values())
    assert info.to_dict()["id"] == spec.id
    assert info.children == [] and info.problems == []


def test_query_metric_points(sample_store: Store, specs: list[RunSpec]) -> None:
    a, b = specs[1], specs[2]
    table = sample_store.metrics(runs=[a.id, b.name], keys=["val/loss"])
    assert table.column_names == ["run", "key", "step", "timestamp", "value"]
    rows = table.to_pylist()
    expected = sorted((s.id, step, v) for s in (a, b) for step, v in s.history["val/loss"])
    got = [(r["run"], r["step"], r["value"]) for r in rows]
    assert [(x, y) for x, y, _ in got] == [(x, y) for x, y, _ in expected]
    assert all((math.isnan(g) and math.isnan(e)) or g == e for (_, _, g), (_, _, e) in zip(got, expected, strict=True))
    everything = sample_store.metrics()
    assert everything.num_rows == sum(len(p) for s in specs for p in s.history.values())
    rows_in = sample_store.runs(limit=2)
    assert set(sample_store.metrics(runs=rows_in, keys="acc").column("run").to_pylist()) <= set(rows_in.ids)
    assert sample_store.metrics(runs=[a.id], keys=["nope"]).num_rows == 0


def test_query_sql_views(sample_store: Store, specs: list[RunSpec]) -> None:
    assert sample_store.sql("select count(*) as n from runs").to_pylist() == [{"n": len(specs)}]
    statuses = sample_store.sql("select status, count(*) as n from runs group by status order by status").to_pylist()
    assert {r["status"]: r["n"] for r in statuses} == {st: sum(s.status == st for s in specs) for st in {s.status for s in specs}}
    best = sample_store.sql(
        "select r.name, m.last from runs r join metric_summary m on m.run_id = r.id "
        "where m.key = 'acc' and not isnan(m.last) order by m.last desc limit 1").to_pylist()[0]
    top = max((s for s in specs if s.last("acc") is not None), key=lambda s: s.last("acc"))
    assert best == {"name": top.name, "last": top.last("acc")}
    n_points = sample_store.sql("select count(*) as n from metrics").to_pylist()[0]["n"]
    assert n_points == sum(len(p) for s in specs for p in s.history.values())
    params = sample_store.sql("select value, value_num, kind from params where key = 'lr' limit 1").to_pylist()[0]
    assert params["kind"] == "float" and float(params["value"]) == params["value_num"]
    assert sample_store.sql("select count(*) as n from tags where key = 'baseline'").to_pylist()[0]["n"] == sum("baseline" in s.tags for s in specs)
    for view in ("artifacts", "problems"):
        assert sample_store.sql(f"select * from {view}").num_rows == 0
    with pytest.raises(FilterSyntaxError, match="sql"):
        sample_store.sql("select * from nope")


def test_query_store_opens_like_the_cli(sample_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert len(localtrack.Store(sample_root.parent).runs(limit=1)) == 1
    monkeypatch.setenv("LOCALTRACK_DIR", str(sample_root))
    with localtrack.Store() as store:
        assert repr(store).startswith("Store(")
        assert store.problems == []


def test_queries_respect_the_configured_memory_limit(store_dir, monkeypatch) -> None:
    """RELIABILITY load 5: queries run under a memory limit (LOCALTRACK_QUERY_MEMORY_LIMIT)."""
    import localtrack

    with localtrack.init(project="p", dir=store_dir) as run:
        run.log({"loss": 1.0})
    monkeypatch.setenv("LOCALTRACK_QUERY_MEMORY_LIMIT", "300MB")
    store = localtrack.Store(store_dir)
    assert len(store.runs()) == 1
    limit = store.sql("select current_setting('memory_limit') as m").to_pylist()[0]["m"]
    assert limit.replace(" ", "").upper().startswith(("286", "300"))  # DuckDB reports MiB


def test_a_bad_memory_limit_is_a_clear_error(store_dir, monkeypatch) -> None:
    import localtrack

    monkeypatch.setenv("LOCALTRACK_QUERY_MEMORY_LIMIT", "lots")
    with pytest.raises(localtrack.LocaltrackError, match="LOCALTRACK_QUERY_MEMORY_LIMIT"):
        localtrack.Store(store_dir).refresh()  # DuckDB's setting: a search of a small store may not start DuckDB

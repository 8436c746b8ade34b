"""The Python search engine (``query/pysearch``) gives exactly the index's answers.

Both engines answer the same generated filters, orders, limits and projects on stores the
real writer wrote (typed and nested params, unicode text, NaN metrics, missing keys, summary
values, every end status), read as this process wrote them (query/own_runs) and as copies it
did not write (the index's reader); rows are compared whole, in order, key order included. Where
pysearch is not sure (it returns None) the index answers: those cases are tested too.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import localtrack
from localtrack.errors import LocaltrackError
from localtrack.query import pysearch
from localtrack.query.search import search as index_search
from localtrack.query.store import Store
from localtrack.storage.layout import StoreLayout

sys.path.insert(0, str(Path(__file__).parent))
from pysearch_support import TEXTS, normalized, same, write_store


def outcome(fn: Any) -> Any:
    """A search's outcome: rows as text, or the error, or None (not sure)."""
    try:
        table = fn()
    except LocaltrackError as exc:
        return ["error", type(exc).__name__, str(exc)]
    return None if table is None else ["rows", normalized(table.to_dicts()), normalized(table.problems)]


def answers(store: Store, **query: Any) -> tuple[Any, Any]:
    """(pysearch's outcome, the index's outcome): rows as text, or the error, or None (not sure)."""
    py = outcome(lambda: pysearch.search(store.layout, **query))
    db = outcome(lambda: index_search(store.index, **query))
    return py, db


METRICS = ["m0", "m1", "nanny", "acc", "missing"]
PARAMS = ["opt", "lr", "layers", "flag", "none", "lst", "nested.a", "nested.b.deep", "missing"]
TAGS = ["sweep", "label", "empty", "missing"]
ATTRS = ["name", "status", "duration", "created_at", "ended_at", "git_dirty", "project", "notes", "id", "group",
         "parent", "start_time", "run_name"]
OPS = ["=", "!=", "<", "<=", ">", ">="]
numbers = st.sampled_from(["0", "1", "0.5", "-1", "2.5", "1e-05", "0.01", "600", "3", "-2.5", "1.5e3"])
strings = st.sampled_from([*TEXTS, "s1", "finished", "FAILED", "killed", "2020-01-01", "2999-01-01T00:00:00Z"])
patterns = st.sampled_from(["%a%", "a_am", "%", "_", "ADAM", "%é%", "s%", "%ru%", "FIN%", "%1"])


def quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


literal = st.one_of(numbers, strings.map(quoted), st.sampled_from(["true", "false"]))
metric = st.tuples(st.sampled_from(["", "min", "max", "count", "step", "last", "mean"]), st.sampled_from(METRICS)).map(
    lambda a: f"{a[0]}(metrics.{a[1]})" if a[0] else f"metrics.{a[1]}")
field = st.one_of(metric, st.sampled_from(PARAMS).map("params.{}".format), st.sampled_from(TAGS).map("tags.{}".format),
                  st.sampled_from(ATTRS), st.just("summary.best"))
leaf = st.one_of(
    st.tuples(field, st.sampled_from(OPS), literal).map(" ".join),
    st.tuples(field, st.sampled_from(["LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE"]), patterns.map(quoted)).map(" ".join),
    st.tuples(field, st.sampled_from(["IN", "NOT IN"]), st.lists(literal, min_size=1, max_size=3)).map(
        lambda a: f"{a[0]} {a[1]} ({', '.join(a[2])})"),
    st.tuples(field, st.sampled_from(["IS NULL", "IS NOT NULL"])).map(" ".join),
)
filters = st.recursive(leaf, lambda inner: st.one_of(
    st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(lambda a: f"({a[0]}) {a[1]} ({a[2]})"),
    inner.map("not ({})".format)), max_leaves=4)
orders = st.lists(st.tuples(field.filter(lambda f: "(" not in f or not f.startswith("mean")),
                            st.sampled_from(["", " ASC", " DESC"])).map("".join), max_size=2).map(", ".join)


@pytest.fixture(scope="module", params=["written here", "read from disk"])
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """24 runs this process wrote: searched as written (pysearch takes their rows from the
    manifests it wrote: query/own_runs) and as a copy it never wrote (the index's reader)."""
    import shutil

    root = tmp_path_factory.mktemp("pysearch") / ".localtrack"
    write_store(root, seed=11, runs=24)
    if request.param == "read from disk":
        copy = root.parent / "copy" / ".localtrack"
        shutil.copytree(root, copy)
        root = copy
    with Store(root) as opened:
        yield opened


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(filter=st.one_of(st.none(), filters), order_by=st.one_of(st.none(), orders),
       limit=st.one_of(st.none(), st.integers(0, 6)), project=st.sampled_from([None, "a", "Ä", "zz"]))
def test_both_engines_give_the_same_answer(store: Store, filter: str | None, order_by: str | None,
                                           limit: int | None, project: str | None) -> None:
    py, db = answers(store, filter=filter, order_by=order_by or None, limit=limit, project=project)
    if py is None:  # not sure: only for what pysearch names (means, non-ASCII text under LIKE/lower)
        text = f"{filter} {order_by}"
        assert "mean(" in text or "LIKE" in text or "status" in text or "Ä" in str(project) or "é" in text, text
        return
    assert same(py, db), (py, db)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), runs=st.integers(1, 6))
def test_generated_stores(tmp_path_factory: pytest.TempPathFactory, seed: int, runs: int) -> None:
    root = tmp_path_factory.mktemp("gen") / ".localtrack"
    write_store(root, seed, runs)
    with Store(root) as opened:
        rng = random.Random(seed)
        for filter in ["metrics.m0 > 0.2", "params.opt = 'adam' or params.layers >= 2", "tags.label != 'x'", None,
                       "params.lr < 0.05 and not (metrics.acc < 0)", "summary.best = 'top'", "name = 'same'"]:
            order = rng.choice([None, "metrics.m1 DESC", "params.lr", "tags.label DESC, name", "duration"])
            py, db = answers(opened, filter=filter, order_by=order, limit=rng.choice([None, 3]))
            assert py is not None, (filter, order)
            assert same(py, db), (filter, order)


def test_a_search_on_the_means_asks_the_index(store: Store) -> None:
    assert pysearch.search(store.layout, filter="mean(metrics.m0) > 0") is None
    assert pysearch.search(store.layout, order_by="avg(metrics.m0) DESC") is None
    assert len(store.runs(filter="mean(metrics.m0) > -10")) == len(index_search(store.index, filter="mean(metrics.m0) > -10"))


def test_non_ascii_under_like_asks_the_index(store: Store) -> None:
    assert pysearch.search(store.layout, filter="params.opt ILIKE '%é%'") is None
    assert pysearch.search(store.layout, filter="tags.sweep ILIKE 'S%'") is not None  # every value ASCII


def test_a_store_over_the_limit_asks_the_index(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pysearch, "SMALL_STORE_RUNS", 3)
    monkeypatch.setattr(pysearch.read_store, "__defaults__", (3,))
    assert pysearch.search(store.layout) is None


def _copy(store: Store, tmp_path: Path) -> Path:
    import shutil

    root = tmp_path / ".localtrack"
    shutil.copytree(store.layout.root, root, ignore=shutil.ignore_patterns("index"))
    return root


def test_a_running_run_asks_the_index(store: Store, tmp_path: Path) -> None:
    root = _copy(store, tmp_path)
    run = localtrack.init(dir=root, name="still-going", config={"opt": "adam"})
    run.log({"m0": 1.0}, step=0)
    try:
        assert pysearch.search(StoreLayout(root), filter="params.opt = 'adam'") is None
        with Store(root) as opened:
            assert "still-going" in [r["name"] for r in opened.runs(filter="params.opt = 'adam'")]
    finally:
        run.finish()


def test_a_damaged_segment_asks_the_index_which_reports_it(store: Store, tmp_path: Path) -> None:
    root = _copy(store, tmp_path)
    segment = next(root.glob("runs/*/metrics/*.parquet"))
    segment.write_bytes(segment.read_bytes()[:-10])
    assert pysearch.search(StoreLayout(root)) is None
    with Store(root) as opened:
        table = opened.runs()
    assert any(segment.parent.parent.name == run_id for run_id, _ in table.problems)


def test_a_manifest_summary_the_index_would_recompute_asks_the_index(store: Store, tmp_path: Path) -> None:
    root = _copy(store, tmp_path)
    manifest_path = next(p for p in root.glob("runs/*/manifest.json") if json.loads(p.read_text())["summary"])
    manifest = json.loads(manifest_path.read_text())
    key = next(iter(manifest["summary"]))
    manifest["summary"][key]["count"] += 1  # no longer adds up to the recorded points
    manifest_path.write_text(json.dumps(manifest))
    assert pysearch.search(StoreLayout(root)) is None


def test_bad_arguments_fail_alike(store: Store) -> None:
    for query in ({"filter": "metrics.m0 > 'x'"}, {"filter": "params.opt LIKE 3"}, {"limit": -1},
                  {"order_by": "nonsense DESC"}, {"filter": "metrics.m0 >"}):
        py, db = answers(store, **query)
        assert py is not None and py[0] == "error" and same(py, db), query


def test_store_runs_on_a_small_store_imports_no_duckdb(store: Store) -> None:
    code = ("import sys, localtrack; import pyarrow; "
            f"t = localtrack.Store({str(store.layout.root)!r}).runs(filter=\"metrics.m0 > 0\", limit=3); "
            "print(len(t), 'duckdb' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": str(Path(localtrack.__file__).parents[1])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True, timeout=120)
    count, imported = out.stdout.split()
    assert imported == "False"
    assert int(count) == len(index_search(store.index, filter="metrics.m0 > 0", limit=3))


CHILD_WITHOUT_PYARROW = """
import json, sys
sys.path.insert(0, {tests!r})
from pysearch_support import normalized, write_store
import localtrack
write_store(__import__("pathlib").Path({root!r}), 7, 30)  # short runs: sealed without pyarrow
table = localtrack.Store({root!r}).runs(filter="metrics.m0 > 0 or params.opt = 'adam'", order_by="metrics.acc DESC")
print(json.dumps({{"rows": normalized(table.to_dicts()), "pyarrow": "pyarrow" in sys.modules,
                  "duckdb": "duckdb" in sys.modules}}))
"""


def test_a_script_that_never_loaded_pyarrow_searches_what_it_wrote_without_it(tmp_path: Path) -> None:
    """bench_peers W3: the script logged short runs (sealed in pure Python) and searches them.
    The means come from those segments without pyarrow or DuckDB, and equal the index's."""
    root = tmp_path / ".localtrack"
    code = CHILD_WITHOUT_PYARROW.format(tests=str(Path(__file__).parent), root=str(root))
    env = {**os.environ, "PYTHONPATH": str(Path(localtrack.__file__).parents[1])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True, timeout=120)
    child = json.loads(out.stdout.splitlines()[-1])
    assert child["pyarrow"] is False and child["duckdb"] is False
    expected = index_search(Store(root).index, filter="metrics.m0 > 0 or params.opt = 'adam'", order_by="metrics.acc DESC")
    assert child["rows"] and same(child["rows"], normalized(expected.to_dicts()))


def test_recorded_sums_give_the_means_without_reading_points(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs whose writers recorded each metric's sum: pysearch takes the means from the
    manifests, as the index does, and they equal the index's exactly (no other summing order)."""
    db = index_search(store.index, order_by="metrics.m0 DESC")

    def no_points(run: Any) -> None:
        raise AssertionError("pysearch read a run's points for means its manifest records")

    monkeypatch.setattr(pysearch, "_means", no_points)
    py = pysearch.search(store.layout, order_by="metrics.m0 DESC")
    assert py is not None
    means = [{k: v["mean"] for k, v in row["metrics"].items()} for row in py.to_dicts()]
    assert means == [{k: v["mean"] for k, v in row["metrics"].items()} for row in db.to_dicts()]
    assert any(mean is not None for row in means for mean in row.values())

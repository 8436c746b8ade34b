"""A big store's search without DuckDB (``query/search_columns``) gives exactly the index's answers.

The columns are written the way ``Store.runs()`` writes them after a search the index answered
(``Index.sync_search_columns``: here on stores of a few runs, with the "big store" threshold
lowered); then the same generated filters, orders, limits and projects as pysearch's tests are
answered from the listing and the columns and by the index, rows compared whole, in order.
Where the columns are not sure (they return None) the index answers: those cases are tested too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from localtrack.errors import LocaltrackError
from localtrack.query import pysearch, search_columns
from localtrack.query.search import search as index_search
from localtrack.query.store import Store

sys.path.insert(0, str(Path(__file__).parent))
import test_pysearch
from pysearch_support import same, write_store
from test_pysearch import filters, orders, outcome

store = test_pysearch.store  # the same two stores (as written, and a copy this process never wrote)


@pytest.fixture(autouse=True)
def big(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every store here counts as big: pysearch steps aside, the columns are kept."""
    monkeypatch.setattr(pysearch, "SMALL_STORE_RUNS", 0)


def answers(store: Store, **query: Any) -> tuple[Any, Any]:
    """(the columns' outcome, the index's outcome): rows as text, or the error, or None (not sure)."""
    db = outcome(lambda: index_search(store.index, **query))
    try:
        names = search_columns.names_read(query.get("filter"), query.get("order_by"))
    except LocaltrackError:
        names = []
    store.index.sync_search_columns(names)
    fast = outcome(lambda: search_columns.search(store.layout, **query))
    return fast, db


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(filter=st.one_of(st.none(), filters), order_by=st.one_of(st.none(), orders),
       limit=st.one_of(st.none(), st.integers(0, 6)), project=st.sampled_from([None, "a", "Ä", "zz"]))
def test_the_columns_give_the_index_answer(store: Store, filter: str | None, order_by: str | None,
                                           limit: int | None, project: str | None) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pysearch, "SMALL_STORE_RUNS", 0)
        fast, db = answers(store, filter=filter, order_by=order_by or None, limit=limit, project=project)
    if fast is None:  # not sure: only for what pysearch names (means, non-ASCII text under LIKE/lower)
        text = f"{filter} {order_by}"
        assert db is None or db[0] == "error" or "mean(" in text or "LIKE" in text or "status" in text, text
        return
    assert same(fast, db), (fast, db)


def _copy(store: Store, tmp_path: Path) -> Store:
    copy = tmp_path / ".localtrack"
    shutil.copytree(store.layout.root, copy, ignore=shutil.ignore_patterns("index"))
    return Store(copy)


def test_a_filter_on_fields_the_columns_lack_asks_the_index_then_gets_them(store: Store, tmp_path: Path) -> None:
    with _copy(store, tmp_path) as copy:
        query = {"filter": "params.layers > 1 or tags.sweep = 's1'", "order_by": "metrics.acc DESC", "limit": 5}
        answers(copy, filter="metrics.m0 > 0")  # columns without layers, sweep, acc
        assert search_columns.search(copy.layout, **query) is None
        fast, db = answers(copy, **query)
        assert fast is not None and same(fast, db) and len(fast[1]) > 0
        held = search_columns.columns_state(copy.layout.index_dir)[1]
        assert {"p:layers", "t:sweep", "m:acc", "m:m0"} <= set(held)  # the earlier search's kept too


def test_a_changed_run_folder_makes_the_columns_step_aside(store: Store, tmp_path: Path) -> None:
    with _copy(store, tmp_path) as copy:
        query = {"filter": "params.opt = 'adam' or metrics.m0 > 0.5", "order_by": "name"}
        fast, db = answers(copy, **query)
        assert fast is not None and same(fast, db)
        run_dir = sorted(copy.layout.runs_dir.iterdir())[3]
        manifest = json.loads((run_dir / "manifest.json").read_text())
        manifest["config"]["opt"] = "adam"
        (run_dir / "manifest.json").write_text(json.dumps(manifest))
        assert search_columns.search(copy.layout, **query) is None  # the listing no longer matches
        fast, db = answers(copy, **query)
        assert fast is not None and same(fast, db)


def test_damaged_and_stale_columns_files_are_only_a_cache(store: Store, tmp_path: Path) -> None:
    with _copy(store, tmp_path) as copy:
        query = {"filter": "metrics.m1 < 1", "order_by": "params.lr DESC"}
        fast, db = answers(copy, **query)
        assert fast is not None and same(fast, db)
        path = copy.layout.index_dir / search_columns.COLUMNS_FILENAME
        data = path.read_bytes()
        for broken in (data[: len(data) // 2], data.replace(b'"m:m1"', b'"m:m2"'), b"[1,2,3]\n{}", b"",
                       data[:-1] + b"x", data.replace(data.split(b"\n", 1)[0], b'["other:1", 1, 1]'),
                       _same_key(data, b"[" * 100_000), _same_key(data, b'{"rks": 1}'),
                       _same_key(data, b'{"rks": [], "doubled": [], "columns": {"m:m1": [[0, 99999999999]]}}')):
            path.write_bytes(broken)
            assert search_columns.search(copy.layout, **query) is None
        os.unlink(path)
        assert search_columns.search(copy.layout, **query) is None


def _same_key(data: bytes, head: bytes) -> bytes:
    """A columns file of the same index state with another line 2 (the rest kept)."""
    line, _head, rest = data.split(b"\n", 2)
    key = json.loads(line)[0]
    return json.dumps([key, len(head), len(rest)]).encode() + b"\n" + head + b"\n" + rest


def test_store_runs_on_a_big_store_answers_from_the_columns_without_duckdb(tmp_path: Path) -> None:
    root = tmp_path / ".localtrack"
    write_store(root, seed=5, runs=8)
    code = (
        "import sys, json\n"
        "from localtrack.query import pysearch\n"
        "pysearch.SMALL_STORE_RUNS = 3\n"
        "import localtrack\n"
        f"store = localtrack.Store({str(root)!r})\n"
        "rows = store.runs(filter=\"params.layers >= 2 or metrics.m0 > 0\", order_by=\"params.lr DESC\", limit=4)\n"
        "print(json.dumps({'ids': [r['id'] for r in rows], 'duckdb': 'duckdb' in sys.modules}))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]), *sys.path])}
    first, second = (json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                               check=True, env=env).stdout) for _ in range(2))
    assert first["duckdb"] and not second["duckdb"]  # the first asked the index and kept the columns
    assert first["ids"] == second["ids"] and len(first["ids"]) > 0

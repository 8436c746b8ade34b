"""Index rows go to DuckDB in bounded JSON documents: a table bigger than one batch arrives whole.

(At 100,000 runs x 20 params one document of every param row asked DuckDB for an 8 GB object,
past its 32-bit limit: the first ``ls`` failed after minutes of work.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import localtrack
from localtrack.query import index_documents, index_load


def test_params_of_many_runs_cross_in_several_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / ".localtrack"
    for n in range(6):
        run = localtrack.init(dir=store, project="b", name=f"r{n}", config={f"p{i}": n * 100 + i for i in range(40)})
        run.log({"loss": float(n)})
        run.finish()
    monkeypatch.setattr(index_documents, "JSON_BATCH_ROWS", 101)  # 240 param rows: three documents
    documents = []
    real = index_load.insert_document
    monkeypatch.setattr(index_load, "insert_document", lambda con, table, data, scratch, rk_offset=0: (
        documents.append((table, len(json.loads(data)["c0"]))), real(con, table, data, scratch, rk_offset)))
    handle = localtrack.Store(store)
    handle.refresh()  # the index itself (a store this small may be searched without it)
    assert documents
    runs = [handle.run(r["id"]) for r in handle.sql("SELECT id FROM runs ORDER BY name").to_pylist()]
    params = {(r["run_id"], r["key"]): r["value"] for r in handle.sql("SELECT run_id, key, value FROM params").to_pylist()}
    assert len(params) == 240
    for n, run in enumerate(runs):
        assert run.name == f"r{n}"
        assert all(params[(run.id, f"p{i}")] == str(n * 100 + i) for i in range(40))
    assert ("params_t", 101) in documents and ("params_t", 38) in documents

"""A search in the process that wrote the runs (``query/own_runs``): rows from the manifests it
wrote, kept between searches, and never an answer the files on disk no longer give.

Each test writes a small store here, searches it once (so its rows are kept), changes the
store behind the writer's back (in place with the same size and mtime, from another process,
through this process's own run-management calls, a segment damaged or added) and checks the
next search against the index's answer on the same files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import localtrack
from localtrack.query import index_plan, own_runs, pysearch
from localtrack.query.search import search as index_search
from localtrack.query.store import Store
from localtrack.storage import own_manifest
from localtrack.storage.layout import StoreLayout

sys.path.insert(0, str(Path(__file__).parent))
from pysearch_support import normalized, same

QUERY: dict[str, Any] = {"filter": "params.opt = 'adam' or metrics.m3 > 0.5", "order_by": "metrics.m1 DESC", "limit": 10}


def write_runs(root: Path, runs: int = 6) -> None:
    """bench_peers W2 in small: params, five metrics, finished runs."""
    for i in range(runs):
        run = localtrack.init(dir=root, project="w2", name=f"run-{i}",
                              config={"opt": ["adam", "sgdm"][i % 2], "lr": 0.1 * (i + 1), "layers": i})
        for step in range(20):
            run.log({f"m{k}": ((i * 7 + step * 3 + k) % 11) / 10 for k in range(5)}, step=step)
        run.finish()


def no_planning(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("a run this process wrote was planned again by the index's reader")


def rows(table: Any) -> Any:
    return None if table is None else normalized(table.to_dicts())


def index_rows(root: Path) -> Any:
    with Store(root) as opened:
        return normalized(index_search(opened.index, **QUERY).to_dicts())


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / ".localtrack"
    write_runs(root)
    return root


def test_runs_written_here_are_answered_from_their_manifests(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_plan, "plan_serial", no_planning)
    first = rows(pysearch.search(StoreLayout(root), **QUERY))
    again = rows(pysearch.search(StoreLayout(root), **QUERY))  # the kept rows
    monkeypatch.undo()
    assert first is not None and same(first, again) and same(first, index_rows(root))


def test_a_store_opened_by_a_relative_path_is_known_too(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(root.parent)
    monkeypatch.setattr(index_plan, "plan_serial", no_planning)
    assert pysearch.search(StoreLayout(Path(".localtrack")), **QUERY) is not None


def _manifest(root: Path, name: str) -> Path:
    return next(p for p in root.glob("runs/*/manifest.json") if f'"name": "{name}"' in p.read_text())


def test_a_manifest_rewritten_in_place_with_the_same_size_and_mtime_is_read_again(root: Path) -> None:
    shown = rows(pysearch.search(StoreLayout(root), **QUERY))  # rows kept
    assert shown is not None and "run-1" not in str(shown)  # opt sgdm, m3 0.1
    path = _manifest(root, "run-1")
    before = os.stat(path)
    data = path.read_bytes()
    assert data.count(b'"opt": "sgdm"') == 1
    with open(path, "r+b") as handle:  # same inode, same size
        handle.write(data.replace(b'"opt": "sgdm"', b'"opt": "adam"'))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (before.st_ino, before.st_size, before.st_mtime_ns)
    found = rows(pysearch.search(StoreLayout(root), **QUERY))
    assert found is not None and "run-1" in str(found)
    assert same(found, index_rows(root))


CHANGE_IN_ANOTHER_PROCESS = """
import sys, localtrack
store = localtrack.Store(sys.argv[1])
run = [r for r in store.runs() if r["name"] == "run-2"][0]  # shown by QUERY (opt adam)
store.change_tags(run["id"], add={"seen": "elsewhere"})
store.rename(run["id"], "renamed-elsewhere")
"""


def test_a_run_changed_by_another_process_is_read_again(root: Path) -> None:
    before = rows(pysearch.search(StoreLayout(root), **QUERY))
    env = {**os.environ, "PYTHONPATH": str(Path(localtrack.__file__).parents[1])}
    subprocess.run([sys.executable, "-c", CHANGE_IN_ANOTHER_PROCESS, str(root)], env=env, check=True, timeout=120)
    after = rows(pysearch.search(StoreLayout(root), **QUERY))
    assert after is not None and after != before and "renamed-elsewhere" in str(after) and "elsewhere" in str(after)
    assert same(after, index_rows(root))


def test_a_run_changed_through_this_process_s_store_is_read_again(root: Path) -> None:
    assert pysearch.search(StoreLayout(root), **QUERY) is not None
    with Store(root) as opened:
        run_id = next(r["id"] for r in opened.runs() if r["name"] == "run-2")
        opened.set_note(run_id, "changed here")
    found = rows(pysearch.search(StoreLayout(root), **QUERY))
    assert found is not None and "changed here" in str(found)
    assert same(found, index_rows(root))


def _segment(root: Path, name: str) -> Path:
    return next(_manifest(root, name).parent.glob("metrics/*.parquet"))


def test_a_damaged_segment_is_seen_and_the_index_reports_it(root: Path) -> None:
    assert pysearch.search(StoreLayout(root), **QUERY) is not None
    segment = _segment(root, "run-0")
    data = segment.read_bytes()
    segment.write_bytes(data[:20] + bytes([data[20] ^ 1]) + data[21:])  # same size, one bit flipped
    assert pysearch.search(StoreLayout(root), **QUERY) is None
    with Store(root) as opened:
        assert any(segment.parent.parent.name == run_id for run_id, _ in opened.runs().problems)


def test_a_segment_sealed_but_not_recorded_sends_the_run_to_the_index(root: Path) -> None:
    assert pysearch.search(StoreLayout(root), **QUERY) is not None
    segment = _segment(root, "run-0")
    writer = segment.name.split("-")[0]
    shutil.copy(segment, segment.with_name(f"{writer}-000099-000099.parquet"))  # points the manifest does not count
    assert pysearch.search(StoreLayout(root), **QUERY) is None  # the summaries come from the points now


def test_a_missing_segment_sends_the_run_to_the_index(root: Path) -> None:
    assert pysearch.search(StoreLayout(root), **QUERY) is not None
    _segment(root, "run-0").unlink()
    assert pysearch.search(StoreLayout(root), **QUERY) is None


def test_a_running_run_of_this_process_is_asked_of_the_index(root: Path) -> None:
    run = localtrack.init(dir=root, project="w2", name="live", config={"opt": "adam"})
    run.log({"m1": 5.0}, step=0)
    run.flush()
    try:
        assert pysearch.search(StoreLayout(root), **QUERY) is None
        with Store(root) as opened:
            live = [r for r in opened.runs(**QUERY) if r["name"] == "live"]
        assert live and live[0]["status"] == "running" and live[0]["metrics"]["m1"]["last"] == 5.0
    finally:
        run.finish()
    found = rows(pysearch.search(StoreLayout(root), **QUERY))  # finished: its own manifest again
    assert found is not None and same(found, index_rows(root))


def test_a_run_folder_moved_away_and_back_as_a_copy_is_read_from_the_copy(root: Path) -> None:
    assert pysearch.search(StoreLayout(root), **QUERY) is not None
    run_dir = _manifest(root, "run-4").parent
    copy = run_dir.with_name("." + run_dir.name + ".tmp")
    shutil.copytree(run_dir, copy)
    shutil.rmtree(run_dir)
    (copy / "manifest.json").write_bytes((copy / "manifest.json").read_bytes().replace(b'"run-4"', b'"run-X"'))
    copy.rename(run_dir)
    found = rows(pysearch.search(StoreLayout(root), **QUERY))
    assert found is not None and "run-X" in str(found) and same(found, index_rows(root))


def test_kept_rows_are_bounded(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(own_runs, "KNOWN_MANIFESTS", 2)
    assert pysearch.search(StoreLayout(root), **QUERY) is not None
    assert len(own_runs._planned) <= 2
    assert len(own_manifest._known) <= own_manifest.KNOWN_MANIFESTS

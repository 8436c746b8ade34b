"""Damaged runs are reported, never fatal: search over the rest of the store keeps working."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from query_samples import RunSpec, build_store, sample_specs, write_run

from localtrack.errors import CorruptRunError
from localtrack.query.store import Store
from localtrack.storage.layout import StoreLayout
from localtrack.store.project import create_store


@pytest.fixture
def small(store_dir: Path) -> tuple[StoreLayout, list[RunSpec]]:
    specs = [s for s in sample_specs(12) if s.status == "finished" and "acc" in s.history][:4]
    layout = StoreLayout(store_dir)
    build_store(layout, specs)
    return layout, specs


def segment_of(layout: StoreLayout, spec: RunSpec) -> Path:
    (path,) = sorted((layout.run_dir(spec.id) / "metrics").glob("*.parquet"))
    return path


def check_rest_searchable(store: Store, specs: list[RunSpec], bad: RunSpec) -> None:
    good = [s for s in specs if s is not bad]
    found = store.runs(filter="metrics.acc > -1").ids
    assert set(found) == {s.id for s in good}
    assert all(r["metrics"]["acc"]["count"] == len(s.history["acc"])
               for r, s in zip(store.runs(order_by="name").to_dicts(), sorted(good, key=lambda s: s.name), strict=False)
               if r["id"] == s.id)
    assert store.metrics(runs=[good[0].id]).num_rows == sum(len(v) for v in good[0].history.values())


@pytest.mark.parametrize("damage", ["truncated", "empty", "bit_flip", "bad_footer_unrecorded"])
def test_query_damaged_segment_is_reported(small: tuple[StoreLayout, list[RunSpec]], damage: str) -> None:
    layout, specs = small
    bad = specs[1]
    path = segment_of(layout, bad)
    data = bytearray(path.read_bytes())
    if damage == "truncated":
        path.write_bytes(bytes(data[: len(data) // 2]))
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "bit_flip":
        data[len(data) // 3] ^= 0x10
        path.write_bytes(bytes(data))
    else:  # the manifest does not record the file (a writer killed before recording it), footer garbled
        manifest = json.loads((layout.run_dir(bad.id) / "manifest.json").read_text())
        for writer in manifest["writers"].values():
            writer["segments"] = {}
        (layout.run_dir(bad.id) / "manifest.json").write_text(json.dumps(manifest))
        footer_len = int.from_bytes(data[-8:-4], "little")
        start = len(data) - 8 - footer_len
        data[start : start + footer_len] = os.urandom(footer_len)
        path.write_bytes(bytes(data))
    store = Store(layout.root)
    problems = store.problems
    assert [run_id for run_id, _ in problems] == [bad.id]
    assert str(path) in problems[0][1]
    check_rest_searchable(store, specs, bad)
    row = next(r for r in store.runs() if r["id"] == bad.id)  # the run itself is still listed
    assert row["name"] == bad.name and row["metrics"] == {}
    assert store.run(bad.id).problems
    assert store.runs().problems == problems


@pytest.mark.parametrize("damage", ["torn", "missing", "not_json_object", "newer_version", "wrong_id", "duplicate_keys"])
def test_query_damaged_manifest_is_reported(small: tuple[StoreLayout, list[RunSpec]], damage: str) -> None:
    layout, specs = small
    bad = specs[2]
    manifest_path = layout.run_dir(bad.id) / "manifest.json"
    text = manifest_path.read_text()
    if damage == "torn":
        manifest_path.write_text(text[: len(text) // 2])
    elif damage == "missing":
        manifest_path.unlink()
    elif damage == "not_json_object":
        manifest_path.write_text("[1, 2, 3]")
    elif damage == "newer_version":
        manifest_path.write_text(text.replace('"format_version": 1', '"format_version": 99'))
    elif damage == "wrong_id":
        manifest_path.write_text(text.replace(bad.id, "someone-else"))
    else:
        manifest_path.write_text('{"format_version": 1, "id": "a", "id": "b"}')
    store = Store(layout.root)
    assert [run_id for run_id, _ in store.problems] == [bad.id]
    check_rest_searchable(store, specs, bad)
    assert bad.id not in store.runs().ids
    with pytest.raises(CorruptRunError):
        store.run(bad.id)
    # repairing the manifest brings the run back
    manifest_path.write_text(text)
    assert bad.id in store.runs().ids and store.problems == []


def test_query_symlinks_are_not_followed(small: tuple[StoreLayout, list[RunSpec]], tmp_path: Path) -> None:
    layout, specs = small
    outside = tmp_path / "outside"
    build_store(create_store(outside / ".localtrack"), [specs[0]])
    link = layout.runs_dir / "20990101-000000000-zzzzzz"
    link.symlink_to(outside / ".localtrack" / "runs" / specs[0].id)
    victim = specs[3]
    metrics = layout.run_dir(victim.id) / "metrics"
    for f in metrics.iterdir():
        f.unlink()
    metrics.rmdir()
    metrics.symlink_to(outside / ".localtrack" / "runs" / specs[0].id / "metrics")
    store = Store(layout.root)
    problems = dict(store.problems)
    assert set(problems) == {link.name, victim.id}
    assert "symbolic link" in problems[link.name] and "symbolic link" in problems[victim.id]
    assert link.name not in store.runs().ids
    assert store.metrics(runs=[victim.id]).num_rows == 0


def test_query_hostile_manifest_values_become_nulls(store_dir: Path) -> None:
    layout = StoreLayout(store_dir)
    spec = sample_specs(1)[0]
    write_run(layout, spec)
    path = layout.run_dir(spec.id) / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest.update(name={"x": 1}, project=["p"], created_at="yesterday", duration="long", tags=["a"],
                    config={"a": {"b": {"c": {"d": 1}}}, "huge": "x" * 200_000}, git="main", artifacts="x",
                    status="weird\x1b[31m")
    path.write_text(json.dumps(manifest))
    store = Store(layout.root)
    (row,) = store.runs()
    assert row["name"] == spec.id and row["project"] is None and row["created_at"] is None
    assert row["duration"] is None and row["tags"] == {} and row["git_commit"] is None
    assert row["params"]["a.b.c.d"] == 1 and len(row["params"]["huge"]) == 200_000
    assert row["status"].startswith("weird")
    assert store.runs(filter="params.a.b.c.d = 1").ids == [spec.id]


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "directory_wal"])
def test_query_corrupt_index_is_rebuilt(sample_root: Path, specs: list[RunSpec], tmp_path: Path, damage: str) -> None:
    import shutil

    root = tmp_path / "copy" / ".localtrack"
    shutil.copytree(sample_root, root, symlinks=True)
    store = Store(root)
    assert len(store.runs()) == len(specs)
    (index_file,) = (root / "index").glob("*.duckdb")
    store.close()
    if damage == "garbage":
        index_file.write_bytes(os.urandom(100_000))
    elif damage == "truncated":
        index_file.write_bytes(index_file.read_bytes()[:5000])
    elif damage == "empty":
        index_file.write_bytes(b"")
    else:
        index_file.with_name(index_file.name + ".wal").write_bytes(os.urandom(5000))
    fresh = Store(root)
    assert len(fresh.runs()) == len(specs)
    assert {r["id"] for r in fresh.runs(filter="metrics.acc > 0.5")} == {s.id for s in specs if (s.last("acc") or 0) > 0.5}


def test_query_unwritable_index_folder_uses_memory(sample_root: Path, specs: list[RunSpec], tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "ro" / ".localtrack"
    shutil.copytree(sample_root, root, symlinks=True, ignore=shutil.ignore_patterns("index"))
    (root / "index").write_text("not a folder")  # the index cannot be created here
    store = Store(root)
    assert store.index.file_path is None
    assert len(store.runs(filter="metrics.acc > 0")) == sum(s.last("acc") is not None for s in specs)
    assert store.sql("select count(*) as n from runs").to_pylist() == [{"n": len(specs)}]
    new = sample_specs(40)[-1]
    write_run(StoreLayout(root), new)
    assert new.id in store.runs().ids

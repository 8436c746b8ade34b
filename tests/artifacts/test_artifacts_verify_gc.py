"""verify names exactly what is damaged; gc deletes only what no run (trashed runs included) references."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from artifact_helpers import cli, flip_byte, make_tree, manifest, object_files

from localtrack.storage.layout import StoreLayout
from localtrack.storage.objects import ObjectStore
from localtrack.store import shell_writer
from localtrack.store.artifacts import artifact_handle, log_artifact
from localtrack.store.gc import plan_gc, run_gc
from localtrack.store.verify import verify_store

OLD = time.time() - 3 * 3600


@pytest.fixture
def populated(layout: StoreLayout, run_id: str, tmp_path: Path) -> dict[str, Path]:
    """A run with two sealed segments, a file artifact and a folder artifact."""
    shell_writer.log_metrics(layout, run_id, {"loss": 1.0, "acc": 0.5}, 0)
    shell_writer.log_metrics(layout, run_id, {"loss": 0.5}, 1)
    (tmp_path / "model.bin").write_bytes(os.urandom(10_000))
    log_artifact(layout, run_id, tmp_path / "model.bin", type="model")
    log_artifact(layout, run_id, make_tree(tmp_path / "data", {"a": (b"a" * 100, 0o644), "b/c": (b"c" * 50, 0o644)}))
    objects = ObjectStore(layout.objects_dir)
    segments = sorted(layout.metrics_dir(run_id).glob("*.parquet"))
    assert len(segments) == 2
    return {
        "model": objects.path(artifact_handle(layout, run_id, "model.bin").hash),
        "tree": objects.path(artifact_handle(layout, run_id, "data").hash),
        "leaf": objects.path(artifact_handle(layout, run_id, "data").files()[0].hash),
        "segment": segments[0],
        "manifest": layout.manifest_path(run_id),
    }


def _damaged(layout: StoreLayout) -> set[str]:
    return {f.path for f in verify_store(layout).damaged}


def test_clean_store_verifies(layout: StoreLayout, populated: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    report = verify_store(layout)
    assert report.ok and report.findings == []
    assert report.objects == 4 and report.segments == 2 and report.artifacts == 2 and report.runs == 1
    code, out, _ = cli(capsys, "verify", "--store", str(layout.root))
    assert code == 0 and "0 damaged" in out


@pytest.mark.parametrize("what", ["model", "tree", "leaf", "segment"])
def test_flipped_byte_is_named(
    layout: StoreLayout, populated: dict[str, Path], what: str, capsys: pytest.CaptureFixture[str]
) -> None:
    flip_byte(populated[what])
    assert _damaged(layout) == {str(populated[what])}
    code, out, err = cli(capsys, "verify", "--format", "json", "--store", str(layout.root))
    assert code == 1 and "damaged" in err
    rows = json.loads(out)
    assert {r["path"] for r in rows if r["status"] == "damaged"} == {str(populated[what])}


@pytest.mark.parametrize("what", ["model", "leaf", "segment"])
def test_missing_file_is_named(layout: StoreLayout, populated: dict[str, Path], what: str) -> None:
    populated[what].unlink()
    report = verify_store(layout)
    assert {f.path for f in report.damaged} == {str(populated[what])}
    assert all("missing" in f.message for f in report.damaged)


def test_missing_tree_listing_is_named(layout: StoreLayout, populated: dict[str, Path]) -> None:
    populated["tree"].unlink()
    assert _damaged(layout) == {str(populated["tree"])}


def test_torn_manifest_and_bad_records_are_named(layout: StoreLayout, populated: dict[str, Path], run_id: str) -> None:
    data = manifest(layout, run_id)
    data["artifacts"][0]["name"] = "../../etc/passwd"
    populated["manifest"].write_text(json.dumps(data))
    report = verify_store(layout)
    assert {f.path for f in report.damaged} == {str(populated["manifest"])}
    populated["manifest"].write_bytes(populated["manifest"].read_bytes()[:100])
    assert _damaged(layout) == {str(populated["manifest"])}


def test_unrecorded_segment_is_a_warning(layout: StoreLayout, populated: dict[str, Path]) -> None:
    orphan = populated["segment"].with_name(populated["segment"].name.split("-")[0] + "-000099-000099.parquet")
    shutil.copyfile(populated["segment"], orphan)
    report = verify_store(layout)
    assert report.ok
    assert [f.path for f in report.warnings] == [str(orphan)]


def test_stale_temp_and_junk_are_warnings(layout: StoreLayout, populated: dict[str, Path]) -> None:
    shard = populated["model"].parent
    stale = shard / f".{populated['model'].name}.abc.tmp"
    stale.write_bytes(b"partial")
    young = shard / ".young.tmp"
    young.write_bytes(b"in flight")
    os.utime(stale, (OLD, OLD))
    (layout.objects_dir / "README").write_text("junk")
    report = verify_store(layout)
    assert report.ok
    assert {f.path for f in report.warnings} == {str(stale), str(layout.objects_dir / "README")}


def test_trashed_runs_are_verified_too(layout: StoreLayout, populated: dict[str, Path], run_id: str) -> None:
    layout.trash_dir.mkdir(exist_ok=True)
    os.rename(layout.run_dir(run_id), layout.trash_dir / run_id)
    populated["model"].unlink()
    assert _damaged(layout) == {str(populated["model"])}


def _age_everything(layout: StoreLayout) -> None:
    for path in layout.objects_dir.rglob("*"):
        if path.is_file():
            os.utime(path, (OLD, OLD), follow_symlinks=False)


def test_gc_keeps_referenced_and_trashed_and_removes_only_unreferenced(
    layout: StoreLayout, new_run: Callable[..., str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from localtrack.store import manage

    kept, trashed, purged = new_run("kept"), new_run("trashed"), new_run("purged")
    shared = tmp_path / "shared.bin"
    shared.write_bytes(b"shared by all three")
    for rid in (kept, trashed, purged):
        log_artifact(layout, rid, shared)
    for rid in (kept, trashed, purged):
        (tmp_path / f"{rid}.bin").write_bytes(f"only {rid}".encode())
        log_artifact(layout, rid, tmp_path / f"{rid}.bin", name="own")
        log_artifact(layout, rid, make_tree(tmp_path / f"dir-{rid}", {"x": (f"x {rid}".encode(), 0o644)}), name="folder")
    manage.trash_run(layout, trashed, force=True)
    own = {rid: artifact_handle(layout, rid, "own").hash for rid in (kept, purged)}
    purged_objects = {own[purged], artifact_handle(layout, purged, "folder").hash,
                      artifact_handle(layout, purged, "folder").files()[0].hash}
    shutil.rmtree(layout.run_dir(purged))
    _age_everything(layout)
    before = set(object_files(layout))
    plan = plan_gc(layout)
    assert {e.digest for e in plan.unreferenced} == purged_objects
    assert plan.problems == [] and plan.young == []
    code, out, _ = cli(capsys, "gc", "--format", "json", "--store", str(layout.root))
    assert code == 0 and {r["hash"] for r in json.loads(out)} == purged_objects
    assert set(object_files(layout)) == before  # listing deletes nothing
    code, _, err = cli(capsys, "gc", "--yes", "--store", str(layout.root))
    assert code == 0 and "deleted 3 file(s)" in err
    assert {p.split("/")[1] for p in before - set(object_files(layout))} == purged_objects
    assert verify_store(layout).ok
    manage.restore_run(layout, trashed)
    assert artifact_handle(layout, trashed, "folder").download(tmp_path / "back").is_dir()
    assert artifact_handle(layout, kept, "shared.bin").read_bytes() == b"shared by all three"


def test_gc_spares_young_objects_and_temp_files(layout: StoreLayout, run_id: str, tmp_path: Path) -> None:
    objects = ObjectStore(layout.objects_dir)
    old = objects.put_bytes(b"old and unreferenced")
    young = objects.put_bytes(b"just written, not yet recorded")
    os.utime(objects.path(old.digest), (OLD, OLD))
    shard = objects.path(young.digest).parent
    young_tmp = shard / ".write-in-flight.tmp"
    young_tmp.write_bytes(b"half")
    stale_tmp = shard / ".crashed-write.tmp"
    stale_tmp.write_bytes(b"half")
    os.utime(stale_tmp, (OLD, OLD))
    plan = plan_gc(layout)
    assert [e.digest for e in plan.unreferenced] == [old.digest]
    assert [e.digest for e in plan.young] == [young.digest]
    assert [e.path for e in plan.stale_temps] == [stale_tmp]
    result = run_gc(layout, plan)
    assert sorted(result.deleted) == sorted([str(objects.path(old.digest)), str(stale_tmp)])
    assert objects.exists(young.digest) and young_tmp.exists()


def test_relogging_an_unreferenced_object_saves_it_from_a_running_gc(layout: StoreLayout, run_id: str, tmp_path: Path) -> None:
    src = tmp_path / "again.bin"
    src.write_bytes(b"logged, deleted run, logged again")
    objects = ObjectStore(layout.objects_dir)
    digest = objects.put_file(src).digest
    os.utime(objects.path(digest), (OLD, OLD))
    plan = plan_gc(layout)  # gc decided: unreferenced
    assert [e.digest for e in plan.unreferenced] == [digest]
    log_artifact(layout, run_id, src)  # meanwhile a run logs the same bytes (dedupe hit)
    result = run_gc(layout, plan)
    assert result.deleted == [] and objects.exists(digest)
    assert verify_store(layout).ok


def test_gc_refuses_to_delete_with_an_unreadable_manifest(
    layout: StoreLayout, populated: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    ObjectStore(layout.objects_dir).put_bytes(b"garbage")
    _age_everything(layout)
    populated["manifest"].write_bytes(b"{ torn")
    code, _, err = cli(capsys, "gc", "--store", str(layout.root))
    assert code == 0 and "not valid JSON" in err
    code, _, err = cli(capsys, "gc", "--yes", "--store", str(layout.root))
    assert code == 1 and "deletes nothing" in err
    assert populated["model"].exists()

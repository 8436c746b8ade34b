"""The managing half of ``localtrack.Store``, used from Python as a script author would:
select, verify, gc, remove/restore, run edits, shell-style logging and artifacts, each checked
on disk and through what the call returns, plus the hostile cases (one clear LocaltrackError)."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

import localtrack
from localtrack.errors import (
    AmbiguousRunError,
    ArtifactError,
    GcBlockedError,
    InvalidNameError,
    InvalidValueError,
    LocaltrackError,
    RunNotFoundError,
    RunStateError,
    StoreLinkError,
)


def manifest(store: localtrack.Store, run_id: str) -> dict:
    return json.loads((store.root / "runs" / run_id / "manifest.json").read_text())


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> localtrack.Store:
    """Three finished runs: bert-a (tag sweep=s1), bert-b, resnet (created last)."""
    monkeypatch.chdir(tmp_path)
    root = tmp_path / ".localtrack"
    for name, acc in (("bert-a", 0.8), ("bert-b", 0.9), ("resnet", 0.5)):
        run = localtrack.init(dir=root, project="p", name=name, config={"lr": acc / 10}, system_metrics=False,
                              tags={"sweep": "s1"} if name == "bert-a" else None)
        run.log({"acc": acc}, step=0)
        run.finish()
    s = localtrack.Store(root)
    yield s
    s.close()


def ids_by_name(store: localtrack.Store) -> dict[str, str]:
    return {row["name"]: row["id"] for row in store.runs()}


# ---------------------------------------------------------------------- create and shell-style logging
def test_create_then_new_run_logs_params_metrics_and_finishes(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    made = localtrack.Store.create(tmp_path / "proj")
    assert made.created and (tmp_path / "proj" / ".localtrack" / "FORMAT").is_file()
    again = localtrack.Store.create(tmp_path / "proj")
    assert not again.created and again.root == made.root

    run = made.new_run(project="nlp", name="shell-run", tags=["baseline"], params={"lr": 0.1})
    assert (made.root / "runs" / run.id / "manifest.json").is_file()
    assert run.name == "shell-run" and run.tags == {"baseline": ""}
    made.log_params(run.id, '{"optim": {"name": "adam"}}')  # JSON text, as the shell gives it
    first = made.log_metrics("shell-run", {"loss": 0.5})
    second = made.log_metrics(run, {"loss": 0.25}, step=7)
    assert (first.last_step, second.last_step, second.run.id) == (0, 7, run.id)
    finished = made.finish(run, "failed")
    assert finished.status == "failed" and manifest(made, run.id)["status"] == "failed"
    assert manifest(made, run.id)["config"] == {"lr": 0.1, "optim": {"name": "adam"}}
    points = made.run(run.id).metrics("loss").to_pylist()
    assert [(p["step"], p["value"]) for p in points] == [(0, 0.5), (7, 0.25)]
    with pytest.raises(RunStateError):
        made.log_metrics(run, {"loss": 0.1})
    made.close()


def test_stream_metrics_keeps_the_lines_before_a_bad_one(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = localtrack.Store(tmp_path / ".localtrack", create=True)
    run = s.new_run(name="streamed")
    logged = s.stream_metrics(run, io.BytesIO(b'{"step": 1, "loss": 0.3}\n\n{"loss": 0.2}\n'), flush_seconds=0)
    assert (logged.steps, logged.last_step, logged.lines) == (2, 2, 3)
    with pytest.raises(InvalidValueError, match="line 2"):
        s.stream_metrics(run, io.BytesIO(b'{"loss": 0.1}\nnot json\n{"loss": 9}\n'), flush_seconds=0)
    values = [p["value"] for p in s.run(run.id).metrics("loss").to_pylist()]
    assert values == [0.3, 0.2, 0.1]
    with pytest.raises(InvalidValueError, match="JSON object"):
        s.log_metrics(run, "[1, 2]")
    s.close()


# ---------------------------------------------------------------------- select and the one reference rule
def test_select_by_id_prefix_short_id_name_latest_glob_and_filter(store: localtrack.Store) -> None:
    ids = ids_by_name(store)
    from localtrack.ids import short_id

    assert store.select(ids["bert-a"]).ids == [ids["bert-a"]]
    assert store.select(ids["bert-b"][:-2]).ids == [ids["bert-b"]]
    assert store.select(short_id(ids["resnet"])).ids == [ids["resnet"]]
    assert store.select("resnet", "bert-a").ids == [ids["resnet"], ids["bert-a"]]  # the order given
    assert store.select("@latest").ids == [ids["resnet"]]
    assert set(store.select("bert-*").ids) == {ids["bert-a"], ids["bert-b"]}
    assert set(store.select(pattern="bert-?").ids) == {ids["bert-a"], ids["bert-b"]}
    assert store.select("bert-*", filter="metrics.acc > 0.85").ids == [ids["bert-b"]]
    assert store.select(filter="params.lr < 0.06").ids == [ids["resnet"]]
    # the folder reader (write side) and the index (read side) name the same run
    for ref in ("@latest", "bert-a", ids["bert-b"][:-2]):
        assert store.resolve(ref).id == store.run(ref).id == store.select(ref).ids[0]


def test_select_refuses_what_names_no_run(store: localtrack.Store) -> None:
    with pytest.raises(RunNotFoundError, match="no run matches 'nope'"):
        store.select("nope")
    with pytest.raises(RunNotFoundError, match="pattern 'gpt-\\*'"):
        store.select("gpt-*")
    with pytest.raises(RunNotFoundError, match="does not match the filter"):
        store.select("resnet", filter="metrics.acc > 0.7")
    with pytest.raises(RunNotFoundError, match="no run matches the filter"):
        store.select(filter="metrics.acc > 2")
    with pytest.raises(LocaltrackError, match="name the runs"):
        store.select()
    all_ids = sorted(ids_by_name(store).values())
    shared = next(all_ids[0][:n] for n in range(len(all_ids[0]), 0, -1) if all_ids[-1].startswith(all_ids[0][:n]))
    with pytest.raises(AmbiguousRunError) as caught:
        store.select(shared)
    assert len(caught.value.candidates) == 3
    with pytest.raises(AmbiguousRunError):
        store.resolve(shared)  # the write side applies the same rule
    with pytest.raises(RunNotFoundError, match="empty run reference"):
        store.resolve("  ")


def test_a_symlinked_run_folder_is_named_never_followed(store: localtrack.Store, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "manifest.json").write_text("{}")
    fake = "20250101-000000-deadbeef"
    os.symlink(outside, store.root / "runs" / fake)
    with pytest.raises(StoreLinkError, match="symbolic link"):
        store.resolve(fake)
    with pytest.raises(LocaltrackError, match="symbolic link"):
        store.select(fake)
    with pytest.raises(RunNotFoundError, match="not valid UTF-8"):
        store.resolve("bert-\udcff")
    with pytest.raises(StoreLinkError):
        store.remove(fake)
    with pytest.raises(StoreLinkError):
        store.change_tags(fake, add={"x": "1"})
    assert (outside / "manifest.json").read_text() == "{}"  # nothing written through the link
    assert any(f.severity == "damaged" and f.path.endswith(fake) for f in store.verify())


# ---------------------------------------------------------------------- edits on a run
def test_run_edits_write_the_manifest_and_update_the_object(store: localtrack.Store) -> None:
    run = store.run("bert-a")
    assert run.add_tag("stage", "prod") is run
    assert run.tags == {"stage": "prod", "sweep": "s1"}
    run.add_tag("best")
    run.remove_tag("sweep")
    run.set_note("lr too high")
    run.set_note("second thought", append=True)
    run.rename("bert-final")
    on_disk = manifest(store, run.id)
    assert on_disk["tags"] == {"best": "", "stage": "prod"} == run.tags
    assert on_disk["notes"] == "lr too high\nsecond thought" == run.notes
    assert on_disk["name"] == "bert-final" == run.name
    assert store.run(run.id).tags == run.tags  # the index sees the edit
    with pytest.raises(LocaltrackError, match="has no tag 'missing'"):
        run.remove_tag("missing")
    with pytest.raises(InvalidNameError):
        run.add_tag("bad\x00key")
    with pytest.raises(LocaltrackError):
        run.set_note(123)  # type: ignore[arg-type]
    after = store.change_tags("bert-b", add=["label", "k=v"])
    assert after.tags == {"k": "v", "label": ""} == manifest(store, after.id)["tags"]


# ---------------------------------------------------------------------- remove and restore
def test_remove_restore_and_purge(store: localtrack.Store) -> None:
    ids = ids_by_name(store)
    gone = store.remove("bert-b")
    assert gone.trashed and (store.root / "trash" / ids["bert-b"]).is_dir()
    assert not (store.root / "runs" / ids["bert-b"]).exists()
    assert [t.id for t in store.trash()] == [ids["bert-b"]]
    with pytest.raises(RunNotFoundError):
        store.select("bert-b")
    back = store.restore("bert-b")
    assert back.id == ids["bert-b"] and (store.root / "runs" / back.id / "manifest.json").is_file()
    assert store.trash() == []
    with pytest.raises(RunNotFoundError, match="trash is empty"):
        store.restore("bert-b")
    store.remove("resnet")
    store.remove("resnet", purge=True)  # from the trash, for good
    assert not (store.root / "trash" / ids["resnet"]).exists() and store.trash() == []
    store.remove(store.run("bert-a"), purge=True)  # a RunInfo is a run reference too
    assert set(ids_by_name(store)) == {"bert-b"}


def test_remove_refuses_a_running_run_unless_forced(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = localtrack.Store(tmp_path / ".localtrack", create=True)
    run = s.new_run(name="live")
    with pytest.raises(RunStateError, match="still running"):
        s.remove(run)
    assert s.remove(run, force=True).trashed
    s.close()


# ---------------------------------------------------------------------- verify and gc
def _object_file(store: localtrack.Store, digest: str) -> Path:
    (found,) = [p for p in (store.root / "objects").rglob("*") if p.is_file() and digest in str(p)]
    return found


def test_verify_names_the_damaged_object(store: localtrack.Store, tmp_path: Path) -> None:
    model = tmp_path / "model.bin"
    model.write_bytes(b"weights" * 100)
    ref = store.log_artifact("bert-a", model, type="model")
    clean = store.verify()
    assert clean == [] and clean.ok and clean.objects >= 1 and clean.runs == 3
    obj = _object_file(store, ref.hash)
    os.chmod(obj, 0o644)
    obj.write_bytes(b"tampered")
    found = store.verify()
    assert not found.ok
    assert found.damaged and {Path(f.path) for f in found.damaged} == {obj}  # the object's path holds its digest
    assert all(f.severity == "damaged" and f.message for f in found.damaged)


def test_gc_lists_then_deletes_a_purged_runs_objects(store: localtrack.Store, tmp_path: Path) -> None:
    model = tmp_path / "model.bin"
    model.write_bytes(b"only bert-b has these bytes")
    obj = _object_file(store, store.log_artifact("bert-b", model).hash)
    store.remove("bert-b", purge=True)
    kept = store.gc()  # default grace: an hour, so the young object stays
    assert [e.status for e in kept.entries] == ["young, kept"] and obj.exists()
    plan = store.gc(grace=0)
    assert plan.dry_run and [(Path(e.path), e.status, e.deleted) for e in plan.entries] == [(obj, "unreferenced", False)]
    assert plan.reclaimable_bytes == obj.stat().st_size and obj.exists()
    done = store.gc(grace="0", dry_run=False)
    assert [Path(e.path) for e in done.deleted] == [obj] and not obj.exists()
    assert done.deleted_bytes == len(b"only bert-b has these bytes")
    for bad in ("5x", "-1", "1.5h", -3):
        with pytest.raises(InvalidValueError):
            store.gc(grace=bad)


def test_gc_deletes_nothing_while_a_manifest_is_unreadable(store: localtrack.Store, tmp_path: Path) -> None:
    run_id = ids_by_name(store)["resnet"]
    (store.root / "runs" / run_id / "manifest.json").write_text("{broken")
    assert store.gc(grace=0).problems  # listing still works, and says why
    with pytest.raises(GcBlockedError, match="deletes nothing") as caught:
        store.gc(grace=0, dry_run=False)
    assert caught.value.problems


# ---------------------------------------------------------------------- artifacts
def test_artifacts_log_list_and_download(store: localtrack.Store, tmp_path: Path) -> None:
    source = tmp_path / "ckpt.pt"
    source.write_bytes(b"v1")
    store.log_artifact("bert-a", source, name="ckpt", type="model")
    source.write_bytes(b"v2")
    second = store.log_artifact("bert-a", source, name="ckpt", type="model")
    assert second.version == 2
    every = store.artifacts("bert-a", type="model")  # (init also keeps a requirements.txt of its own)
    assert [(h.name, h.version) for h in every.handles] == [("ckpt", 1), ("ckpt", 2)]
    assert [h.version for h in store.artifacts(type="model", latest=True).handles] == [2]
    assert store.artifacts(type="no-such-type").handles == []
    out = tmp_path / "out"
    written = store.download_artifacts(store.artifacts("bert-a", name="ckpt", version=1), out)
    assert [p.read_bytes() for p in written] == [b"v1"]
    with pytest.raises(ArtifactError, match="already exists"):
        store.download_artifacts(store.artifacts("bert-a", type="model", latest=True), out)
    store.download_artifacts(store.artifacts("bert-a", type="model", latest=True), out, overwrite=True)
    assert (out / "ckpt.pt").read_bytes() == b"v2"
    with pytest.raises(InvalidValueError, match="needs an artifact name"):
        store.artifacts("bert-a", version=1)
    with pytest.raises(RunNotFoundError):
        store.log_artifact("nope", source)

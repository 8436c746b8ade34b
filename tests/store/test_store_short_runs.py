"""What short runs in a loop do once per process instead of once per run, and that it stays right.

init() keeps the store it opened (revalidated by one lstat of FORMAT), the Run adopts the
config view init() validated, ids come from one urandom call, the fsync batch works on
descriptors the caller opened, and a reader in the writing process parses the manifests it
wrote without re-reading them. Each test checks what a user would see if the shortcut were wrong.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
from store_helpers import fail_fsync_of

import localtrack
from localtrack import ids
from localtrack.errors import CorruptRunError, StoreFormatError
from localtrack.storage import own_manifest, sync_batch
from localtrack.storage.lease import host_name
from localtrack.storage.manifest import read_manifest, write_manifest
from localtrack.store.reader import load_run


def _short_run(store: Path, **kwargs: object) -> localtrack.Run:
    run = localtrack.init(project="p", dir=store, system_metrics=False, reinit="create_new", **kwargs)
    run.log({"loss": 0.5})
    run.finish()
    return run


def test_a_store_whose_format_changed_between_runs_is_refused(tmp_path: Path) -> None:
    store = tmp_path / "store"
    _short_run(store)
    (store / "FORMAT").write_text("localtrack-store 99\n")  # another localtrack upgraded the store
    with pytest.raises(StoreFormatError, match="99"):
        localtrack.init(project="p", dir=store, system_metrics=False)


def test_a_store_deleted_between_runs_is_created_again(tmp_path: Path) -> None:
    import shutil

    store = tmp_path / "store"
    _short_run(store)
    shutil.rmtree(store)
    run = _short_run(store)
    assert (store / "FORMAT").is_file()
    assert read_manifest(run.dir / "manifest.json")["status"] == "finished"


def test_a_new_localtrack_dir_is_used_by_the_next_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALTRACK_DIR", str(tmp_path / "a"))
    first = _short_run(None)  # type: ignore[arg-type]
    monkeypatch.setenv("LOCALTRACK_DIR", str(tmp_path / "b"))
    second = _short_run(None)  # type: ignore[arg-type]
    assert first.dir.parent.parent == tmp_path / "a"
    assert second.dir.parent.parent == tmp_path / "b"


def test_the_config_view_init_validated_is_the_runs_and_its_changes_reach_the_manifest(tmp_path: Path) -> None:
    run = localtrack.init(project="p", dir=tmp_path / "s", config={"lr": 0.1, "opt": {"name": "adam"}},
                          system_metrics=False)
    assert run.config["lr"] == 0.1 and run.config.opt == {"name": "adam"}
    run.config["epochs"] = 3
    with pytest.raises(localtrack.errors.InvalidValueError, match="clashes"):
        run.config["opt.name"] = "sgd"  # the dotted names init() recorded still guard the view
    run.finish()
    config = read_manifest(run.dir / "manifest.json")["config"]
    assert config == {"lr": 0.1, "opt": {"name": "adam"}, "epochs": 3}


def test_a_resumed_runs_config_is_the_merged_one(tmp_path: Path) -> None:
    first = localtrack.init(project="p", dir=tmp_path / "s", id="r1", config={"a": 1}, system_metrics=False)
    first.finish()
    again = localtrack.init(project="p", dir=tmp_path / "s", id="r1", resume="allow", config={"b": 2},
                            system_metrics=False)
    assert dict(again.config) == {"a": 1, "b": 2}
    again.finish()


def test_ids_use_their_alphabet_uniformly_enough_and_do_not_repeat() -> None:
    tokens = [ids.new_writer_id() for _ in range(3000)]
    assert len(set(tokens)) == len(tokens)
    assert all(len(t) == 10 and set(t) <= set(ids._ALPHABET) for t in tokens)
    counts = {c: 0 for c in ids._ALPHABET}
    for token in tokens:
        for c in token:
            counts[c] += 1
    expected = 30_000 / len(ids._ALPHABET)
    assert min(counts.values()) > expected * 0.8 and max(counts.values()) < expected * 1.2
    run_id = ids.new_run_id()
    assert len(run_id) == 25 and set(run_id[-6:]) <= set(ids._ALPHABET)
    adjective, noun, number = ids.new_run_name().split("-")
    assert adjective in ids._ADJECTIVES and noun in ids._NOUNS and 0 <= int(number) < 100


def test_the_host_name_is_the_one_socket_gives() -> None:
    assert host_name() == socket.gethostname()


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts descriptors in /proc")
def test_fsync_all_closes_every_descriptor_and_skips_a_vanished_file(tmp_path: Path) -> None:
    sync_batch.prepare()
    files = [tmp_path / f"f{i}" for i in range(4)]
    for path in files:
        path.write_bytes(b"x")
    before = _open_descriptors()
    sync_batch.fsync_all([*files, tmp_path / "merged-away"], [tmp_path, tmp_path / "no-such-folder"])
    assert _open_descriptors() == before


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts descriptors in /proc")
def test_fsync_all_closes_every_descriptor_when_a_file_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sync_batch.prepare()
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.write_bytes(b"x")
    bad.write_bytes(b"y")
    fail_fsync_of("bad", monkeypatch)
    before = _open_descriptors()
    with pytest.raises(localtrack.errors.LocaltrackError, match="bad"):
        sync_batch.fsync_all([good, bad], [tmp_path])
    assert _open_descriptors() == before


def test_a_reader_in_the_writing_process_sees_what_a_fresh_reader_sees(tmp_path: Path) -> None:
    run = _short_run(tmp_path / "s", config={"lr": 0.1})
    path = run.dir / "manifest.json"
    assert own_manifest.read_known_manifest(path) == read_manifest(path) == json.loads(path.read_bytes())
    assert load_run(run._layout, run.id).manifest == read_manifest(path)


def test_a_manifest_changed_after_this_process_wrote_it_is_read_from_disk(tmp_path: Path) -> None:
    run = _short_run(tmp_path / "s")
    path = run.dir / "manifest.json"
    changed = read_manifest(path)
    changed["notes"] = "tagged by another process"
    write_manifest(path, changed)  # as `localtrack tag` would, from another process
    assert load_run(run._layout, run.id).manifest["notes"] == "tagged by another process"


def test_a_manifest_rewritten_in_place_with_the_same_size_is_read_from_disk(tmp_path: Path) -> None:
    run = _short_run(tmp_path / "s")
    path = run.dir / "manifest.json"
    data = path.read_bytes()
    stat = os.stat(path)
    edited = data.replace(b'"notes": ""', b'"notes": "x"').replace(b'"status": "finished"', b'"status":"finished"', 1)
    assert len(edited) == len(data)
    with open(path, "r+b") as handle:  # the same inode and size, its mtime put back
        handle.write(edited)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert load_run(run._layout, run.id).manifest["notes"] == "x"


def test_a_manifest_replaced_by_a_link_to_our_own_bytes_is_refused(tmp_path: Path) -> None:
    run = _short_run(tmp_path / "s")
    path = run.dir / "manifest.json"
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(elsewhere)
    with pytest.raises(CorruptRunError, match="link"):
        own_manifest.read_known_manifest(path)
    assert not load_run(run._layout, run.id).ok


def test_the_known_manifests_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(own_manifest, "KNOWN_MANIFESTS", 3)
    monkeypatch.setattr(own_manifest, "_known", {})
    paths = []
    for i in range(5):
        path = tmp_path / f"m{i}.json"
        data = write_manifest(path, {"format_version": 1, "id": f"r{i}", "writers": {}})
        own_manifest.remember_written(path, data)
        paths.append(os.fspath(path))
    assert list(own_manifest._known) == paths[-3:]

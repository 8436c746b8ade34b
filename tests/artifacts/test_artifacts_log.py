"""Logging artifacts: dedupe across runs and names, tree dedupe, versions, round trips with modes."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from artifact_helpers import make_tree, manifest, object_files, store_bytes, temp_files

import localtrack
from localtrack.errors import ArtifactError, ArtifactNotFoundError, InvalidNameError, RunStateError
from localtrack.storage.layout import StoreLayout
from localtrack.store.artifacts import (
    artifact_handle,
    list_artifacts,
    log_artifact,
    select_artifacts,
)


def test_dedupe_across_runs_and_names(layout: StoreLayout, new_run: Callable[..., str], tmp_path: Path) -> None:
    src = tmp_path / "model.pt"
    src.write_bytes(os.urandom(300_000))
    a, b = new_run("a"), new_run("b")
    first = log_artifact(layout, a, src, type="model")
    grown = store_bytes(layout)
    assert grown == 300_000 and first.new_bytes == 300_000
    second = log_artifact(layout, b, src, name="weights/best", type="checkpoint")
    third = log_artifact(layout, a, src, name="copy")
    assert second.new_bytes == third.new_bytes == 0
    assert store_bytes(layout) == grown
    assert first.hash == second.hash == third.hash
    assert temp_files(layout) == []


def test_versions_per_name(layout: StoreLayout, run_id: str, tmp_path: Path) -> None:
    src = tmp_path / "ckpt.bin"
    for i in range(3):
        src.write_bytes(f"epoch {i}".encode())
        ref = log_artifact(layout, run_id, src, name="ckpt", type="checkpoint", metadata={"epoch": i})
        assert ref.version == i + 1
    assert artifact_handle(layout, run_id, "ckpt").version == 3
    old = artifact_handle(layout, run_id, "ckpt", version=2)
    assert old.read_bytes() == b"epoch 1" and old.metadata == {"epoch": 1}
    with pytest.raises(ArtifactNotFoundError, match="version 9"):
        artifact_handle(layout, run_id, "ckpt", version=9)
    with pytest.raises(ArtifactNotFoundError):
        artifact_handle(layout, run_id, "ckpt", type="model")
    records = manifest(layout, run_id)["artifacts"]
    assert [r["version"] for r in records] == [1, 2, 3]
    assert {"name", "version", "type", "hash", "size", "description", "kind", "files", "filename", "mode"} <= set(records[0])
    assert [h.version for h in select_artifacts(layout, run_id)] == [3]


def test_tree_dedupe_adds_only_the_changed_file_and_a_listing(layout: StoreLayout, run_id: str, tmp_path: Path) -> None:
    folder = make_tree(tmp_path / "data", {f"part-{i}.bin": (os.urandom(50_000), 0o644) for i in range(4)})
    first = log_artifact(layout, run_id, folder, type="data")
    before = object_files(layout)
    assert len(before) == 5 and first.files == 4 and first.size == 200_000
    (folder / "part-2.bin").write_bytes(os.urandom(50_000))
    second = log_artifact(layout, run_id, folder, type="data")
    added = set(object_files(layout)) - set(before)
    assert second.version == 2 and len(added) == 2  # the new file and the new listing
    assert second.new_bytes == 50_000 + object_files(layout)[next(a for a in added if second.hash in a)]
    assert log_artifact(layout, run_id, folder, name="data-again").new_bytes == 0  # identical folder, one listing


def test_round_trip_bytes_and_modes(layout: StoreLayout, run_id: str, tmp_path: Path) -> None:
    files = {
        "run.sh": (b"#!/bin/sh\necho hi\n", 0o755),
        "weights/w.bin": (os.urandom(70_000), 0o644),
        "weights/private.key": (b"k", 0o600),
        "deep/a/b/c/readonly.txt": (b"ro", 0o444),
        "empty.txt": (b"", 0o644),
    }
    folder = make_tree(tmp_path / "bundle", files)
    (tmp_path / "single.bin").write_bytes(b"single")
    os.chmod(tmp_path / "single.bin", 0o750)
    log_artifact(layout, run_id, folder, name="models/bundle", type="model")
    log_artifact(layout, run_id, tmp_path / "single.bin", name="one")
    out = tmp_path / "out"
    restored = artifact_handle(layout, run_id, "models/bundle").download(out)
    assert restored == out / "models" / "bundle"
    for rel, (data, mode) in files.items():
        assert (restored / rel).read_bytes() == data
        assert stat.S_IMODE((restored / rel).stat().st_mode) == mode, rel
    single = artifact_handle(layout, run_id, "one").download(out)
    assert single == out / "single.bin"  # the original file name, not the artifact name
    assert single.read_bytes() == b"single" and stat.S_IMODE(single.stat().st_mode) == 0o750
    with pytest.raises(ArtifactError, match="already exists"):
        artifact_handle(layout, run_id, "one").download(out)
    artifact_handle(layout, run_id, "one").download(out, overwrite=True)
    # path(): the object itself for a file, a cached checkout for a folder
    handle = artifact_handle(layout, run_id, "models/bundle")
    checkout = handle.path()
    assert (checkout / "weights" / "w.bin").read_bytes() == files["weights/w.bin"][0]
    assert handle.path() == checkout
    assert artifact_handle(layout, run_id, "one").path().read_bytes() == b"single"


def test_symlinks_inside_a_folder_are_not_followed_out(layout: StoreLayout, run_id: str, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do not store me")
    folder = make_tree(tmp_path / "f", {"real.txt": (b"real", 0o644), "sub/x.txt": (b"x", 0o644)})
    os.symlink("real.txt", folder / "alias.txt")  # inside: stored as the bytes it points to
    os.symlink(secret, folder / "escape.txt")  # outside: skipped
    os.symlink("../secret.txt", folder / "sub" / "up.txt")  # relative escape: skipped
    os.symlink("sub", folder / "dirlink")  # a folder link: skipped
    os.symlink("nowhere", folder / "dangling")
    (folder / ".DS_Store").write_bytes(b"hidden")
    ref = log_artifact(layout, run_id, folder)
    paths = [e.path for e in artifact_handle(layout, run_id, "f").files()]
    assert paths == ["alias.txt", "real.txt", "sub/x.txt"]
    assert {s.split(" ")[0] for s in ref.skipped} == {"escape.txt", "sub/up.txt", "dirlink", "dangling", ".DS_Store"}
    assert all(b"do not store me" not in p.read_bytes() for p in layout.objects_dir.rglob("*") if p.is_file())


def test_top_level_link_needs_follow_symlinks(layout: StoreLayout, run_id: str, tmp_path: Path) -> None:
    (tmp_path / "target.bin").write_bytes(b"t")
    os.symlink(tmp_path / "target.bin", tmp_path / "latest.bin")
    with pytest.raises(ArtifactError, match="symbolic link"):
        log_artifact(layout, run_id, tmp_path / "latest.bin")
    ref = log_artifact(layout, run_id, tmp_path / "latest.bin", follow_symlinks=True)
    assert ref.name == "latest.bin" and ref.size == 1


def test_invalid_file_names_in_a_folder_are_refused_by_name(layout: StoreLayout, run_id: str, tmp_path: Path) -> None:
    folder = make_tree(tmp_path / "f", {"ok.txt": (b"1", 0o644), "bad name.txt": (b"2", 0o644), "wei%2e.txt": (b"3", 0o644)})
    with pytest.raises(InvalidNameError, match=r"bad name\.txt") as info:
        log_artifact(layout, run_id, folder)
    assert "wei%2e.txt" in str(info.value)
    assert list_artifacts(layout, run_id)[0] == []


def test_default_name_is_sanitised_file_name(layout: StoreLayout, run_id: str, tmp_path: Path) -> None:
    src = tmp_path / "my model (final).pt"
    src.write_bytes(b"m")
    ref = log_artifact(layout, run_id, src)
    assert ref.name == "my_model__final_.pt"
    assert artifact_handle(layout, run_id, ref.name).record.filename == "my_model__final_.pt"


def test_name_collisions_x_versus_x_slash_y(layout: StoreLayout, run_id: str, tmp_path: Path) -> None:
    src = tmp_path / "f"
    src.write_bytes(b"1")
    log_artifact(layout, run_id, src, name="ckpt")
    with pytest.raises(ArtifactError, match="collides"):
        log_artifact(layout, run_id, src, name="ckpt/epoch-1")
    log_artifact(layout, run_id, src, name="plots/loss")
    with pytest.raises(ArtifactError, match="collides"):
        log_artifact(layout, run_id, src, name="plots")


def test_run_log_artifact_is_durable_when_it_returns(store_dir: Path, tmp_path: Path) -> None:
    """A writer SIGKILLed right after log_artifact returns still has the record and the object."""
    (tmp_path / "w.bin").write_bytes(b"weights" * 1000)
    code = textwrap.dedent(
        f"""
        import os, signal, localtrack
        run = localtrack.init(dir={str(store_dir)!r}, project="p")
        ref = run.log_artifact({str(tmp_path / 'w.bin')!r}, type="model", description="best")
        print(run.id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALTRACK_")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    assert done.returncode == -signal.SIGKILL, done.stderr
    run_id = done.stdout.strip()
    layout = StoreLayout(store_dir)
    handle = artifact_handle(layout, run_id, "w.bin")
    assert handle.type == "model" and handle.description == "best"
    assert handle.read_bytes() == b"weights" * 1000


def test_run_log_artifact_api_and_finished_run(store_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "plot.png").write_bytes(b"\x89PNG")
    run = localtrack.init(dir=store_dir, project="p")
    ref = run.log_artifact(tmp_path / "plot.png", type="plot", metadata={"dpi": 100})
    assert (ref.name, ref.version, ref.type, ref.size) == ("plot.png", 1, "plot", 4)
    assert artifact_handle(StoreLayout(store_dir), run.id, "plot.png").metadata == {"dpi": 100}
    run.finish()
    with pytest.raises(RunStateError):
        run.log_artifact(tmp_path / "plot.png")


def test_python_read_side_through_store(layout: StoreLayout, run_id: str, tmp_path: Path) -> None:
    (tmp_path / "m.bin").write_bytes(b"model bytes")
    log_artifact(layout, run_id, tmp_path / "m.bin", name="model", type="model")
    handle = localtrack.Store(layout.root).run(run_id).artifact("model")
    assert (handle.name, handle.version, handle.type, handle.size) == ("model", 1, "model", 11)
    assert handle.download(tmp_path / "out").read_bytes() == b"model bytes"
    assert handle.path().read_bytes() == b"model bytes"

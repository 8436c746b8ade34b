"""Hostile names (RELIABILITY.md bad inputs 1-5): refused when logging and again when downloading.

A run folder may arrive through a malicious git commit, so the download tests tamper with the
manifest and with tree listings directly, and check nothing is written outside the output folder.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from artifact_helpers import cli, make_tree, store_bytes, tamper

from localtrack.errors import ArtifactError, InvalidNameError, LocaltrackError
from localtrack.storage.layout import StoreLayout
from localtrack.storage.objects import ObjectStore
from localtrack.store.artifacts import (
    artifact_handle,
    list_artifacts,
    log_artifact,
    restore_all,
    select_artifacts,
)

TRAVERSAL = [
    "..", "../x", "../../etc/passwd", "a/../../b", "./../x", "/abs", "//host/share", "a//b", "a/", "a/./b",
    "..\\x", "C:\\x", "C:x", "\\\\server\\share",
]
ENCODED = [
    "%2e%2e%2f", "%252e%252e%252f", "..%c0%af", "%00", "file:///etc/passwd", "http:///#/../../etc/", "..;/x",
]
ODD = [
    "a\x00b", "a\nb", "\x1b[31mred", "a\u202eb", "a\u200db", "a\ud800b", "caf\u00e9", "cafe\u0301", "", " ", "   ",
    "a" * 256, "x/" * 100 + "y" * 60, ".hidden", "-rf",
]
HOSTILE = TRAVERSAL + ENCODED + ODD


@pytest.fixture
def sample(layout: StoreLayout, run_id: str, tmp_path: Path) -> dict[str, Any]:
    folder = make_tree(tmp_path / "src" / "bundle", {"a.txt": (b"A", 0o644), "sub/b.txt": (b"B", 0o755)})
    single = tmp_path / "src" / "single.bin"
    single.write_bytes(b"S")
    log_artifact(layout, run_id, folder, name="bundle")
    log_artifact(layout, run_id, single, name="single")
    return {"folder": folder, "single": single}


def _files_outside(root: Path, allowed: list[Path]) -> set[Path]:
    return {p for p in root.rglob("*") if not any(p == a or a in p.parents for a in allowed)}


@pytest.mark.parametrize("name", HOSTILE, ids=repr)
def test_hostile_name_refused_at_log_time(layout: StoreLayout, run_id: str, tmp_path: Path, name: str) -> None:
    src = tmp_path / "f.bin"
    src.write_bytes(b"payload")
    with pytest.raises(InvalidNameError):
        log_artifact(layout, run_id, src, name=name)
    assert store_bytes(layout) == 0  # refused before any byte is stored
    assert list_artifacts(layout, run_id) == ([], [])


@pytest.mark.parametrize("name", HOSTILE, ids=repr)
def test_hostile_name_refused_at_download_time(
    layout: StoreLayout, run_id: str, sample: dict[str, Any], tmp_path: Path, name: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def change(m: dict[str, Any]) -> None:
        for record in m["artifacts"]:
            if record["kind"] == "dir":
                record["name"] = name
            else:
                record["filename"] = name

    tamper(layout, run_id, change)
    before = _files_outside(tmp_path, [tmp_path / "out", layout.root])
    handles, problems = list_artifacts(layout, run_id)
    assert handles == [] and len(problems) == 2
    with pytest.raises(LocaltrackError):
        artifact_handle(layout, run_id, name)
    code, out, err = cli(capsys, "artifact", "download", run_id, "--output-dir", str(tmp_path / "out"), "--store", str(layout.root))
    assert code == 0 and "refused" in err and "\x1b" not in err and "\x1b" not in out
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").rglob("*")) == []
    if name:
        code, _, err = cli(capsys, "artifact", "download", run_id, name, "-o", str(tmp_path / "out"), "--store", str(layout.root))
        assert code != 0 and err.startswith("error:")
    assert _files_outside(tmp_path, [tmp_path / "out", layout.root]) == before


def _tampered_tree(layout: StoreLayout, run_id: str, entries: list[dict[str, Any]]) -> None:
    """Point the folder artifact at a listing a malicious commit wrote (its name is its real hash)."""
    data = (json.dumps({"format": "localtrack-tree 1", "entries": entries}) + "\n").encode()
    digest = ObjectStore(layout.objects_dir).put_bytes(data).digest

    def change(m: dict[str, Any]) -> None:
        for record in m["artifacts"]:
            if record["kind"] == "dir":
                record["hash"] = digest

    tamper(layout, run_id, change)


def _entry(path: str, hash_: str, size: int = 1, mode: int = 0o644) -> dict[str, Any]:
    return {"path": path, "hash": hash_, "size": size, "mode": mode}


@pytest.mark.parametrize("path", TRAVERSAL + ENCODED + ODD, ids=repr)
def test_hostile_tree_path_refused_at_download_time(
    layout: StoreLayout, run_id: str, sample: dict[str, Any], tmp_path: Path, path: str
) -> None:
    good = artifact_handle(layout, run_id, "bundle").files()[0].hash
    _tampered_tree(layout, run_id, [_entry("ok.txt", good), _entry(path, good)])
    handle = artifact_handle(layout, run_id, "bundle")
    with pytest.raises((InvalidNameError, ArtifactError)):
        handle.download(tmp_path / "out")
    assert not (tmp_path / "out" / "bundle").exists()  # checked before anything is written


@pytest.mark.parametrize(
    "entries",
    [
        [("x", "x.txt"), ("x", "x.txt")],  # one path twice
        [("x", "a"), ("x/y", "a")],  # a file that is also a folder
        [("x/y", "a"), ("x", "a")],
    ],
    ids=["duplicate", "file-then-folder", "folder-then-file"],
)
def test_tree_collisions_refused(
    layout: StoreLayout, run_id: str, sample: dict[str, Any], tmp_path: Path, entries: list[tuple[str, str]]
) -> None:
    good = artifact_handle(layout, run_id, "bundle").files()[0].hash
    _tampered_tree(layout, run_id, [_entry(p, good) for p, _ in entries])
    with pytest.raises(ArtifactError):
        artifact_handle(layout, run_id, "bundle").download(tmp_path / "out")
    assert not (tmp_path / "out" / "bundle").exists()


@pytest.mark.parametrize(
    "bad",
    [{"mode": 0o4755}, {"mode": -1}, {"size": -5}, {"size": True}, {"hash": "../../etc/passwd"}, {"extra": 1}],
    ids=repr,
)
def test_malformed_tree_entries_refused(
    layout: StoreLayout, run_id: str, sample: dict[str, Any], tmp_path: Path, bad: dict[str, Any]
) -> None:
    good = artifact_handle(layout, run_id, "bundle").files()[0].hash
    _tampered_tree(layout, run_id, [{**_entry("a.txt", good), **bad}])
    with pytest.raises(ArtifactError):
        artifact_handle(layout, run_id, "bundle").download(tmp_path / "out")


def test_collision_between_artifacts_of_one_download(layout: StoreLayout, run_id: str, sample: dict[str, Any], tmp_path: Path) -> None:
    """A tampered manifest naming a folder artifact like another artifact's file: refused before writing."""

    def change(m: dict[str, Any]) -> None:
        for record in m["artifacts"]:
            if record["kind"] == "file":
                record["filename"] = "bundle"  # the file would land where the folder goes

    tamper(layout, run_id, change)
    with pytest.raises(ArtifactError, match="both a file and the folder"):
        restore_all(select_artifacts(layout, run_id), tmp_path / "out")
    assert not (tmp_path / "out" / "bundle").exists()


def test_links_in_the_output_folder_are_not_followed(
    layout: StoreLayout, run_id: str, sample: dict[str, Any], tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(outside, out / "bundle")  # a planted link where the folder artifact goes
    with pytest.raises(ArtifactError, match="symbolic link"):
        artifact_handle(layout, run_id, "bundle").download(out)
    assert list(outside.iterdir()) == []
    (outside / "target").write_bytes(b"keep me")
    os.symlink(outside / "target", out / "single.bin")  # a planted link at a file's place
    with pytest.raises(ArtifactError, match="already exists"):
        artifact_handle(layout, run_id, "single").download(out)
    artifact_handle(layout, run_id, "single").download(out, overwrite=True)
    assert (outside / "target").read_bytes() == b"keep me"  # the link was replaced, not followed
    assert not (out / "single.bin").is_symlink() and (out / "single.bin").read_bytes() == b"S"


def test_object_replaced_by_a_link_is_refused(layout: StoreLayout, run_id: str, sample: dict[str, Any], tmp_path: Path) -> None:
    handle = artifact_handle(layout, run_id, "single")
    path = ObjectStore(layout.objects_dir).path(handle.hash)
    secret = tmp_path / "secret"
    secret.write_bytes(b"S")  # even with the right bytes, a link is never followed
    path.unlink()
    os.symlink(secret, path)
    with pytest.raises(ArtifactError, match="symbolic link"):
        handle.download(tmp_path / "out")
    with pytest.raises(ArtifactError, match="symbolic link"):
        handle.path()


def test_damaged_object_is_not_restored(layout: StoreLayout, run_id: str, sample: dict[str, Any], tmp_path: Path) -> None:
    handle = artifact_handle(layout, run_id, "single")
    path = ObjectStore(layout.objects_dir).path(handle.hash)
    os.chmod(path, 0o644)
    path.write_bytes(b"T")
    with pytest.raises(ArtifactError, match="damaged"):
        handle.download(tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []  # no temp file left behind either


def test_hostile_type_never_reaches_the_terminal(
    layout: StoreLayout, run_id: str, sample: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    tamper(layout, run_id, lambda m: m["artifacts"][0].__setitem__("type", "\x1b[2J\x1b[31mevil"))
    code, out, err = cli(capsys, "artifact", "ls", run_id, "--store", str(layout.root))
    assert code == 0
    assert "\x1b" not in out + err and "refused" in err
    assert "single" in out


def test_tampered_version_and_kind_refused(
    layout: StoreLayout, run_id: str, sample: dict[str, Any], new_run: Callable[..., str]
) -> None:
    for field, value in (("version", -1), ("version", "1"), ("kind", "symlink"), ("size", 2**70), ("hash", "zz")):
        tamper(layout, run_id, lambda m, f=field, v=value: m["artifacts"][1].__setitem__(f, v))
        handles, problems = list_artifacts(layout, run_id)
        assert [h.name for h in handles] == ["bundle"] and len(problems) == 1, (field, value)


def test_output_folder_given_as_a_link_is_used(layout: StoreLayout, run_id: str, sample: dict[str, Any], tmp_path: Path) -> None:
    real = tmp_path / "real-out"
    real.mkdir()
    os.symlink(real, tmp_path / "out-link")  # the user's own choice of folder may be a link
    artifact_handle(layout, run_id, "bundle").download(tmp_path / "out-link")
    assert (real / "bundle" / "sub" / "b.txt").read_bytes() == b"B"


def test_run_folder_replaced_by_a_link_is_refused(layout: StoreLayout, run_id: str, sample: dict[str, Any], tmp_path: Path) -> None:
    moved = tmp_path / "moved-run"
    os.rename(layout.run_dir(run_id), moved)
    os.symlink(moved, layout.run_dir(run_id))
    with pytest.raises(LocaltrackError, match="symbolic link"):
        list_artifacts(layout, run_id)
    with pytest.raises(LocaltrackError, match="symbolic link"):
        log_artifact(layout, run_id, sample["single"], name="again")

"""A writer re-reads the manifest it wrote last without re-validating it, and nothing else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localtrack.errors import CorruptRunError
from localtrack.storage.manifest import write_manifest
from localtrack.storage.own_manifest import reread_manifest


def _manifest(**extra: object) -> dict[str, object]:
    return {"format_version": 1, "id": "r1", "writers": {}, "config": {"lr": 0.5, "nan": float("nan")}, **extra}


def test_the_bytes_this_writer_wrote_read_back_as_a_full_read_would(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    written = write_manifest(path, _manifest())
    assert written == path.read_bytes()
    assert reread_manifest(path, written) == json.loads(written) == reread_manifest(path, None)


def test_a_manifest_changed_by_someone_else_is_read_in_full(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    written = write_manifest(path, _manifest())
    write_manifest(path, _manifest(notes="tagged by another process"))
    assert reread_manifest(path, written)["notes"] == "tagged by another process"


def test_a_hostile_replacement_still_gets_every_check(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    written = write_manifest(path, _manifest())
    path.write_bytes(b'{"format_version": 1, "id": "r1", "id": "r2"}')  # duplicate keys
    with pytest.raises(CorruptRunError):
        reread_manifest(path, written)
    path.unlink()
    path.symlink_to(tmp_path / "elsewhere.json")
    (tmp_path / "elsewhere.json").write_bytes(written)
    with pytest.raises(CorruptRunError):
        reread_manifest(path, written)  # a link is never followed, even to our own bytes

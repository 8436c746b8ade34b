"""The object store: layout, immutability, dedupe without temp files, links and special files refused."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import xxhash
from artifact_helpers import temp_files

from localtrack.errors import ArtifactError
from localtrack.storage.layout import StoreLayout
from localtrack.storage.objects import COPY_CHUNK, HASH_BUFFER, ObjectStore, hash_file


def test_put_bytes_layout_and_read_only(layout: StoreLayout) -> None:
    objects = ObjectStore(layout.objects_dir)
    data = b"hello objects"
    result = objects.put_bytes(data)
    digest = xxhash.xxh3_128_hexdigest(data)
    assert result.digest == digest and result.size == len(data) and result.written == len(data)
    path = layout.objects_dir / digest[:2] / digest
    assert path.read_bytes() == data
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert objects.put_bytes(data).written == 0
    assert temp_files(layout) == []


def test_put_file_crosses_buffer_and_chunk_boundaries(layout: StoreLayout, tmp_path: Path) -> None:
    data = os.urandom(1024) * ((COPY_CHUNK + 3 * HASH_BUFFER) // 1024) + b"tail"
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    objects = ObjectStore(layout.objects_dir)
    first = objects.put_file(src)
    assert first.digest == xxhash.xxh3_128_hexdigest(data) == hash_file(src)[0]
    assert first.written == len(data)
    assert objects.path(first.digest).read_bytes() == data
    again = objects.put_file(src)
    assert again == type(first)(first.digest, len(data), 0)
    assert temp_files(layout) == []


def test_damaged_object_with_wrong_size_is_replaced_on_relog(layout: StoreLayout, tmp_path: Path) -> None:
    objects = ObjectStore(layout.objects_dir)
    src = tmp_path / "f"
    src.write_bytes(b"0123456789")
    digest = objects.put_file(src).digest
    path = objects.path(digest)
    os.chmod(path, 0o644)
    path.write_bytes(b"01234")  # truncated, e.g. by a bad copy
    assert objects.put_file(src).written == 10
    assert path.read_bytes() == b"0123456789"


def test_links_fifos_and_missing_files_are_refused(layout: StoreLayout, tmp_path: Path) -> None:
    objects = ObjectStore(layout.objects_dir)
    (tmp_path / "real").write_bytes(b"x")
    os.symlink(tmp_path / "real", tmp_path / "link")
    with pytest.raises(ArtifactError, match="symbolic link"):
        objects.put_file(tmp_path / "link")
    assert objects.put_file(tmp_path / "link", follow_symlinks=True).size == 1
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(ArtifactError, match="not a regular file"):
        objects.put_file(tmp_path / "fifo")  # must not block waiting for a writer
    with pytest.raises(ArtifactError):
        objects.put_file(tmp_path / "missing")


def test_linked_shard_or_object_is_never_followed(layout: StoreLayout, tmp_path: Path) -> None:
    objects = ObjectStore(layout.objects_dir)
    data = b"payload"
    digest = xxhash.xxh3_128_hexdigest(data)
    outside = tmp_path / "outside"
    outside.mkdir()
    layout.objects_dir.mkdir(parents=True, exist_ok=True)
    os.symlink(outside, layout.objects_dir / digest[:2])
    with pytest.raises(ArtifactError, match="symbolic link"):
        objects.put_bytes(data)
    assert list(outside.iterdir()) == []
    os.unlink(layout.objects_dir / digest[:2])
    (layout.objects_dir / digest[:2]).mkdir()
    (outside / "secret").write_bytes(b"secret")
    os.symlink(outside / "secret", objects.path(digest))
    assert not objects.exists(digest)
    with pytest.raises(ArtifactError, match="symbolic link"):
        objects.open(digest)
    kinds = {e.kind for e in objects.iter_entries()}
    assert "link" in kinds


def test_invalid_object_names_never_become_paths(layout: StoreLayout) -> None:
    objects = ObjectStore(layout.objects_dir)
    for bad in ("../../etc/passwd", "ABCDEF" * 6, "0" * 31, "", "0" * 31 + "/"):
        with pytest.raises(ArtifactError):
            objects.path(bad)

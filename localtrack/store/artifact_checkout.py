"""What ``ArtifactHandle.path()`` hands out: bytes checked against their hash first.

``objects/`` travels through git and ``tmp/checkouts/`` sits on a disk anyone with access
can write, so neither is trusted: a file artifact's object is re-hashed before its path is
returned (exactly what ``read_bytes()`` refuses, ``path()`` refuses), and a folder's checkout
is compared file by file with its tree listing, and rebuilt from the objects when it differs.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

from localtrack.errors import ArtifactError
from localtrack.storage.links import NOFOLLOW
from localtrack.storage.objects import ObjectStore, hash_fd
from localtrack.store.artifact_tree import TreeEntry


def verified_object_path(objects: ObjectStore, digest: str, size: int) -> Path:
    """The object's path, after its bytes hashed to its name (and its size matched)."""
    fd = objects.open(digest)  # exists, is a regular file, reached through no link
    try:
        found, length = hash_fd(fd)
    finally:
        os.close(fd)
    if found != digest or length != size:
        raise ArtifactError(
            f"object {objects.path(digest)} is damaged (its bytes no longer match its name or size); "
            "run `localtrack verify`",
            digest,
        )
    return objects.path(digest)


def checkout_matches(folder: Path, entries: list[TreeEntry]) -> bool:
    """Whether ``folder`` holds exactly ``entries`` (same paths, sizes and hashes, no links)."""
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return False
        found = _regular_files(folder)
    except (OSError, _NotPlain):
        return False
    wanted = {e.path: e for e in entries}
    if set(found) != set(wanted):
        return False
    for rel, entry in wanted.items():
        try:
            fd = os.open(folder / rel, os.O_RDONLY | NOFOLLOW)
        except OSError:
            return False
        try:
            if hash_fd(fd) != (entry.hash, entry.size):
                return False
        finally:
            os.close(fd)
    return True


class _NotPlain(Exception):
    """A link, device or FIFO inside a checkout."""


def _regular_files(folder: Path, prefix: str = "") -> list[str]:
    out: list[str] = []
    with os.scandir(folder) as entries:
        for entry in entries:
            rel = f"{prefix}{entry.name}"
            if entry.is_symlink():
                raise _NotPlain(rel)
            if entry.is_dir(follow_symlinks=False):
                out.extend(_regular_files(Path(entry.path), f"{rel}/"))
            elif entry.is_file(follow_symlinks=False):
                out.append(rel)
            else:
                raise _NotPlain(rel)
    return out


def discard(folder: Path) -> None:
    """Move a checkout that failed its check out of the way, then delete it."""
    doomed = folder.with_name(f".{folder.name}.bad-{os.urandom(6).hex()}.tmp")
    try:
        os.rename(folder, doomed)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ArtifactError(f"{folder} does not match its artifact and cannot be replaced: {exc.strerror}", str(folder)) from None
    shutil.rmtree(doomed, ignore_errors=True)


def ensure_checkout(final: Path, entries: list[TreeEntry], build: Callable[[], None]) -> Path:
    """``final`` verified against ``entries``; rebuilt by ``build()`` when absent or different."""
    if checkout_matches(final, entries):
        return final
    if os.path.lexists(final):
        discard(final)
    build()
    if not checkout_matches(final, entries):
        raise ArtifactError(f"{final}: the restored folder does not match its artifact; run `localtrack verify`", str(final))
    return final

"""Atomic, durable file writes: temp file in the same folder, fsync, rename, fsync the folder.

A reader therefore sees either the old file or the whole new one, never a torn one, and a
crash or power loss after we return cannot lose the write. Temp names start with a dot and
end in ``.tmp`` so no reader's glob (``*.parquet``, ``manifest.json``) ever matches them.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from localtrack.errors import LocaltrackError, StoreReadOnlyError
from localtrack.storage.links import is_link, link_error, refuse_linked_parent

TMP_SUFFIX = ".tmp"


def temp_path_for(final: Path) -> Path:
    """A unique temp name beside ``final`` that no reader glob matches."""
    return final.with_name(f".{final.name}.{os.urandom(6).hex()}{TMP_SUFFIX}")


def fsync_dir(directory: Path) -> None:
    """Make a rename or create inside ``directory`` durable (no-op where unsupported)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def explain_os_error(exc: OSError, path: Path, action: str) -> LocaltrackError:
    """Turn an OSError from a write into one clear localtrack error."""
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return StoreReadOnlyError(
            f"cannot {action} {path}: the store is read-only ({exc.strerror}); "
            "check permissions or point LOCALTRACK_DIR at a writable store",
            str(path),
        )
    if exc.errno == errno.ENOSPC:
        return LocaltrackError(f"cannot {action} {path}: the disk is full; free space and retry", str(path))
    return LocaltrackError(f"cannot {action} {path}: {exc.strerror or exc}", str(path))


def atomic_write_bytes(path: Path, data: bytes | memoryview, *, durable: bool = True) -> None:
    """Write ``data`` to ``path`` atomically; on any failure nothing is left at ``path``'s name."""
    tmp = temp_path_for(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise explain_os_error(exc, path, "write") from exc
    if durable:
        fsync_dir(path.parent)


def write_new_file(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Create ``path`` (which must not exist) with ``data``, durably: for files inside a folder
    no reader can see yet, where a temp name and a rename would add nothing.

    ``durable=False`` skips both fsyncs, for a caller that makes the file (or what replaces
    it) durable later, before it acknowledges anything (a new run's first manifest)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise explain_os_error(exc, path, "write") from exc
    if durable:
        fsync_dir(path.parent)


def make_dirs(path: Path) -> None:
    """``mkdir -p`` with a clear error when the store is read-only or the disk full.

    Store folders only: a link at ``path`` or its folder (say ``runs/<id>/metrics`` planted by
    a commit) is refused rather than written through, and a dangling one is never given a target.
    """
    # The folder it goes in must not be a link either, unless that folder is a store root
    # (the one place a link is the user's choice, e.g. a store on another disk).
    if is_link(path):
        raise link_error(path)
    refuse_linked_parent(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if is_link(path):
            raise link_error(path) from None
        raise explain_os_error(exc, path, "create folder") from exc
    if is_link(path):  # swapped in between our check and mkdir
        raise link_error(path)

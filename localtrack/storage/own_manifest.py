"""Re-reading a manifest this writer wrote last, without validating it again.

A writer re-reads its run's manifest under the run lock before every write (another writer
of the run, or ``localtrack tag``, may have changed it). Usually nobody has: the file holds
exactly the bytes this writer wrote, which need neither the hostile-input checks of
:func:`~localtrack.storage.manifest.read_manifest` (duplicate keys, depth, path names) nor
its slow duplicate-refusing parse. Anything else, or any error, takes ``read_manifest``.

The same holds for a reader in the writing process: a script that just wrote 200 runs and
searches them (bench_peers W3) reads manifests it wrote itself. :func:`remember_written`
keeps the bytes of the last manifests this process wrote, with the file's identity (device,
inode, size, mtime, ctime); :func:`read_known_manifest` parses them plainly when ``lstat`` shows the
file is still that one (a replaced, rewritten or linked file is another identity), and
reads the file with every check otherwise. :func:`written_bytes` goes further for a search
(localtrack/query/own_runs.py): it reads the file and hands back the bytes this process wrote
only when the file holds exactly them now, a comparison of content, not of ``stat``.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path
from typing import Any

from localtrack.storage.manifest import read_manifest


def reread_manifest(path: Path, last_written: bytes | None) -> dict[str, Any]:
    """The manifest at ``path``: parsed plainly if it is byte for byte ``last_written``."""
    if last_written is not None:
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with open(fd, "rb") as handle:
                data = handle.read(len(last_written) + 1)
        except OSError:
            data = None
        if data == last_written:
            manifest: dict[str, Any] = json.loads(data)
            return manifest
    return read_manifest(path)


KNOWN_MANIFESTS = 512  # the last manifests written, kept for readers in this process (~4 KB each)
FileIdentity = tuple[int, int, int, int, int]
_known: dict[str, tuple[FileIdentity, bytes]] = {}  # path -> (identity, bytes); oldest first
_known_lock = threading.Lock()


def _identity(path: Path | str) -> FileIdentity | None:
    """``lstat``'s (device, inode, size, mtime, ctime) of a regular file; None for anything else.
    (ctime too: no ``utime`` can set it back after a write in place.)"""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def _key(path: Path | str) -> str:
    """The path as the writer and a reader may both spell it (a store opened by a relative
    and an absolute name). Only a hint: a reader still compares the file with what it holds."""
    return os.path.abspath(path)


def remember_written(path: Path, data: bytes) -> None:
    """Note that ``path`` now holds ``data``, written by this process (call it under the run
    lock, right after the write, so no other localtrack writer can have replaced it since)."""
    identity = _identity(path)
    key = _key(path)
    with _known_lock:
        _known.pop(key, None)
        if identity is None or identity[2] != len(data):
            return
        _known[key] = (identity, data)
        while len(_known) > KNOWN_MANIFESTS:
            del _known[next(iter(_known))]


def read_known_manifest(path: Path) -> dict[str, Any]:
    """:func:`~localtrack.storage.manifest.read_manifest`, parsing plainly a file this process
    wrote and nobody changed since (see :func:`remember_written`)."""
    known = _known.get(_key(path))
    if known is not None and _identity(path) == known[0]:
        manifest: dict[str, Any] = json.loads(known[1])
        return manifest
    return read_manifest(path)


def written_bytes(path: Path | str) -> bytes | None:
    """The bytes this process last wrote to ``path`` (:func:`remember_written`) when the file
    holds exactly them now, else None (never written here, rewritten since, a link, unreadable).

    The file is read (one open, one read of a byte more than the known length), not trusted on
    its ``stat``: equal bytes are equal content whatever the timestamps' granularity, the test
    the index makes of a manifest changed within its racy window. The object returned is the
    one remembered, so a caller may key what it derives from those bytes on its identity.
    """
    known = _known.get(_key(path))
    if known is None:
        return None
    data = known[1]
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        found = os.read(fd, len(data) + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    return data if found == data else None

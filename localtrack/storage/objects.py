"""Content-addressed blobs: ``objects/<first 2 hex>/<32 hex>``, named by the xxh3-128 of their bytes.

An object is written once and never changed: temp file beside its final name, fsync,
read-only mode, rename, fsync of the folder. Readers treat the folder as hostile: names
must be 32 lowercase hex digits and no link is ever followed (``O_NOFOLLOW``), so a
committed symlink in ``objects/`` cannot make us read or write outside the store.

Storing a file (measured by benchmarks/bench_artifacts.py): hash first with one streaming
read into a reusable buffer, so a duplicate costs only the hash and adds 0 bytes. A new
file is then copied by the kernel (``copy_file_range``) in chunks, asking it to start
writeback of each chunk at once (``posix_fadvise DONTNEED``) so the closing fsync has
little left to wait for. If the source changed between hash and copy, the copy is
re-hashed: an object's name is always the hash of the bytes it holds. Memory stays at one
buffer whatever the size.
"""

from __future__ import annotations

import errno
import io
import os
import re
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeGuard

import xxhash

from localtrack.errors import ArtifactError
from localtrack.storage.atomic import TMP_SUFFIX, explain_os_error, fsync_dir

HASH_BUFFER = 1 << 20  # 1 MiB: fits L2/L3, faster than bigger reads from the page cache
COPY_CHUNK = 16 << 20  # kernel copy step; writeback starts after each one
DIGEST_RE = re.compile(r"[0-9a-f]{32}\Z")
SHARD_RE = re.compile(r"[0-9a-f]{2}\Z")
OBJECT_MODE = 0o444
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)
_COPY_FALLBACK_ERRNOS = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EBADF, errno.EPERM}

Progress = Callable[[int], None]


@dataclass(frozen=True)
class PutResult:
    """What storing some bytes did: their digest and size, and how many bytes were new."""

    digest: str
    size: int
    written: int


def is_digest(value: object) -> TypeGuard[str]:
    """Whether ``value`` is an object name (32 lowercase hex digits)."""
    return isinstance(value, str) and DIGEST_RE.match(value) is not None


def hash_bytes(data: bytes | bytearray | memoryview) -> str:
    """The object name of ``data``."""
    return xxhash.xxh3_128_hexdigest(data)


def hash_fd(fd: int, buffer: bytearray | None = None, progress: Progress | None = None) -> tuple[str, int]:
    """Digest and size of what an open file holds from its current offset to its end."""
    buffer = buffer if buffer is not None else bytearray(HASH_BUFFER)
    view = memoryview(buffer)
    hasher = xxhash.xxh3_128()
    size = 0
    reader = io.FileIO(fd, "rb", closefd=False)
    while True:
        n = reader.readinto(buffer)
        if not n:
            break
        hasher.update(view[:n])
        size += n
        if progress is not None:
            progress(n)
    return hasher.hexdigest(), size


def hash_file(path: Path, *, follow_symlinks: bool = False) -> tuple[str, int]:
    """Digest and size of a regular file (a link is refused unless ``follow_symlinks``)."""
    fd = open_regular(path, follow_symlinks=follow_symlinks)
    try:
        return hash_fd(fd)
    finally:
        os.close(fd)


def open_regular(path: Path, *, follow_symlinks: bool = False) -> int:
    """Open a regular file for reading; links (unless allowed), FIFOs and devices are refused."""
    flags = os.O_RDONLY | _BINARY | (0 if follow_symlinks else _NOFOLLOW)
    try:
        fd = os.open(path, flags | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ArtifactError(f"{path} is a symbolic link; refusing to follow it", str(path)) from None
        raise ArtifactError(f"cannot read {path}: {exc.strerror or exc}", str(path)) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise ArtifactError(f"{path} is not a regular file; only files and folders can be logged", str(path))
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return fd


class ObjectStore:
    """The ``objects/`` folder of one store."""

    def __init__(self, objects_dir: Path) -> None:
        self.root = Path(objects_dir)

    # ------------------------------------------------------------------ paths
    def path(self, digest: str) -> Path:
        """Where object ``digest`` lives (the digest is checked: it becomes a path)."""
        if not is_digest(digest):
            raise ArtifactError(f"invalid object name {str(digest)[:80]!r}: expected 32 lowercase hex digits", digest)
        return self.root / digest[:2] / digest

    def _check_dirs(self, digest: str) -> None:
        """Refuse an ``objects/`` folder or shard that is a link: we never follow out of the store."""
        for folder in (self.root, self.root / digest[:2]):
            try:
                if stat.S_ISLNK(os.lstat(folder).st_mode):
                    raise ArtifactError(f"{folder} is a symbolic link; refusing to follow it out of the store", str(folder))
            except FileNotFoundError:
                return

    def exists(self, digest: str, size: int | None = None) -> bool:
        """Whether a regular, non-link object file of that name (and size, if given) is present."""
        try:
            info = os.lstat(self.path(digest))
        except (FileNotFoundError, NotADirectoryError):
            return False
        if not stat.S_ISREG(info.st_mode):
            return False
        return size is None or info.st_size == size

    def touch(self, digest: str) -> None:
        """Mark an object as just used: gc spares objects younger than its grace period."""
        try:
            os.utime(self.path(digest), follow_symlinks=False)
        except (OSError, NotImplementedError):
            pass

    def open(self, digest: str) -> int:
        """A read-only fd on object ``digest``; never through a link; clear error if missing."""
        path = self.path(digest)
        self._check_dirs(digest)
        try:
            fd = os.open(path, os.O_RDONLY | _BINARY | _NOFOLLOW)
        except FileNotFoundError:
            raise ArtifactError(f"object {path} is missing; run `localtrack verify`", str(path)) from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise ArtifactError(f"object {path} is a symbolic link; refusing to follow it", str(path)) from None
            raise ArtifactError(f"cannot read object {path}: {exc.strerror or exc}", str(path)) from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise ArtifactError(f"object {path} is not a regular file", str(path))
        return fd

    def read_bytes(self, digest: str, limit: int) -> bytes:
        """A whole (small) object, e.g. a tree listing; refuses one bigger than ``limit``."""
        fd = self.open(digest)
        try:
            with io.FileIO(fd, "rb", closefd=False) as handle:
                data = handle.read(limit + 1)
        finally:
            os.close(fd)
        if len(data) > limit:
            raise ArtifactError(f"object {self.path(digest)} is over the {limit}-byte limit of this read", digest)
        if hash_bytes(data) != digest:
            raise ArtifactError(f"object {self.path(digest)} is damaged (its bytes do not hash to its name)", digest)
        return data

    # ------------------------------------------------------------------ writing
    def _shard(self, digest: str) -> Path:
        self._check_dirs(digest)
        shard = self.root / digest[:2]
        if not shard.is_dir():
            try:
                shard.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise explain_os_error(exc, shard, "create folder") from exc
            fsync_dir(self.root)
            self._check_dirs(digest)
        return shard

    def _temp_fd(self, digest: str) -> tuple[Path, int]:
        shard = self._shard(digest)
        tmp = shard / f".{digest}.{os.urandom(6).hex()}{TMP_SUFFIX}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY | _NOFOLLOW, 0o600)
        except OSError as exc:
            raise explain_os_error(exc, tmp, "write") from exc
        return tmp, fd

    def _commit(self, tmp: Path, fd: int, digest: str) -> None:
        """fsync, make read-only, rename into place, fsync the shard folder. Closes ``fd``."""
        try:
            os.fsync(fd)
            if hasattr(os, "fchmod"):
                os.fchmod(fd, OBJECT_MODE)
        finally:
            os.close(fd)
        final = self.path(digest)
        if final.parent != tmp.parent:
            self._shard(digest)
        os.replace(tmp, final)
        if not hasattr(os, "fchmod"):  # pragma: no cover - Windows
            os.chmod(final, OBJECT_MODE)
        fsync_dir(final.parent)

    def put_bytes(self, data: bytes | bytearray | memoryview, digest: str | None = None) -> PutResult:
        """Store ``data``; when the object exists already, nothing is written (not even a temp file)."""
        digest = digest or hash_bytes(data)
        size = len(data)
        if self.exists(digest, size):
            self.touch(digest)
            return PutResult(digest, size, 0)
        tmp, fd = self._temp_fd(digest)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            self._commit(tmp, fd, digest)
        except OSError as exc:
            _unlink_quietly(tmp)
            raise explain_os_error(exc, tmp, "write") from exc
        except BaseException:
            _unlink_quietly(tmp)
            raise
        return PutResult(digest, size, size)

    def put_file(
        self,
        path: Path,
        *,
        follow_symlinks: bool = False,
        buffer: bytearray | None = None,
        progress: Progress | None = None,
    ) -> PutResult:
        """Store a regular file: hash, then (if new) kernel copy with early writeback."""
        src = open_regular(path, follow_symlinks=follow_symlinks)
        try:
            before = os.fstat(src)
            try:
                digest, size = hash_fd(src, buffer, progress)
            except OSError as exc:
                raise ArtifactError(f"cannot read {path}: {exc.strerror or exc}", str(path)) from None
            if self.exists(digest, size):
                self.touch(digest)
                return PutResult(digest, size, 0)
            os.lseek(src, 0, os.SEEK_SET)
            tmp, dst = self._temp_fd(digest)
            try:
                copied = _copy_fd(src, dst, buffer)
                after = os.fstat(src)
                if copied != size or (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
                    # The file changed while we read it: name the object after what we stored.
                    check = os.open(tmp, os.O_RDONLY | _BINARY | _NOFOLLOW)
                    try:
                        digest, size = hash_fd(check, buffer)
                    finally:
                        os.close(check)
                    if self.exists(digest, size):
                        os.close(dst)
                        _unlink_quietly(tmp)
                        self.touch(digest)
                        return PutResult(digest, size, 0)
                self._commit(tmp, dst, digest)
            except OSError as exc:
                _unlink_quietly(tmp)
                raise explain_os_error(exc, tmp, "write") from exc
            except BaseException:
                _unlink_quietly(tmp)
                raise
            return PutResult(digest, size, size)
        finally:
            os.close(src)

    # ------------------------------------------------------------------ listing
    def iter_entries(self) -> Iterator[ObjectEntry]:
        """Every entry under ``objects/`` (objects, temp files, junk), without following links."""
        try:
            shards = sorted(os.scandir(self.root), key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError):
            return
        for shard in shards:
            shard_path = Path(shard.path)
            if shard.is_symlink():
                yield ObjectEntry(shard_path, None, "link", 0, 0.0)
                continue
            if not shard.is_dir(follow_symlinks=False):
                yield ObjectEntry(shard_path, None, "junk", 0, 0.0)
                continue
            if not SHARD_RE.match(shard.name):
                yield ObjectEntry(shard_path, None, "junk", 0, 0.0)
                continue
            try:
                entries = sorted(os.scandir(shard.path), key=lambda e: e.name)
            except OSError:
                yield ObjectEntry(shard_path, None, "unreadable", 0, 0.0)
                continue
            for entry in entries:
                yield _classify(entry, shard.name)


@dataclass(frozen=True)
class ObjectEntry:
    """One entry of ``objects/``: ``kind`` is object, temp, link, junk or unreadable."""

    path: Path
    digest: str | None
    kind: str
    size: int
    mtime: float

    def age(self, now: float | None = None) -> float:
        return (time.time() if now is None else now) - self.mtime


def _classify(entry: os.DirEntry[str], shard: str) -> ObjectEntry:
    path = Path(entry.path)
    try:
        info = entry.stat(follow_symlinks=False)
    except OSError:
        return ObjectEntry(path, None, "unreadable", 0, 0.0)
    if stat.S_ISLNK(info.st_mode):
        return ObjectEntry(path, None, "link", 0, info.st_mtime)
    if not stat.S_ISREG(info.st_mode):
        return ObjectEntry(path, None, "junk", 0, info.st_mtime)
    name = entry.name
    if name.startswith(".") and name.endswith(TMP_SUFFIX):
        return ObjectEntry(path, None, "temp", info.st_size, info.st_mtime)
    if is_digest(name) and name[:2] == shard:
        return ObjectEntry(path, name, "object", info.st_size, info.st_mtime)
    return ObjectEntry(path, None, "junk", info.st_size, info.st_mtime)


def _copy_fd(src: int, dst: int, buffer: bytearray | None) -> int:
    """Copy ``src`` (from its offset) to ``dst`` until EOF; returns bytes copied."""
    copied = 0
    copy_range = getattr(os, "copy_file_range", None)
    advise = getattr(os, "posix_fadvise", None)
    while copy_range is not None:
        try:
            n = copy_range(src, dst, COPY_CHUNK)
        except OSError as exc:
            if exc.errno in _COPY_FALLBACK_ERRNOS and copied == 0:
                break
            raise
        if n == 0:
            return copied
        if advise is not None:
            # Start writeback of this chunk now instead of all of it at fsync.
            advise(dst, copied, n, os.POSIX_FADV_DONTNEED)
        copied += n
    buffer = buffer if buffer is not None else bytearray(HASH_BUFFER)
    view = memoryview(buffer)
    reader = io.FileIO(src, "rb", closefd=False)
    while True:
        n = reader.readinto(buffer)
        if not n:
            return copied
        chunk = view[:n]
        while chunk:
            chunk = chunk[os.write(dst, chunk) :]
        copied += n


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


__all__ = [
    "COPY_CHUNK",
    "HASH_BUFFER",
    "ObjectEntry",
    "ObjectStore",
    "PutResult",
    "hash_bytes",
    "hash_fd",
    "hash_file",
    "is_digest",
    "open_regular",
]

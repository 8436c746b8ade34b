"""Writing artifact bytes into a user's folder without ever writing outside it.

Every target is a list of allow-listed path segments (checked again here, whatever the
caller did). On POSIX each folder is opened relative to its parent's descriptor with
``O_NOFOLLOW``, so a symbolic link planted in the output folder (even one swapped in while
we write) cannot redirect a write. Each file is written under a temp name, its bytes
re-hashed as they are copied out of the store (a damaged object is refused, not restored),
given the recorded mode, and renamed into place. Two entries that the file system folds
onto one file (case-insensitive systems) are caught by inode.
"""

from __future__ import annotations

import errno
import io
import os
import stat
from collections.abc import Callable
from pathlib import Path

import xxhash

from localtrack.errors import ArtifactError
from localtrack.names import validate_relpath
from localtrack.storage.atomic import explain_os_error
from localtrack.storage.objects import HASH_BUFFER, ObjectStore

Progress = Callable[[int], None]
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
_USE_DIR_FD = os.open in os.supports_dir_fd and os.mkdir in os.supports_dir_fd and os.replace in os.supports_dir_fd


def check_targets(targets: list[tuple[str, ...]], what: str = "download") -> None:
    """Refuse two targets on one path, or a file that is also another target's folder."""
    seen: dict[tuple[str, ...], int] = {}
    for i, parts in enumerate(targets):
        if parts in seen:
            raise ArtifactError(f"{what}: two files would be written to {'/'.join(parts)!r}", "/".join(parts))
        seen[parts] = i
    for parts in targets:
        for cut in range(1, len(parts)):
            if parts[:cut] in seen:
                raise ArtifactError(
                    f"{what}: {'/'.join(parts[:cut])!r} would be both a file and the folder of {'/'.join(parts)!r}",
                    "/".join(parts),
                )


class OutputDir:
    """A folder we write restored files into, never outside of."""

    def __init__(self, root: Path, *, overwrite: bool = False) -> None:
        self.root = Path(root)
        self.overwrite = overwrite
        self._written: set[tuple[int, int]] = set()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise explain_os_error(exc, self.root, "create folder") from exc
        if not self.root.is_dir():
            raise ArtifactError(f"{self.root} is not a folder", str(self.root))

    @staticmethod
    def _segments(parts: tuple[str, ...]) -> tuple[str, ...]:
        validate_relpath("/".join(parts), "download path")
        return parts

    def existing(self, parts: tuple[str, ...]) -> str | None:
        """What is already at ``parts`` (a cheap pre-check before writing anything), or None."""
        path = self.root.joinpath(*self._segments(parts))
        try:
            info = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if stat.S_ISDIR(info.st_mode):
            return "folder"
        return "link" if stat.S_ISLNK(info.st_mode) else "file"

    # ------------------------------------------------------------------ folders
    def make_folder(self, parts: tuple[str, ...]) -> None:
        """Create the folder ``parts`` (an empty folder artifact), through no link."""
        parts = self._segments(parts)
        if _USE_DIR_FD:
            os.close(self._open_parent((*parts, "x")))
        else:  # pragma: no cover
            self._parent_path((*parts, "x"))

    def _open_parent(self, parts: tuple[str, ...]) -> int:
        fd = os.open(self.root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))  # the folder the user chose may be a link
        try:
            if not stat.S_ISDIR(os.fstat(fd).st_mode):
                raise ArtifactError(f"{self.root} is not a folder", str(self.root))
        except BaseException:
            os.close(fd)
            raise
        try:
            for i, segment in enumerate(parts[:-1]):
                try:
                    os.mkdir(segment, 0o777, dir_fd=fd)
                except FileExistsError:
                    pass
                try:
                    child = os.open(segment, _DIR_FLAGS, dir_fd=fd)
                except OSError as exc:
                    where = "/".join(parts[: i + 1])
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                        raise ArtifactError(
                            f"{self.root / where} is a symbolic link or a file, not a folder; refusing to write through it",
                            where,
                        ) from None
                    raise
                os.close(fd)
                fd = child
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _parent_path(self, parts: tuple[str, ...]) -> Path:
        """Path-based fallback (no ``dir_fd``): create folders, refusing any link on the way."""
        folder = self.root
        for segment in parts[:-1]:
            folder = folder / segment
            try:
                info = os.lstat(folder)
            except FileNotFoundError:
                folder.mkdir()
                continue
            if not stat.S_ISDIR(info.st_mode):
                raise ArtifactError(f"{folder} is a symbolic link or a file, not a folder; refusing to write through it", str(folder))
        real_root = os.path.realpath(self.root)
        if os.path.commonpath([os.path.realpath(folder), real_root]) != real_root:
            raise ArtifactError(f"{folder} resolves outside {self.root}; refusing to write there", str(folder))
        return folder

    # ------------------------------------------------------------------ files
    def write_object(
        self,
        parts: tuple[str, ...],
        objects: ObjectStore,
        digest: str,
        size: int,
        mode: int,
        progress: Progress | None = None,
    ) -> Path:
        """Restore object ``digest`` to ``parts`` (relative to the output folder) with ``mode``."""
        parts = self._segments(parts)
        target = self.root.joinpath(*parts)
        leaf = parts[-1]
        tmp_name = f".lt-{os.urandom(6).hex()}.tmp"
        try:
            if _USE_DIR_FD:
                dir_fd: int | None = self._open_parent(parts)
                folder = None
            else:  # pragma: no cover - platforms without dir_fd
                dir_fd, folder = None, self._parent_path(parts)
            try:
                self._check_leaf(target, leaf, dir_fd, folder)
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
                if dir_fd is not None:
                    out = os.open(tmp_name, flags, 0o600, dir_fd=dir_fd)
                else:  # pragma: no cover
                    out = os.open(folder / tmp_name, flags, 0o600)  # type: ignore[operator]
                try:
                    try:
                        _copy_verified(objects, digest, size, out, progress)
                        if hasattr(os, "fchmod"):
                            os.fchmod(out, mode & 0o777)
                        info = os.fstat(out)
                    finally:
                        os.close(out)
                    if dir_fd is not None:
                        os.replace(tmp_name, leaf, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
                    else:  # pragma: no cover
                        os.replace(folder / tmp_name, folder / leaf)  # type: ignore[operator]
                        os.chmod(folder / leaf, mode & 0o777)  # type: ignore[operator]
                except BaseException:
                    try:
                        if dir_fd is not None:
                            os.unlink(tmp_name, dir_fd=dir_fd)
                        else:  # pragma: no cover
                            os.unlink(folder / tmp_name)  # type: ignore[operator]
                    except OSError:
                        pass
                    raise
            finally:
                if dir_fd is not None:
                    os.close(dir_fd)
        except OSError as exc:
            raise explain_os_error(exc, target, "write") from exc
        self._written.add((info.st_dev, info.st_ino))
        return target

    def _check_leaf(self, target: Path, leaf: str, dir_fd: int | None, folder: Path | None) -> None:
        try:
            if dir_fd is not None:
                info = os.stat(leaf, dir_fd=dir_fd, follow_symlinks=False)
            else:  # pragma: no cover
                info = os.lstat(folder / leaf)  # type: ignore[operator]
        except FileNotFoundError:
            return
        if (info.st_dev, info.st_ino) in self._written:
            raise ArtifactError(
                f"{target}: two artifact files land on this one file (a case-insensitive file system?)", str(target)
            )
        if stat.S_ISDIR(info.st_mode):
            raise ArtifactError(f"{target} is a folder; refusing to replace it with a file", str(target))
        if not self.overwrite:
            raise ArtifactError(f"{target} already exists; pass --overwrite (overwrite=True) to replace it", str(target))


def _copy_verified(objects: ObjectStore, digest: str, size: int, out: int, progress: Progress | None) -> None:
    """Copy an object to ``out`` while re-hashing it; a damaged object raises."""
    src = objects.open(digest)
    try:
        buffer = bytearray(HASH_BUFFER)
        view = memoryview(buffer)
        hasher = xxhash.xxh3_128()
        total = 0
        reader = io.FileIO(src, "rb", closefd=False)
        while True:
            n = reader.readinto(buffer)
            if not n:
                break
            chunk = view[:n]
            hasher.update(chunk)
            while chunk:
                chunk = chunk[os.write(out, chunk) :]
            total += n
            if progress is not None:
                progress(n)
    finally:
        os.close(src)
    if hasher.hexdigest() != digest or total != size:
        raise ArtifactError(
            f"object {objects.path(digest)} is damaged (its bytes no longer match its name or size); "
            "run `localtrack verify`",
            digest,
        )

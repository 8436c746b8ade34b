"""Finding and creating a store: ``dir=``, then ``LOCALTRACK_DIR``, then walking up like git."""

from __future__ import annotations

import os
from pathlib import Path

from localtrack.envvars import LOCALTRACK_DIR
from localtrack.errors import StoreFormatError, StoreNotFoundError
from localtrack.storage.atomic import (
    TMP_SUFFIX,
    explain_os_error,
    fsync_dir,
    make_dirs,
    temp_path_for,
    write_new_file,
)
from localtrack.storage.layout import (
    FORMAT_FILENAME,
    FORMAT_MAGIC,
    FORMAT_VERSION,
    GITIGNORE_FILENAME,
    GITIGNORE_TEXT,
    STORE_DIRNAME,
    StoreLayout,
)
from localtrack.storage.links import open_owned, owned_path

WRITTEN_VERSIONS = (1,)  # every FORMAT version some localtrack has written


def _is_store(path: Path) -> bool:
    """A FORMAT entry is there (a link too: check_format then refuses it, never follows it)."""
    return os.path.lexists(path / FORMAT_FILENAME)


def _being_created(path: Path) -> bool:
    """Whether ``path`` holds nothing but the first step of another process's store creation.

    :func:`create_store` writes FORMAT first (via ``.FORMAT.<hex>.tmp``), so a folder holding
    only such temp files is a store being born, not a project folder to nest a store in.
    """
    try:
        names = os.listdir(path)
    except OSError:
        return False
    if FORMAT_FILENAME in names:  # born between the caller's _is_store() and this listing
        return True
    return all(name.startswith(f".{FORMAT_FILENAME}.") and name.endswith(TMP_SUFFIX) for name in names)


def _store_for_named(path: Path) -> Path:
    """What a user-named folder means: the store itself, or a project folder holding one."""
    path = path.expanduser()
    if path.name == STORE_DIRNAME or _is_store(path):
        return path
    if (path / STORE_DIRNAME).is_dir():
        return path / STORE_DIRNAME
    if path.is_dir() and not _being_created(path):
        # An existing project folder: keep the store out of the user's files.
        return path / STORE_DIRNAME
    return path


def locate_store(dir: str | os.PathLike[str] | None = None, *, start: Path | None = None) -> Path | None:
    """The store folder to use, whether or not it exists yet; None if none is found by walking."""
    if dir is not None:
        return _store_for_named(Path(dir))
    env = os.environ.get(LOCALTRACK_DIR)
    if env:
        return _store_for_named(Path(env))
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / STORE_DIRNAME
        if _is_store(candidate):
            return candidate
    return None


def check_format(root: Path) -> int:
    """Read the store's format version; refuse any version this code never wrote.

    Only ``localtrack-store 1`` has ever been written: 0, negative, newer or garbage versions
    are refused for reads and writes alike, and FORMAT is never read through a link.
    """
    path = root / FORMAT_FILENAME
    try:
        fd = open_owned(path, os.O_RDONLY, in_root=True)
        with open(fd, "rb") as handle:
            text = handle.read(200).decode("utf-8", errors="replace")
    except FileNotFoundError:
        raise StoreNotFoundError(f"{root} is not a localtrack store (no {FORMAT_FILENAME} file)", str(root)) from None
    except IsADirectoryError:
        raise StoreFormatError(f"{path} is a folder, not the store's format file", str(path)) from None
    except OSError as exc:
        raise StoreFormatError(f"cannot read {path}: {exc.strerror or exc}", str(path)) from None
    parts = text.split()
    if len(parts) != 2 or parts[0] != FORMAT_MAGIC or not parts[1].isascii() or not parts[1].isdigit():
        raise StoreFormatError(f"{path}: unrecognised format line {text[:60]!r}; this is not a store localtrack wrote", text[:60])
    version = int(parts[1])
    if version > FORMAT_VERSION:
        raise StoreFormatError(
            f"store {root} has format version {version}; this localtrack reads up to "
            f"{FORMAT_VERSION}. Upgrade localtrack (pip install -U localtrack)",
            version,
        )
    if version not in WRITTEN_VERSIONS:
        raise StoreFormatError(
            f"store {root} says format version {version}, which no localtrack ever wrote "
            f"(known: {', '.join(map(str, WRITTEN_VERSIONS))}); refusing to read or write it",
            version,
        )
    return version


def create_store(root: Path) -> StoreLayout:
    """Create (or complete) a store folder; safe to race with any number of processes doing the same.

    FORMAT is the first thing written, and created only if absent (link, not replace), so
    every racer ends up with the same store: a racer that finds the folder holding only our
    temp file treats it as the store being born (:func:`_being_created`), never as a project
    folder to nest a second ``.localtrack`` inside.
    """
    try:
        root.mkdir(parents=True, exist_ok=True)  # the root (or its parents) may be a link: the user's choice
    except OSError as exc:
        raise explain_os_error(exc, root, "create folder") from exc
    layout = StoreLayout(root)
    format_file = layout.format_file
    if not os.path.lexists(format_file):
        _create_if_absent(format_file, f"{FORMAT_MAGIC} {FORMAT_VERSION}\n".encode())
    check_format(root)
    make_dirs(layout.runs_dir)
    make_dirs(layout.objects_dir)
    gitignore = owned_path(root, GITIGNORE_FILENAME)
    if not os.path.lexists(gitignore):
        _create_if_absent(gitignore, GITIGNORE_TEXT.encode())
    return layout


def _create_if_absent(path: Path, data: bytes) -> None:
    """Write ``path`` whole, only if nothing is there: temp file, fsync, ``link`` (fails if present)."""
    tmp = temp_path_for(path)
    try:
        write_new_file(tmp, data)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process won the race: its bytes are the same
        except OSError as exc:
            raise explain_os_error(exc, path, "write") from exc
    finally:
        try:
            tmp.unlink()
        except OSError:
            pass
    fsync_dir(path.parent)


def open_store(dir: str | os.PathLike[str] | None = None, *, create: bool = False) -> StoreLayout:
    """The store to read or write; with ``create`` a missing one is made in the working directory."""
    root = locate_store(dir)
    if root is None:
        if not create:
            raise StoreNotFoundError(
                "no localtrack store found here or in any parent folder; run `localtrack init`, "
                "pass --store PATH, or set LOCALTRACK_DIR",
                str(Path.cwd()),
            )
        root = Path.cwd() / STORE_DIRNAME
    if _is_store(root):
        check_format(root)
        return StoreLayout(root)
    if not create:
        raise StoreNotFoundError(
            f"{root} is not a localtrack store; run `localtrack init` there or pass a store path",
            str(root),
        )
    return create_store(root)

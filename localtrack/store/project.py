"""Finding and creating a store: ``dir=``, then ``LOCALTRACK_DIR``, then walking up like git."""

from __future__ import annotations

import os
from pathlib import Path

from localtrack.envvars import LOCALTRACK_DIR
from localtrack.errors import StoreFormatError, StoreNotFoundError
from localtrack.storage.atomic import atomic_write_bytes, make_dirs
from localtrack.storage.layout import (
    FORMAT_FILENAME,
    FORMAT_MAGIC,
    FORMAT_VERSION,
    GITIGNORE_TEXT,
    STORE_DIRNAME,
    StoreLayout,
)


def _is_store(path: Path) -> bool:
    return (path / FORMAT_FILENAME).is_file()


def _store_for_named(path: Path) -> Path:
    """What a user-named folder means: the store itself, or a project folder holding one."""
    path = path.expanduser()
    if path.name == STORE_DIRNAME or _is_store(path):
        return path
    if (path / STORE_DIRNAME).is_dir():
        return path / STORE_DIRNAME
    if path.is_dir() and any(path.iterdir()):
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
    """Read the store's format version; refuse versions newer than ours."""
    try:
        text = (root / FORMAT_FILENAME).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise StoreNotFoundError(f"{root} is not a localtrack store (no {FORMAT_FILENAME} file)", str(root)) from None
    parts = text.split()
    if len(parts) != 2 or parts[0] != FORMAT_MAGIC or not parts[1].isdigit():
        raise StoreFormatError(f"{root / FORMAT_FILENAME}: unrecognised format line {text[:60]!r}", text[:60])
    version = int(parts[1])
    if version > FORMAT_VERSION:
        raise StoreFormatError(
            f"store {root} has format version {version}; this localtrack reads up to "
            f"{FORMAT_VERSION}. Upgrade localtrack (pip install -U localtrack)",
            version,
        )
    return version


def create_store(root: Path) -> StoreLayout:
    """Create (or complete) a store folder; safe to race with another process doing the same."""
    layout = StoreLayout(root)
    make_dirs(layout.runs_dir)
    make_dirs(layout.objects_dir)
    if not layout.format_file.exists():
        atomic_write_bytes(layout.format_file, f"{FORMAT_MAGIC} {FORMAT_VERSION}\n".encode())
    gitignore = root / ".gitignore"
    if not gitignore.exists():
        atomic_write_bytes(gitignore, GITIGNORE_TEXT.encode())
    check_format(root)
    return layout


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

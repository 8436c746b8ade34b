"""The store's own folders and files are never followed when they are symbolic links.

A run folder can arrive through a git commit, and git happily carries a link named
``runs/<id>/metrics`` pointing at ``/home/you/.ssh``. Every path the store owns (``runs/``,
``runs/<id>``, ``runs/<id>/metrics``, the lock files, ``objects/``, ``index/``, ``tmp/``,
``trash/``, ``FORMAT``) is therefore checked with ``lstat`` from the store root down before it
is opened or created, and files are opened with ``O_NOFOLLOW``. The store root itself may be a
link (a user's choice, e.g. ``LOCALTRACK_DIR`` on another disk); nothing below it may be.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from localtrack.errors import StoreLinkError

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def link_error(path: Path | str) -> StoreLinkError:
    """The one-line refusal every store operation raises for a planted link."""
    return StoreLinkError(
        f"{path} is a symbolic link inside the store; refusing to follow it "
        "(remove the link, then run `localtrack verify`)",
        str(path),
    )


def is_link(path: Path | str) -> bool:
    """Whether ``path`` itself is a symbolic link (a missing path is not)."""
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        return False


def refuse_link(path: Path | str) -> None:
    """Raise :class:`StoreLinkError` when ``path`` itself is a symbolic link."""
    if is_link(path):
        raise link_error(path)


TOP_LEVEL_FOLDERS = frozenset({"runs", "objects", "trash", "index", "tmp"})


def refuse_linked_parent(path: Path) -> None:
    """Refuse a link at the folder ``path`` goes in, unless ``path`` is a top-level store folder
    (``runs/``, ``objects/``...) of a store root that is a link by the user's choice."""
    folder = path.parent
    if not is_link(folder):
        return
    if path.name in TOP_LEVEL_FOLDERS and os.path.lexists(folder / "FORMAT"):
        return
    raise link_error(folder)


def owned_path(root: Path, *parts: str) -> Path:
    """``root/part/...`` after checking that no component below ``root`` is a link.

    Components that do not exist yet are fine: there is nothing to follow, and whoever
    creates them goes through :func:`localtrack.storage.atomic.make_dirs`, which re-checks.
    """
    path = root
    for part in parts:
        path = path / part
        try:
            mode = os.lstat(path).st_mode
        except (FileNotFoundError, NotADirectoryError):
            return root.joinpath(*parts)
        except OSError:
            continue  # unreadable: the operation itself will report it
        if stat.S_ISLNK(mode):
            raise link_error(path)
    return path


def open_owned(path: Path, flags: int, mode: int = 0o644, *, in_root: bool = False) -> int:
    """``os.open`` of a store file that refuses a link at the leaf (``O_NOFOLLOW``) and, unless
    the file sits in the store root (``in_root``: FORMAT), at its folder."""
    if not in_root:
        refuse_link(path.parent)
    try:
        return os.open(path, flags | NOFOLLOW, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP or (exc.errno == errno.EEXIST and is_link(path)):
            raise link_error(path) from None
        raise


def links_below(root: Path, relative: list[tuple[str, ...]]) -> list[Path]:
    """Which of the store-owned paths ``relative`` (to ``root``) are links: for ``verify``."""
    found: list[Path] = []
    for parts in relative:
        path = root.joinpath(*parts)
        if is_link(path):
            found.append(path)
    return found

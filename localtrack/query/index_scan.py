"""What each run folder looks like now, cheaply: the fingerprints the index compares against.

The fast path is one ``stat`` of each run's manifest (mtime, size, inode): every writer
rewrites the manifest (temp + rename: a new inode) after sealing a segment or changing
anything. Runs still marked ``running`` are checked deeper, by their live segment list, so a
writer killed between sealing a segment and recording it is still seen. A manifest changed
within the last ``RACY_SECONDS`` is re-read next time regardless, since a file system's
timestamps are coarser than the writes they describe.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from typing import NamedTuple

from localtrack.names import _ID_RE, MAX_ID_LENGTH
from localtrack.storage.layout import MANIFEST_FILENAME, METRICS_DIRNAME
from localtrack.storage.segments import live_segments

RACY_SECONDS = 2.0
MISSING = (-1, -1, -1)


class Stored(NamedTuple):
    """What the index recorded about a run folder when it last indexed it (a tuple: cheap to load)."""

    manifest: tuple[int, int, int]
    segs: str
    deep: bool
    racy: bool


def list_run_dirs(runs_dir: Path) -> dict[str, bool]:
    """Run folder names -> whether the entry is a real folder (False: a symlink or file).

    Names that are not valid run ids (temp folders, junk) are skipped, as the reader does.
    """
    found: dict[str, bool] = {}
    try:
        entries = os.scandir(runs_dir)
    except (FileNotFoundError, NotADirectoryError):
        return found
    match = _ID_RE.match
    with entries:
        for entry in entries:
            name = entry.name
            if match(name) is None or ".." in name or len(name) > MAX_ID_LENGTH:
                continue
            try:
                found[name] = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
    return found


class RunListing:
    """:func:`list_run_dirs`, re-read only when ``runs/`` changed (its mtime moves when a run
    folder is created, renamed or removed); one ``stat`` instead of a 10,000-entry listing."""

    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = runs_dir
        self.mtime: int | None = None
        self.listed_at = 0
        self.entries: dict[str, bool] = {}
        self.folders: list[tuple[str, str]] = []  # (run id, "<id>/manifest.json") of real folders

    def get(self) -> dict[str, bool]:
        try:
            mtime = os.stat(self.runs_dir).st_mtime_ns
        except OSError:
            self.mtime = None
            return {}
        settled = self.listed_at - mtime > RACY_SECONDS * 1e9
        if mtime == self.mtime and settled:
            return self.entries
        started = time.time_ns()
        self.entries = list_run_dirs(self.runs_dir)
        self.folders = [(run_id, f"{run_id}/{MANIFEST_FILENAME}") for run_id, is_dir in self.entries.items() if is_dir]
        self.mtime, self.listed_at = mtime, started
        return self.entries


class ManifestStats:
    """``stat`` of many manifests relative to an open ``runs/`` folder (short paths, fast)."""

    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = runs_dir
        self.fd: int | None = None
        if os.stat in os.supports_dir_fd:
            try:
                self.fd = os.open(runs_dir, os.O_RDONLY)
            except OSError:
                self.fd = None

    def __enter__(self) -> ManifestStats:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def changed(self, folders: list[tuple[str, str]], stored: dict[str, Stored]) -> tuple[list[str], list[str]]:
        """(runs whose manifest differs from what is stored or that are racy, runs to check deeply).

        The hot loop of every query (one ``stat`` per run): kept tight on purpose.
        """
        if self.fd is None:
            found = self.many([run_id for run_id, _ in folders])
            changed, deep = [], []
            for (run_id, _), now in zip(folders, found, strict=True):
                old = stored.get(run_id)
                if old is None or old[0] != now or old[3]:
                    changed.append(run_id)
                elif old[2]:
                    deep.append(run_id)
            return changed, deep
        fd, stat_, isreg, get = self.fd, os.stat, stat.S_ISREG, stored.get
        changed, deep = [], []
        for run_id, path in folders:
            old = get(run_id)
            try:
                st = stat_(path, dir_fd=fd, follow_symlinks=False)
            except OSError:
                now = MISSING
            else:
                now = (st.st_mtime_ns, st.st_size, st.st_ino) if isreg(st.st_mode) else MISSING
            if old is None or old[0] != now or old[3]:
                changed.append(run_id)
            elif old[2]:
                deep.append(run_id)
        return changed, deep

    def many(self, run_ids: list[str]) -> list[tuple[int, int, int]]:
        """:meth:`of` for many runs (the hot loop of every query: kept tight)."""
        if self.fd is None:
            return [self.of(run_id) for run_id in run_ids]
        fd, stat_, isreg = self.fd, os.stat, stat.S_ISREG
        out: list[tuple[int, int, int]] = []
        append = out.append
        for run_id in run_ids:
            try:
                st = stat_(run_id + "/manifest.json", dir_fd=fd, follow_symlinks=False)
            except OSError:
                append(MISSING)
                continue
            append((st.st_mtime_ns, st.st_size, st.st_ino) if isreg(st.st_mode) else MISSING)
        return out

    def of(self, run_id: str) -> tuple[int, int, int]:
        """(mtime_ns, size, inode) of the run's manifest; MISSING when absent or not a file."""
        try:
            if self.fd is not None:
                st = os.stat(f"{run_id}/{MANIFEST_FILENAME}", dir_fd=self.fd, follow_symlinks=False)
            else:
                st = os.lstat(self.runs_dir / run_id / MANIFEST_FILENAME)
        except OSError:
            return MISSING
        if not stat.S_ISREG(st.st_mode):
            return MISSING
        return (st.st_mtime_ns, st.st_size, st.st_ino)


def segments_signature(run_dir: Path) -> str:
    """The run's live segment files with size and mtime, one per line ('!' if metrics/ is a link)."""
    metrics_dir = run_dir / METRICS_DIRNAME
    if metrics_dir.is_symlink():
        return "!symlink"
    parts = []
    for path in live_segments(metrics_dir):
        try:
            st = os.lstat(path)
        except OSError:
            continue
        parts.append(f"{path.name}:{st.st_size}:{st.st_mtime_ns}")
    return "\n".join(parts)

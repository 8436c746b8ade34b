"""What each run folder looks like now, cheaply: the fingerprints the index compares against.

The fast path is one ``stat`` of each run's manifest (mtime, size, inode): every writer
rewrites the manifest (temp + rename: a new inode) after sealing a segment or changing
anything. Runs still marked ``running`` are checked deeper, by their live segment list, so a
writer killed between sealing a segment and recording it is still seen.

A manifest changed within ``RACY_SECONDS`` of being indexed is "racy": a file system's
timestamps are coarser than the writes they describe, so a later rewrite could leave the
same (mtime, size, inode). Such a run is not re-read whole on every query: its manifest
bytes are hashed and compared with the digest taken when it was indexed (a few KB per run;
segments change only along with the manifest, or are caught by the deep check). Once its
mtime is older than the window, the run is "settled" and the stat alone suffices again.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import xxhash

from localtrack.names import _ID_RE, MAX_ID_LENGTH
from localtrack.storage.layout import MANIFEST_FILENAME, METRICS_DIRNAME
from localtrack.storage.segments import live_segments

RACY_SECONDS = 2.0
MISSING = (-1, -1, -1)
LINK = (-2, -2, -2)
MAX_MANIFEST_BYTES = 64 * 1024 * 1024  # the storage layer's cap; a bigger file is re-read, not hashed


class Stored(NamedTuple):
    """What the index recorded about a run folder when it last indexed it (a tuple: cheap to load)."""

    manifest: tuple[int, int, int]
    segs: str
    deep: bool
    racy: bool
    digest: str = ""  # xxh3-128 of the manifest bytes (kept only while racy)


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

    def changed(self, folders: list[tuple[str, str]],
                stored: Mapping[str, Stored]) -> tuple[list[str], list[str], list[str]]:
        """(runs whose manifest stat differs from what is stored, runs to check deeply, racy runs).

        The hot loop of every query (one ``stat`` per run): kept tight on purpose.
        """
        if self.fd is None:
            found = self.many([run_id for run_id, _ in folders])
            changed, deep, racy = [], [], []
            for (run_id, _), now in zip(folders, found, strict=True):
                old = stored.get(run_id)
                if old is None or old[0] != now:
                    changed.append(run_id)
                elif old[3]:
                    racy.append(run_id)
                elif old[2]:
                    deep.append(run_id)
            return changed, deep, racy
        fd, stat_, isreg, get = self.fd, os.stat, stat.S_ISREG, stored.get
        changed, deep, racy = [], [], []
        for run_id, path in folders:
            old = get(run_id)
            try:
                st = stat_(path, dir_fd=fd, follow_symlinks=False)
            except OSError:
                now = MISSING
            else:
                now = (st.st_mtime_ns, st.st_size, st.st_ino) if isreg(st.st_mode) else MISSING
            if old is None or old[0] != now:
                changed.append(run_id)
            elif old[3]:
                racy.append(run_id)
            elif old[2]:
                deep.append(run_id)
        return changed, deep, racy

    def flat(self, paths: list[str]) -> list[int] | None:
        """(mtime_ns, size, inode) of each manifest path (relative to ``runs/``), flattened, in
        one list a saved scan state compares whole (None without a directory descriptor)."""
        if self.fd is None:
            return None
        fd, stat_, isreg = self.fd, os.stat, stat.S_ISREG
        out: list[int] = []
        extend = out.extend
        for path in paths:
            try:
                st = stat_(path, dir_fd=fd, follow_symlinks=False)
            except OSError:
                extend(MISSING)
                continue
            extend((st.st_mtime_ns, st.st_size, st.st_ino) if isreg(st.st_mode) else MISSING)
        return out

    def digest(self, run_id: str) -> str:
        """xxh3-128 of the run's manifest bytes ('' when unreadable, a link, or over the cap)."""
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
        try:
            if self.fd is not None:
                fd = os.open(f"{run_id}/{MANIFEST_FILENAME}", flags, dir_fd=self.fd)
            else:
                fd = os.open(self.runs_dir / run_id / MANIFEST_FILENAME, flags)
        except OSError:
            return ""
        with open(fd, "rb") as handle:
            data = handle.read(MAX_MANIFEST_BYTES + 1)
        if len(data) > MAX_MANIFEST_BYTES:
            return ""
        return xxhash.xxh3_128_hexdigest(data)

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
    return segments_signature_of(live_segments(metrics_dir))


def segments_signature_of(paths: list[Path]) -> str:
    """:func:`segments_signature` of an already listed set of live segment files."""
    parts = []
    for path in paths:
        try:
            st = os.lstat(path)
        except OSError:
            continue
        parts.append(f"{path.name}:{st.st_size}:{st.st_mtime_ns}")
    return "\n".join(parts)


@dataclass
class Changes:
    """What a check of the run folders found, against what the index (or the listing) holds."""

    changed: list[str] = field(default_factory=list)  # to (re)index
    removed: list[str] = field(default_factory=list)  # to drop
    settled: list[str] = field(default_factory=list)  # racy runs now verified and old enough

    def __bool__(self) -> bool:
        return bool(self.changed or self.removed)


def detect_changes(runs_dir: Path, listing: RunListing, stored: Mapping[str, Stored]) -> Changes:
    """Compare the run folders with ``stored``: one ``stat`` per run, more only where needed.

    Shared by the index refresh and the DuckDB-free listing (``fastlist``), so both agree on
    what "unchanged" means. ``stored`` backed by a saved scan state (``scan_state.StoredRuns``)
    answers from the state while ``runs/`` did not change, without a dict of every run.
    """
    quick = getattr(stored, "quick_changes", None)
    if quick is not None:
        found: Changes | None = quick(runs_dir, listing)
        if found is not None:
            return found
        stored = stored.as_dict()  # type: ignore[attr-defined]  # the usual check, on a plain dict
    started_ns = time.time_ns()
    dirs = listing.get()
    changed = [run_id for run_id, is_dir in dirs.items()
               if not is_dir and (run_id not in stored or stored[run_id].manifest != LINK)]
    settled: list[str] = []
    with ManifestStats(runs_dir) as stats:
        differ, deep, racy = stats.changed(listing.folders, stored)
        changed.extend(differ)
        window_ns = RACY_SECONDS * 1e9
        for run_id in racy:
            old = stored[run_id]
            if not old.digest or stats.digest(run_id) != old.digest:
                changed.append(run_id)
                continue
            if old.deep:
                deep.append(run_id)
            if started_ns - old.manifest[0] > window_ns:
                settled.append(run_id)
    changed.extend(run_id for run_id in deep
                   if segments_signature(runs_dir / run_id) != stored[run_id].segs)
    if changed:
        gone = set(changed)
        settled = [run_id for run_id in settled if run_id not in gone]
    # every folder is known and the counts agree: nothing was removed (skips a 10,000-key pass)
    unchanged_set = len(stored) == len(dirs) and all(run_id in stored for run_id in changed)
    removed = [] if unchanged_set else [run_id for run_id in stored if run_id not in dirs]
    return Changes(changed, removed, settled)

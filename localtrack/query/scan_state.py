"""The scan state: what the index knows about each run folder, saved compactly for the next process.

A warm query spends most of its time, before this file, rebuilding in Python what the last
process already knew: the listing of ``runs/`` (100,000 names at 100k runs), and each run's
recorded fingerprint, read back from DuckDB (``files_t``) or from the listing header's JSON.
``index/scan-v1.state`` holds both for one index state (``build_id:generation``), in a form
that loads in a few milliseconds and that the check of the run folders uses as it is:

* line 1 ``LTSCAN1``; line 2 a small JSON header (the index state, ``runs/``'s mtime and when
  it was listed, section lengths, the body's xxh3-64);
* the run names, newline-separated: the real folders listed in ``runs/`` first (``folders``),
  then the other listed entries (links, files), then runs the index holds that were not listed;
* three int64 per name: the manifest fingerprint the index recorded (mtime_ns, size, inode),
  or ``NOT_STORED``;
* JSON: the segment list of each run checked deeply, the manifest digest of each racy run.

The listing is reused only while ``runs/``'s mtime is the one saved and was already settled
(older than the racy window) when it was listed: a run folder created, renamed or removed
moves that mtime. Everything else is compared with one ``stat`` per manifest, as before.

The file is a cache like the rest of ``index/``: anything wrong with it (damage, another
version or byte order, a name that is not a run id, sizes that do not add up, over the size
cap) makes :func:`load_state` return None, and the caller reads the index instead and saves
a fresh state. It is written with temp + rename and no fsync (losing it costs one slow query).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from array import array
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import xxhash

from localtrack.names import MAX_ID_LENGTH
from localtrack.query.index_scan import (
    LINK,
    RACY_SECONDS,
    Changes,
    ManifestStats,
    RunListing,
    Stored,
    segments_signature,
)
from localtrack.storage.layout import MANIFEST_FILENAME

STATE_FILENAME = "scan-v1.state"
MAGIC = b"LTSCAN1\n"
MAX_STATE_BYTES = 1 << 30
MAX_HEADER_LINE = 4096
NOT_STORED = (-3, -3, -3)  # never a stat result (those are real numbers, MISSING or LINK)
_NAME_BYTES = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-\n"


def state_key(meta: dict[str, str]) -> str:
    """The index state a scan state belongs to (the listing files use the same key)."""
    return f"{meta.get('build_id', '')}:{meta.get('generation', '')}"


class ScanState:
    """A loaded (or about to be saved) scan state; see the module docstring for the layout."""

    def __init__(self, key: str, runs_mtime: int, listed_at: int, names: list[str], folders: int,
                 listed: int, prints: array[int], deep: dict[str, str], racy: dict[str, str],
                 directory: bytes = b"") -> None:
        self.key = key
        self.runs_mtime = runs_mtime
        self.listed_at = listed_at
        self.names = names  # folders (real run folders listed), then other listed entries, then unlisted
        self.folders = folders
        self.listed = listed  # names[:listed] were in the listing
        self.prints = prints  # 3 int64 per name
        self.deep = deep  # run id -> segment signature (runs checked deeply)
        self.racy = racy  # run id -> manifest digest (racy runs)
        self.directory_bytes = directory  # JSON {id: [...], name: [...], parent, created_us} of runs_t ('' unknown)

    # ------------------------------------------------------------------ building and saving
    @classmethod
    def of(cls, key: str, listing: RunListing, stored: dict[str, Stored]) -> ScanState | None:
        """The state of a listing taken in this process and the index's ``stored`` (None: the
        listing was never taken here, or a number does not fit int64)."""
        if listing.mtime is None:
            return None
        folders = [run_id for run_id, _ in listing.folders]
        others = [run_id for run_id, is_dir in listing.entries.items() if not is_dir]
        unlisted = [run_id for run_id in stored if run_id not in listing.entries]
        names = folders + others + unlisted
        flat: list[int] = []
        get = stored.get
        for name in names:
            old = get(name)
            flat.extend(old[0] if old is not None else NOT_STORED)
        try:
            prints = array("q", flat)
        except OverflowError:
            return None
        deep = {run_id: s.segs for run_id, s in stored.items() if s.deep}
        racy = {run_id: s.digest for run_id, s in stored.items() if s.racy}
        return cls(key, listing.mtime, listing.listed_at, names, len(folders), len(folders) + len(others),
                   prints, deep, racy)

    def to_bytes(self) -> bytes:
        names = "\n".join(self.names).encode()
        extra = json.dumps({"deep": self.deep, "racy": self.racy}, separators=(",", ":")).encode()
        body = names + self.prints.tobytes() + extra + self.directory_bytes
        header = {"key": self.key, "runs_mtime": self.runs_mtime, "listed_at": self.listed_at,
                  "count": len(self.names), "folders": self.folders, "listed": self.listed,
                  "names_bytes": len(names), "extra_bytes": len(extra), "directory_bytes": len(self.directory_bytes),
                  "byteorder": sys.byteorder,
                  "xxh3": xxhash.xxh3_64_intdigest(body)}
        return MAGIC + json.dumps(header, separators=(",", ":")).encode() + b"\n" + body

    def same_snapshot(self, other: ScanState | None) -> bool:
        return (other is not None and other.key == self.key and other.runs_mtime == self.runs_mtime
                and other.listed_at == self.listed_at)

    # ------------------------------------------------------------------ using
    def listing_settled(self, runs_mtime: int) -> bool:
        """Whether the saved listing is still what ``runs/`` holds (its mtime unchanged and settled)."""
        return runs_mtime == self.runs_mtime and self.listed_at - runs_mtime > RACY_SECONDS * 1e9

    def stored_dict(self) -> dict[str, Stored]:
        """Every run's :class:`Stored`, as the index's ``files_t`` holds them."""
        p = self.prints
        out: dict[str, Stored] = {}
        deep, racy = self.deep, self.racy
        for i, name in enumerate(self.names):
            fp = (p[3 * i], p[3 * i + 1], p[3 * i + 2])
            if fp == NOT_STORED:
                continue
            out[name] = Stored(fp, deep.get(name, ""), name in deep, name in racy, racy.get(name, ""))
        return out

    def seed(self, listing: RunListing) -> None:
        """Give ``listing`` this state's listing, as if it had been taken in this process."""
        names = self.names
        entries = dict.fromkeys(names[: self.folders], True)
        entries.update(dict.fromkeys(names[self.folders : self.listed], False))
        listing.entries = entries
        listing.folders = [(run_id, f"{run_id}/{MANIFEST_FILENAME}") for run_id in names[: self.folders]]
        listing.mtime, listing.listed_at = self.runs_mtime, self.listed_at

    def changes(self, runs_dir: Path) -> Changes | None:
        """:func:`index_scan.detect_changes` answered from this state without building a
        dict of every run; None when ``runs/`` itself changed (list it again)."""
        started_ns = time.time_ns()
        try:
            runs_mtime = os.stat(runs_dir).st_mtime_ns
        except OSError:
            return None
        if not self.listing_settled(runs_mtime):
            return None
        names, folders, p = self.names, self.folders, self.prints
        changed: list[str] = []
        for i in range(folders, self.listed):  # links and files where a run folder should be
            if (p[3 * i], p[3 * i + 1], p[3 * i + 2]) != LINK:
                changed.append(names[i])
        settled: list[str] = []
        with ManifestStats(runs_dir) as stats:
            now = stats.flat([f"{name}/{MANIFEST_FILENAME}" for name in names[:folders]])
            if now is None or array("q", now) != p[: 3 * folders]:
                if now is None:
                    now = [v for name in names[:folders] for v in stats.of(name)]
                for i in range(folders):
                    if (now[3 * i], now[3 * i + 1], now[3 * i + 2]) != (p[3 * i], p[3 * i + 1], p[3 * i + 2]):
                        changed.append(names[i])
            differ = set(changed)
            window_ns = RACY_SECONDS * 1e9
            positions = self.index_of_folder()
            for run_id, digest in self.racy.items():
                if run_id in differ or run_id not in positions:
                    continue
                if not digest or stats.digest(run_id) != digest:
                    changed.append(run_id)
                    continue
                if started_ns - p[3 * positions[run_id]] > window_ns:
                    settled.append(run_id)
            differ = set(changed)
            deep_ids = [run_id for run_id in self.deep if run_id not in differ and run_id in positions]
        changed.extend(run_id for run_id in deep_ids if segments_signature(runs_dir / run_id) != self.deep[run_id])
        if changed:
            gone = set(changed)
            settled = [run_id for run_id in settled if run_id not in gone]
        removed = [name for i, name in enumerate(names[self.listed :], self.listed)
                   if (p[3 * i], p[3 * i + 1], p[3 * i + 2]) != NOT_STORED]
        return Changes(changed, removed, settled)

    def directory(self) -> tuple[list[str], list[str | None], list[str | None], list[int | None]] | None:
        """The columns id, name, parent, created_at (µs) of every run the index lists (``runs_t``), or
        None when this state does not hold them or they do not check out (parsed on demand:
        only ``show`` asks; checked column by column)."""
        if not self.directory_bytes:
            return None
        try:
            columns = json.loads(self.directory_bytes)
            ids, names, parents, created = (columns[k] for k in ("id", "name", "parent", "created_us"))
        except (ValueError, TypeError, KeyError):
            return None
        if not all(isinstance(c, list) and len(c) == len(ids) for c in (ids, names, parents, created)):
            return None
        text, maybe_text, maybe_int = {str}, {str, type(None)}, {int, type(None)}
        if not (set(map(type, ids)) <= text and set(map(type, names)) <= maybe_text
                and set(map(type, parents)) <= maybe_text and set(map(type, created)) <= maybe_int
                and set(ids) <= set(self.names)):
            return None
        return ids, names, parents, created

    def index_of_folder(self) -> dict[str, int]:
        """Run id -> position, of the deep and racy runs among the folders (few: built on demand)."""
        found = getattr(self, "_positions", None)
        if found is None:
            wanted = set(self.deep) | set(self.racy)
            found = {name: i for i, name in enumerate(self.names[: self.folders]) if name in wanted} if wanted else {}
            self._positions = found
        return found


def load_state(index_dir: Path, key: str) -> ScanState | None:
    """The scan state saved for index state ``key``, or None (missing, another state, damaged)."""
    try:
        with open(index_dir / STATE_FILENAME, "rb") as handle:
            if handle.read(len(MAGIC)) != MAGIC:
                return None
            line = handle.readline(MAX_HEADER_LINE)
            body = handle.read(MAX_STATE_BYTES + 1)
    except OSError:
        return None
    try:
        return _parse(line, body, key)
    except (ValueError, TypeError, KeyError, OverflowError, UnicodeDecodeError):
        return None


def state_head(index_dir: Path) -> tuple[str, int, int] | None:
    """(index state, ``runs/``'s mtime, when it was listed) of the saved scan state, from its
    header line alone (not checked against the body: :func:`load_state` does that), or None."""
    try:
        fd = os.open(index_dir / STATE_FILENAME, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with open(fd, "rb") as handle:
            if handle.read(len(MAGIC)) != MAGIC:
                return None
            line = handle.readline(MAX_HEADER_LINE)
    except OSError:
        return None
    try:
        head = json.loads(line)
        key, runs_mtime, listed_at = head["key"], head["runs_mtime"], head["listed_at"]
    except (ValueError, TypeError, KeyError):
        return None
    if not (isinstance(key, str) and type(runs_mtime) is int and type(listed_at) is int):
        return None
    return key, runs_mtime, listed_at


def _parse(line: bytes, body: bytes, key: str) -> ScanState | None:
    if not line.endswith(b"\n") or len(body) > MAX_STATE_BYTES:
        return None
    head = json.loads(line)
    if not isinstance(head, dict) or head.get("key") != key or head.get("byteorder") != sys.byteorder:
        return None
    ints = [head[k] for k in ("runs_mtime", "listed_at", "count", "folders", "listed", "names_bytes", "extra_bytes",
                              "directory_bytes", "xxh3")]
    if not all(type(v) is int and v >= 0 for v in ints[2:]):
        return None
    runs_mtime, listed_at, count, folders, listed, names_bytes, extra_bytes, directory_bytes, digest = ints
    if not (type(runs_mtime) is int and type(listed_at) is int and folders <= listed <= count):
        return None
    if len(body) != names_bytes + 24 * count + extra_bytes + directory_bytes \
            or xxhash.xxh3_64_intdigest(body) != digest:
        return None
    names = run_names(body[:names_bytes], count)
    if names is None:
        return None
    prints = array("q")
    prints.frombytes(body[names_bytes : names_bytes + 24 * count])
    extra_at = names_bytes + 24 * count
    extra = json.loads(body[extra_at : extra_at + extra_bytes])
    deep, racy = extra["deep"], extra["racy"]
    if not (isinstance(deep, dict) and isinstance(racy, dict)):
        return None
    known = set(names)
    for table in (deep, racy):
        if not all(isinstance(k, str) and isinstance(v, str) and k in known for k, v in table.items()):
            return None
    return ScanState(key, runs_mtime, listed_at, names, folders, listed, prints, deep, racy,
                     body[extra_at + extra_bytes :])


def run_names(raw: bytes, count: int) -> list[str] | None:
    """The names, if every one is a valid run id (names.py's rule, checked over the whole
    blob at once: 100,000 names in a few milliseconds), distinct, and ``count`` of them."""
    if not count:
        return [] if not raw else None
    if raw.translate(None, _NAME_BYTES) or b".." in raw or not raw[:1].isalnum():
        return None
    if any(bad in raw for bad in (b"\n\n", b"\n_", b"\n.", b"\n-")) or raw.endswith(b"\n"):
        return None
    names = raw.decode("ascii").split("\n")
    if len(names) != count or max(map(len, names)) > MAX_ID_LENGTH or len(set(names)) != count:
        return None
    return names


def save_state(index_dir: Path, state: ScanState) -> None:
    """Write ``state`` (temp + rename, no fsync: it is a cache); a failure leaves no file behind."""
    path = index_dir / STATE_FILENAME
    tmp = index_dir / f".{STATE_FILENAME}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o644)
        with open(fd, "wb") as handle:
            handle.write(state.to_bytes())
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


class StoredRuns(MutableMapping[str, Stored]):
    """The index's ``stored`` (run id -> :class:`Stored`) backed by a loaded scan state: the
    check of the run folders reads the state as it is; the dict is built only when something
    asks for it as a mapping (a refresh that changes runs, the listing writer)."""

    def __init__(self, state: ScanState) -> None:
        self.state: ScanState | None = state
        self._dict: dict[str, Stored] | None = None

    def _data(self) -> dict[str, Stored]:
        if self._dict is None:
            assert self.state is not None
            self._dict = self.state.stored_dict()
            self.state = None  # from now on the dict is the truth (it may be changed)
        return self._dict

    def as_dict(self) -> dict[str, Stored]:
        """The plain dict (built now if need be; it is the truth from then on)."""
        return self._data()

    def quick_changes(self, runs_dir: Path, listing: RunListing) -> Changes | None:
        """The folders' changes from the state (None: materialise and check the usual way).
        When something changed, ``listing`` is seeded from the state for the refresh to use."""
        if self.state is None:
            return None
        found = self.state.changes(runs_dir)
        if found is not None and (found or found.settled) and listing.mtime is None:
            self.state.seed(listing)  # a refresh follows: it (and the state saved after it) needs the listing
        return found

    def __getitem__(self, key: str) -> Stored:
        return self._data()[key]

    def __setitem__(self, key: str, value: Stored) -> None:
        self._data()[key] = value

    def __delitem__(self, key: str) -> None:
        del self._data()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data())

    def __len__(self) -> int:
        return len(self._data())

    def rough_len(self) -> int:
        """How many runs, about (at most the state's names), without building the dict: for
        a decision such as "a big store", where ``len`` would give up the state."""
        return len(self.state.names) if self.state is not None else len(self._data())

    def __contains__(self, key: object) -> bool:
        return key in self._data()

    def get(self, key: str, default: Any = None) -> Any:
        return self._data().get(key, default)


class ScanCache:
    """Loads and saves one store's scan state, and remembers what is on disk (to skip
    rewriting an unchanged state)."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        self.on_disk: ScanState | None = None

    def load(self, key: str) -> StoredRuns | None:
        state = load_state(self.index_dir, key)
        self.on_disk = state
        return StoredRuns(state) if state is not None else None

    def save(self, key: str, listing: RunListing, stored: MutableMapping[str, Stored],
             directory: Callable[[], dict[str, list[Any]]] | None = None) -> None:
        """Save the state of ``listing`` and ``stored`` unless the file holds it already;
        ``directory`` gives the index's run directory (see :meth:`ScanState.directory`) when the
        caller has the index open, so a state saved without one gains it."""
        def encoded() -> bytes:
            assert directory is not None
            return json.dumps(directory(), separators=(",", ":"), ensure_ascii=False).encode()

        loaded = stored.state if isinstance(stored, StoredRuns) else None
        if loaded is not None:  # nothing was changed, listed or built since the state was loaded
            if directory is not None and not loaded.directory_bytes and loaded.key == key:
                loaded.directory_bytes = encoded()
                save_state(self.index_dir, loaded)
            return
        on_disk = self.on_disk
        if on_disk is not None and on_disk.key == key and on_disk.runs_mtime == listing.mtime \
                and on_disk.listed_at == listing.listed_at and (directory is None or on_disk.directory_bytes):
            return
        data = stored.as_dict() if isinstance(stored, StoredRuns) else stored
        state = ScanState.of(key, listing, data)  # type: ignore[arg-type]
        if state is None:
            return
        if directory is not None:
            state.directory_bytes = encoded()
        elif on_disk is not None and on_disk.key == key:  # the same index state: the same directory
            state.directory_bytes = on_disk.directory_bytes
        save_state(self.index_dir, state)
        self.on_disk = state


def runs_directory(con: Any) -> dict[str, list[Any]]:
    """The index's run directory (what ``show`` resolves a reference and finds children by), by column."""
    rows = con.execute("SELECT id, name, parent, epoch_us(created_at) FROM runs_t").fetchall()
    return {name: [r[i] for r in rows] for i, name in enumerate(("id", "name", "parent", "created_us"))}

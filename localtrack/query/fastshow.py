"""One run without DuckDB and without work that grows with the store: ``localtrack show RUN``.

Importing DuckDB, connecting, and checking every run folder (a ``stat`` per run: 0.3 s at
100,000 runs) cost more than everything else a warm ``show`` does. Here:

* **The run itself is read now**, as the index reads a run it refreshes: its folder through
  the index's own reader (:func:`localtrack.query.index_plan.plan_serial`: the manifest, the
  live segments, each checked against the digest its writer recorded), its row by
  :mod:`localtrack.query.pysearch`'s rules (the row the index would hold), and its trend per
  metric (the cells its sparkline draws, :func:`run_details.trend_cells`) from a cache in
  ``index/show/<run id>.trend`` keyed by those recorded digests, or from its points on a miss
  (pure Python for the pure-Python writer's segments, else DuckDB over the run's own files:
  it imports faster than pyarrow), written to the cache for the next ``show``.
* **What show says about the other runs** (which run a reference names, the run's children,
  which run is newest) comes from the index's run directory as of its last refresh, saved
  with the scan state (:mod:`localtrack.query.scan_state`), through ``index/show-v1.dir``, a
  compact file derived from it once per index state. It is used only while ``runs/`` is
  exactly as that state listed it (its mtime, one ``stat``: a run folder created, renamed or
  removed moves it), so the set of runs is exact. The ids, parents and creation times read
  from it are what every writer writes once, when it creates a run; the children listed are
  each checked with a ``stat`` (one that changed sends the answer to the index), and so are
  the folders the index could not read (one of them may have become a readable run).
* **A name** can change in any manifest at any time (``localtrack rename``, a ``git pull``),
  so a reference that is no id and no id prefix is resolved only after every manifest is
  checked against the scan state (a ``stat`` per run, as ``ls`` does); the rest stays as above.

Whenever anything is missing or in doubt (no saved state or an old one, ``runs/`` changed,
a reference that names no run or several, a running or damaged run, a summary the index
would compute from the points, a manifest written in the last two seconds) :func:`run_with_points`
returns None and the index answers. Every file under ``index/`` is a cache that may be stale or
hostile (the folder may arrive through git): names that become paths are checked as run ids,
sizes are bounded, links are never followed, and anything that does not check out is ignored.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import stat
import time
from datetime import datetime, timezone
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any

import xxhash

from localtrack.errors import LocaltrackError
from localtrack.ids import short_id
from localtrack.names import MAX_ID_LENGTH
from localtrack.query import index_scan
from localtrack.query.results import RunInfo
from localtrack.query.run_details import PointColumns, build_run_info, trend_cells, trend_points
from localtrack.storage.layout import StoreLayout
from localtrack.store.run_refs import LATEST, check_ref

DIRECTORY_FILENAME = "show-v1.dir"
DIRECTORY_MAGIC = b"LTSHOW1\n"
TRENDS_DIRNAME = "show"
TREND_VERSION = 1
MAX_DIRECTORY_BYTES = 1 << 30
MAX_TREND_BYTES = 8 << 20
LITE_POINTS_BYTES = 4 << 20  # the run's segments read in pure Python up to this size; DuckDB beyond
MAX_CANDIDATES = 1000  # ids holding a reference, looked at one by one (more: the index resolves it)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# (names are kept as json.dumps spells a str: encode_basestring_ascii is that, without the encoder set-up)
_ID_RE = re.compile(rb"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")
_ID_BYTES = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"
Print = tuple[int, int, int]  # a manifest's (mtime_ns, size, inode), as the scan state keeps it


def run_with_points(layout: StoreLayout, ref: str, width: int = 16) -> tuple[RunInfo, PointColumns] | None:
    """(the run ``ref`` names, its metric trends for sparklines ``width`` wide) as the index
    would give them, or None: ask the index (which also raises for a reference that names no
    run or several)."""
    ref = check_ref(ref)
    try:
        directory = RunDirectory.current(layout)
        if directory is None:
            return None
        run_id, exact = directory.resolve(ref)
        if run_id is None and exact:
            run_id = _by_name(layout, directory, ref)
        if run_id is None:
            return None
        return _show(layout, directory, run_id, width, latest=ref == LATEST)
    except (OSError, ValueError, KeyError, TypeError, IndexError, LocaltrackError):  # in doubt: the index answers
        return None


# ---------------------------------------------------------------------- the run directory
class RunDirectory:
    """The index's run directory as show needs it, for one saved scan state (see the module
    docstring). The file ``index/show-v1.dir``: line 1 ``LTSHOW1``; line 2 a JSON header (the
    scan state's index state, ``runs/`` mtime and listing time, section lengths, the body's
    xxh3-64); then the body:

    * ``ids``: every entry of ``runs/`` the state listed, each line framed by newlines;
    * ``children``: ``\\n<parent>\\t<child>,<mtime_ns>,<size>,<inode>\\t...`` per run with
      children, each child with its manifest's fingerprint, in the index's order (created, id);
    * ``names``: ``\\n<name as a JSON string, ASCII>\\t<id>`` per run the index holds (trusted only
      after every manifest is checked: :func:`_by_name`);
    * JSON: the listed entries that are not folders, the folders the index could not read (with
      their fingerprints), and the newest run (id, created µs) as ``@latest`` picks it.
    """

    def __init__(self, stamp: tuple[str, int, int], ids: bytes, children: bytes, names: bytes, others: set[str],
                 unindexed: dict[str, Print], latest: tuple[str, int | None] | None) -> None:
        self.stamp, self.ids, self.children, self.names = stamp, ids, children, names
        self.others, self.unindexed, self.latest = others, unindexed, latest
        self.state: Any = None  # the scan state it was derived from in this process (a name's check reuses it)

    # ------------------------------------------------------------------ finding it
    @classmethod
    def current(cls, layout: StoreLayout) -> RunDirectory | None:
        """The directory of the saved scan state, if ``runs/`` is still as that state listed it
        (derived from the state now, and saved, when the file is missing or of another state)."""
        from localtrack.query.scan_state import state_head

        index_dir = layout.index_dir
        head = state_head(index_dir)
        if head is None:
            return None
        _key, runs_mtime, listed_at = head
        if os.stat(layout.runs_dir).st_mtime_ns != runs_mtime \
                or listed_at - runs_mtime <= index_scan.RACY_SECONDS * 1e9:
            return None  # a run folder came or went since (or the listing was taken too soon after)
        found = cls.load(index_dir, head)
        if found is None:
            found = cls.derive(index_dir, head)
            if found is not None:
                found.save(index_dir)
        return found

    @classmethod
    def derive(cls, index_dir: Path, head: tuple[str, int, int]) -> RunDirectory | None:
        """Built from the saved scan state (the index's listing of ``runs/``, each run folder's
        fingerprint and the index's directory of runs); None when it does not hold all of that."""
        from localtrack.query.scan_state import load_state

        state = load_state(index_dir, head[0])
        if state is None or (state.key, state.runs_mtime, state.listed_at) != head or state.listed != len(state.names):
            return None  # another state meanwhile, or runs the index holds that were not listed
        columns = state.directory()
        if columns is None:
            return None
        ids, names, parents, created = columns
        folders = state.names[: state.folders]
        position = dict(zip(folders, range(len(folders)), strict=True))
        p = state.prints

        def fingerprint(run_id: str) -> Print:
            i = position[run_id]
            return (p[3 * i], p[3 * i + 1], p[3 * i + 2])

        if not all(run_id in position for run_id in ids):
            return None  # the index holds a run that is no folder: not the state of one listing
        indexed = set(ids)
        unindexed = {run_id: fingerprint(run_id) for run_id in folders if run_id not in indexed}
        groups: dict[str, list[int]] = {}
        for i, parent in enumerate(parents):
            if parent is not None and parent in position:
                groups.setdefault(parent, []).append(i)
        lines = []
        for parent in sorted(groups):
            kids = sorted(groups[parent], key=lambda i: (created[i] is None, created[i] or 0, ids[i]))
            lines.append(parent + "".join("\t{},{},{},{}".format(ids[i], *fingerprint(ids[i])) for i in kids))
        latest = None
        if ids:
            newest = max(range(len(ids)), key=lambda i: (created[i] is not None, created[i] or 0, ids[i]))
            latest = (ids[newest], created[newest])
        named = [f"{encode_basestring_ascii(name)}\t{run_id}" for run_id, name in zip(ids, names, strict=True)
                 if name is not None]
        found = cls(head, _framed(state.names[: state.listed]), _framed(lines), _framed(named),
                    set(state.names[state.folders : state.listed]), unindexed, latest)
        found.state = state
        return found

    def save(self, index_dir: Path) -> None:
        """Write the file (temp + rename, no fsync: a cache); a failure leaves none behind."""
        extra = json.dumps({"others": sorted(self.others), "unindexed": {k: list(v) for k, v in self.unindexed.items()},
                            "latest": list(self.latest) if self.latest else None}, separators=(",", ":")).encode()
        body = self.ids + self.children + self.names + extra
        head = {"stamp": list(self.stamp), "ids_bytes": len(self.ids), "children_bytes": len(self.children),
                "names_bytes": len(self.names), "extra_bytes": len(extra), "xxh3": xxhash.xxh3_64_intdigest(body)}
        _write_cache(index_dir, DIRECTORY_FILENAME, DIRECTORY_MAGIC + json.dumps(head).encode() + b"\n" + body)

    @classmethod
    def load(cls, index_dir: Path, stamp: tuple[str, int, int]) -> RunDirectory | None:
        """The file, if it was derived from exactly this scan state and checks out; else None."""
        data = _read_cache(index_dir / DIRECTORY_FILENAME, MAX_DIRECTORY_BYTES)
        if data is None or not data.startswith(DIRECTORY_MAGIC):
            return None
        end = data.find(b"\n", len(DIRECTORY_MAGIC), len(DIRECTORY_MAGIC) + 4096)
        if end < 0:
            return None
        try:
            head = json.loads(data[len(DIRECTORY_MAGIC) : end])
            sizes = [head["ids_bytes"], head["children_bytes"], head["names_bytes"], head["extra_bytes"]]
            if head["stamp"] != list(stamp) or not all(type(n) is int and n >= 1 for n in sizes):
                return None
            body = memoryview(data)[end + 1 :]
            if len(body) != sum(sizes) or xxhash.xxh3_64_intdigest(body) != head["xxh3"]:
                return None
            ids = bytes(body[: sizes[0]])
            children = bytes(body[sizes[0] : sizes[0] + sizes[1]])
            names = bytes(body[sizes[0] + sizes[1] : sizes[0] + sizes[1] + sizes[2]])
            extra = json.loads(bytes(body[sizes[0] + sizes[1] + sizes[2] :]))
            others, unindexed, latest = extra["others"], extra["unindexed"], extra["latest"]
        except (ValueError, TypeError, KeyError, UnicodeDecodeError):
            return None
        if not all(part.startswith(b"\n") and part.endswith(b"\n") for part in (ids, children, names)) \
                or ids.translate(None, _ID_BYTES + b"\n") or children.translate(None, _ID_BYTES + b"\n\t,") \
                or not names.isascii():
            return None  # only run-id characters: a name found there is safe to check as an id
        if not (isinstance(others, list) and all(isinstance(o, str) for o in others)
                and isinstance(unindexed, dict) and all(_is_print(v) for v in unindexed.values())):
            return None
        if latest is not None and not (isinstance(latest, list) and len(latest) == 2 and isinstance(latest[0], str)
                                       and (latest[1] is None or type(latest[1]) is int)):
            return None
        return cls(stamp, ids, children, names, set(others),
                   {str(k): (v[0], v[1], v[2]) for k, v in unindexed.items()},
                   (latest[0], latest[1]) if latest is not None else None)

    # ------------------------------------------------------------------ using it
    def resolve(self, ref: str) -> tuple[str | None, bool]:
        """(the run ``ref`` names by id: full, unique prefix or short id, or ``@latest``; whether
        "none" is certain, so that ``ref`` can only be a name). run_refs' rule over these ids:
        the candidates are the ids holding ``ref`` (a short id is part of its id)."""
        if ref == LATEST:
            return (self.latest[0] if self.latest is not None else None), False
        if not ref.isascii() or ref.translate({ord(c): None for c in _ID_BYTES.decode()}):
            return None, True  # no id holds a character no id has
        needle = ref.encode()
        if b"\n" + needle + b"\n" in self.ids:
            return ref, False
        matches: list[str] = []
        start = self.ids.find(needle)
        while start >= 0:
            if len(matches) >= MAX_CANDIDATES:
                return None, False
            begin = self.ids.rfind(b"\n", 0, start) + 1
            stop = self.ids.find(b"\n", start)
            run_id = self.ids[begin:stop].decode()
            if run_id.startswith(ref) or short_id(run_id).startswith(ref):
                matches.append(run_id)
            start = self.ids.find(needle, stop)
        if len(matches) == 1:
            return matches[0], False
        return None, not matches  # several: ambiguous (the index words the error)

    def children_of(self, run_id: str, layout: StoreLayout) -> list[str] | None:
        """The run's children in the index's order, each checked unchanged since; None if one changed."""
        at = self.children.find(b"\n" + run_id.encode() + b"\t")
        if at < 0:
            return []
        line = self.children[at + 1 : self.children.find(b"\n", at + 1)].decode().split("\t")[1:]
        kids: list[tuple[str, Print]] = []
        for token in line:
            child, *numbers = token.split(",")
            if len(numbers) != 3 or not _is_run_id(child):
                raise ValueError(f"not a child entry: {token!r}")
            kids.append((child, (int(numbers[0]), int(numbers[1]), int(numbers[2]))))
        if not _unchanged(layout, kids):
            return None
        return [child for child, _ in kids]

    def unindexed_unchanged(self, layout: StoreLayout) -> bool:
        """Whether every folder the index could not read is as it was (none became a readable run)."""
        return _unchanged(layout, [(run_id, fp) for run_id, fp in self.unindexed.items() if _is_run_id(run_id)]) \
            and all(_is_run_id(run_id) for run_id in self.unindexed)


def _unchanged(layout: StoreLayout, runs: list[tuple[str, Print]]) -> bool:
    if not runs:
        return True
    with index_scan.ManifestStats(layout.runs_dir) as stats:
        return all(stats.of(run_id) == fp for run_id, fp in runs)


def _is_print(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 3 and all(type(v) is int for v in value)


def _is_run_id(text: str) -> bool:
    return len(text) <= MAX_ID_LENGTH and ".." not in text and _ID_RE.match(text.encode()) is not None


def _by_name(layout: StoreLayout, directory: RunDirectory, ref: str) -> str | None:
    """The one run named ``ref``, once every manifest is checked unchanged against the saved scan
    state (a name may change in any of them); None: changed, or no run or several of that name."""
    from localtrack.query.scan_state import load_state

    needle = ("\n" + encode_basestring_ascii(ref) + "\t").encode()
    at = directory.names.find(needle)
    if at < 0 or directory.names.find(needle, at + 1) >= 0:
        return None  # none (the index says so) or several (ambiguous: the index words it)
    start = at + len(needle)
    run_id = directory.names[start : directory.names.find(b"\n", start)].decode()
    if not _is_run_id(run_id):
        return None
    state = directory.state or load_state(layout.index_dir, directory.stamp[0])
    if state is None or (state.key, state.runs_mtime, state.listed_at) != directory.stamp:
        return None
    changes = state.changes(layout.runs_dir)
    if changes is None or changes:
        return None
    return run_id


def _framed(lines: list[str]) -> bytes:
    """The lines, each between newlines (so that ``\\n<line>`` finds one from its start)."""
    return ("\n" + "\n".join(lines) + "\n").encode() if lines else b"\n"


# ---------------------------------------------------------------------- the run
def _show(layout: StoreLayout, directory: RunDirectory, run_id: str, width: int, *,
          latest: bool) -> tuple[RunInfo, PointColumns] | None:
    from localtrack.query.index_plan import plan_serial
    from localtrack.query.pysearch import Unsure, _from_plan, _row
    from localtrack.store.reader import load_run

    if not _is_run_id(run_id) or run_id in directory.others:
        return None
    plan = plan_serial(layout, [run_id], time.time(), for_index=False)[run_id]
    if plan.stored is None or plan.stored.racy:
        return None  # written in the last two seconds: its fingerprint may not tell a rewrite
    try:
        run = _from_plan(plan)  # Unsure: running, damaged, or a summary from the points
        row = _row(run)
    except Unsure:
        return None
    record = load_run(layout, run_id)
    if not record.ok or not _unchanged(layout, [(run_id, plan.stored.manifest)]):
        return None  # changed while read: the index answers
    if latest and (directory.latest is None or _micros(row.get("created_at")) != directory.latest[1]):
        return None
    children = directory.children_of(run_id, layout)
    if children is None or not directory.unindexed_unchanged(layout):
        return None
    counts = {key: int(stats[4]) for key, stats in run.msum.items()}
    trends = _trends(layout, run_id, record.manifest, plan.files, width, counts)

    def metrics(keys: list[str] | None) -> Any:  # the index's points, as RunInfo.metrics() gives them
        from localtrack.query.store import Store

        with Store(layout.root) as store:
            return store.run(run_id).metrics(keys)

    return build_run_info(run_id, record, row, children, [], metrics), trend_points(trends)


def _micros(value: Any) -> int | None:
    if not isinstance(value, datetime):
        return None
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


# ---------------------------------------------------------------------- trends
def _trends(layout: StoreLayout, run_id: str, manifest: dict[str, Any], files: list[str], width: int,
            counts: dict[str, int]) -> dict[str, list[float]]:
    """Per metric key, the cells of its sparkline: from the cache when it holds this run's very
    segments (by the digests their writers recorded, each checked against the file by the
    plan), else from the points (and cached)."""
    from localtrack.query.index_rows import recorded_segments

    recorded = recorded_segments(manifest)
    segments = [[Path(f).name, recorded.get(Path(f).name, (None, None))[1]] for f in files]
    key = {"version": TREND_VERSION, "run": run_id, "width": width, "segments": segments}
    cached = _cached_trends(layout, run_id, key, counts)
    if cached is not None:
        return cached
    series = _series(layout, files)
    trends = {k: trend_cells(values, width) for k, values in series.items()}
    if all(digest is not None for _, digest in segments):
        text = json.dumps({**key, "trends": trends}, separators=(",", ":")).encode()
        if len(text) <= MAX_TREND_BYTES:
            with contextlib.suppress(OSError, LocaltrackError):
                folder = _trend_folder(layout, create=True)
                if folder is not None:
                    _write_cache(folder, f"{run_id}.trend", text)
    return trends


def _cached_trends(layout: StoreLayout, run_id: str, key: dict[str, Any],
                   counts: dict[str, int]) -> dict[str, list[float]] | None:
    """The cached trends, if the entry is this run's, of these segments and width, and holds
    for each metric of the run's summary as many cells as its points give (else None)."""
    folder = _trend_folder(layout, create=False)
    if folder is None:
        return None
    data = _read_cache(folder / f"{run_id}.trend", MAX_TREND_BYTES)
    if data is None:
        return None
    try:
        entry = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(entry, dict) or {k: entry.get(k) for k in key} != key:
        return None
    trends = entry.get("trends")
    if not isinstance(trends, dict) or len(trends) > len(counts):
        return None
    width = key["width"]
    for name, cells in trends.items():
        if name not in counts or not isinstance(cells, list) or len(cells) != min(counts[name], width) \
                or not all(type(c) is float for c in cells):
            return None
    if any(name not in trends for name in counts):
        return None
    return trends


def _series(layout: StoreLayout, files: list[str]) -> dict[str, list[float]]:
    """Each key's values in (step, timestamp) order, as the index's answer orders the points
    (then by file and row, so ties keep the order they were logged in)."""
    points = _lite_points(files)
    if points is None:
        points = _duckdb_points(layout, files)
    points.sort(key=lambda r: (r[0], r[1], r[2]))
    series: dict[str, list[float]] = {}
    for key, _step, _at, value in points:
        series.setdefault(key, []).append(math.nan if value is None else value)
    return series


def _lite_points(files: list[str]) -> list[tuple[str, int, int, float | None]] | None:
    """The points of segments the pure-Python writer wrote, decoded without pyarrow; None if
    one is another writer's (or they are too big to decode in Python)."""
    from localtrack.storage import parquet_lite

    rows: list[tuple[str, int, int, float | None]] = []
    total = 0
    for path in files:
        data = _read_cache(Path(path), LITE_POINTS_BYTES - total)
        if data is None:
            return None
        total += len(data)
        try:
            columns = parquet_lite.decode(data)
        except ValueError:  # NotOurSegment: pyarrow's
            return None
        keys = (key for key, count in zip(columns.keys, columns.key_counts, strict=True) for _ in range(count))
        rows.extend(zip(keys, columns.steps, columns.micros, columns.values, strict=True))
    return rows


def _duckdb_points(layout: StoreLayout, files: list[str]) -> list[tuple[str, int, int, float | None]]:
    """The points of these files read by DuckDB (no index: the run's own files, in order)."""
    if not files:
        return []
    from localtrack.query import duck

    try:
        con = duck.connect_memory(layout.tmp_dir / "duckdb")
        try:
            found = con.execute(
                'SELECT key, step, epoch_us("timestamp"), value FROM read_parquet(?, filename = true, '
                "file_row_number = true) ORDER BY list_position(?, filename), file_row_number",
                [files, files]).fetchall()
        finally:
            con.close()
    except duck.Error as exc:  # a file DuckDB cannot read after all: the index reports it
        raise ValueError(f"segments unreadable: {duck.first_line(exc)}") from None
    return [(str(k), int(s), int(t), v) for k, s, t, v in found]


# ---------------------------------------------------------------------- cache files
def _trend_folder(layout: StoreLayout, *, create: bool) -> Path | None:
    """``index/show/``, never through a link (made when ``create``); None when not usable."""
    folder = layout.index_dir / TRENDS_DIRNAME
    try:
        mode = os.lstat(folder).st_mode
    except FileNotFoundError:
        if not create:
            return None
        try:
            os.mkdir(folder)
        except FileExistsError:
            pass
        mode = os.lstat(folder).st_mode
    return folder if stat.S_ISDIR(mode) else None


def _read_cache(path: Path, limit: int) -> bytes | None:
    """A regular file's bytes (never through a link), or None when missing or over ``limit``."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with open(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return None
        data = handle.read(limit + 1)
    return data if len(data) <= limit else None


def _write_cache(folder: Path, name: str, data: bytes) -> None:
    tmp = folder / f".{name}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o644)
        with open(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, folder / name)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


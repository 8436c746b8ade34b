"""One run without DuckDB: what ``localtrack show RUN`` prints, when the listing is current.

Importing DuckDB and opening a connection cost more than the rest of a warm ``show``. When
the listing (:mod:`localtrack.query.fastlist`) matches the run folders exactly now, it holds
the run's row (summaries, params, tags, status) as the index has it, and the scan state it
was checked with holds the index's run directory (ids, names, parents) to resolve the
reference and find the children by; the manifest is read now, as the index's answer reads
it, and the points come from the run's segment files (written by the pure-Python writer, see
:mod:`localtrack.storage.parquet_lite`). Whenever anything is missing or in doubt (no
listing, no directory, a run not listed, an entry not written yet, a segment only pyarrow
reads, a damaged file) :func:`run_with_points` returns None and the index answers.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from typing import Any

from localtrack.errors import LocaltrackError
from localtrack.query.fastlist import current_listing, header_key
from localtrack.query.results import RunInfo
from localtrack.query.run_details import PointColumns, build_run_info
from localtrack.query.scan_state import load_state
from localtrack.storage.layout import METRICS_DIRNAME, StoreLayout
from localtrack.store.run_refs import LATEST, RunCandidate, check_ref, pick_run

MAX_SEGMENT_BYTES = 4 << 20  # the pure-Python writer's segments are far smaller
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
Directory = tuple[list[str], list[Any], list[Any], list[Any]]  # ScanState.directory(): id, name, parent, created


def run_with_points(layout: StoreLayout, ref: str) -> tuple[RunInfo, PointColumns] | None:
    """(the run ``ref`` names, its points) as the index would give them, or None: ask the index.

    A reference that names no run, or several, raises what the index's answer raises."""
    ref = check_ref(ref)
    key = header_key(layout.index_dir)
    early = load_state(layout.index_dir, key) if key is not None else None
    directory = early.directory() if early is not None else None
    if early is None or directory is None:
        return None
    # the cheap tests first (a run whose segments only pyarrow reads goes to the index at once);
    # the run folders are checked against the listing after them
    run_id: str | None = None
    if ref != LATEST:
        try:
            run_id = _resolve(ref, early.names, directory)
        except LocaltrackError:
            current = current_listing(layout)
            if current is None or current.state is None or current.state.key != early.key:
                return None  # the directory may be behind: the index decides
            raise
        points = _readable_points(layout, run_id)
        if points is None:
            return None
    listing = current_listing(layout)
    if listing is None or listing.state is None or listing.state.key != early.key:
        return None
    if run_id is None:  # @latest: the listing's order is newest first, as @latest picks
        if not listing.runs:
            return None
        run_id = str(listing.runs[0][0])
        points = _readable_points(layout, run_id)
        if points is None:
            return None
    entry = listing.entry_of(run_id)
    if entry is None or entry[3] is None:
        return None  # not indexed (damaged), or its entry is not written yet
    from localtrack.store.reader import load_run

    record = load_run(layout, run_id)
    if not record.ok:
        return None  # the index's answer says what is wrong with it
    try:
        row = listing.rows([entry])[0]
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None
    ids, _names, parents, created = directory
    children = sorted((i for i, _ in _positions(parents, run_id)),
                      key=lambda i: (created[i] is None, created[i] or 0, ids[i]))
    children_ids = [ids[i] for i in children]
    problems = sorted(message for run, message in listing.problems if run == run_id)

    def metrics(keys: list[str] | None) -> Any:  # the index's points, as RunInfo.metrics() gives them
        from localtrack.query.store import Store

        with Store(layout.root) as store:
            return store.run(run_id).metrics(keys)

    if points is None:  # (read above in either branch)
        return None
    return build_run_info(run_id, record, row, children_ids, problems, metrics), points


def _resolve(ref: str, known: list[str], directory: Directory) -> str:
    """The run id ``ref`` names, by run_refs' one rule over the index's runs (``search.resolve``):
    the candidates are the ids holding ``ref`` and the runs named ``ref``, found by C-level scans."""
    if ref in set(known):
        return ref
    ids, names, _parents, _created = directory
    picked = {i for i, name in _positions(names, ref)}
    blob = "\n".join(ids)
    if "\n" not in ref and blob.count(ref) <= 1000:
        start = blob.find(ref)
        while start >= 0:
            picked.add(blob.count("\n", 0, start))
            start = blob.find(ref, start + 1)
    else:
        picked.update(i for i, run in enumerate(ids) if ref in run)
    candidates = [RunCandidate(ids[i], names[i], None) for i in picked]
    listed = set(ids)
    candidates += [RunCandidate(run, None, None) for run in known if ref in run and run not in listed]
    return pick_run(ref, sorted(candidates, key=lambda c: c.id)).id


def _positions(values: list[Any], wanted: Any) -> list[tuple[int, Any]]:
    """(index, value) of each item equal to ``wanted`` (``list.index`` does the scanning)."""
    out: list[tuple[int, Any]] = []
    start = 0
    while True:
        try:
            start = values.index(wanted, start)
        except ValueError:
            return out
        out.append((start, wanted))
        start += 1


def _readable_points(layout: StoreLayout, run_id: str) -> PointColumns | None:
    """:func:`_points`, or None when they cannot be read here (the index reads them)."""
    try:
        return _points(layout, run_id)
    except (OSError, ValueError):
        return None


def _points(layout: StoreLayout, run_id: str) -> PointColumns | None:
    """Every point of the run's live segments ordered by key, step, timestamp; None if a
    segment is not one the pure-Python reader reads (or too big for it)."""
    from localtrack.storage import parquet_lite
    from localtrack.storage.segments import live_segments

    metrics_dir = layout.run_dir(run_id) / METRICS_DIRNAME
    if metrics_dir.is_symlink():
        return None
    rows: list[tuple[str, int, int, float | None]] = []
    for path in live_segments(metrics_dir):
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with open(fd, "rb") as handle:
            data = handle.read(MAX_SEGMENT_BYTES + 1)
        if len(data) > MAX_SEGMENT_BYTES:
            return None
        columns = parquet_lite.decode(data)  # NotOurSegment (a ValueError) for any other writer's file
        keys = (key for key, count in zip(columns.keys, columns.key_counts, strict=True) for _ in range(count))
        rows.extend(zip(keys, columns.steps, columns.micros, columns.values, strict=True))
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    return PointColumns({
        "step": [r[1] for r in rows],
        "timestamp": [_EPOCH + timedelta(microseconds=r[2]) for r in rows],
        "key": [r[0] for r in rows],
        "value": [r[3] for r in rows],
    })

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

from localtrack.query.fastlist import current_listing
from localtrack.query.results import RunInfo
from localtrack.query.run_details import build_run_info
from localtrack.storage.layout import METRICS_DIRNAME, StoreLayout
from localtrack.store.run_refs import LATEST, RunCandidate, check_ref, pick_run

MAX_SEGMENT_BYTES = 4 << 20  # the pure-Python writer's segments are far smaller
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class PointColumns:
    """A run's points as plain columns, shaped like the Arrow table ``RunInfo.metrics()``
    returns as far as ``select(...).to_pydict()`` goes (what ``show`` draws sparklines from)."""

    def __init__(self, columns: dict[str, list[Any]]) -> None:
        self.columns = columns

    def select(self, names: list[str]) -> PointColumns:
        return PointColumns({name: self.columns[name] for name in names})

    def to_pydict(self) -> dict[str, list[Any]]:
        return {name: list(values) for name, values in self.columns.items()}


def run_with_points(layout: StoreLayout, ref: str) -> tuple[RunInfo, PointColumns] | None:
    """(the run ``ref`` names, its points) as the index would give them, or None: ask the index.

    A reference that names no run, or several, raises what the index's answer raises."""
    ref = check_ref(ref)
    listing = current_listing(layout)
    state = listing.state if listing is not None else None
    directory = state.directory() if state is not None else None
    if listing is None or state is None or directory is None:
        return None
    run_id = _resolve(ref, state.names, directory, listing.runs)
    entry = next((e for e in listing.runs if e[0] == run_id), None)
    if entry is None or entry[3] is None:
        return None  # not indexed (damaged), or its entry is not written yet
    from localtrack.store.reader import load_run

    record = load_run(layout, run_id)
    if not record.ok:
        return None  # the index's answer says what is wrong with it
    try:
        row = listing.rows([entry])[0]
        points = _points(layout, run_id)
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None
    if points is None:
        return None
    created = {run: at for run, _name, _parent, at in directory}
    children = sorted((run for run, _name, parent, _at in directory if parent == run_id),
                      key=lambda run: (created[run] is None, created[run] or 0, run))
    problems = sorted(message for run, message in listing.problems if run == run_id)

    def metrics(keys: list[str] | None) -> Any:  # the index's points, as RunInfo.metrics() gives them
        from localtrack.query.store import Store

        with Store(layout.root) as store:
            return store.run(run_id).metrics(keys)

    return build_run_info(run_id, record, row, children, problems, metrics), points


def _resolve(ref: str, known: list[str], directory: list[tuple[str, str | None, str | None, int | None]],
             order: list[list[Any]]) -> str:
    """The run id ``ref`` names, by run_refs' one rule over the index's runs (``search.resolve``)."""
    if ref in set(known):
        return ref
    if ref == LATEST:
        if not order:
            return pick_run(ref, []).id  # raises: no runs yet
        return str(order[0][0])  # the listing's order is newest first, as @latest picks
    listed = {run for run, *_ in directory}
    candidates = [RunCandidate(run, name, None) for run, name, _parent, _at in directory
                  if ref in run or name == ref]
    candidates += [RunCandidate(run, None, None) for run in known if run not in listed and ref in run]
    return pick_run(ref, sorted(candidates, key=lambda c: c.id)).id


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

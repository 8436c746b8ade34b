"""Runs this process wrote, read for a search from the bytes it wrote.

A script that logs runs and then searches them (bench_peers W3: 200 runs, then a filtered
top 10) would have the index's reader (:func:`localtrack.query.index_plan.plan_one`) re-read
every manifest it has just written: each path component checked for links, the segments
listed through ``pathlib`` and parsed names, every row rebuilt. For a manifest that holds
exactly the bytes this process last wrote to it (:func:`localtrack.storage.own_manifest.written_bytes`
compares the content, so the racy window of coarse timestamps does not apply), the rows are a
function of those bytes: they are built once and kept, keyed on the bytes object, and each
later search re-checks only what can change beside the manifest: the segment files, listed
and hashed as plan_one does.

:func:`own_plans` answers only plan_one's plainest case: no writer marks the run running, its
live segments are exactly the ones its manifest records (canonical names, no range covering
another), each intact, and the index would take its summary from the manifest. For anything
else it returns None and the caller plans the run with plan_one, which gives the index's
answer (a problem, a run still running, a summary computed from the points...).
``tests/query/test_pysearch.py`` runs both engines on stores this process wrote and on stores
it did not.

Every text in these rows is valid UTF-8 (what the index can hold as it is): the bytes were
written by :func:`localtrack.storage.manifest.dump_manifest`, which escapes only control
characters (never a ``\\ud800``-style surrogate) and encodes strict UTF-8, and slicing a string
cannot make a lone surrogate. pysearch therefore checks only their keys.
"""

from __future__ import annotations

import itertools
import json
import os
import stat
import threading
from typing import Any

from localtrack.query.index_rows import (
    manifest_summary_rows,
    param_rows,
    recorded_rows,
    recorded_segments,
    run_row,
    summary_rows,
    tag_rows,
)
from localtrack.storage.layout import MANIFEST_FILENAME, METRICS_DIRNAME
from localtrack.storage.own_manifest import KNOWN_MANIFESTS, written_bytes
from localtrack.storage.segments import parse_segment_name, small_segment_is_sound
from localtrack.store.status import derive_status


class OwnRun:
    """What plan_one would plan for one run, from its manifest alone (the segments are checked
    on every use). ``derived`` is the caller's to keep what it builds from the rows."""

    __slots__ = ("derived", "means_known", "recorded", "rows")

    def __init__(self, rows: dict[str, list[tuple[Any, ...]]], recorded: dict[str, tuple[int | None, str | None]],
                 means_known: bool) -> None:
        self.rows, self.recorded, self.means_known = rows, recorded, means_known
        self.derived: Any = None


_planned: dict[str, tuple[bytes, OwnRun | None]] = {}  # manifest path -> (its bytes, their plan or None)
_planned_lock = threading.Lock()


def own_plans(runs_dir: str, run_ids: list[str], buffer: bytearray) -> tuple[dict[str, tuple[OwnRun, list[str]]], list[str]]:
    """(run id -> its plan and live segment files (plan_one's ``files``) for every run whose
    manifest holds the bytes this process wrote and that is plain (above), the other runs: to
    plan with plan_one), in ``run_ids``' order.

    ``runs_dir`` is the store's ``runs/`` (checked for links by the caller), ``run_ids`` names
    the caller listed there as real folders; ``buffer`` receives each segment to hash. Done in
    passes (every manifest read, then every plan, then every segment check) rather than run by
    run: each pass keeps its code and data hot, ~15% faster over 200 runs."""
    found: dict[str, tuple[OwnRun, list[str]]] = {}
    known: list[tuple[str, str, bytes]] = []
    others: list[str] = []
    for run_id in run_ids:
        path = f"{runs_dir}/{run_id}/{MANIFEST_FILENAME}"
        data = written_bytes(path)
        if data is None:
            others.append(run_id)
        else:
            known.append((run_id, path, data))
    plans: list[tuple[str, OwnRun]] = []
    for run_id, path, data in known:
        cached = _planned.get(path)
        if cached is not None and cached[0] is data:
            plan = cached[1]
        else:
            plan = _plan_bytes(run_id, data)
            with _planned_lock:
                _planned.pop(path, None)
                _planned[path] = (data, plan)
                while len(_planned) > KNOWN_MANIFESTS:
                    del _planned[next(iter(_planned))]
        if plan is None:
            others.append(run_id)
        else:
            plans.append((run_id, plan))
    for run_id, plan in plans:
        files = _recorded_live(f"{runs_dir}/{run_id}/{METRICS_DIRNAME}", plan.recorded, buffer)
        if files is None:
            others.append(run_id)
        else:
            found[run_id] = (plan, files)
    return found, others


def _plan_bytes(run_id: str, data: bytes) -> OwnRun | None:
    """plan_one's rows for a run whose manifest holds ``data`` (bytes this process wrote, so
    parsed without the hostile-input checks), or None where plan_one would go another way."""
    try:
        manifest = json.loads(data)
    except ValueError:
        return None
    if not isinstance(manifest, dict) or manifest.get("id") != run_id or manifest.get("status") == "running":
        return None  # plan_one: a problem, or a run to check for live writers
    found = manifest_summary_rows(manifest.get("summary"))
    if found is None or sum(row[5] for row in found[0]) != recorded_rows(manifest):
        return None  # plan_one: the summaries come from the points
    rows = {
        "runs_t": [run_row(run_id, manifest, derive_status(manifest))],
        "params_t": param_rows(run_id, manifest),
        "tags_t": tag_rows(run_id, manifest),
        "summary_t": summary_rows(run_id, manifest),
        "msum_t": [(run_id, *row) for row in found[0]],
        "problems_t": [],
    }
    return OwnRun(rows, recorded_segments(manifest), found[1])


def _recorded_live(metrics_dir: str, recorded: dict[str, tuple[int | None, str | None]],
                   buffer: bytearray) -> list[str] | None:
    """The run's live segment files in plan_one's order (writer, seal) when they are exactly
    the recorded ones and each is intact; None for anything else (plan_one words it)."""
    try:
        mode = os.lstat(metrics_dir).st_mode
    except FileNotFoundError:
        return None if recorded else []  # live_segments: none
    except OSError:
        return None
    if not stat.S_ISDIR(mode):  # a link (plan_one reports it) or a file
        return None
    try:
        with os.scandir(metrics_dir) as entries:
            names = [entry.name for entry in entries if entry.is_file(follow_symlinks=False)]
    except OSError:
        return None
    segments = []
    for name in names:
        parsed = parse_segment_name(name)
        if parsed is None:
            continue  # temp files, junk: live_segments skips them too
        if name not in recorded or parsed.filename != name:
            return None  # sealed but not recorded, or a name live_segments would spell otherwise
        segments.append(parsed)
    if len(segments) != len(recorded):
        return None  # a recorded segment is missing
    segments.sort()
    for before, after in itertools.pairwise(segments):
        if before.writer == after.writer and after.first <= before.last:
            return None  # ranges overlap (a compaction in progress): live_segments decides
    files = []
    for segment in segments:
        path = f"{metrics_dir}/{segment.filename}"
        size, digest = recorded[segment.filename]
        if size is None or digest is None or not small_segment_is_sound(path, size, digest, buffer):
            return None
        files.append(path)
    return files

"""``gc``: find objects no run references and delete them, safely beside running writers.

References come from every manifest in ``runs/`` and ``trash/`` (a trashed run can be
restored, so its artifacts stay), including the files listed by tree listings. gc refuses
to delete anything while a manifest or listing cannot be read: what it would reference is
unknown. A writer stores an object before recording it, so an object younger than the
grace period (default one hour; logging a duplicate refreshes the object's time) is never
deleted, and neither is a temp file young enough to belong to a write in flight (under ten
minutes old, whatever ``--grace`` says: ``--grace 0`` reclaims unreferenced objects now, as
git's ``--prune=now``, but never a write in progress).
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass, field

from localtrack.errors import GcBlockedError, InvalidValueError, LocaltrackError
from localtrack.storage.layout import MANIFEST_FILENAME, StoreLayout
from localtrack.storage.links import is_link
from localtrack.storage.manifest import read_manifest
from localtrack.storage.objects import ObjectEntry, ObjectStore
from localtrack.store.artifact_records import read_records
from localtrack.store.artifacts import referenced_digests
from localtrack.store.verify import run_folders

GRACE_SECONDS = 3600.0
TEMP_FLOOR_SECONDS = 600.0  # a temp file this young may be a write in flight: kept whatever the grace


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_grace(value: float | int | str | None) -> float:
    """A grace period in seconds: None (the default hour), seconds >= 0, or ``0``/``90s``/``30m``/``2h``/``7d``."""
    if value is None:
        return GRACE_SECONDS
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value >= 0 and value == value and value != float("inf"):
            return float(value)
        raise InvalidValueError(f"grace {value!r}: give a number of seconds >= 0", value)
    if isinstance(value, str):
        text = value.strip().lower()
        number, unit = (text[:-1], text[-1]) if text[-1:] in _UNITS else (text, "")
        if number.isascii() and number.isdigit() and (unit or int(number) == 0) and len(number) <= 9:
            return float(int(number) * _UNITS.get(unit, 1))
    raise InvalidValueError(f"{value!r}: give 0 (now) or a number with a unit: 90s, 30m, 2h, 7d", value)


@dataclass
class GcPlan:
    """What gc would do: objects and stale temp files to delete, what it keeps and why."""

    unreferenced: list[ObjectEntry] = field(default_factory=list)
    young: list[ObjectEntry] = field(default_factory=list)
    stale_temps: list[ObjectEntry] = field(default_factory=list)
    referenced: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def reclaimable_bytes(self) -> int:
        return sum(e.size for e in self.unreferenced) + sum(e.size for e in self.stale_temps)


@dataclass
class GcResult:
    """What ``gc --yes`` deleted."""

    deleted: list[str] = field(default_factory=list)
    deleted_bytes: int = 0
    kept: list[str] = field(default_factory=list)


def references(layout: StoreLayout) -> tuple[set[str], list[str]]:
    """Every object some run (or trashed run) needs, and what could not be read."""
    objects = ObjectStore(layout.objects_dir)
    needed: set[str] = set()
    problems: list[str] = []
    for _run_id, run_dir in run_folders(layout):  # a linked runs/ or trash/ raises: never gc from it
        if is_link(run_dir):
            continue  # never followed; verify reports it
        path = run_dir / MANIFEST_FILENAME
        try:
            manifest = read_manifest(path)
        except LocaltrackError as exc:
            problems.append(str(exc))
            continue
        records, bad = read_records(manifest, str(path))
        problems.extend(bad)
        found, listing_problems = referenced_digests(objects, records)
        needed |= found
        problems.extend(f"{path}: {p}" for p in listing_problems)
    return needed, problems


def plan_gc(layout: StoreLayout, *, grace_seconds: float = GRACE_SECONDS, now: float | None = None) -> GcPlan:
    """List unreferenced objects (older than the grace period) and stale temp files."""
    now = time.time() if now is None else now
    plan = GcPlan()
    needed, plan.problems = references(layout)
    for entry in ObjectStore(layout.objects_dir).iter_entries():
        if entry.kind == "object":
            if entry.digest in needed:
                plan.referenced += 1
            elif entry.age(now) >= grace_seconds:
                plan.unreferenced.append(entry)
            else:
                plan.young.append(entry)
        elif entry.kind == "temp" and entry.age(now) >= max(grace_seconds, TEMP_FLOOR_SECONDS):
            plan.stale_temps.append(entry)
    return plan


def run_gc(layout: StoreLayout, plan: GcPlan, *, grace_seconds: float = GRACE_SECONDS) -> GcResult:
    """Delete what ``plan`` lists, re-checking each file's age right before removing it."""
    if plan.problems:
        shown = "; ".join(plan.problems[:3])
        raise GcBlockedError(
            f"gc deletes nothing while {len(plan.problems)} manifest(s) or listing(s) cannot be read "
            f"(their references are unknown): {shown}. Run `localtrack verify`; fix or purge those runs",
            plan.problems,
        )
    result = GcResult()
    temps = {id(entry) for entry in plan.stale_temps}
    for entry in [*plan.unreferenced, *plan.stale_temps]:
        try:
            info = os.lstat(entry.path)
        except FileNotFoundError:
            continue
        floor = max(grace_seconds, TEMP_FLOOR_SECONDS) if id(entry) in temps else grace_seconds
        if not stat.S_ISREG(info.st_mode) or time.time() - info.st_mtime < floor:
            result.kept.append(str(entry.path))  # used again (dedupe refreshed it) or replaced
            continue
        try:
            os.unlink(entry.path)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise LocaltrackError(f"cannot delete {entry.path}: {exc.strerror or exc}", str(entry.path)) from exc
        result.deleted.append(str(entry.path))
        result.deleted_bytes += info.st_size
    return result

"""The run's own capture kept as artifacts: installed packages, and the git diff of a dirty tree.

Names (read back by name, e.g. by reproduce):

    requirements.txt   type "environment"  ``pip freeze``-style ``name==version`` lines
    git.diff           type "code"         ``git diff HEAD --binary`` of a dirty tree
    git-untracked.txt  type "code"         untracked (not ignored) file paths, one per line

Runs of one process share the same bytes, so each object is hashed and written once per
process and store; every later run pays for a dict lookup and its manifest record only.
The package list goes into the manifest a run is created with (its object is written
before); the diff is recorded when the background ``git status`` finishes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from localtrack.errors import LocaltrackError
from localtrack.storage.layout import StoreLayout
from localtrack.storage.objects import ObjectStore, hash_bytes
from localtrack.store.artifact_records import (  # not store.artifacts: its checkout code stays off init
    append_record,
    make_record,
)

log = logging.getLogger("localtrack")

PACKAGES_NAME = "requirements.txt"
PACKAGES_TYPE = "environment"
DIFF_NAME = "git.diff"
UNTRACKED_NAME = "git-untracked.txt"
CODE_TYPE = "code"

_lock = threading.Lock()
_stored: set[tuple[str, str]] = set()  # (objects dir, digest) written or found by this process
_packages: tuple[str, bytes, str] | None = None  # (freeze text, its bytes, digest)


def _store_once(layout: StoreLayout, data: bytes, digest: str) -> None:
    key = (str(layout.objects_dir), digest)
    if key in _stored:
        return
    ObjectStore(layout.objects_dir).put_bytes(data, digest)
    with _lock:
        _stored.add(key)


def _file_record(layout: StoreLayout, name: str, kind: str, data: bytes, digest: str, description: str) -> dict[str, Any]:
    _store_once(layout, data, digest)
    return make_record(
        name=name, kind="file", digest=digest, size=len(data), files=1, type=kind, filename=name,
        description=description,
    )


def packages_record(layout: StoreLayout) -> dict[str, Any] | None:
    """The ``requirements.txt`` record for a new run (its object stored first); None if unavailable."""
    global _packages
    from localtrack.capture import freeze_text

    try:
        text = freeze_text()
        cached = _packages
        if cached is None or cached[0] != text:
            data = text.encode("utf-8", "backslashreplace")
            cached = _packages = (text, data, hash_bytes(data))
        return _file_record(
            layout, PACKAGES_NAME, PACKAGES_TYPE, cached[1], cached[2], "installed Python packages, captured at init"
        )
    except (LocaltrackError, OSError) as exc:
        log.warning("localtrack: could not store the package list: %s", exc)
        return None


def initial_artifacts(layout: StoreLayout) -> list[dict[str, Any]]:
    """The ``artifacts`` list a new run's manifest starts with: ``requirements.txt`` version 1."""
    record = packages_record(layout)
    manifest: dict[str, Any] = {"artifacts": []}
    if record is not None:
        append_record(manifest, record)
    artifacts: list[dict[str, Any]] = manifest["artifacts"]
    return artifacts


def dirty_records(layout: StoreLayout, result: dict[str, Any]) -> list[dict[str, Any]]:
    """Records (objects stored first) for the diff and untracked list of a dirty-state result."""
    records = []
    diff = result.get("diff") or b""
    if isinstance(diff, bytes) and diff:
        records.append(_file_record(layout, DIFF_NAME, CODE_TYPE, diff, hash_bytes(diff), "git diff HEAD --binary at init"))
    untracked = result.get("untracked") or []
    if untracked:
        data = "".join(f"{p}\n" for p in untracked).encode("utf-8", "backslashreplace")
        records.append(
            _file_record(layout, UNTRACKED_NAME, CODE_TYPE, data, hash_bytes(data), "untracked files (git status) at init")
        )
    return records


def records_patch(records: list[dict[str, Any]]) -> Callable[[dict[str, Any]], None]:
    """A manifest patch adding ``records`` as new versions (skipped if already recorded)."""

    def patch(manifest: dict[str, Any]) -> None:
        for record in records:
            try:
                append_record(manifest, dict(record), skip_if_same=True)
            except LocaltrackError as exc:  # e.g. the user took the name as a folder
                log.warning("localtrack: capture artifact %s not recorded: %s", record.get("name"), exc)

    return patch

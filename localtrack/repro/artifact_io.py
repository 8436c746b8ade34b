"""The artifacts exec writes and reproduce reads, in one place: names, types, and the calls.

The capture artifacts (``git.diff``, ``git-untracked.txt``, ``requirements.txt``) are the
same records a plain ``init()`` makes (see :mod:`localtrack.store.world_artifacts`), so a
run reads alike however it was started and nothing is stored twice: under exec the
script's ``init()`` leaves the git state to exec, and exec adds the package list only
when the script did not. The command's output is exec's own ``output.log``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from localtrack.api.run import Run
from localtrack.storage.layout import StoreLayout
from localtrack.store import world_artifacts
from localtrack.store.artifact_records import read_records
from localtrack.store.artifacts import artifact_handle, record_artifact

LOG_NAME = "output.log"
LOG_TYPE = "log"
DIFF_NAME = world_artifacts.DIFF_NAME
UNTRACKED_NAME = world_artifacts.UNTRACKED_NAME
PACKAGES_NAME = world_artifacts.PACKAGES_NAME


def log_code_state(layout: StoreLayout, run_id: str, dirty: dict[str, Any]) -> None:
    """The uncommitted diff and the names of untracked files (their content is not kept).

    Written to the manifest before the command starts, so they survive whatever it does.
    """
    for record in world_artifacts.dirty_records(layout, dirty):
        record_artifact(layout, run_id, record)


def log_output(run: Run, path: Path) -> None:
    """The command's stdout and stderr, interleaved as they arrived."""
    run.log_artifact(path, name=LOG_NAME, type=LOG_TYPE, description="stdout and stderr of the command (localtrack exec)")


def log_packages(layout: StoreLayout, run_id: str) -> None:
    """This interpreter's package list, for a command that did not record its own."""
    record = world_artifacts.packages_record(layout)
    if record is not None:
        record_artifact(layout, run_id, record)


def artifact_names(manifest: Mapping[str, Any]) -> set[str]:
    """Names of the (valid) artifacts a manifest lists."""
    records, _ = read_records(manifest, f"run {manifest.get('id')}")
    return {r.name for r in records}


def has_packages(manifest: Mapping[str, Any]) -> bool:
    return PACKAGES_NAME in artifact_names(manifest)


def read_artifact(layout: StoreLayout, manifest: Mapping[str, Any], name: str) -> bytes | None:
    """The bytes of the run's artifact ``name`` (latest version), or None when it has none."""
    if name not in artifact_names(manifest):
        return None
    return artifact_handle(layout, manifest["id"], name).path().read_bytes()


def read_untracked(layout: StoreLayout, manifest: Mapping[str, Any]) -> list[str]:
    """The untracked file names the run recorded (one per line)."""
    data = read_artifact(layout, manifest, UNTRACKED_NAME)
    return [line for line in (data or b"").decode("utf-8", "replace").splitlines() if line]


def read_packages(layout: StoreLayout, manifest: Mapping[str, Any]) -> dict[str, str] | None:
    """``{name: version}`` from the run's package list, or None when it has none."""
    data = read_artifact(layout, manifest, PACKAGES_NAME)
    if data is None:
        return None
    return parse_freeze(data.decode("utf-8", "replace"))


def parse_freeze(text: str) -> dict[str, str]:
    """``name==version`` lines as a dict (other lines ignored)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, version = line.strip().partition("==")
        if sep and name:
            out[name.lower()] = version
    return out

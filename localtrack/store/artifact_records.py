"""Artifact records: the entries of a manifest's ``artifacts`` list, written and read back.

A record names one version of one artifact (see docs/FORMAT.md, "Artifacts"). Appending
happens under the run lock, so concurrent writers of one run get distinct versions, and
``x`` versus ``x/y`` collisions are refused. Reading treats every field as hostile: a run
folder may arrive through a git commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from localtrack import timefmt
from localtrack.errors import ArtifactError, CorruptRunError, InvalidNameError
from localtrack.names import validate_label, validate_relpath
from localtrack.storage.layout import StoreLayout
from localtrack.storage.lease import run_lock
from localtrack.storage.manifest import read_manifest, write_manifest
from localtrack.storage.objects import is_digest

KINDS = ("file", "dir")
MAX_VERSION = 10**9


@dataclass(frozen=True)
class ArtifactRecord:
    """One checked entry of a manifest's ``artifacts`` list."""

    name: str
    version: int
    type: str
    kind: str
    hash: str
    size: int
    files: int
    filename: str | None
    mode: int
    description: str
    metadata: dict[str, Any]
    created_at: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "version": self.version, "type": self.type, "kind": self.kind, "hash": self.hash,
            "size": self.size, "files": self.files, "filename": self.filename, "mode": self.mode,
            "description": self.description, "metadata": self.metadata, "created_at": self.created_at,
        }


def _int(raw: Mapping[str, Any], key: str, low: int, high: int, where: str) -> int:
    value = raw.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ArtifactError(f"{where}: artifact field {key!r} is {str(value)[:40]!r}, not an integer in {low}..{high}", value)
    return value


def parse_record(raw: Any, where: str) -> ArtifactRecord:
    """Check one manifest record (hostile input); raise ArtifactError / InvalidNameError."""
    if not isinstance(raw, dict):
        raise ArtifactError(f"{where}: artifact record is not an object", raw)
    name = validate_relpath(raw.get("name"), f"artifact name in {where}")
    where = f"{where}: artifact {name!r}"
    kind = raw.get("kind")
    if kind not in KINDS:
        raise ArtifactError(f"{where}: kind {str(kind)[:40]!r} is not 'file' or 'dir'", kind)
    digest = raw.get("hash")
    if not is_digest(digest):
        raise ArtifactError(f"{where}: hash {str(digest)[:80]!r} is not an object name", digest)
    filename = raw.get("filename")
    if kind == "file":
        filename = validate_relpath(filename, f"file name in {where}")
        if "/" in filename:
            raise InvalidNameError(f"{where}: file name {filename!r} must be a single path segment", filename)
    else:
        filename = None
    kind_type = raw.get("type", "")
    type_ = validate_label(kind_type, "artifact type") if kind_type else ""
    description = raw.get("description") or ""
    metadata = raw.get("metadata") or {}
    created = raw.get("created_at")
    return ArtifactRecord(
        name=name,
        version=_int(raw, "version", 1, MAX_VERSION, where),
        type=type_,
        kind=kind,
        hash=digest,
        size=_int(raw, "size", 0, 2**63 - 1, where),
        files=_int(raw, "files", 0, 2**63 - 1, where),
        filename=filename,
        mode=_int(raw, "mode", 0, 0o777, where) if "mode" in raw else 0o644,
        description=description if isinstance(description, str) else "",
        metadata=metadata if isinstance(metadata, dict) else {},
        created_at=created if isinstance(created, str) else None,
    )


def read_records(manifest: Mapping[str, Any], where: str) -> tuple[list[ArtifactRecord], list[str]]:
    """The valid records of a manifest and a message per invalid one (never raises)."""
    raw = manifest.get("artifacts")
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        return [], [f"{where}: 'artifacts' is not a list"]
    records: list[ArtifactRecord] = []
    problems: list[str] = []
    for i, item in enumerate(raw):
        try:
            records.append(parse_record(item, where))
        except (ArtifactError, InvalidNameError) as exc:
            problems.append(f"artifacts[{i}] refused: {exc}")
    return records, problems


def make_record(
    *,
    name: str,
    kind: str,
    digest: str,
    size: int,
    files: int,
    type: str = "",
    filename: str | None = None,
    mode: int = 0o644,
    description: str = "",
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A new manifest record (``version`` is assigned when it is appended)."""
    record: dict[str, Any] = {
        "name": name, "version": 0, "type": type, "kind": kind, "hash": digest, "size": size, "files": files,
        "description": description, "metadata": dict(metadata or {}), "created_at": timefmt.now_iso(),
    }
    if kind == "file":
        record["filename"] = filename
        record["mode"] = mode & 0o777
    return record


def append_record(manifest: dict[str, Any], record: dict[str, Any], *, skip_if_same: bool = False) -> dict[str, Any] | None:
    """Append ``record`` as the next version of its name; refuse ``x`` vs ``x/y`` collisions.

    With ``skip_if_same`` nothing is added (None returned) when the latest version of the
    name already holds the same object: capture re-recording on resume stays idempotent.
    """
    existing = manifest.get("artifacts")
    if existing is None:
        existing = []
    if not isinstance(existing, list):
        raise CorruptRunError("the manifest's 'artifacts' field is not a list; run `localtrack verify`", existing)
    name = record["name"]
    latest: dict[str, Any] | None = None
    for item in existing:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        other = item["name"]
        if other == name:
            version = item.get("version")
            if isinstance(version, int) and not isinstance(version, bool) and (latest is None or version > latest["version"]):
                latest = item
        elif other.startswith(name + "/") or name.startswith(other + "/"):
            raise ArtifactError(
                f"artifact name {name!r} collides with {other!r} in this run (one would be a folder of the other); "
                "choose another name",
                name,
            )
    if skip_if_same and latest is not None and latest.get("hash") == record["hash"]:
        return None
    added = {**record, "version": (latest["version"] if latest else 0) + 1}
    manifest["artifacts"] = [*existing, added]
    return added


def record_artifact(layout: StoreLayout, run_id: str, record: dict[str, Any]) -> dict[str, Any]:
    """Append ``record`` to the run's manifest now, under the run lock; returns it with its version.

    The run's own writer re-reads the manifest under the same lock before each of its writes,
    so this is safe beside a live training process and durable when it returns.
    """
    run_dir = layout.run_dir(run_id)
    if run_dir.is_symlink():
        raise CorruptRunError(f"{run_dir} is a symbolic link; refusing to write through it", str(run_dir))
    path = layout.manifest_path(run_id)
    if not path.exists():
        raise CorruptRunError(f"{path}: manifest is missing", str(path))
    with run_lock(layout.lock_path(run_id)):
        manifest = read_manifest(path)
        added = append_record(manifest, record)
        assert added is not None
        write_manifest(path, manifest)
    return added

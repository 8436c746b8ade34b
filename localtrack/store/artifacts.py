"""Artifacts: files and folders a run keeps, stored once per distinct content.

Logging puts the bytes into ``objects/`` first (a folder becomes a tree listing, see
:mod:`localtrack.store.artifact_tree`), then appends one record to the run manifest's
``artifacts`` list under the run lock, so a record never names an object that is not on disk
and a crash after :func:`log_artifact` returns loses nothing. Logging a name again makes the
next version. Records read back are hostile (a run folder may come from a git commit):
every field is checked again before anything becomes a path, and nothing is ever unpickled
or executed — artifacts are bytes.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localtrack.errors import (
    ArtifactError,
    ArtifactNotFoundError,
    CorruptRunError,
    InvalidNameError,
)
from localtrack.names import validate_label, validate_relpath
from localtrack.storage.atomic import make_dirs
from localtrack.storage.layout import StoreLayout
from localtrack.storage.objects import HASH_BUFFER, ObjectStore, PutResult
from localtrack.store.artifact_checkout import ensure_checkout, verified_object_path
from localtrack.store.artifact_records import (
    ArtifactRecord,
    append_record,
    make_record,
    parse_record,
    read_records,
    record_artifact,
)
from localtrack.store.artifact_tree import (
    MAX_TREE_BYTES,
    TreeEntry,
    encode_tree,
    parse_tree,
    walk_folder,
)
from localtrack.store.config_values import clean_config_value, clean_text
from localtrack.store.restore import OutputDir, Progress, check_targets

MAX_DESCRIPTION = 100_000
PUT_THREADS = 8
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9_.+=@-]")

__all__ = [
    "ArtifactHandle",
    "ArtifactRecord",
    "ArtifactRef",
    "append_record",
    "artifact_handle",
    "list_artifacts",
    "log_artifact",
    "make_record",
    "parse_record",
    "record_artifact",
    "referenced_digests",
    "select_artifacts",
]


# ---------------------------------------------------------------------------- logging


@dataclass(frozen=True)
class ArtifactRef:
    """What logging an artifact stored: its name and version, object and size, new bytes."""

    run_id: str
    name: str
    version: int
    type: str
    kind: str
    hash: str
    size: int
    files: int
    new_bytes: int
    skipped: tuple[str, ...] = field(default=())


def _sanitize(base: str) -> str:
    cleaned = _UNSAFE_CHARS.sub("_", base).lstrip(".-") or "artifact"
    return cleaned[:200]


def _default_name(src: Path) -> str:
    base = src.name or Path(os.path.abspath(src)).name
    try:
        return validate_relpath(base)
    except InvalidNameError:
        return validate_relpath(_sanitize(base))


def _clean_inputs(
    name: str | None, kind: str | None, description: str | None, metadata: Mapping[str, Any] | None, src: Path
) -> tuple[str, str, str, dict[str, Any]]:
    clean_name = validate_relpath(name, "artifact name") if name is not None else _default_name(src)
    clean_type = validate_label(kind, "artifact type") if kind else ""
    text = description or ""
    if not isinstance(text, str) or len(text) > MAX_DESCRIPTION:
        raise ArtifactError(f"description must be a string of at most {MAX_DESCRIPTION} characters", description)
    text = clean_text(text, "artifact description")
    if metadata is not None and not isinstance(metadata, Mapping):
        raise ArtifactError(f"metadata must be a dict, got {type(metadata).__name__}", metadata)
    clean_meta = clean_config_value("metadata", dict(metadata)) if metadata else {}
    return clean_name, clean_type, text, clean_meta


class _Buffers(threading.local):
    def __init__(self) -> None:
        self.buffer = bytearray(HASH_BUFFER)


def store_folder(objects: ObjectStore, folder: Path, progress: Progress | None = None) -> tuple[PutResult, int, list[str], int]:
    """Store every file of ``folder`` and its tree listing: (listing result, files, skipped, new bytes)."""
    sources, skipped = walk_folder(folder)
    buffers = _Buffers()
    lock = threading.Lock()

    def put(source: Any) -> tuple[TreeEntry, int]:
        result = objects.put_file(source.source, buffer=buffers.buffer)
        if progress is not None:
            with lock:
                progress(result.size)
        return TreeEntry(source.relpath, result.digest, result.size, source.mode), result.written

    if len(sources) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(PUT_THREADS, len(sources)), thread_name_prefix="localtrack-put") as pool:
            done = list(pool.map(put, sources))
    else:
        done = [put(s) for s in sources]
    entries = [entry for entry, _ in done]
    new_bytes = sum(written for _, written in done)
    listing = objects.put_bytes(encode_tree(entries))
    total = sum(e.size for e in entries)
    return PutResult(listing.digest, total, listing.written), len(entries), skipped, new_bytes + listing.written


def log_artifact(
    layout: StoreLayout,
    run_id: str,
    path: str | os.PathLike[str],
    name: str | None = None,
    type: str | None = None,
    description: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    *,
    follow_symlinks: bool = False,
    progress: Progress | None = None,
) -> ArtifactRef:
    """Store a file or folder as the next version of artifact ``name`` of run ``run_id``.

    A ``path`` that is itself a symbolic link is refused unless ``follow_symlinks`` (the
    link could lead anywhere, and objects are meant to be committed and shared).
    """
    src = Path(path)
    clean_name, clean_type, text, meta = _clean_inputs(name, type, description, metadata, src)
    layout.run_dir(run_id)  # validates the id before any work
    try:
        info = os.stat(src, follow_symlinks=follow_symlinks)
    except FileNotFoundError:
        raise ArtifactError(f"{src}: no such file or folder", str(src)) from None
    except OSError as exc:
        raise ArtifactError(f"cannot read {src}: {exc.strerror or exc}", str(src)) from None
    if stat.S_ISLNK(info.st_mode):
        raise ArtifactError(
            f"{src} is a symbolic link to {os.path.realpath(src)}; log the target itself or pass follow_symlinks=True",
            str(src),
        )
    objects = ObjectStore(layout.objects_dir)
    make_dirs(layout.objects_dir)
    skipped: list[str] = []
    if stat.S_ISDIR(info.st_mode):
        result, files, skipped, new_bytes = store_folder(objects, src, progress)
        record = make_record(
            name=clean_name, kind="dir", digest=result.digest, size=result.size, files=files, type=clean_type,
            description=text, metadata=meta,
        )
    elif stat.S_ISREG(info.st_mode):
        result = objects.put_file(src, follow_symlinks=follow_symlinks, progress=progress)
        new_bytes = result.written
        try:
            filename = validate_relpath(src.name)
        except InvalidNameError:
            filename = _sanitize(src.name)
        record = make_record(
            name=clean_name, kind="file", digest=result.digest, size=result.size, files=1, type=clean_type,
            filename=filename, mode=info.st_mode, description=text, metadata=meta,
        )
    else:
        raise ArtifactError(f"{src} is not a regular file or folder", str(src))
    added = record_artifact(layout, run_id, record)
    return ArtifactRef(
        run_id=run_id, name=added["name"], version=added["version"], type=added["type"], kind=added["kind"],
        hash=added["hash"], size=added["size"], files=added["files"], new_bytes=new_bytes, skipped=tuple(skipped),
    )


# ---------------------------------------------------------------------------- reading


def _manifest_of(layout: StoreLayout, run_id: str) -> dict[str, Any]:
    from localtrack.store.reader import load_run

    record = load_run(layout, run_id)
    if record.error:
        raise CorruptRunError(record.error, run_id)
    return record.manifest


def list_artifacts(layout: StoreLayout, run_id: str) -> tuple[list[ArtifactHandle], list[str]]:
    """Every valid artifact version of a run (in log order) and a message per refused record."""
    manifest = _manifest_of(layout, run_id)
    records, problems = read_records(manifest, f"run {run_id}")
    return [ArtifactHandle(layout, run_id, r) for r in records], problems


def select_artifacts(
    layout: StoreLayout,
    run_id: str,
    name: str | None = None,
    *,
    type: str | None = None,
    version: int | None = None,
) -> list[ArtifactHandle]:
    """The artifacts a download means: ``name`` (latest or ``version``), else the latest of every name."""
    if name is not None:
        return [artifact_handle(layout, run_id, name, version=version, type=type)]
    if version is not None:
        raise ArtifactError("a version needs an artifact name", version)
    handles, _ = list_artifacts(layout, run_id)
    latest: dict[str, ArtifactHandle] = {}
    for handle in handles:
        if type is not None and handle.type != type:
            continue
        if handle.name not in latest or handle.version > latest[handle.name].version:
            latest[handle.name] = handle
    return list(latest.values())


def artifact_handle(
    layout: StoreLayout, run_id: str, name: str, version: int | None = None, type: str | None = None
) -> ArtifactHandle:
    """One artifact of a run: the latest version of ``name`` unless ``version`` is given."""
    name = validate_relpath(name, "artifact name")
    handles, problems = list_artifacts(layout, run_id)
    matches = [h for h in handles if h.name == name and (type is None or h.type == type)]
    if version is not None:
        matches = [h for h in matches if h.version == version]
    if not matches:
        known = sorted({f"{h.name}" for h in handles})
        detail = f"versions: {', '.join(str(h.version) for h in handles if h.name == name)}" if version else (
            f"it has: {', '.join(known[:20])}" if known else "it has no artifacts"
        )
        hint = f" ({len(problems)} damaged record(s): run `localtrack verify`)" if problems else ""
        what = f"{name!r}" + (f" version {version}" if version is not None else "") + (f" of type {type!r}" if type else "")
        raise ArtifactNotFoundError(f"run {run_id} has no artifact {what}; {detail}{hint}", name)
    return max(matches, key=lambda h: h.version)


def referenced_digests(objects: ObjectStore, records: list[ArtifactRecord]) -> tuple[set[str], list[str]]:
    """Objects these records need (tree listings and their files) and problems reading listings.

    A missing listing adds nothing and is not a problem here (``verify`` reports it); one that
    exists but cannot be parsed is, since the files it lists are then unknown.
    """
    needed: set[str] = set()
    problems: list[str] = []
    for record in records:
        needed.add(record.hash)
        if record.kind == "dir" and objects.exists(record.hash):
            try:
                entries = parse_tree(objects.read_bytes(record.hash, MAX_TREE_BYTES), f"tree {record.hash}")
            except ArtifactError as exc:
                problems.append(f"artifact {record.name!r} v{record.version}: {exc}")
                continue
            needed.update(e.hash for e in entries)
    return needed, problems


class ArtifactHandle:
    """A logged artifact version, read side: ``download(dir)``, ``path()``, ``files()``."""

    def __init__(self, layout: StoreLayout, run_id: str, record: ArtifactRecord) -> None:
        self.layout = layout
        self.run_id = run_id
        self.record = record
        self._objects = ObjectStore(layout.objects_dir)

    name = property(lambda self: self.record.name)
    version = property(lambda self: self.record.version)
    type = property(lambda self: self.record.type)
    kind = property(lambda self: self.record.kind)
    hash = property(lambda self: self.record.hash)
    size = property(lambda self: self.record.size)
    description = property(lambda self: self.record.description)
    metadata = property(lambda self: dict(self.record.metadata))

    def __repr__(self) -> str:
        return f"<ArtifactHandle run={self.run_id} name={self.name!r} v{self.version} {self.kind} {self.size} bytes>"

    def files(self) -> list[TreeEntry]:
        """What the artifact holds: one entry for a file, the listing for a folder."""
        if self.record.kind == "file":
            assert self.record.filename is not None
            return [TreeEntry(self.record.filename, self.record.hash, self.record.size, self.record.mode)]
        data = self._objects.read_bytes(self.record.hash, MAX_TREE_BYTES)
        return parse_tree(data, f"artifact {self.name!r} v{self.version} (tree {self.hash})")

    def targets(self) -> list[tuple[tuple[str, ...], TreeEntry]]:
        """Where each file goes relative to a download folder: the file name, or ``<name>/<path>``."""
        if self.record.kind == "file":
            return [((entry.path,), entry) for entry in self.files()]
        base = tuple(self.name.split("/"))
        return [((*base, *entry.path.split("/")), entry) for entry in self.files()]

    def download(
        self, dir: str | os.PathLike[str], *, overwrite: bool = False, progress: Progress | None = None
    ) -> Path:
        """Restore into ``dir`` (a file as ``dir/<file name>``, a folder as ``dir/<name>/``); returns that path."""
        restore_all([self], Path(dir), overwrite=overwrite, progress=progress)
        return self.target_path(dir)

    def target_path(self, dir: str | os.PathLike[str]) -> Path:
        """Where :meth:`download` puts this artifact inside ``dir``."""
        assert self.kind == "dir" or self.record.filename is not None
        return Path(dir).joinpath(*((self.record.filename,) if self.kind == "file" else self.name.split("/")))

    def read_bytes(self, limit: int = 1 << 30) -> bytes:
        """The bytes of a file artifact (checked against its hash); refuses one over ``limit``."""
        if self.kind != "file":
            raise ArtifactError(f"artifact {self.name!r} is a folder; use download() or path()", self.name)
        return self._objects.read_bytes(self.hash, limit)

    def path(self) -> Path:
        """A local path holding the bytes, without copying where possible. Treat it as read-only.

        A file artifact is its object in the store (mode 0444). A folder is restored once
        into ``<store>/tmp/checkouts/<tree hash>/`` (git-ignored) and reused afterwards.
        What is returned has been checked first: the object re-hashed, or the checkout
        compared with the tree listing file by file (and rebuilt when it differs).
        """
        if self.kind == "file":
            return verified_object_path(self._objects, self.hash, self.size)
        entries = self.files()
        final = self.layout.checkout_dir(self.hash)  # refuses a linked tmp/ or tmp/checkouts/
        checkouts = final.parent

        def build() -> None:
            make_dirs(checkouts)
            staging = checkouts / f".{self.hash}.{os.urandom(6).hex()}.tmp"
            try:
                out = OutputDir(staging)
                for entry in entries:
                    out.write_object(tuple(entry.path.split("/")), self._objects, entry.hash, entry.size, entry.mode)
                try:
                    os.rename(staging, final)
                except OSError:
                    if not final.is_dir():
                        raise
            finally:
                shutil.rmtree(staging, ignore_errors=True)

        return ensure_checkout(final, entries, build)


def restore_all(
    handles: list[ArtifactHandle], out_dir: Path, *, overwrite: bool = False, progress: Progress | None = None
) -> list[Path]:
    """Restore several artifacts into ``out_dir``; checks every target before writing any."""
    plan: list[tuple[tuple[str, ...], TreeEntry, ArtifactHandle]] = []
    for handle in handles:
        plan.extend((parts, entry, handle) for parts, entry in handle.targets())
    check_targets([parts for parts, _, _ in plan])
    out = OutputDir(out_dir, overwrite=overwrite)
    if not overwrite:
        for parts, _, _ in plan:
            found = out.existing(parts)
            if found is not None:
                raise ArtifactError(
                    f"{out_dir.joinpath(*parts)} already exists ({found}); pass --overwrite (overwrite=True) to replace it",
                    "/".join(parts),
                )
    for handle in handles:
        if handle.kind == "dir" and handle.record.files == 0:
            out.make_folder(tuple(handle.name.split("/")))
    written: list[Path] = []
    for parts, entry, handle in plan:
        written.append(out.write_object(parts, handle._objects, entry.hash, entry.size, entry.mode, progress))
    return written


"""Tree listings: a folder artifact is one object listing ``path -> (object, size, mode)``.

Storing the listing as an object of its own means an unchanged file inside a changed folder
dedupes, and two identical folders are one listing. The listing is deterministic JSON::

    {"entries":[{"hash":"<32 hex>","mode":420,"path":"sub/file.bin","size":123},...],
     "format":"localtrack-tree 1"}

(sorted keys, no spaces, entries sorted by path, newline at end). Reading treats it as
hostile: every path passes :func:`localtrack.names.validate_relpath`, duplicates and
file-versus-folder collisions (``x`` and ``x/y``) are refused, modes are permission bits only.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localtrack.errors import ArtifactError, InvalidNameError
from localtrack.names import validate_relpath
from localtrack.storage.manifest import load_strict_json
from localtrack.storage.objects import is_digest

TREE_FORMAT = "localtrack-tree 1"
MAX_TREE_BYTES = 256 << 20
MAX_SIZE = 2**63 - 1
MODE_MASK = 0o777


@dataclass(frozen=True)
class TreeEntry:
    """One file of a folder artifact."""

    path: str
    hash: str
    size: int
    mode: int


@dataclass(frozen=True)
class SourceFile:
    """A file found in a folder being logged: its path in the artifact and where to read it."""

    relpath: str
    source: Path
    mode: int


def check_paths(paths: list[str], where: str) -> None:
    """Refuse two entries with one path, and a path that is also a folder of another (``x``, ``x/y``)."""
    seen: set[str] = set()
    for path in paths:
        if path in seen:
            raise ArtifactError(f"{where}: the path {path!r} appears twice", path)
        seen.add(path)
    for path in paths:
        parts = path.split("/")
        for i in range(1, len(parts)):
            prefix = "/".join(parts[:i])
            if prefix in seen:
                raise ArtifactError(f"{where}: {prefix!r} is a file and also the folder of {path!r}", path)


def encode_tree(entries: list[TreeEntry]) -> bytes:
    """The listing's bytes (deterministic, so equal folders give equal objects)."""
    ordered = sorted(entries, key=lambda e: e.path)
    for entry in ordered:
        validate_relpath(entry.path, "file path in artifact")
    check_paths([e.path for e in ordered], "tree listing")
    doc = {
        "format": TREE_FORMAT,
        "entries": [{"path": e.path, "hash": e.hash, "size": e.size, "mode": e.mode & MODE_MASK} for e in ordered],
    }
    return (json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True) + "\n").encode("ascii")


def _int_field(entry: dict[str, Any], key: str, high: int, where: str) -> int:
    value = entry.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= high:
        raise ArtifactError(f"{where}: entry {str(entry.get('path'))[:80]!r} has an invalid {key} {value!r}", value)
    return value


def parse_tree(data: bytes, where: str) -> list[TreeEntry]:
    """Entries of a listing read from disk (hostile: every field is checked)."""
    if len(data) > MAX_TREE_BYTES:
        raise ArtifactError(f"{where}: tree listing is over {MAX_TREE_BYTES} bytes", where)
    doc = load_strict_json(data, where, "tree listing", ArtifactError)
    if not isinstance(doc, dict) or doc.get("format") != TREE_FORMAT or not isinstance(doc.get("entries"), list):
        raise ArtifactError(f"{where}: not a {TREE_FORMAT!r} listing", where)
    entries: list[TreeEntry] = []
    for raw in doc["entries"]:
        if not isinstance(raw, dict) or set(raw) != {"path", "hash", "size", "mode"}:
            raise ArtifactError(f"{where}: malformed entry {str(raw)[:80]!r}", raw)
        path = validate_relpath(raw["path"], f"file path in {where}")
        if not is_digest(raw["hash"]):
            raise ArtifactError(f"{where}: entry {path!r} has an invalid object name {str(raw['hash'])[:80]!r}", raw)
        entries.append(
            TreeEntry(path, raw["hash"], _int_field(raw, "size", MAX_SIZE, where), _int_field(raw, "mode", MODE_MASK, where))
        )
    check_paths([e.path for e in entries], where)
    return entries


def _inside(path: str, root: str) -> bool:
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:
        return False


def walk_folder(root: Path) -> tuple[list[SourceFile], list[str]]:
    """Files to store from a folder, and what was skipped (with why).

    Symbolic links are never followed out of the folder: a link to a file inside it is
    stored as that file's bytes (free, thanks to dedupe); links to folders, links leading
    outside and dangling links are skipped. Hidden entries (names starting with ``.``, such
    as ``.DS_Store`` or ``.git``) cannot be represented under the name allow-list and are
    skipped; any other name the allow-list refuses is an error naming the file.
    """
    root_real = os.path.realpath(root)
    files: list[SourceFile] = []
    skipped: list[str] = []
    invalid: list[str] = []
    stack: list[tuple[str, str]] = [(root_real, "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            raise ArtifactError(f"cannot list {folder}: {exc.strerror or exc}", folder) from None
        for entry in entries:
            rel = prefix + entry.name
            if entry.name.startswith("."):
                skipped.append(f"{rel} (hidden)")
                continue
            try:
                if entry.is_symlink():
                    target = os.path.realpath(entry.path)
                    if not _inside(target, root_real):
                        skipped.append(f"{rel} (symbolic link out of the folder)")
                    elif not os.path.isfile(target):
                        skipped.append(f"{rel} (symbolic link to a folder or to nothing)")
                    else:
                        _validate(rel, invalid)
                        files.append(SourceFile(rel, Path(target), os.stat(target).st_mode & MODE_MASK))
                elif entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, rel + "/"))
                elif entry.is_file(follow_symlinks=False):
                    _validate(rel, invalid)
                    files.append(SourceFile(rel, Path(entry.path), entry.stat(follow_symlinks=False).st_mode & MODE_MASK))
                else:
                    kind = "special file" if not stat.S_ISDIR(entry.stat(follow_symlinks=False).st_mode) else "folder"
                    skipped.append(f"{rel} ({kind})")
            except OSError as exc:
                raise ArtifactError(f"cannot read {entry.path}: {exc.strerror or exc}", entry.path) from None
    if invalid:
        shown = ", ".join(repr(p) for p in invalid[:5])
        more = f" and {len(invalid) - 5} more" if len(invalid) > 5 else ""
        raise InvalidNameError(
            f"cannot log folder {root}: {len(invalid)} file path(s) are not allowed in artifacts: {shown}{more}. "
            "Use ASCII letters, digits and '_ . + = @ -' in file and folder names",
            invalid,
        )
    files.sort(key=lambda f: f.relpath)
    return files, skipped


def _validate(rel: str, invalid: list[str]) -> None:
    try:
        validate_relpath(rel, "file path in artifact")
    except InvalidNameError:
        invalid.append(rel)

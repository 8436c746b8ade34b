"""The listing header's run order, kept compact beside it: what ``ls`` needs without parsing
the header's JSON (100,000 entries of ``[id, rk, project, offset, length]`` cost 0.3 s).

``index/listing-v2.order`` is derived from ``listing-v2.json`` by :mod:`fastlist` the first
time it reads a header that matches the run folders, and is used only while that header file
is the very same (its index state, size, mtime and inode are recorded). Layout: line 1
``LTORDER1``; line 2 a small JSON header (that stamp, section lengths, the body's xxh3-64);
then the run ids (newline-separated), four int64 per run (rk, offset, length, project
number; -1 for an entry not written yet) and JSON: the projects, the rows file name, the
problems and the liveness of running runs. Like every cache in ``index/``: anything that does
not check out is ignored (and written afresh), never trusted.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import Any, overload

import xxhash

from localtrack.query.scan_state import run_names

ORDER_FILENAME = "listing-v2.order"  # beside fastlist.HEADER_FILENAME, of the same version
MAGIC = b"LTORDER1\n"
MAX_ORDER_BYTES = 1 << 30
Stamp = tuple[str, int, int, int]  # the header's (index state, size, mtime_ns, inode)


class Entries(Sequence[list[Any]]):
    """The listing's runs in order, by column; each ``[id, rk, project, offset, length]`` is
    built when asked for (``ls`` asks for fifty of 100,000)."""

    def __init__(self, ids: list[str], numbers: array[int], projects: list[str | None]) -> None:
        self.ids, self.numbers, self.projects = ids, numbers, projects

    def __len__(self) -> int:
        return len(self.ids)

    def _entry(self, i: int) -> list[Any]:
        rk, offset, length, project = self.numbers[4 * i : 4 * i + 4]
        return [self.ids[i], rk, self.projects[project], None if offset < 0 else offset, None if length < 0 else length]

    @overload
    def __getitem__(self, index: int) -> list[Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[list[Any]]: ...

    def __getitem__(self, index: int | slice) -> list[Any] | list[list[Any]]:
        if isinstance(index, slice):
            return [self._entry(i) for i in range(*index.indices(len(self.ids)))]
        if index < 0:
            index += len(self.ids)
        if not 0 <= index < len(self.ids):
            raise IndexError(index)
        return self._entry(index)

    def position(self, run_id: str) -> int | None:
        try:
            return self.ids.index(run_id)
        except ValueError:
            return None


def header_stamp(header_path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(header_path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def save_order(index_dir: Path, stamp: Stamp, header: dict[str, Any]) -> None:
    """Write the compact order of ``header`` (temp + rename, no fsync: a cache)."""
    runs = header["runs"]
    projects: dict[str | None, int] = {}
    flat: list[int] = []
    for _run_id, rk, project, offset, length in runs:
        number = projects.setdefault(project, len(projects))
        flat.extend((rk, -1 if offset is None else offset, -1 if length is None else length, number))
    ids = "\n".join(str(e[0]) for e in runs).encode()
    rest = json.dumps({"projects": list(projects), "rows_file": header["rows_file"],
                       "problems": header.get("problems", []), "live": header.get("live") or {},
                       "version": header.get("version")}, separators=(",", ":")).encode()
    try:
        body = ids + array("q", flat).tobytes() + rest
    except (OverflowError, TypeError):
        return
    head = {"stamp": list(stamp), "count": len(runs), "ids_bytes": len(ids), "byteorder": sys.byteorder,
            "xxh3": xxhash.xxh3_64_intdigest(body)}
    tmp = index_dir / f".{ORDER_FILENAME}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o644)
        with open(fd, "wb") as handle:
            handle.write(MAGIC + json.dumps(head).encode() + b"\n" + body)
        os.replace(tmp, index_dir / ORDER_FILENAME)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def load_order(index_dir: Path, stamp: Stamp) -> dict[str, Any] | None:
    """The header (``runs`` as :class:`Entries`; no ``files``) saved for exactly this header
    file, or None."""
    try:
        with open(index_dir / ORDER_FILENAME, "rb") as handle:
            if handle.read(len(MAGIC)) != MAGIC:
                return None
            line = handle.readline(4096)
            body = handle.read(MAX_ORDER_BYTES + 1)
    except OSError:
        return None
    try:
        return _parse(line, body, stamp)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, UnicodeDecodeError):
        return None


def _parse(line: bytes, body: bytes, stamp: Stamp) -> dict[str, Any] | None:
    head = json.loads(line)
    if not isinstance(head, dict) or head.get("stamp") != list(stamp) or head.get("byteorder") != sys.byteorder:
        return None
    count, ids_bytes, digest = head["count"], head["ids_bytes"], head["xxh3"]
    if not all(type(v) is int and v >= 0 for v in (count, ids_bytes, digest)) or len(body) > MAX_ORDER_BYTES:
        return None
    if len(body) < ids_bytes + 32 * count or xxhash.xxh3_64_intdigest(body) != digest:
        return None
    ids = run_names(body[:ids_bytes], count)
    if ids is None:
        return None
    numbers = array("q")
    numbers.frombytes(body[ids_bytes : ids_bytes + 32 * count])
    rest = json.loads(body[ids_bytes + 32 * count :])
    projects = rest["projects"]
    if not (isinstance(projects, list) and all(p is None or isinstance(p, str) for p in projects)):
        return None
    kinds = numbers[3::4]
    if count and (min(kinds) < 0 or max(kinds) >= len(projects) or min(numbers[1::4]) < -1 or min(numbers[2::4]) < -1):
        return None
    if not isinstance(rest["rows_file"], str) or not isinstance(rest["live"], dict) \
            or not isinstance(rest["problems"], list):
        return None
    return {"version": rest["version"], "rows_file": rest["rows_file"], "problems": rest["problems"],
            "live": rest["live"], "runs": Entries(ids, numbers, projects)}

"""The run manifest: deterministic JSON, read defensively.

Deterministic (sorted keys, two-space indent, newline at end, non-finite floats spelled as
the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``) so that git diffs stay small and two
writes of the same content give the same bytes. Reading treats the file as hostile: bounded
size and depth, duplicate keys refused, unknown format versions refused.
"""

from __future__ import annotations

import errno
import json
import math
import os
from json.encoder import encode_basestring as _quote  # the C version when available
from pathlib import Path
from typing import Any

from localtrack.errors import (
    CorruptRunError,
    InvalidNameError,
    InvalidValueError,
    LocaltrackError,
    StoreFormatError,
)
from localtrack.names import validate_writer_id
from localtrack.storage.atomic import atomic_write_bytes
from localtrack.storage.layout import FORMAT_VERSION
from localtrack.storage.links import refuse_link
from localtrack.storage.segments import recorded_segment_name

MAX_MANIFEST_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 64

_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}

# Config and summary values: a non-finite float is the one-key object {"$float": "NaN"} (or
# "Infinity"/"-Infinity"), so a user's string "NaN" stays a string. Manifests written before
# this encoding (no "value_encoding" field) spelled them as bare strings; readers decode those
# as floats, as the old writer meant.
FLOAT_TAG = "$float"
VALUE_ENCODING = 2


def encode_float(value: float) -> float | str:
    """JSON has no NaN/inf: spell them as strings (see docs/FORMAT.md)."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def decode_float(value: Any) -> float | None:
    """Inverse of :func:`encode_float`; None for anything that is not a number."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        return _NONFINITE.get(value)
    return None


def encode_value_float(value: float) -> float | dict[str, str]:
    """A config/summary float: itself when finite, else the tagged object (see docs/FORMAT.md)."""
    if math.isfinite(value):
        return value
    spelled = encode_float(value)
    return {FLOAT_TAG: spelled}  # type: ignore[dict-item]


def decode_value(value: Any, legacy: bool = False, depth: int = 0) -> Any:
    """A config/summary value as Python: tagged non-finite floats (and, in a ``legacy`` manifest,
    the bare strings ``"NaN"``/``"Infinity"``/``"-Infinity"``) become floats."""
    if isinstance(value, dict):
        if len(value) == 1 and isinstance(value.get(FLOAT_TAG), str) and value[FLOAT_TAG] in _NONFINITE:
            return _NONFINITE[value[FLOAT_TAG]]
        if depth >= MAX_DEPTH:
            return value
        return {k: decode_value(v, legacy, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        if depth >= MAX_DEPTH:
            return value
        return [decode_value(v, legacy, depth + 1) for v in value]
    if legacy and isinstance(value, str) and value in _NONFINITE:
        return _NONFINITE[value]
    return value


def is_legacy_values(manifest: dict[str, Any]) -> bool:
    """Whether ``manifest`` predates the tagged non-finite encoding of config/summary values."""
    return manifest.get("value_encoding") != VALUE_ENCODING


def _jsonable(value: Any, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, float):
        return encode_float(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, depth + 1) for v in value]
    return value


def dump_manifest(manifest: dict[str, Any]) -> bytes:
    """Deterministic JSON bytes for a manifest.

    Byte for byte ``json.dumps(_jsonable(m), sort_keys=True, indent=2, ensure_ascii=False,
    allow_nan=False) + "\\n"`` (a test pins this), written by hand because the standard library
    falls back to its slow pure-Python encoder whenever ``indent`` is set, and a run writes its
    manifest at every seal.
    """
    out: list[str] = []
    _encode(manifest, 0, out)
    out.append("\n")
    return "".join(out).encode("utf-8")


def _encode(value: Any, depth: int, out: list[str]) -> None:
    if depth > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        out.append(_quote(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        spelled = encode_float(value)
        out.append(_quote(spelled) if isinstance(spelled, str) else float.__repr__(value))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        items = {str(k): v for k, v in value.items()}
        inner = "\n" + "  " * (depth + 1)
        separator = "{" + inner
        for key in sorted(items):
            out.append(separator)
            out.append(_quote(key))
            out.append(": ")
            item = items[key]
            kind = type(item)  # the common scalars inline: a manifest is mostly leaves
            if kind is str:
                out.append(_quote(item))
            elif kind is int:
                out.append(int.__repr__(item))
            elif kind is float and -math.inf < item < math.inf:
                out.append(float.__repr__(item))
            elif item is None:
                out.append("null")
            else:
                _encode(item, depth + 1, out)
            separator = "," + inner
        out.append("\n" + "  " * depth + "}")
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        inner = "\n" + "  " * (depth + 1)
        separator = "[" + inner
        for item in value:
            out.append(separator)
            _encode(item, depth + 1, out)
            separator = "," + inner
        out.append("\n" + "  " * depth + "]")
    else:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def write_manifest(path: Path, manifest: dict[str, Any], *, durable: bool = True) -> bytes:
    """Atomically replace the manifest at ``path`` (never through a linked run folder); return
    the bytes written. ``durable=False`` leaves the fsyncs (file and folder) to the caller.

    A manifest readers would refuse (over ``MAX_MANIFEST_BYTES``) is never written: the old
    one stays, and the error names the limit. (The per-field limits in localtrack/store/limits.py
    keep a run far below it; this is the last line.)
    """
    refuse_link(path.parent)
    data = dump_manifest(manifest)
    if len(data) > MAX_MANIFEST_BYTES:
        raise InvalidValueError(
            f"{path}: the manifest would be {len(data) / 2**20:.1f} MiB, over the {MAX_MANIFEST_BYTES // 2**20} MiB "
            "readers accept; it was not written (log fewer or smaller config/summary values or metric keys)",
            len(data),
        )
    atomic_write_bytes(path, data, durable=durable)
    return data


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def load_strict_json(data: bytes, where: str, what: str, error: type[LocaltrackError]) -> Any:
    """JSON from a hostile file: UTF-8 only, duplicate keys and runaway nesting refused as ``error``."""
    try:
        return json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except RecursionError:
        raise error(f"{where}: {what} is nested too deeply", where) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise error(f"{where}: {what} is not valid JSON ({exc})", where) from None


def _fast_json(data: bytes) -> Any:
    """``data`` parsed by the plain C parser when that provably gives what :func:`load_strict_json`
    gives (no duplicate key anywhere, nesting within ``MAX_DEPTH``); ``None`` when not proved.

    Why: the strict parse's per-object hook doubles the cost of reading a manifest, which a
    cold index build does 10,000 times. The proof: outside strings, JSON has a colon only
    between a key and its value, so the text's colons are P (pairs written) + the colons inside
    string literals. Parsed, the kept keys K and the colons of the kept strings C are counted;
    every pair a duplicate overwrote is missing from K (with its strings), so ``colons - K - C``
    is ``P - K`` plus the lost strings' colons: zero only when nothing was lost. A colon spelled
    ``\\u003a`` would break the count, so any such spelling falls back to the strict parse.
    """
    if b"\\u003a" in data or b"\\u003A" in data:
        return None
    try:
        value = json.loads(data.decode("utf-8"))
    except (RecursionError, UnicodeDecodeError, ValueError):
        return None  # the strict parse words the error
    if type(value) is not dict:
        return None
    level, depth, keys, colons = [value], 0, 0, 0
    while level:  # breadth first: level holds the containers at this depth
        if depth >= MAX_DEPTH:  # a container this deep: refused (as _nested_deeper_than says)
            return None
        below: list[Any] = []
        strings: list[str] = []
        for container in level:
            if type(container) is dict:
                keys += len(container)
                strings.extend(container)
                items: Any = container.values()
            else:
                items = container
            for item in items:
                kind = type(item)
                if kind is str:
                    strings.append(item)
                elif kind is dict or kind is list:
                    below.append(item)
        colons += "".join(strings).count(":")
        level, depth = below, depth + 1
    if data.count(b":") != keys + colons:
        return None
    return value


def parse_manifest(data: bytes, where: str) -> dict[str, Any]:
    """Parse and sanity-check manifest bytes; raise CorruptRunError / StoreFormatError."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise CorruptRunError(f"{where}: manifest is {len(data)} bytes, over the {MAX_MANIFEST_BYTES} limit", where)
    manifest = _fast_json(data)
    checked_depth = manifest is not None
    if manifest is None:
        manifest = load_strict_json(data, where, "manifest", CorruptRunError)
    if not isinstance(manifest, dict):
        raise CorruptRunError(f"{where}: manifest is not a JSON object", where)
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise CorruptRunError(f"{where}: manifest has no integer format_version", where)
    if version > FORMAT_VERSION or version < 1:
        raise StoreFormatError(
            f"{where}: manifest format_version {version} is not supported by this localtrack "
            f"(reads up to {FORMAT_VERSION}); upgrade localtrack",
            version,
        )
    if not checked_depth and _nested_deeper_than(manifest, MAX_DEPTH):
        # dump_manifest refuses to write past MAX_DEPTH: a reader that accepted it would
        # hand writers (tag, log-metrics, a resumed run) a manifest they cannot write back.
        raise CorruptRunError(f"{where}: manifest is nested deeper than {MAX_DEPTH} levels", where)
    check_path_names(manifest, where)
    return manifest


def _nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether containers nest more than ``limit`` levels (iterative: no recursion limit to hit)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth >= limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def check_path_names(manifest: dict[str, Any], where: str) -> None:
    """Refuse a manifest whose names that become paths would not pass as user input.

    Every writer id and every segment file name are joined to paths by readers and writers (a shell ``log-metrics`` names its next segment after the writer id it finds),
    so they get exactly the checks a name from the user gets, here, once, for every reader
    and writer alike. The run id must equal its (validated) folder name, which every reader,
    editor and ``verify`` checks; artifact records are checked in store/artifact_records.py.
    """
    writers = manifest.get("writers", {})
    if not isinstance(writers, dict):
        raise CorruptRunError(f"{where}: manifest 'writers' is a {type(writers).__name__}, not an object", where)
    for writer_id, entry in writers.items():
        try:
            validate_writer_id(writer_id)
        except InvalidNameError as exc:
            raise CorruptRunError(f"{where}: manifest writers: {exc}", where) from None
        if not isinstance(entry, dict):
            raise CorruptRunError(f"{where}: writer {writer_id!r} is a {type(entry).__name__}, not an object", where)
        segments = entry.get("segments", {})
        if not isinstance(segments, dict):
            raise CorruptRunError(f"{where}: writer {writer_id!r} 'segments' is not an object", where)
        for filename in segments:
            if recorded_segment_name(filename, writer_id) is None:
                raise CorruptRunError(
                    f"{where}: writer {writer_id!r} records an invalid segment file name {filename[:80]!r} "
                    f"(expected {writer_id}-<first>-<last>.parquet)",
                    where,
                )


def read_manifest(path: Path) -> dict[str, Any]:
    """Read a manifest file; a missing, torn or hostile file raises CorruptRunError."""
    try:
        # O_NOFOLLOW: a manifest replaced by a symlink (say, in a malicious commit) is never
        # followed out of the store.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with open(fd, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size  # don't allocate the 64 MiB cap each time
            data = handle.read(min(size, MAX_MANIFEST_BYTES) + 1)
    except FileNotFoundError:
        raise CorruptRunError(f"{path}: manifest is missing", str(path)) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise CorruptRunError(f"{path}: manifest is a symbolic link; refusing to follow it", str(path)) from None
        raise CorruptRunError(f"{path}: cannot read manifest ({exc.strerror})", str(path)) from None
    return parse_manifest(data, str(path))

"""Which Python distributions are installed, found by one directory scan per process.

``importlib.metadata`` opens and parses a METADATA file per distribution, which costs
tens of milliseconds in a fat environment. Installers encode name and version in the
``*.dist-info`` / ``*.egg-info`` directory name, so one ``os.scandir`` per ``sys.path``
entry is enough; METADATA is read only where the directory name is ambiguous.
"""

from __future__ import annotations

import os
import re
import sys

__all__ = ["freeze_text", "installed_packages", "normalize_name"]

_NORMALIZE = re.compile(r"[-_.]+")

# One-entry cache keyed by the sys.path it was computed from, so a script that edits
# sys.path (or a test that does) gets a fresh scan while the common case costs one
# tuple comparison.
_cache_key: tuple[str, ...] | None = None
_cache_value: dict[str, str] = {}


def normalize_name(name: str) -> str:
    """PEP 503 normalisation: ``Scikit_Learn`` and ``scikit-learn`` are one project."""
    return _NORMALIZE.sub("-", name).lower()


def _read_metadata(path: str) -> tuple[str, str] | None:
    """Name and Version from the header of a METADATA / PKG-INFO file (stops at the body)."""
    name = version = None
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.strip():
                    break
                key, sep, value = line.partition(":")
                if not sep:
                    continue
                key = key.strip().lower()
                if key == "name" and name is None:
                    name = value.strip()
                elif key == "version" and version is None:
                    version = value.strip()
                if name is not None and version is not None:
                    break
    except OSError:
        return None
    if not name or not version:
        return None
    return name, version


def _from_dir_name(stem: str, suffix: str) -> tuple[str, str] | None:
    """Name and version encoded in ``name-version[-pyX.Y]``, or None when ambiguous."""
    parts = stem.split("-")
    if len(parts) == 2 and all(parts):
        return parts[0], parts[1]
    if suffix != ".dist-info" and len(parts) == 3 and parts[2].startswith("py") and parts[0]:
        return parts[0], parts[1]
    return None


def _parse_entry(entry: os.DirEntry[str]) -> tuple[str, str] | None:
    name = entry.name
    if name.endswith(".dist-info"):
        suffix = ".dist-info"
    elif name.endswith(".egg-info"):
        suffix = ".egg-info"
    else:
        return None
    found = _from_dir_name(name[: -len(suffix)], suffix)
    if found is not None:
        return found
    try:
        is_dir = entry.is_dir()
    except OSError:
        return None
    if suffix == ".dist-info":
        return _read_metadata(os.path.join(entry.path, "METADATA")) if is_dir else None
    # An egg-info is either a directory holding PKG-INFO or (distutils) the file itself.
    return _read_metadata(os.path.join(entry.path, "PKG-INFO") if is_dir else entry.path)


def _scan(paths: tuple[str, ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    for path_entry in paths:
        where = path_entry or os.curdir
        if where.endswith(".egg") and os.path.isdir(where):
            # An egg directory on sys.path is itself the distribution.
            parsed = _from_dir_name(os.path.basename(where)[:-4], ".egg")
            if parsed is not None:
                found.setdefault(normalize_name(parsed[0]), parsed[1])
            continue
        try:
            entries = os.scandir(where)
        except OSError:  # missing dir, zip file, permission denied
            continue
        with entries:
            for entry in entries:
                try:
                    parsed = _parse_entry(entry)
                except (OSError, ValueError):
                    continue
                if parsed is not None:
                    # First on sys.path wins, as for import and importlib.metadata.
                    found.setdefault(normalize_name(parsed[0]), parsed[1])
    return found


def _packages() -> dict[str, str]:
    """The cached mapping itself; callers inside capture must not mutate it."""
    global _cache_key, _cache_value
    key = tuple(p for p in sys.path if isinstance(p, str))
    if key != _cache_key:
        _cache_value = _scan(key)
        _cache_key = key
    return _cache_value


def installed_packages() -> dict[str, str]:
    """Installed distributions as ``{normalized name: version}``; scanned once per process."""
    return dict(_packages())


_freeze: tuple[dict[str, str], str] | None = None  # (the scan it was made from, its text)


def freeze_text() -> str:
    """A ``pip freeze``-like listing (``name==version`` lines, sorted) to store as an artifact.

    Built once per scan: every ``init()`` asks for it, and a new scan is a new dict."""
    global _freeze
    packages = _packages()
    if _freeze is None or _freeze[0] is not packages:
        _freeze = (packages, "".join(f"{name}=={packages[name]}\n" for name in sorted(packages)))
    return _freeze[1]


def _clear_cache() -> None:
    """Forget the scan (for tests, or after installing packages mid-process)."""
    global _cache_key, _cache_value, _freeze
    _cache_key = None
    _cache_value = {}
    _freeze = None

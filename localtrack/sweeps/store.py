"""Where a sweep lives in the store, and claiming a trial so that no two agents run it.

    .localtrack/sweeps/<sweep_id>/sweep.json          the config, written once at create
    .localtrack/sweeps/<sweep_id>/trials/<key>.json   one file per claimed trial, written once
    .localtrack/sweeps/<sweep_id>/stops/<key>.json    one file per early-terminated trial, written once

The store is the coordinator: an agent owns a trial when it is the one that created
``trials/<key>.json``. The file is written under a temporary name and hard-linked to its
final name, which fails if the name exists — atomic on local filesystems and on NFS alike
(``O_EXCL`` is the fallback where hard links are not supported). No file is ever rewritten,
so stores shared through git merge without conflicts: each trial is its own new file.
"""

from __future__ import annotations

import errno
import json
import os
import re
import secrets
import string
from pathlib import Path
from typing import Any

from localtrack import timefmt
from localtrack.errors import InvalidNameError, LocaltrackError
from localtrack.storage.atomic import fsync_dir, make_dirs, write_new_file
from localtrack.storage.layout import StoreLayout
from localtrack.storage.lease import host_name
from localtrack.sweeps.config import SweepConfig, parse_config

SWEEP_ID_RE = re.compile(r"^sweep-[a-z0-9]{8}$")
TRIAL_KEY_RE = re.compile(r"^(grid-\d{6,9}|[a-z0-9]{10}-\d{4,9})$")
MAX_SWEEP_FILE_BYTES = 2_000_000
MAX_TRIAL_FILE_BYTES = 64_000
MAX_STOP_FILE_BYTES = 512_000
MAX_TRIALS = 100_000
SWEEP_FORMAT = 1
_ALPHABET = string.ascii_lowercase + string.digits


class SweepNotFoundError(LocaltrackError, LookupError):
    """No sweep matches the reference given."""


def new_token(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def sweeps_dir(layout: StoreLayout) -> Path:
    return layout.root / "sweeps"


def sweep_dir(layout: StoreLayout, sweep_id: str) -> Path:
    if not SWEEP_ID_RE.match(sweep_id):
        raise SweepNotFoundError(f"{sweep_id[:80]!r} is not a sweep id (they look like sweep-1a2b3c4d)", sweep_id)
    return sweeps_dir(layout) / sweep_id


def _read_bounded(path: Path, limit: int) -> bytes:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with open(fd, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"larger than {limit} bytes")
    return data


def _safe_folder(path: Path, what: str) -> None:
    if path.is_symlink():
        raise LocaltrackError(f"{path} ({what}) is a symbolic link; refusing to follow it out of the store", str(path))


def create_sweep(layout: StoreLayout, raw: dict[str, Any], project: str | None = None) -> str:
    """Store a checked config as a new sweep; returns its id."""
    config = parse_config(raw)
    root = sweeps_dir(layout)
    _safe_folder(root, "sweeps folder")
    make_dirs(root)
    for _ in range(20):
        sweep_id = f"sweep-{new_token(8)}"
        folder = root / sweep_id
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            raise LocaltrackError(f"cannot create {folder}: {exc.strerror}", str(folder)) from None
        record = {
            "format": SWEEP_FORMAT,
            "id": sweep_id,
            "created_at": timefmt.now_iso(),
            "seed": new_token(16),
            "project": project or raw.get("project"),
            "config": config.raw,
        }
        write_new_file(folder / "sweep.json", json.dumps(record, indent=2, sort_keys=True).encode("utf-8"))
        fsync_dir(root)
        return sweep_id
    raise LocaltrackError("could not pick a free sweep id", None)


def resolve_sweep(layout: StoreLayout, ref: str) -> str:
    """A sweep id from an id or a unique prefix of one."""
    if SWEEP_ID_RE.match(ref) and (sweeps_dir(layout) / ref).is_dir():
        return ref
    root = sweeps_dir(layout)
    names = sorted(p.name for p in root.iterdir() if SWEEP_ID_RE.match(p.name)) if root.is_dir() else []
    matches = [n for n in names if n.startswith(ref)] if ref else []
    if len(matches) == 1:
        return matches[0]
    if not matches:
        known = ", ".join(names[-5:]) or "none yet: localtrack sweep create sweep.yaml"
        raise SweepNotFoundError(f"no sweep {ref[:80]!r} in {root} (sweeps: {known})", ref)
    raise SweepNotFoundError(f"{ref!r} matches several sweeps: {', '.join(matches[:5])}; give more of the id", ref)


def list_sweeps(layout: StoreLayout) -> list[str]:
    root = sweeps_dir(layout)
    if not root.is_dir() or root.is_symlink():
        return []
    return sorted(p.name for p in root.iterdir() if SWEEP_ID_RE.match(p.name))


class StoredSweep:
    """A sweep read back from disk: its record and its parsed (re-checked) config."""

    def __init__(self, layout: StoreLayout, sweep_id: str) -> None:
        self.layout = layout
        self.id = sweep_id
        self.dir = sweep_dir(layout, sweep_id)
        _safe_folder(self.dir, "sweep folder")
        try:
            record = json.loads(_read_bounded(self.dir / "sweep.json", MAX_SWEEP_FILE_BYTES))
        except FileNotFoundError:
            raise SweepNotFoundError(f"sweep {sweep_id!r} has no sweep.json in {self.dir}", sweep_id) from None
        except (OSError, ValueError) as exc:
            raise LocaltrackError(f"{self.dir / 'sweep.json'} cannot be read: {exc}", sweep_id) from None
        if not isinstance(record, dict) or record.get("id") != sweep_id or not isinstance(record.get("config"), dict):
            raise LocaltrackError(f"{self.dir / 'sweep.json'} is not a sweep record of {sweep_id!r}", sweep_id)
        if record.get("format") != SWEEP_FORMAT:
            raise LocaltrackError(f"sweep {sweep_id!r} has format {record.get('format')!r}; this localtrack reads {SWEEP_FORMAT}", sweep_id)
        self.record = record
        self.config: SweepConfig = parse_config(record["config"])
        seed = record.get("seed")
        self.seed = seed if isinstance(seed, str) and seed.isalnum() and len(seed) <= 64 else sweep_id
        project = record.get("project")
        self.project = project if isinstance(project, str) and project else None

    @property
    def trials_dir(self) -> Path:
        return self.dir / "trials"

    def claimed_keys(self) -> set[str]:
        folder = self.trials_dir
        if not folder.is_dir() or folder.is_symlink():
            return set()
        keys: set[str] = set()
        for entry in os.scandir(folder):
            name = entry.name
            if name.endswith(".json") and TRIAL_KEY_RE.match(name[:-5]):
                keys.add(name[:-5])
                if len(keys) >= MAX_TRIALS:
                    break
        return keys

    def trials(self) -> list[dict[str, Any]]:
        """Every claim record (checked), oldest key first; unreadable ones as ``{"key", "problem"}``."""
        out = []
        for key in sorted(self.claimed_keys()):
            out.append(self.read_trial(key))
        return out

    def read_trial(self, key: str) -> dict[str, Any]:
        path = self.trials_dir / f"{key}.json"
        try:
            record = json.loads(_read_bounded(path, MAX_TRIAL_FILE_BYTES))
        except (OSError, ValueError) as exc:
            return {"key": key, "problem": f"cannot read {path.name}: {exc}"}
        from localtrack.names import validate_id

        try:
            if not isinstance(record, dict) or record.get("key") != key or not isinstance(record.get("params"), dict):
                raise ValueError("not a trial record")
            validate_id(record.get("run_id"), "trial run id")
        except (ValueError, LocaltrackError) as exc:
            return {"key": key, "problem": f"{path.name}: {exc}"}
        return record

    def claim(self, key: str, params: dict[str, Any], run_id: str, agent: str) -> bool:
        """Create ``trials/<key>.json``; False when another agent created it first."""
        if not TRIAL_KEY_RE.match(key):
            raise InvalidNameError(f"bad trial key {key!r}")
        record = {
            "key": key, "params": params, "run_id": run_id, "agent": agent,
            "host": host_name(), "pid": os.getpid(), "claimed_at": timefmt.now_iso(),
        }
        return _create_once(self.trials_dir, key, record, "trials folder")

    @property
    def stops_dir(self) -> Path:
        return self.dir / "stops"

    def record_stop(self, key: str, run_id: str, agent: str, decision: dict[str, Any]) -> bool:
        """Create ``stops/<key>.json``: the early-termination decision and the values it was made on."""
        if not TRIAL_KEY_RE.match(key):
            raise InvalidNameError(f"bad trial key {key!r}")
        record = {"key": key, "run_id": run_id, "agent": agent, "decided_at": timefmt.now_iso(), **decision}
        return _create_once(self.stops_dir, key, record, "stops folder")

    def stops(self) -> dict[str, dict[str, Any]]:
        """Every readable stop record by trial key (damaged or hostile ones are skipped)."""
        folder = self.stops_dir
        if not folder.is_dir() or folder.is_symlink():
            return {}
        out: dict[str, dict[str, Any]] = {}
        for entry in os.scandir(folder):
            key = entry.name[:-5]
            if not entry.name.endswith(".json") or not TRIAL_KEY_RE.match(key):
                continue
            try:
                record = json.loads(_read_bounded(folder / entry.name, MAX_STOP_FILE_BYTES))
            except (OSError, ValueError):
                continue
            if not isinstance(record, dict) or record.get("key") != key:
                continue
            bracket = record.get("bracket")
            if isinstance(bracket, int) and not isinstance(bracket, bool):
                out[key] = record
            if len(out) >= MAX_TRIALS:
                break
        return out


def _create_once(folder: Path, key: str, record: dict[str, Any], what: str) -> bool:
    """Create ``<folder>/<key>.json`` holding ``record``; False when it exists already.

    Written under a temporary name and hard-linked to its final name, which fails if that
    name exists: atomic on local disks and NFS (``O_EXCL`` where links are not supported).
    """
    _safe_folder(folder, what)
    make_dirs(folder)
    data = json.dumps(record, indent=2, sort_keys=True).encode("utf-8")
    final = folder / f"{key}.json"
    temp = folder / f".{key}.{new_token(8)}.tmp"
    write_new_file(temp, data)
    try:
        os.link(temp, final)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise LocaltrackError(f"cannot create {key}.json in {folder}: {exc.strerror}", key) from None
        try:
            write_new_file(final, data)  # a filesystem without hard links: O_EXCL decides
        except LocaltrackError:
            if final.exists():
                return False
            raise
    finally:
        try:
            temp.unlink()
        except OSError:
            pass
    fsync_dir(folder)
    return True

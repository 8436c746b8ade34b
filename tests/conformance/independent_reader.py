"""A reader of localtrack stores written from docs/FORMAT.md alone (json, pyarrow, xxhash, stdlib).

It must never import localtrack (a test checks this file's imports): it stands for the
outsider who gets their data back without our code. Where this reader and localtrack
disagree, either the code or FORMAT.md is wrong.
"""

from __future__ import annotations

import json
import math
import os
import re
import socket
import stat
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import xxhash

SEGMENT_NAME = re.compile(r"([a-z0-9]{1,32})-(\d{6,12})-(\d{6,12})\.parquet\Z")
HEX32 = re.compile(r"[0-9a-f]{32}\Z")
SHARD = re.compile(r"[0-9a-f]{2}\Z")
RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\Z")
BARE_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
TAGGED_ENCODING = 2  # manifests with "value_encoding": 2 tag non-finite config values
REMOTE_HEARTBEAT_S = 75.0
LOCAL_HEARTBEAT_S = 600.0
EXTERNAL_HEARTBEAT_S = 7 * 24 * 3600.0
MAX_LISTING_BYTES = 256 * 1024 * 1024


@dataclass
class RunData:
    """One run as this reader sees it."""

    id: str
    manifest: dict[str, Any]
    status: str
    config: dict[str, Any]
    params: dict[str, Any]
    tags: dict[str, str]
    labels: list[str]
    summary: dict[str, dict[str, Any]]
    summary_values: dict[str, Any]
    points: pa.Table
    artifacts: list[dict[str, Any]]
    damage: list[str] = field(default_factory=list)

    def computed_summary(self) -> dict[str, dict[str, Any]]:
        """last/min/max/count/step per key, computed from the points by FORMAT's semantics."""
        return summarize(self.points)


def parse_time(text: Any) -> float | None:
    """FORMAT's timestamps: UTC ISO 8601 with microseconds and a Z."""
    if not isinstance(text, str) or not text.endswith("Z"):
        return None
    try:
        return datetime.fromisoformat(text[:-1] + "+00:00").timestamp()
    except ValueError:
        return None


# --- manifest values -------------------------------------------------------------------------

def decode_value(value: Any, legacy: bool) -> Any:
    """Config / summary_values: ``{"$float": "NaN"}`` is a float always; the bare strings
    ``"NaN"``/``"Infinity"``/``"-Infinity"`` are floats only in manifests without ``value_encoding``."""
    if isinstance(value, dict):
        if len(value) == 1 and value.get("$float") in BARE_NONFINITE:
            return BARE_NONFINITE[value["$float"]]
        return {k: decode_value(v, legacy) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_value(v, legacy) for v in value]
    if legacy and isinstance(value, str) and value in BARE_NONFINITE:
        return BARE_NONFINITE[value]
    return value


def decode_number(value: Any) -> Any:
    """A summary number: JSON number, null, or the bare non-finite strings (always, in summary)."""
    if isinstance(value, str) and value in BARE_NONFINITE:
        return BARE_NONFINITE[value]
    return value


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested params flattened with ``.`` as queries see them."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value and not (len(value) == 1 and "$float" in value):
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


# --- status ----------------------------------------------------------------------------------

def pid_start_ticks(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat (start time in clock ticks since boot); None where unreadable."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
        return int(raw[raw.rindex(b")") + 2 :].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def writer_alive(writer: Any, now: float) -> bool:
    """FORMAT's "Derived status: crashed" rules for one writer record."""
    if not isinstance(writer, dict) or writer.get("status") != "running":
        return False
    beat = parse_time(writer.get("heartbeat_at"))
    age = math.inf if beat is None else now - beat
    if writer.get("external", False) is True:
        return age < EXTERNAL_HEARTBEAT_S
    if writer.get("host") == socket.gethostname():
        pid = writer.get("pid")
        if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0 or not pid_exists(pid):
            return False
        recorded = writer.get("pid_start")
        current = pid_start_ticks(pid)
        if recorded is not None and current is not None and current != recorded:
            return False  # the pid was reused
        return age < LOCAL_HEARTBEAT_S
    return age < REMOTE_HEARTBEAT_S


def derive_status(manifest: dict[str, Any], now: float | None = None) -> str:
    status = manifest.get("status")
    if status != "running":
        return str(status)
    now = time.time() if now is None else now
    writers = manifest.get("writers")
    if isinstance(writers, dict) and any(writer_alive(w, now) for w in writers.values()):
        return "running"
    return "crashed"


# --- metric segments -------------------------------------------------------------------------

def complete_parquet(path: Path) -> bool:
    """``PAR1`` at both ends."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
            handle.seek(0, 2)
            if handle.tell() < 12:
                return False
            handle.seek(-4, 2)
            return head == b"PAR1" and handle.read(4) == b"PAR1"
    except OSError:
        return False


def live_segments(metrics_dir: Path) -> list[Path]:
    """Segment files after the covering rule: per writer, drop files inside another's range."""
    if not metrics_dir.is_dir():
        return []
    found = []
    for path in metrics_dir.iterdir():
        match = SEGMENT_NAME.match(path.name)
        if match and int(match[2]) <= int(match[3]):
            found.append((match[1], int(match[2]), int(match[3]), path))
    live = [
        f for f in found
        if not any(o[0] == f[0] and o[1] <= f[1] and f[2] <= o[2] and o[1:3] != f[1:3] for o in found)
    ]
    return [f[3] for f in sorted(live, key=lambda f: (f[0], f[1]))]


EMPTY_POINTS = pa.schema([
    pa.field("step", pa.int64(), nullable=False),
    pa.field("timestamp", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("key", pa.string(), nullable=False),
    pa.field("value", pa.float64()),
])


def read_points(run_dir: Path, damage: list[str]) -> pa.Table:
    """Every live point of a run (an empty table when it has none); damaged files reported."""
    tables = []
    for path in live_segments(run_dir / "metrics"):
        if not complete_parquet(path):
            damage.append(f"{path.name}: incomplete parquet file")
            continue
        tables.append(pq.read_table(path).select(["step", "timestamp", "key", "value"]))
    if not tables:
        return EMPTY_POINTS.empty_table()
    return pa.concat_tables(tables)


def summarize(points: pa.Table) -> dict[str, dict[str, Any]]:
    """FORMAT's summary semantics: last at the largest step (ties: logged last), NaN-free min/max."""
    rows = sorted(
        zip(points.column("key").to_pylist(), points.column("step").to_pylist(),
            points.column("timestamp").to_pylist(), points.column("value").to_pylist(), strict=True),
        key=lambda r: (r[0], r[1], r[2]),
    )
    out: dict[str, dict[str, Any]] = {}
    for key, step, _, value in rows:
        stats = out.setdefault(key, {"count": 0, "min": None, "max": None})
        stats["count"] += 1
        stats["last"], stats["step"] = value, step
        if value is not None and not math.isnan(value):
            stats["min"] = value if stats["min"] is None else min(stats["min"], value)
            stats["max"] = value if stats["max"] is None else max(stats["max"], value)
    return out


# --- objects and artifacts -------------------------------------------------------------------

def object_path(store: Path, digest: Any) -> Path | None:
    if not isinstance(digest, str) or not HEX32.match(digest):
        return None
    return store / "objects" / digest[:2] / digest


def read_object(store: Path, digest: Any, limit: int = 1 << 30) -> bytes | None:
    """An object's bytes if it is a regular file (no symlink) whose bytes hash to its name."""
    path = object_path(store, digest)
    if path is None or not SHARD.match(path.parent.name):
        return None
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
        return None
    data = path.read_bytes()
    return data if xxhash.xxh3_128_hexdigest(data) == digest else None


def check_artifact(store: Path, record: Any) -> str | None:
    """None when the record and its objects are sound, else what is wrong."""
    if not isinstance(record, dict):
        return "record is not an object"
    for key in ("name", "type", "description", "created_at"):
        if not isinstance(record.get(key), str):
            return f"{key} is not a string"
    if not isinstance(record.get("version"), int) or record["version"] < 1:
        return "bad version"
    kind = record.get("kind")
    if kind == "file":
        data = read_object(store, record.get("hash"))
        if data is None:
            return "object missing or damaged"
        if len(data) != record.get("size") or record.get("files") != 1 or not isinstance(record.get("filename"), str):
            return "size, files or filename disagree with the object"
        return None
    if kind != "dir":
        return f"unknown kind {kind!r}"
    listing = read_object(store, record.get("hash"), MAX_LISTING_BYTES)
    if listing is None:
        return "listing object missing or damaged"
    tree = json.loads(listing.decode("utf-8"))
    if tree.get("format") != "localtrack-tree 1":
        return "listing has an unknown format"
    entries = tree.get("entries")
    if listing != (json.dumps(tree, sort_keys=True, separators=(",", ":")) + "\n").encode():
        return "listing is not in canonical form"
    if [e["path"] for e in entries] != sorted(e["path"] for e in entries):
        return "listing entries not sorted by path"
    total = 0
    for entry in entries:
        if set(entry) != {"path", "hash", "size", "mode"}:
            return f"entry {entry.get('path')!r} has the wrong keys"
        data = read_object(store, entry["hash"])
        if data is None or len(data) != entry["size"]:
            return f"object of {entry['path']!r} missing or damaged"
        total += entry["size"]
    if total != record.get("size") or len(entries) != record.get("files"):
        return "size or files disagree with the listing"
    return None


# --- the store -------------------------------------------------------------------------------

def read_run(store: Path, run_dir: Path, now: float | None = None) -> RunData:
    manifest = json.loads((run_dir / "manifest.json").read_text("utf-8"))
    if manifest.get("id") != run_dir.name:
        raise ValueError(f"{run_dir}: manifest id {manifest.get('id')!r} does not match its folder")
    if manifest.get("format_version") != 1:
        raise ValueError(f"{run_dir}: format_version {manifest.get('format_version')!r} is not 1")
    legacy = manifest.get("value_encoding") != TAGGED_ENCODING
    config = decode_value(manifest.get("config") or {}, legacy)
    tags = dict(manifest.get("tags") or {})
    damage: list[str] = []
    artifacts = []
    for record in manifest.get("artifacts") or []:
        problem = check_artifact(store, record)
        if problem is None:
            artifacts.append(record)
        else:
            damage.append(f"artifact {record.get('name') if isinstance(record, dict) else '?'}: {problem}")
    return RunData(
        id=run_dir.name,
        manifest=manifest,
        status=derive_status(manifest, now),
        config=config,
        params=flatten(config),
        tags=tags,
        labels=sorted(k for k, v in tags.items() if v == ""),
        summary={k: {f: decode_number(v) for f, v in s.items()} for k, s in (manifest.get("summary") or {}).items()},
        summary_values=decode_value(manifest.get("summary_values") or {}, legacy),
        points=read_points(run_dir, damage),
        artifacts=artifacts,
        damage=damage,
    )


def read_store(store: str | os.PathLike[str]) -> dict[str, RunData]:
    """Every run of a store (its ``.localtrack`` folder), by id; ``trash/`` is not read."""
    root = Path(store)
    first_line = (root / "FORMAT").read_text("utf-8").splitlines()[0]
    if first_line != "localtrack-store 1":
        raise ValueError(f"{root}: unsupported store format {first_line!r}")
    runs_dir = root / "runs"
    if not runs_dir.is_dir():
        return {}
    runs = {}
    for run_dir in sorted(runs_dir.iterdir()):
        name = run_dir.name
        if name.startswith(".") or not RUN_ID.match(name) or ".." in name:
            continue  # a staging folder (".<id>.<12 hex>.tmp") or junk
        if run_dir.is_symlink() or not run_dir.is_dir():
            continue
        runs[run_dir.name] = read_run(root, run_dir)
    return runs

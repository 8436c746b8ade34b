"""One run's manifest -> the rows the index holds for it (pure Python, no duckdb).

Manifests are hostile input (a run folder may arrive through a git commit): every field is
type-checked and bounded; a wrong type becomes NULL rather than an error.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, TypeGuard

from localtrack.query.flatten import (
    MAX_VALUE_CHARS,
    flatten_config,
    param_json,
    param_kind,
    param_number,
    python_str,
    tag_text,
)
from localtrack.storage.manifest import decode_float, decode_value, is_legacy_values
from localtrack.store.summary import mean_of
from localtrack.timefmt import parse_iso

MAX_TEXT = 10_000
LIVENESS_FIELDS = ("status", "pid", "pid_start", "host", "heartbeat_at", "external")


def text_or_none(value: Any, limit: int = MAX_TEXT) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value[:limit]
    if isinstance(value, (int, float, bool)):
        return str(value)
    return None


def time_or_none(value: Any) -> datetime | None:
    seconds = parse_iso(value) if isinstance(value, str) else None
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def number_or_none(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def liveness(manifest: dict[str, Any]) -> dict[str, Any]:
    """The part of a manifest :func:`localtrack.store.status.derive_status` looks at."""
    writers = {
        str(wid): {k: w.get(k) for k in LIVENESS_FIELDS}
        for wid, w in _dict(manifest.get("writers")).items()
        if isinstance(w, dict)
    }
    return {"status": manifest.get("status"), "writers": writers}


def run_row(run_id: str, manifest: dict[str, Any], status: str) -> tuple[Any, ...]:
    git = _dict(manifest.get("git"))
    raw = manifest.get("status")
    dirty = git.get("dirty")
    name = text_or_none(manifest.get("name"), 1000)
    return (
        run_id,
        name if name else run_id,
        text_or_none(manifest.get("project"), 1000),
        text_or_none(manifest.get("group"), 1000),
        text_or_none(manifest.get("parent"), 1000),
        text_or_none(raw, 40),
        status,
        time_or_none(manifest.get("created_at")),
        time_or_none(manifest.get("ended_at")),
        number_or_none(manifest.get("duration")),
        text_or_none(git.get("commit"), 200),
        text_or_none(git.get("branch"), 1000),
        dirty if isinstance(dirty, bool) else None,
        text_or_none(manifest.get("notes"), MAX_VALUE_CHARS),
        json.dumps(liveness(manifest)) if raw == "running" else None,
    )


_SCALAR_TYPES = frozenset((str, int, float, bool, type(None)))
_NONFINITE_TEXT = frozenset(("NaN", "Infinity", "-Infinity"))


def _scalar_param_row(run_id: str, key: str, value: Any) -> tuple[Any, ...]:
    """:func:`param_rows`' row for a str/int/float/bool/None value, without the generic checks."""
    kind = type(value)
    if kind is float:
        return (run_id, key[:1000], python_str(value), None if value != value else value, "float", None)
    if kind is int:
        return (run_id, key[:1000], python_str(value), param_number(value), "int", None)
    if kind is str:
        return (run_id, key[:1000], value[:MAX_VALUE_CHARS], param_number(value), "string", None)
    if kind is bool:
        return (run_id, key[:1000], str(value), None, "bool", None)
    return (run_id, key[:1000], "None", None, "null", None)


def param_rows(run_id: str, manifest: dict[str, Any]) -> list[tuple[Any, ...]]:
    config = _dict(manifest.get("config"))
    if all(type(v) in _SCALAR_TYPES for v in config.values()):
        # the common flat config: flattening is the identity and decoding touches only a
        # legacy manifest's bare "NaN"/"Infinity" strings
        legacy = is_legacy_values(manifest)
        return [_scalar_param_row(run_id, key, decode_value(value, legacy) if legacy and value in _NONFINITE_TEXT
                                  else value) for key, value in config.items()]
    return general_param_rows(run_id, manifest)


def general_param_rows(run_id: str, manifest: dict[str, Any]) -> list[tuple[Any, ...]]:
    """:func:`param_rows` for any config (nested, lists, tagged non-finite floats)."""
    rows = []
    config = decode_value(_dict(manifest.get("config")), is_legacy_values(manifest))  # {"$float": "NaN"} -> nan
    for key, value in flatten_config(config).items():
        kind = param_kind(value)
        if kind == "number":
            kind = "int" if isinstance(value, int) else "float"
        rows.append((
            run_id,
            str(key)[:1000],
            python_str(value),
            param_number(value),
            kind,
            param_json(value) if kind in ("list", "dict") else None,
        ))
    return rows


def summary_rows(run_id: str, manifest: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The values set with ``run.summary[k] = v`` (flattened like params; NaN/inf decoded)."""
    rows = []
    values = decode_value(_dict(manifest.get("summary_values")), is_legacy_values(manifest))
    for key, value in flatten_config(values).items():
        kind = param_kind(value)
        if kind == "number":
            kind = "int" if isinstance(value, int) and not isinstance(value, bool) else "float"
        rows.append((
            run_id,
            str(key)[:1000],
            python_str(value),
            param_number(value),
            kind,
            param_json(value) if kind in ("list", "dict") else None,
        ))
    return rows


def tag_rows(run_id: str, manifest: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(run_id, str(k)[:1000], tag_text(v)) for k, v in _dict(manifest.get("tags")).items()]


def _count(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63:
        return value
    return None


def artifact_rows(run_id: str, manifest: dict[str, Any]) -> list[tuple[Any, ...]]:
    """One row per artifact record (name, version, type, kind, hash, size, files, created_at, JSON)."""
    artifacts = manifest.get("artifacts")
    if not isinstance(artifacts, list):
        return []
    rows = []
    for item in artifacts[:100_000]:
        entry = _dict(item)
        rows.append((
            run_id,
            text_or_none(entry.get("name"), 1000) if entry else text_or_none(item, 1000),
            _count(entry.get("version")),
            text_or_none(entry.get("type"), 200),
            text_or_none(entry.get("kind"), 20),
            text_or_none(entry.get("hash"), 200),
            _count(entry.get("size")),
            _count(entry.get("files")),
            time_or_none(entry.get("created_at")),
            param_json(item)[:MAX_VALUE_CHARS],
        ))
    return rows


def recorded_segments(manifest: dict[str, Any]) -> dict[str, tuple[int | None, str | None]]:
    """Segment file name -> (bytes, digest) as the writers recorded them."""
    recorded: dict[str, tuple[int | None, str | None]] = {}
    for writer in _dict(manifest.get("writers")).values():
        for name, info in _dict(_dict(writer).get("segments")).items():
            info = _dict(info)
            size, digest = info.get("bytes"), info.get("digest")
            recorded[str(name)] = (
                size if isinstance(size, int) and not isinstance(size, bool) else None,
                digest if isinstance(digest, str) else None,
            )
    return recorded


def manifest_summary_rows(summary: Any) -> tuple[list[tuple[Any, ...]], bool] | None:
    """(key, last, min, max, mean, count, step) per metric from a manifest's ``summary``, and
    whether every mean is known (from the recorded ``sum`` and ``nans``; else the means are
    left NULL, to be computed from the points later); None when the summary is not one a
    writer could have written."""
    if not isinstance(summary, dict):
        return None
    rows = []
    means_known = True
    for key, stats in summary.items():
        if not isinstance(key, str) or not isinstance(stats, dict):
            return None
        count, step = stats.get("count"), stats.get("step")
        if not _is_int(count) or not _is_int(step) or count <= 0:
            return None
        values = [v if type(v) is float else decode_float(v)
                  for v in (stats.get("last"), stats.get("min"), stats.get("max"))]
        if values[0] is None and stats.get("last") is not None:
            return None
        total, nans = stats.get("sum"), stats.get("nans")
        if type(total) is float and type(nans) is int and 0 <= nans <= count:  # the usual spelling, checked inline
            known, mean = True, (total / (count - nans) if count > nans else None)
        else:  # non-finite sums, older writers, hostile values
            known, mean = mean_of(stats)
        means_known = means_known and known
        rows.append((key[:1000], values[0], values[1], values[2], mean, count, step))
    if not means_known:  # one unknown mean: the run's means all come from its points, together
        rows = [(*row[:4], None, *row[5:]) for row in rows]
    return rows, means_known


def recorded_rows(manifest: dict[str, Any]) -> int | None:
    """The points the writers recorded in their segments (None if a record lacks its count):
    a manifest summary is trusted only when its counts add up to this."""
    total = 0
    writers = manifest.get("writers")
    for writer in (writers.values() if isinstance(writers, dict) else ()):
        segments = writer.get("segments") if isinstance(writer, dict) else None
        for info in (segments.values() if isinstance(segments, dict) else ()):
            rows = info.get("rows") if isinstance(info, dict) else None
            if not _is_int(rows) or rows < 0:
                return None
            total += rows
    return total


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63

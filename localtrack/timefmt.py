"""UTC timestamps as ISO 8601 strings with microseconds and a ``Z``: the manifest's time format."""

from __future__ import annotations

import time
from datetime import datetime, timezone


def time_now() -> float:
    return time.time()


def now_iso() -> str:
    return iso_from_epoch(time.time())


_last_created = 0.0


def creation_iso() -> str:
    """``created_at`` of a new run: the wall clock, but never earlier than the previous run this
    process created, so a clock stepped back cannot reorder a process's runs (like run ids,
    see ids.new_run_id); `@latest` and the default ordering sort by it (docs/FORMAT.md)."""
    global _last_created
    now = max(time.time(), _last_created + 1e-6)
    _last_created = now
    return iso_from_epoch(now)


def iso_from_epoch(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str | None) -> float | None:
    """Epoch seconds of a manifest timestamp; None for missing or malformed input."""
    if not isinstance(text, str) or len(text) > 40:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def seconds_between(start: str | None, end: str | None) -> float | None:
    a, b = parse_iso(start), parse_iso(end)
    if a is None or b is None:
        return None
    return round(b - a, 6)

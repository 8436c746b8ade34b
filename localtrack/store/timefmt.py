"""UTC timestamps as ISO 8601 strings with microseconds and a ``Z``: the manifest's time format."""

from __future__ import annotations

import time
from datetime import datetime, timezone


def time_now() -> float:
    return time.time()


def now_iso() -> str:
    return iso_from_epoch(time.time())


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

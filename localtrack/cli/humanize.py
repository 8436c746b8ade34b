"""How run facts read to people: status colours, "3 min ago", "1h 02m", compact numbers.

Plain functions returning str or rich Text, shared by ``ls``, ``show``, ``compare`` and
``report`` so the same run looks the same everywhere.
"""

from __future__ import annotations

import math
import time
from datetime import datetime
from typing import Any

from rich.text import Text

from localtrack.cli.output import safe, safe_text

STATUS_STYLES = {
    "running": "bold cyan",
    "finished": "green",
    "failed": "bold red",
    "killed": "yellow",
    "crashed": "bold magenta",
}


def status_text(status: Any) -> Text:
    """The status word in its colour (an unknown status is shown escaped, unstyled)."""
    word = safe(status)
    return safe_text(word, STATUS_STYLES.get(word, "dim"))


def epoch_seconds(value: Any) -> float | None:
    """Epoch seconds from a datetime, an ISO string or a number; None otherwise."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        from localtrack.timefmt import parse_iso

        return parse_iso(value)
    return None


def relative_time(value: Any, now: float | None = None) -> str:
    """``just now``, ``42 s ago``, ``3 min ago``, ``5 h ago``, ``2 days ago``, then the date."""
    then = epoch_seconds(value)
    if then is None:
        return "-"
    now = time.time() if now is None else now
    delta = now - then
    if delta < -60:
        return "in the future"
    if delta < 10:
        return "just now"
    if delta < 60:
        return f"{int(delta)} s ago"
    if delta < 3600:
        return f"{int(delta // 60)} min ago"
    if delta < 86400:
        return f"{int(delta // 3600)} h ago"
    if delta < 14 * 86400:
        days = int(delta // 86400)
        return "1 day ago" if days == 1 else f"{days} days ago"
    return time.strftime("%Y-%m-%d", time.localtime(then))


def duration_text(seconds: Any) -> str:
    """``0.4s``, ``42s``, ``3m 05s``, ``1h 02m``, ``2d 03h``; ``-`` when unknown."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds):
        return "-"
    s = max(0.0, float(seconds))
    if s < 10:
        return f"{s:.1f}s"
    if s < 60:
        return f"{int(s)}s"
    m, sec = divmod(int(s), 60)
    if m < 60:
        return f"{m}m {sec:02d}s"
    h, m = divmod(m, 60)
    if h < 24:
        return f"{h}h {m:02d}m"
    d, h = divmod(h, 24)
    return f"{d}d {h:02d}h"


def run_duration(row: dict[str, Any], now: float | None = None) -> float | None:
    """A run's duration; for a running run, the time since it started."""
    duration = row.get("duration")
    if isinstance(duration, (int, float)) and not isinstance(duration, bool):
        return float(duration)
    if row.get("status") == "running":
        start = epoch_seconds(row.get("created_at"))
        if start is not None:
            return (time.time() if now is None else now) - start
    return None


def number(value: Any) -> str:
    """A metric value in at most ~8 characters: ``0.8733``, ``1.2e-05``, ``3.5e+06``, ``nan``."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value) if abs(value) < 10**7 else f"{value:.3g}"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        if value == int(value) and abs(value) < 10**7:
            return str(int(value))
        a = abs(value)
        if a >= 1e6 or a < 1e-3:
            return f"{value:.2e}".replace("e-0", "e-").replace("e+0", "e+")
        if a >= 1000:  # 9999.9 stays 9999.9 (".4g" would say 1e+04)
            return f"{value:.1f}"
        return f"{value:.4g}"
    return safe(value)


def param_text(value: Any) -> str:
    """A param value as people write it: numbers compact, strings bare, JSON for the rest."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and math.isfinite(value) and value != int(value):
            return f"{value:.6g}"
        return number(value)
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    if isinstance(value, (dict, list)):
        import json

        return safe(json.dumps(value, ensure_ascii=False, sort_keys=True))
    return safe(value)


def middle_truncate(text: str, width: int) -> str:
    """Shorten with an ellipsis in the middle: run names differ at their ends in a sweep."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    if width <= 3:
        return text[:width]
    head = (width - 1) // 2
    tail = width - 1 - head
    return f"{text[:head]}…{text[-tail:]}"

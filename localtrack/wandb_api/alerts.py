"""``wandb.alert``: wandb sends a Slack/e-mail message; locally the alert is recorded in the
run's manifest (``alerts``, shown by ``show``) and printed as one line on stderr."""

from __future__ import annotations

import enum
import sys
from typing import TYPE_CHECKING, Any

from localtrack import timefmt
from localtrack.errors import InvalidArgumentError, InvalidArgumentTypeError
from localtrack.store.config_values import clean_text
from localtrack.store.limits import MAX_ALERT_TEXT, MAX_ALERT_TITLE, MAX_ALERTS

if TYPE_CHECKING:
    from localtrack.store.writer import RunWriter


class AlertLevel(str, enum.Enum):
    """wandb.AlertLevel."""

    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"


def _level(level: Any) -> str:
    if level is None:
        return "INFO"
    text = str(getattr(level, "value", level)).upper()
    if text not in ("INFO", "WARN", "ERROR"):
        raise InvalidArgumentError(f"alert level {level!r}: use 'INFO', 'WARN' or 'ERROR' (wandb.AlertLevel)")
    return text


class AlertRecorder:
    """A run's alerts: counted, so a loop that alerts every step cannot grow the manifest unbounded."""

    def __init__(self, writer: RunWriter | None) -> None:
        self._writer = writer
        self._count = 0

    def alert(self, title: Any, text: Any, level: Any = None, wait_duration: Any = None) -> None:
        """Record one alert and print it (``wait_duration`` is accepted; nothing is rate-limited)."""
        if not isinstance(title, str) or not isinstance(text, str):
            raise InvalidArgumentTypeError("alert(title, text): title and text must be strings")
        record = {
            "title": clean_text(title[:MAX_ALERT_TITLE], "alert title"),
            "text": clean_text(text[:MAX_ALERT_TEXT], "alert text"),
            "level": _level(level),
            "at": timefmt.now_iso(),
        }
        line = f"{record['title']}: {record['text']}".replace("\n", " ")[:300]
        sys.stderr.write(f"localtrack: ALERT [{record['level']}] {line}\n")
        self._count += 1
        if self._writer is None:
            return
        if self._count > MAX_ALERTS:
            if self._count == MAX_ALERTS + 1:
                sys.stderr.write(f"localtrack: more than {MAX_ALERTS} alerts in this run; later ones are not recorded\n")
            return
        self._writer.patch_manifest(lambda m: m.setdefault("alerts", []).append(record))

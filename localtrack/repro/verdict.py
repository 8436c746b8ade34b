"""Did the reproduction give the same result? Final metric values compared with a tolerance.

The measure is the relative difference ``|a - b| / max(|a|, |b|)``: symmetric, unit-free,
0 for two zeros, and at most 2 for finite values. Two NaNs agree and equal infinities agree
(a diverged run that diverges again reproduced); anything else non-finite differs, as does
a metric that exists on one side only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from localtrack.errors import InvalidValueError
from localtrack.storage.manifest import decode_float

DEFAULT_TOLERANCE = 1e-6
"""Relative. Tight enough that any real change shows, loose enough for float summation order."""

_PERCENT = re.compile(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*%\s*\Z")


def parse_tolerance(text: str | float) -> float:
    """``"1%"`` -> 0.01, ``"0.01"`` -> 0.01, ``"1e-6"`` -> 1e-6; refuses negatives and non-numbers."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        raw = str(text)
        match = _PERCENT.match(raw)
        try:
            value = float(match.group(1)) / 100.0 if match else float(raw)
        except ValueError:
            raise InvalidValueError(f"--tolerance {raw!r}: give a fraction like 0.01 or a percentage like 1%", raw) from None
    if not math.isfinite(value) or value < 0:
        raise InvalidValueError(f"--tolerance {text!r}: must be a finite number >= 0", text)
    return value


def relative_difference(a: float | None, b: float | None) -> float:
    """``|a - b| / max(|a|, |b|)``; 0 for equal values (two zeros, two NaNs, equal infinities)."""
    if a is None or b is None:
        return math.inf
    if math.isnan(a) or math.isnan(b):
        return 0.0 if math.isnan(a) and math.isnan(b) else math.inf
    if a == b:
        return 0.0
    if math.isinf(a) or math.isinf(b):
        return math.inf
    scale = max(abs(a), abs(b))
    return abs(a / scale - b / scale)  # scaled first: a - b overflows for values near 1e308


@dataclass(frozen=True)
class MetricVerdict:
    """One row of the verdict table."""

    metric: str
    original: float | None
    reproduced: float | None
    rel_diff: float
    within: bool

    def as_row(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "original": self.original,
            "reproduced": self.reproduced,
            "rel_diff": self.rel_diff,
            "within_tolerance": self.within,
        }


def final_values(manifest: Mapping[str, Any]) -> dict[str, float]:
    """Each metric's final value: the summary's ``last``, plus numeric ``run.summary`` values set by hand."""
    out: dict[str, float] = {}
    summary = manifest.get("summary")
    if isinstance(summary, Mapping):
        for key, stats in summary.items():
            if isinstance(key, str) and isinstance(stats, Mapping):
                value = decode_float(stats.get("last"))
                if value is not None and not isinstance(stats.get("last"), bool):
                    out[key] = value
    values = manifest.get("summary_values")
    if isinstance(values, Mapping):
        for key, raw in values.items():
            if isinstance(key, str) and not isinstance(raw, bool):
                value = decode_float(raw)
                if value is not None:
                    out[key] = value  # what the script declared final wins, as in run.summary
    return out


def compare(original: Mapping[str, Any], reproduced: Mapping[str, Any], tolerance: float) -> list[MetricVerdict]:
    """Verdict rows for every metric of either manifest, sorted by name."""
    a, b = final_values(original), final_values(reproduced)
    rows = []
    for key in sorted(set(a) | set(b)):
        rel = relative_difference(a.get(key), b.get(key))
        rows.append(MetricVerdict(key, a.get(key), b.get(key), rel, rel <= tolerance))
    return rows


def overall(rows: list[MetricVerdict]) -> str:
    """``match`` when every row is within tolerance, else ``differ``."""
    return "match" if all(r.within for r in rows) else "differ"

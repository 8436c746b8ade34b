"""Manifest values as the index stores them: flattened params, MLflow's string form, numbers.

MLflow stores every param as ``str(value)``; a quoted literal in a filter compares with that
string (``params.lr = '1e-05'``), while a number literal compares with the typed value.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_PARAM_DEPTH = 32
MAX_VALUE_CHARS = 1_000_000  # the writer refuses longer config strings; hostile manifests are cut here
_FLOAT_INTS = 2**1023  # ints below this convert to a finite float (a constant: the power is not folded)


def flatten_config(config: Any, prefix: str = "", depth: int = 0) -> dict[str, Any]:
    """``{"optim": {"lr": 1}}`` -> ``{"optim.lr": 1}``; lists and scalars are leaves."""
    if not isinstance(config, dict):
        return {}
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value and depth < MAX_PARAM_DEPTH:
            flat.update(flatten_config(value, f"{name}.", depth + 1))
        else:
            flat[name] = value
    return flat


def param_kind(value: Any) -> str:
    """One of number, string, bool, null, list, dict: what a param's value is."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "dict"


def python_str(value: Any) -> str:
    """``str(value)`` as MLflow would have stored it (bounded for hostile manifests)."""
    try:
        text = str(value)
    except (ValueError, RecursionError):  # pragma: no cover - huge ints, deep lists
        text = json.dumps(value)[:MAX_VALUE_CHARS]
    return text[:MAX_VALUE_CHARS]


def param_number(value: Any) -> float | None:
    """The numeric value a number literal compares with: numbers, and strings that parse as one."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return float(value) if abs(value) < _FLOAT_INTS else None
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, str) and 0 < len(value) <= 64:
        text = value.strip()
        if text.lower() in ("nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"):
            return None
        try:
            number = float(text)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def param_json(value: Any) -> str:
    """The value as JSON text, to give back the typed value to Python callers."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=True)[:MAX_VALUE_CHARS]
    except (TypeError, ValueError, RecursionError):
        return json.dumps(python_str(value))


def tag_text(value: Any) -> str:
    """Tags are strings (labels are ``""``); anything else is shown as ``str()``."""
    if isinstance(value, str):
        return value[:MAX_VALUE_CHARS]
    if value is None:
        return ""
    return python_str(value)

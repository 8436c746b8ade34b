"""A search result row from the index's stored values: shared by the DuckDB and the Python engines."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from localtrack.query.results import ATTRIBUTE_COLUMNS


def _utc(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc)
    return value


def param_value(value: str, kind: str, raw_json: str | None) -> Any:
    """The typed param value back from its stored form."""
    if kind == "int":
        try:
            return int(value)
        except ValueError:
            return value
    if kind == "float":
        try:
            return float(value)
        except ValueError:
            return value
    if kind == "bool":
        return value == "True"
    if kind == "null":
        return None
    if kind in ("list", "dict") and raw_json is not None:
        try:
            return json.loads(raw_json)
        except ValueError:
            return value
    return value


def base_row(values: tuple[Any, ...]) -> dict[str, Any]:
    row = {name: _utc(value) for name, value in zip(ATTRIBUTE_COLUMNS, values, strict=True)}
    return {
        **{k: row[k] for k in ATTRIBUTE_COLUMNS[:9]},
        "tags": {},
        **{k: row[k] for k in ATTRIBUTE_COLUMNS[9:]},
        "params": {},
        "metrics": {},
        "summary": {},
    }

"""Columns named like filter fields (``metrics.acc``, ``min(metrics.loss)``, ``params.lr``,
``summary.best_acc``, ``start_time``): pick their values out of result rows, and find the fields a filter uses.

Used by ``localtrack search --columns`` and by any caller that wants a flat view of runs.
"""

from __future__ import annotations

from typing import Any

from localtrack.query.fields import SUMMARY
from localtrack.query.filter_ast import (
    ATTRIBUTE,
    METRIC,
    PARAM,
    And,
    Compare,
    Field,
    InList,
    IsNull,
    Node,
    Not,
    Or,
)
from localtrack.query.filter_parser import _Parser, parse_filter, parse_order_by

DEFAULT_COLUMNS = ("id", "name", "status", "created_at", "duration")


def parse_column(text: str) -> Field:
    """The field a column name refers to (same spelling as in filters); FilterSyntaxError if none."""
    parser = _Parser(text)
    field = parser.operand()
    if parser.tok.kind != "end":
        raise parser.error(f"unexpected {parser.describe(parser.tok)} after the column name")
    return field


def column_value(row: dict[str, Any], field: Field) -> Any:
    """The value of ``field`` in a result row (None when the run does not have it)."""
    if field.kind == ATTRIBUTE:
        return row.get(field.key)
    if field.kind == METRIC:
        stats = row["metrics"].get(field.key)
        return None if stats is None else stats.get(field.agg or "last")
    if field.kind == PARAM:
        return row["params"].get(field.key)
    if field.kind == SUMMARY:
        return (row.get("summary") or {}).get(field.key)
    return row["tags"].get(field.key)


def _fields_of(node: Node | None) -> list[Field]:
    if node is None:
        return []
    if isinstance(node, (And, Or)):
        return [f for item in node.items for f in _fields_of(item)]
    if isinstance(node, Not):
        return _fields_of(node.item)
    if isinstance(node, (Compare, InList, IsNull)):
        return [node.field]
    return []


def referenced_columns(filter: str | None, order_by: str | list[str] | None) -> list[str]:
    """Column names for the fields a filter and an order_by mention, in order, without duplicates."""
    fields = [*_fields_of(parse_filter(filter)), *(k.field for k in parse_order_by(order_by))]
    labels = [f.label() for f in fields]
    return [label for label in dict.fromkeys(labels) if label not in DEFAULT_COLUMNS]


def flat_rows(rows: list[dict[str, Any]], columns: list[str]) -> list[dict[str, Any]]:
    """Rows reduced to the named columns (names kept as given)."""
    fields = [(name, parse_column(name)) for name in columns]
    return [{name: column_value(row, field) for name, field in fields} for row in rows]

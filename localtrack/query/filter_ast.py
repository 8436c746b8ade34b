"""The filter AST: what a parsed filter means, before it becomes SQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

METRIC, PARAM, TAG, ATTRIBUTE = "metrics", "params", "tags", "attributes"


@dataclass(frozen=True)
class Field:
    """``metrics.acc``, ``min(metrics.loss)``, ``params.optim.lr``, ``tags.x``, ``attributes.status``.

    For attributes ``key`` is the canonical attribute name (aliases already resolved).
    """

    kind: str
    key: str
    agg: str | None = None  # last/min/max/mean/count/step for metrics
    pos: int = 0

    def label(self) -> str:
        """How the field is written back to users (column names, messages)."""
        base = self.key if self.kind == ATTRIBUTE else f"{self.kind}.{self.key}"
        return f"{self.agg}({base})" if self.agg and self.agg != "last" else base


@dataclass(frozen=True)
class Literal:
    kind: str  # string / number / bool
    value: str | int | float | bool
    text: str  # the literal's text (unquoted for strings)
    pos: int = 0


@dataclass(frozen=True)
class Compare:
    field: Field
    op: str  # = != < <= > >= LIKE ILIKE
    value: Literal
    negated: bool = False  # NOT LIKE / NOT ILIKE


@dataclass(frozen=True)
class InList:
    field: Field
    values: tuple[Literal, ...]
    negated: bool


@dataclass(frozen=True)
class IsNull:
    field: Field
    negated: bool


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Union[Compare, InList, IsNull, And, Or, Not]


@dataclass(frozen=True)
class OrderKey:
    field: Field
    descending: bool

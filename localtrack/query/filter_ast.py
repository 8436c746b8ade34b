"""The filter AST: what a parsed filter means, before it becomes SQL.

Frozen value classes, written out rather than made with ``dataclasses``: a dataclass costs
about 0.4 ms to create, and these nine were a third of what a search imports (the search
right after a script's writes, bench_peers W3). Each has what ``@dataclass(frozen=True)``
gave it: keyword or positional construction, equality and hashing by class and fields, a
repr naming the fields, and no assignment after construction.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from typing import Any, Union

METRIC, PARAM, TAG, ATTRIBUTE = "metrics", "params", "tags", "attributes"


class _Frozen:
    """Equality, hash, repr and immutability over the ``__slots__`` of a subclass."""

    __slots__: tuple[str, ...] = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:  # copy and pickle: rebuilt through __init__
        return type(self), self._values()


_set = object.__setattr__


class Field(_Frozen):
    """``metrics.acc``, ``min(metrics.loss)``, ``params.optim.lr``, ``tags.x``, ``attributes.status``.

    For attributes ``key`` is the canonical attribute name (aliases already resolved).
    """

    __slots__ = ("agg", "key", "kind", "pos")
    kind: str
    key: str
    agg: str | None  # last/min/max/mean/count/step for metrics
    pos: int

    def __init__(self, kind: str, key: str, agg: str | None = None, pos: int = 0) -> None:
        _set(self, "kind", kind)
        _set(self, "key", key)
        _set(self, "agg", agg)
        _set(self, "pos", pos)

    def label(self) -> str:
        """How the field is written back to users (column names, messages)."""
        base = self.key if self.kind == ATTRIBUTE else f"{self.kind}.{self.key}"
        return f"{self.agg}({base})" if self.agg and self.agg != "last" else base


class Literal(_Frozen):
    __slots__ = ("kind", "pos", "text", "value")
    kind: str  # string / number / bool
    value: str | int | float | bool
    text: str  # the literal's text (unquoted for strings)
    pos: int

    def __init__(self, kind: str, value: str | int | float | bool, text: str, pos: int = 0) -> None:
        _set(self, "kind", kind)
        _set(self, "value", value)
        _set(self, "text", text)
        _set(self, "pos", pos)


class Compare(_Frozen):
    __slots__ = ("field", "negated", "op", "value")
    field: Field
    op: str  # = != < <= > >= LIKE ILIKE
    value: Literal
    negated: bool  # NOT LIKE / NOT ILIKE

    def __init__(self, field: Field, op: str, value: Literal, negated: bool = False) -> None:
        _set(self, "field", field)
        _set(self, "op", op)
        _set(self, "value", value)
        _set(self, "negated", negated)


class InList(_Frozen):
    __slots__ = ("field", "negated", "values")
    field: Field
    values: tuple[Literal, ...]
    negated: bool

    def __init__(self, field: Field, values: tuple[Literal, ...], negated: bool) -> None:
        _set(self, "field", field)
        _set(self, "values", values)
        _set(self, "negated", negated)


class IsNull(_Frozen):
    __slots__ = ("field", "negated")
    field: Field
    negated: bool

    def __init__(self, field: Field, negated: bool) -> None:
        _set(self, "field", field)
        _set(self, "negated", negated)


class And(_Frozen):
    __slots__ = ("items",)
    items: tuple[Node, ...]

    def __init__(self, items: tuple[Node, ...]) -> None:
        _set(self, "items", items)


class Or(_Frozen):
    __slots__ = ("items",)
    items: tuple[Node, ...]

    def __init__(self, items: tuple[Node, ...]) -> None:
        _set(self, "items", items)


class Not(_Frozen):
    __slots__ = ("item",)
    item: Node

    def __init__(self, item: Node) -> None:
        _set(self, "item", item)


Node = Union[Compare, InList, IsNull, And, Or, Not]


class OrderKey(_Frozen):
    __slots__ = ("descending", "field")
    field: Field
    descending: bool

    def __init__(self, field: Field, descending: bool) -> None:
        _set(self, "field", field)
        _set(self, "descending", descending)

"""Filter AST and sort keys -> parameterised SQL over the index tables.

Only identifiers from the allow-list in :mod:`localtrack.query.fields` are ever written into
the SQL text; every key and value from the user travels as a bound ``?`` parameter.

Semantics (two-valued, like MLflow): a comparison on a key a run does not have is false,
so ``params.x != 'a'`` skips runs without ``x`` while ``NOT params.x = 'a'`` keeps them.
Metric comparisons use the latest value (largest step) unless an aggregate is named; NaN
never compares true.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from localtrack.errors import FilterSyntaxError
from localtrack.query import fields as F
from localtrack.query.filter_ast import (
    ATTRIBUTE,
    METRIC,
    PARAM,
    TAG,
    And,
    Compare,
    Field,
    InList,
    IsNull,
    Literal,
    Node,
    Not,
    Or,
    OrderKey,
)
from localtrack.query.filter_lexer import syntax_error

_ORDER_OPS = ("=", "!=", "<", "<=", ">", ">=")
_RUN_COLUMNS = {name: f'r."{column}"' for name, (column, _) in F.ATTRIBUTES.items()}
_TABLES = {METRIC: "msum_t", PARAM: "params_t", TAG: "tags_t", F.SUMMARY: "summary_t"}
_TYPED = (PARAM, F.SUMMARY)  # typed values (params, summary values): number, string, bool, null, list, dict


class SqlPiece:
    """A piece of SQL and its parameters (a plain class: a dataclass costs ~0.4 ms to create)."""

    __slots__ = ("sql", "params")  # noqa: RUF023 - constructor order

    def __init__(self, sql: str, params: list[Any] | None = None) -> None:
        self.sql = sql
        self.params: list[Any] = [] if params is None else params

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, SqlPiece)
        return (self.sql, self.params) == (other.sql, other.params)

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it was

    def __repr__(self) -> str:
        return f"SqlPiece(sql={self.sql!r}, params={self.params!r})"


class _Compiler:
    def __init__(self, text: str) -> None:
        self.text = text

    def error(self, message: str, pos: int) -> FilterSyntaxError:
        return syntax_error(message, self.text, pos)

    # ------------------------------------------------------------------ structure
    def node(self, node: Node) -> SqlPiece:
        if isinstance(node, (And, Or)):
            parts = [self.node(item) for item in node.items]
            joiner = " AND " if isinstance(node, And) else " OR "
            return SqlPiece("(" + joiner.join(p.sql for p in parts) + ")", [v for p in parts for v in p.params])
        if isinstance(node, Not):
            inner = self.node(node.item)
            return SqlPiece(f"(NOT {inner.sql})", inner.params)
        if isinstance(node, IsNull):
            return self.is_null(node)
        if isinstance(node, InList):
            return self.in_list(node)
        assert isinstance(node, Compare)
        return self.compare(node)

    # ------------------------------------------------------------------ leaves
    def is_null(self, node: IsNull) -> SqlPiece:
        f = node.field
        if f.kind == ATTRIBUTE:
            col = _RUN_COLUMNS[f.key]
            return SqlPiece(f"({col} IS {'NOT ' if node.negated else ''}NULL)")
        table = _TABLES[f.kind]
        cond = _metric_present(f) if f.kind == METRIC else ("x.kind <> 'null'" if f.kind in _TYPED else "TRUE")
        exists = f"EXISTS (SELECT 1 FROM {table} x WHERE x.rk = r.rk AND x.key = ? AND {cond})"
        return SqlPiece(exists if node.negated else f"(NOT {exists})", [f.key])

    def compare(self, node: Compare) -> SqlPiece:
        f, op, lit = node.field, node.op, node.value
        if op in ("LIKE", "ILIKE"):
            return self.like(node)
        if f.kind == ATTRIBUTE:
            return self.attribute_compare(f, op, lit)
        cond, params = self.value_condition(f, op, lit)
        return self.exists(f, cond, params)

    def like(self, node: Compare) -> SqlPiece:
        f, lit = node.field, node.value
        if lit.kind != "string":
            raise self.error(f"{node.op} needs a quoted pattern such as '%bert%'", lit.pos)
        neg = "NOT " if node.negated else ""
        if f.kind == METRIC:
            raise self.error(f"{node.op} applies to params, tags and text attributes, not metrics", f.pos)
        if f.kind == ATTRIBUTE:
            col, kind = _RUN_COLUMNS[f.key], F.ATTRIBUTES[f.key][1]
            if kind not in ("string", "status"):
                raise self.error(f"{node.op} applies to text; {f.key} is a {kind}", f.pos)
            if kind == "status" and node.op == "LIKE":  # match MLflow's upper-case spelling too
                return SqlPiece(f"coalesce({neg}({col} LIKE ? OR upper({col}) LIKE ?), false)", [lit.value, lit.value])
            return SqlPiece(f"coalesce({col} {neg}{node.op} ?, false)", [lit.value])
        column = "x.value"
        return self.exists(f, f"{column} {neg}{node.op} ?", [lit.value])

    def in_list(self, node: InList) -> SqlPiece:
        f = node.field
        if f.kind == ATTRIBUTE:
            parts = [self.attribute_compare(f, "=", lit) for lit in node.values]
            any_sql = "(" + " OR ".join(p.sql for p in parts) + ")"
            params = [v for p in parts for v in p.params]
            if not node.negated:
                return SqlPiece(any_sql, params)
            return SqlPiece(f"({_RUN_COLUMNS[f.key]} IS NOT NULL AND NOT {any_sql})", params)
        conds: list[str] = []
        params = []
        for lit in node.values:
            cond, p = self.value_condition(f, "=", lit)
            conds.append(f"({cond})")
            params.extend(p)
        any_cond = "(" + " OR ".join(conds) + ")"
        if node.negated:
            present = _metric_present(f) if f.kind == METRIC else ("x.kind <> 'null'" if f.kind in _TYPED else "TRUE")
            return self.exists(f, f"{present} AND NOT coalesce({any_cond}, false)", params)
        return self.exists(f, any_cond, params)

    def exists(self, f: Field, cond: str, params: list[Any]) -> SqlPiece:
        table = _TABLES[f.kind]
        return SqlPiece(
            f"EXISTS (SELECT 1 FROM {table} x WHERE x.rk = r.rk AND x.key = ? AND ({cond}))",
            [f.key, *params],
        )

    def value_condition(self, f: Field, op: str, lit: Literal) -> tuple[str, list[Any]]:
        """The condition on row ``x`` of the metric/param/summary/tag table for one comparison."""
        if f.kind == METRIC:
            if lit.kind != "number":
                raise self.error(
                    f"metrics compare with numbers; write {lit.text} without quotes" if _is_number(lit.text)
                    else "metrics compare with numbers",
                    lit.pos,
                )
            column = f"x.\"{F.AGGREGATES[f.agg or 'last']}\""
            nan_guard = f" AND NOT isnan({column})" if f.agg in F.FLOAT_STATS else ""
            return f"{column} {op} ?{nan_guard}", [float(lit.value)]
        if f.kind in _TYPED:
            if lit.kind == "number":
                return f"x.num {op} ?", [float(lit.value)]
            if lit.kind == "bool":
                if op not in ("=", "!="):
                    raise self.error("booleans compare with = or !=", lit.pos)
                return f"x.kind = 'bool' AND x.value {op} ?", ["True" if lit.value else "False"]
            return f"x.value {op} ?", [lit.value]
        # tags are text; a number literal compares with its spelling
        return f"x.value {op} ?", [_text(lit)]

    def attribute_compare(self, f: Field, op: str, lit: Literal) -> SqlPiece:
        col, kind = _RUN_COLUMNS[f.key], F.ATTRIBUTES[f.key][1]
        if kind == "string":
            return SqlPiece(f"coalesce({col} {op} ?, false)", [_text(lit)])
        if kind == "status":
            return SqlPiece(f"coalesce(lower({col}) {op} lower(?), false)", [_text(lit)])
        if kind == "number":
            if lit.kind != "number":
                raise self.error(f"{f.key} compares with numbers (seconds)", lit.pos)
            return SqlPiece(f"coalesce({col} {op} ?, false)", [float(lit.value)])
        if kind == "bool":
            value = _boolean(lit)
            if value is None:
                raise self.error(f"{f.key} compares with true or false", lit.pos)
            if op not in ("=", "!="):
                raise self.error("booleans compare with = or !=", lit.pos)
            return SqlPiece(f"coalesce({col} {op} ?, false)", [value])
        # time: a number is milliseconds since the epoch (MLflow's start_time), a string is ISO 8601
        if lit.kind == "number":
            return SqlPiece(f"coalesce(epoch_ms({col}) {op} ?, false)", [int(lit.value)])
        when = _parse_time(lit)
        if when is None:
            raise self.error(
                f"{f.key} compares with milliseconds since the epoch or an ISO date such as '2024-05-01'",
                lit.pos,
            )
        return SqlPiece(f"coalesce({col} {op} ?::TIMESTAMPTZ, false)", [when])


def _metric_present(f: Field) -> str:
    column = f"x.\"{F.AGGREGATES[f.agg or 'last']}\""
    guard = f" AND NOT isnan({column})" if (f.agg or "last") in F.FLOAT_STATS else ""
    return f"{column} IS NOT NULL{guard}"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _text(lit: Literal) -> str:
    return lit.value if isinstance(lit.value, str) else lit.text


def _boolean(lit: Literal) -> bool | None:
    if lit.kind == "bool":
        return bool(lit.value)
    if lit.kind == "string" and str(lit.value).lower() in ("true", "false"):
        return str(lit.value).lower() == "true"
    return None


def _parse_time(lit: Literal) -> datetime | None:
    if lit.kind != "string" or len(str(lit.value)) > 40:
        return None
    try:
        when = datetime.fromisoformat(str(lit.value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def compile_filter(node: Node | None, text: str) -> SqlPiece:
    """A boolean SQL expression over ``runs_t r`` (TRUE for no filter)."""
    if node is None:
        return SqlPiece("TRUE")
    return _Compiler(text).node(node)


def compile_order(keys: list[OrderKey], text: str = "") -> tuple[list[str], list[Any], list[str]]:
    """(LEFT JOIN clauses, their params, ORDER BY terms) for sort keys; newest first by default."""
    joins: list[str] = []
    params: list[Any] = []
    terms: list[str] = []
    for n, key in enumerate(keys):
        f, direction = key.field, "DESC" if key.descending else "ASC"
        alias = f"o{n}"
        if f.kind == ATTRIBUTE:
            col = _RUN_COLUMNS[f.key]
            expr = f"lower({col})" if F.ATTRIBUTES[f.key][1] == "status" else col
            terms.append(f"{expr} {direction} NULLS LAST")
        elif f.kind == METRIC:
            column = F.AGGREGATES[f.agg or "last"]
            value = f'CASE WHEN isnan("{column}") THEN NULL ELSE "{column}" END' if column in F.FLOAT_STATS else f'"{column}"'
            joins.append(f"LEFT JOIN (SELECT rk, {value} AS v FROM msum_t WHERE key = ?) {alias} ON {alias}.rk = r.rk")
            params.append(f.key)
            terms.append(f"{alias}.v {direction} NULLS LAST")
        elif f.kind in _TYPED:
            joins.append(
                f"LEFT JOIN (SELECT rk, num, value FROM {_TABLES[f.kind]} WHERE key = ? AND kind <> 'null') {alias} "
                f"ON {alias}.rk = r.rk"
            )
            params.append(f.key)
            # missing last, then numbers (numerically) before text (byte order)
            terms.extend([f"({alias}.value IS NULL) ASC", f"({alias}.num IS NULL) ASC",
                          f"{alias}.num {direction}", f"{alias}.value {direction}"])
        else:
            joins.append(f"LEFT JOIN (SELECT rk, value FROM tags_t WHERE key = ?) {alias} ON {alias}.rk = r.rk")
            params.append(f.key)
            terms.append(f"{alias}.value {direction} NULLS LAST")
    terms.extend(["r.created_at DESC NULLS LAST", "r.id DESC"])
    return joins, params, terms

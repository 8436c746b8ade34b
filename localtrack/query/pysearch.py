"""``Store.runs()`` on a small store without DuckDB: the filter evaluated in Python over the run folders.

Importing DuckDB and indexing the runs costs more than the whole answer on a store of a few
hundred runs (the search right after a script wrote 200 runs: bench_peers W3). Here the
runs are read by the index's own reader (:func:`localtrack.query.index_plan.plan_serial`, the same
trust rule for the writers' metric summaries), except those whose manifests hold exactly what
this process wrote to them: their rows come from those bytes, kept between searches, with only
their segments checked again (:mod:`localtrack.query.own_runs`). The filter AST is evaluated with the SQL
semantics :mod:`localtrack.query.filter_sql` gives it (two-valued leaves, DuckDB's float
order: NaN above every number and equal to itself), and only the runs shown have their
metric means read from their segments (a plain sum, as DuckDB's avg; DuckDB adds the points
in the order its scan delivers them, so a mean may differ from the index's in its last bits).

Anything this module is not sure to answer exactly as the index would — a damaged or running
run, a summary the index would recompute from points, a filter or order on means, non-ASCII
text under LIKE/ILIKE/lower() — returns ``None``: the caller asks the index. In a process
without pyarrow loaded (importing it costs more than DuckDB) the means are read only from
segments the pure-Python writer wrote (a short run's: :mod:`localtrack.storage.parquet_lite`);
any other segment sends the query to the index. ``tests/query/test_pysearch.py`` checks both
engines agree on generated stores and filters. Nothing is written: the index stays a cache
the next DuckDB query builds.
"""

from __future__ import annotations

import operator
import os
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from localtrack.errors import InvalidArgumentError
from localtrack.query import fields as F
from localtrack.query.filter_ast import (
    ATTRIBUTE,
    METRIC,
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
from localtrack.query.filter_parser import parse_filter, parse_order_by
from localtrack.query.filter_sql import (
    SqlPiece,
    _boolean,
    _parse_time,
    _text,
    compile_filter,
    compile_order,
)
from localtrack.query.index_scan import list_run_dirs
from localtrack.query.own_runs import own_plans
from localtrack.query.results import ATTRIBUTE_COLUMNS, RunTable
from localtrack.query.row_values import base_row, param_value
from localtrack.storage import parquet_lite
from localtrack.storage.layout import StoreLayout
from localtrack.storage.objects import HASH_BUFFER

if TYPE_CHECKING:
    from localtrack.query.index_plan import RunPlan

SMALL_STORE_RUNS = 500  # above this a warm index answers faster than reading every manifest
RUN_COLUMNS = ("id", "name", "project", "group", "parent", "status_raw", "status", "created_at", "ended_at",
               "duration", "git_commit", "git_branch", "git_dirty", "notes", "writers")  # index_rows.run_row
LITE_SEGMENT_BYTES = 4 << 20  # the pure-Python writer's segments are far smaller (20k points)
_STATS = ("last", "min", "max", "mean", "count", "step")
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class Unsure(Exception):
    """This engine might not give the index's exact answer: ask the index."""


class _Run:
    """One run as the index would hold it: its runs_t columns and its per-key rows."""

    __slots__ = ("attrs", "files", "means_known", "msum", "params", "summary", "tags")

    def __init__(self, attrs: dict[str, Any], params: dict[str, tuple[Any, ...]], tags: dict[str, str],
                 summary: dict[str, tuple[Any, ...]], msum: dict[str, list[Any]], files: list[str],
                 means_known: bool = False) -> None:
        self.attrs, self.params, self.tags, self.summary, self.msum, self.files = attrs, params, tags, summary, msum, files
        self.means_known = means_known  # msum's means came from the recorded sums, as the index's


def _keyed(rows: list[tuple[Any, ...]], width: int, utf8: bool = False) -> dict[str, tuple[Any, ...]]:
    """key -> the rest of its row (``width`` values); a key twice (truncated keys colliding): Unsure.
    (``utf8``: the keys are known to be UTF-8 text, see :func:`_from_rows`.)"""
    out: dict[str, tuple[Any, ...]] = {}
    for row in rows:
        key = row[1]
        if key in out:
            raise Unsure(f"key {key!r} twice")
        if not utf8:
            _check_text(key)
        out[key] = tuple(row[2:2 + width])
    return out


def _check_text(value: Any) -> None:
    """Text the index could not store as it is (lone surrogates): Unsure."""
    if isinstance(value, str) and not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            raise Unsure("text that is not UTF-8") from None


def _from_plan(plan: RunPlan) -> _Run:
    """One run as the index's reader planned it; Unsure when the index would record a problem,
    the run is running, or its summary would be computed from the points."""
    if plan.rows["problems_t"]:
        raise Unsure("a problem the index would record")
    if plan.live is not None:
        raise Unsure("running")
    if plan.from_points or not plan.rows["runs_t"]:
        raise Unsure("summary computed from points")
    return _from_rows(plan.rows, plan.files, plan.means_known)


def _from_rows(rows: dict[str, list[tuple[Any, ...]]], files: list[str], means_known: bool,
               utf8: bool = False) -> _Run:
    """A run from the rows the index would hold for it (a finished run, its summary from its
    manifest); Unsure for text or keys the index could not hold as they are. ``utf8``: every
    text is known to be UTF-8 (rows of bytes this process wrote: :mod:`localtrack.query.own_runs`),
    so only the keys are checked, for collisions."""
    [row] = rows["runs_t"]
    if not utf8:
        for value in row:
            _check_text(value)
    attrs = dict(zip(RUN_COLUMNS, row, strict=True))
    params = _keyed(rows["params_t"], 4, utf8)
    summary = _keyed(rows["summary_t"], 4, utf8)
    tags = {k: v[0] for k, v in _keyed(rows["tags_t"], 1, utf8).items()}
    if not utf8:
        for value in (*tags.values(), *(p[0] for p in params.values()), *(p[0] for p in summary.values())):
            _check_text(value)
    msum = {k: list(v) for k, v in _keyed(rows["msum_t"], 6, utf8).items()}
    return _Run(attrs, params, tags, summary, msum, files, means_known)


def read_store(layout: StoreLayout, limit: int | None = None) -> list[_Run]:
    """Every run of a store of at most ``limit`` runs (default ``SMALL_STORE_RUNS``); Unsure for a
    bigger one or any doubt."""
    limit = SMALL_STORE_RUNS if limit is None else limit
    try:  # a big store is told by its first limit + 1 entries, not by listing them all
        with os.scandir(layout.runs_dir) as found:
            for n, _entry in enumerate(found):
                if n >= limit:
                    raise Unsure("a big store")
    except OSError:
        pass  # no runs folder: no runs (as list_run_dirs has it)
    runs_dir = layout.runs_dir  # checked for links once
    entries = list_run_dirs(runs_dir)
    if not all(entries.values()):
        raise Unsure("an entry that is not a folder")
    runs: list[_Run] = []
    own, others = own_plans(str(runs_dir), list(entries), bytearray(HASH_BUFFER))  # manifests this process wrote
    for plan, files in own.values():
        run = plan.derived  # kept with the plan, like its rows
        if not isinstance(run, _Run) or run.files != files:
            run = plan.derived = _from_rows(plan.rows, files, plan.means_known, utf8=True)
        runs.append(run)
    if others:  # read as the index reads them
        from localtrack.query.index_plan import plan_serial

        plans = plan_serial(layout, others, time.time(), for_index=False)
        runs.extend(_from_plan(plan) for plan in plans.values())
    return runs  # in no particular order: _ordered's last terms (created_at, id) order them whole


# ---------------------------------------------------------------------- SQL values
def _fkey(value: Any) -> Any:
    """DuckDB's order of doubles: NaN above every number, equal to itself."""
    if isinstance(value, float):
        return (1, 0.0) if value != value else (0, value)
    return value


def _cmp(a: Any, op: str, b: Any) -> bool:
    """``a op b`` is TRUE (SQL: NULL compares to nothing; an integer column meets a double as a double)."""
    if a is None or b is None:
        return False
    if isinstance(b, float) and isinstance(a, int) and not isinstance(a, bool):
        a = float(a)
    if isinstance(a, float) or isinstance(b, float):
        if not (isinstance(a, float) and isinstance(b, float)):
            raise Unsure("mixed comparison")
        return _OPS[op]((1, 0.0) if a != a else (0, a), (1, 0.0) if b != b else (0, b))
    return _OPS[op](a, b)


def _isnan(value: Any) -> bool:
    return isinstance(value, float) and value != value


def _ascii(*texts: Any) -> None:
    for text in texts:
        if isinstance(text, str) and not text.isascii():
            raise Unsure("non-ASCII text under LIKE, ILIKE, lower() or upper()")


def _like(value: str, pattern: str, insensitive: bool) -> bool:
    """SQL LIKE (``%`` any run, ``_`` one character, no escape character), ILIKE without case.

    Matched left to right, each ``%``-separated part at its first fit (that is optimal for
    LIKE), so a value from disk costs linear-ish time whatever the pattern (no regex backtracking)."""
    _ascii(value, pattern)
    if insensitive:
        value, pattern = value.lower(), pattern.lower()
    parts = pattern.split("%")
    if len(parts) == 1:
        return len(value) == len(pattern) and _fits(value, 0, pattern)
    first, last = parts[0], parts[-1]
    end = len(value) - len(last)
    if len(first) > end or not _fits(value, 0, first) or not _fits(value, end, last):
        return False
    pos = len(first)
    for part in parts[1:-1]:
        found = _find(value, part, pos, end)
        if found < 0:
            return False
        pos = found + len(part)
    return True


def _fits(value: str, at: int, part: str) -> bool:
    return all(p == "_" or p == value[at + i] for i, p in enumerate(part))


def _find(value: str, part: str, start: int, end: int) -> int:
    """The first index >= start where ``part`` fits and ends by ``end``, or -1."""
    if "_" not in part:
        return value.find(part, start, end)
    for i in range(start, end - len(part) + 1):
        if _fits(value, i, part):
            return i
    return -1


# ---------------------------------------------------------------------- the filter
class _Evaluator:
    """``filter_sql``'s SQL, read as Python over one :class:`_Run` (each leaf TRUE or FALSE)."""

    def matches(self, node: Node, run: _Run) -> bool:
        if isinstance(node, And):
            return all(self.matches(item, run) for item in node.items)
        if isinstance(node, Or):
            return any(self.matches(item, run) for item in node.items)
        if isinstance(node, Not):
            return not self.matches(node.item, run)
        if isinstance(node, IsNull):
            return self.is_null(node, run)
        if isinstance(node, InList):
            return self.in_list(node, run)
        assert isinstance(node, Compare)
        return self.compare(node, run)

    @staticmethod
    def row(f: Field, run: _Run) -> tuple[Any, ...] | None:
        """The run's row of the field's table for its key (None: no row)."""
        if f.kind == METRIC:
            found = run.msum.get(f.key)
            return tuple(found) if found is not None else None
        if f.kind == "params":
            return run.params.get(f.key)
        if f.kind == F.SUMMARY:
            return run.summary.get(f.key)
        tag = run.tags.get(f.key)
        return None if tag is None else (tag,)

    @staticmethod
    def present(f: Field, x: tuple[Any, ...]) -> bool:
        if f.kind == METRIC:
            stat = F.AGGREGATES[f.agg or "last"]
            value = x[_STATS.index(stat)]
            return value is not None and not (stat in F.FLOAT_STATS and _isnan(value))
        if f.kind in ("params", F.SUMMARY):
            return bool(x[2] != "null")
        return True

    def is_null(self, node: IsNull, run: _Run) -> bool:
        f = node.field
        if f.kind == ATTRIBUTE:
            return (run.attrs[F.ATTRIBUTES[f.key][0]] is None) != node.negated
        x = self.row(f, run)
        exists = x is not None and self.present(f, x)
        return exists if node.negated else not exists

    def compare(self, node: Compare, run: _Run) -> bool:
        f, op, lit = node.field, node.op, node.value
        if op in ("LIKE", "ILIKE"):
            return self.like(node, run)
        if f.kind == ATTRIBUTE:
            return self.attribute(f, op, lit, run)
        x = self.row(f, run)
        return x is not None and self.value_condition(f, op, lit, x)

    def like(self, node: Compare, run: _Run) -> bool:
        f, lit, insensitive = node.field, node.value, node.op == "ILIKE"
        pattern = str(lit.value)
        if f.kind == ATTRIBUTE:
            value = run.attrs[F.ATTRIBUTES[f.key][0]]
            if value is None:
                return False
            if F.ATTRIBUTES[f.key][1] == "status" and not insensitive:
                _ascii(value)
                hit = _like(value, pattern, False) or _like(value.upper(), pattern, False)
            else:
                hit = _like(value, pattern, insensitive)
            return hit != node.negated
        x = self.row(f, run)
        return x is not None and _like(x[0], pattern, insensitive) != node.negated

    def in_list(self, node: InList, run: _Run) -> bool:
        f = node.field
        if f.kind == ATTRIBUTE:
            hit = any(self.attribute(f, "=", lit, run) for lit in node.values)
            if not node.negated:
                return hit
            return run.attrs[F.ATTRIBUTES[f.key][0]] is not None and not hit
        x = self.row(f, run)
        if x is None:
            return False
        hit = any(self.value_condition(f, "=", lit, x) for lit in node.values)
        if node.negated:
            return self.present(f, x) and not hit
        return hit

    @staticmethod
    def value_condition(f: Field, op: str, lit: Literal, x: tuple[Any, ...]) -> bool:
        if f.kind == METRIC:
            stat = F.AGGREGATES[f.agg or "last"]
            value = x[_STATS.index(stat)]
            if stat in F.FLOAT_STATS and _isnan(value):
                return False
            return _cmp(value, op, float(lit.value))
        if f.kind in ("params", F.SUMMARY):
            value, num, kind = x[0], x[1], x[2]
            if lit.kind == "number":
                return _cmp(num, op, float(lit.value))
            if lit.kind == "bool":
                return kind == "bool" and _cmp(value, op, "True" if lit.value else "False")
            return _cmp(value, op, lit.value)
        return _cmp(x[0], op, _text(lit))

    @staticmethod
    def attribute(f: Field, op: str, lit: Literal, run: _Run) -> bool:
        column, kind = F.ATTRIBUTES[f.key]
        value = run.attrs[column]
        if kind == "string":
            return _cmp(value, op, _text(lit))
        if kind == "status":
            if value is None:
                return False
            _ascii(value, _text(lit))
            return _cmp(value.lower(), op, _text(lit).lower())
        if kind == "number":
            return _cmp(value, op, float(lit.value))
        if kind == "bool":
            return _cmp(value, op, _boolean(lit))
        if value is None:
            return False
        if lit.kind == "number":  # epoch_ms(col)
            if value < _EPOCH:
                raise Unsure("a time before 1970 against milliseconds")
            return _cmp((value - _EPOCH) // timedelta(milliseconds=1), op, int(lit.value))
        return _cmp(value, op, _parse_time(lit))


# ---------------------------------------------------------------------- the order
def _order_values(key: OrderKey, run: _Run) -> list[tuple[Any, bool]]:
    """``compile_order``'s ORDER BY terms for one key: (value, descending) each, NULL last."""
    f, desc = key.field, key.descending
    if f.kind == ATTRIBUTE:
        column, kind = F.ATTRIBUTES[f.key]
        value = run.attrs[column]
        if kind == "status" and value is not None:
            _ascii(value)
            value = value.lower()
        return [(value, desc)]
    if f.kind == METRIC:
        stat = F.AGGREGATES[f.agg or "last"]
        found = run.msum.get(f.key)
        value = None if found is None else found[_STATS.index(stat)]
        return [(None if stat in F.FLOAT_STATS and _isnan(value) else value, desc)]
    if f.kind in ("params", F.SUMMARY):
        x = (run.params if f.kind == "params" else run.summary).get(f.key)
        if x is not None and x[2] == "null":
            x = None
        value, num = (None, None) if x is None else (x[0], x[1])
        return [(value is None, False), (num is None, False), (num, desc), (value, desc)]
    return [(run.tags.get(f.key), desc)]


def _ordered(runs: list[_Run], keys: list[OrderKey]) -> list[_Run]:
    """Stable sorts from the last term to the first (NULLs last in either direction)."""
    terms: list[list[tuple[Any, bool]]] = [[v for key in keys for v in _order_values(key, run)] for run in runs]
    for run, t in zip(runs, terms, strict=True):
        t.append((run.attrs["created_at"], True))
        t.append((run.attrs["id"], True))
    order = list(range(len(runs)))
    for n in range(len(terms[0]) - 1, -1, -1) if terms else ():
        desc = terms[0][n][1]
        if desc:
            order.sort(key=lambda i: (terms[i][n][0] is not None, _fkey(terms[i][n][0])), reverse=True)
        else:
            order.sort(key=lambda i: (terms[i][n][0] is None, _fkey(terms[i][n][0])))
    return [runs[i] for i in order]


# ---------------------------------------------------------------------- rows
def _means(run: _Run) -> dict[str, float | None]:
    """Per metric: the mean of its non-NaN points, as DuckDB's avg computes it (a plain sum;
    DuckDB sums in the order its scan and join deliver the points, so the last bits may differ)."""
    read = _segment_points if "pyarrow" in sys.modules else _lite_segment_points
    sums: dict[str, list[float]] = {}
    for path in run.files:
        for key, value in read(path):
            if value is not None and value == value:
                sums.setdefault(key, []).append(value)
    return {key: sum(values) / len(values) for key, values in sums.items()}


def _segment_points(path: str) -> Iterator[tuple[str, float | None]]:
    """(key, value) of every point of one segment, read with pyarrow (already loaded)."""
    import pyarrow.parquet as pq

    try:
        with pq.ParquetFile(path) as segment:  # not read_table: it imports pandas (pyarrow.dataset)
            data = segment.read(columns=["key", "value"]).to_pydict()
    except Exception as exc:  # any reader failure: the index decides what to report
        raise Unsure(f"segment unreadable: {exc}") from None
    return zip(data["key"], data["value"], strict=True)


def _lite_segment_points(path: str) -> Iterator[tuple[str, float | None]]:
    """:func:`_segment_points` in a process that never loaded pyarrow (whose import costs what
    DuckDB's does): only segments the pure-Python writer wrote (a short run's); any other
    file: ask the index."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(LITE_SEGMENT_BYTES + 1)
        if len(data) > LITE_SEGMENT_BYTES:
            raise Unsure("segment too big to read without pyarrow")
        columns = parquet_lite.decode(data)
    except (OSError, ValueError) as exc:  # NotOurSegment is a ValueError
        raise Unsure(f"segment not readable without pyarrow: {exc}") from None
    keys = (key for key, count in zip(columns.keys, columns.key_counts, strict=True) for _ in range(count))
    return zip(keys, columns.values, strict=True)


def _row(run: _Run) -> dict[str, Any]:
    row = base_row(tuple(run.attrs[c] for c in ATTRIBUTE_COLUMNS))
    means = _means(run) if run.msum and not run.means_known else None
    row["tags"] = {k: run.tags[k] for k in sorted(run.tags)}
    row["params"] = {k: param_value(run.params[k][0], run.params[k][2], run.params[k][3]) for k in sorted(run.params)}
    metrics = {}
    for key in sorted(run.msum):
        stats = dict(zip(_STATS, run.msum[key], strict=True))
        if means is not None:  # else the recorded sum's mean, which the index keeps too
            stats["mean"] = means.get(key)
        metrics[key] = stats
    row["metrics"] = metrics
    row["summary"] = {k: param_value(run.summary[k][0], run.summary[k][2], run.summary[k][3])
                      for k in sorted(run.summary)}
    return row


def parse_search(filter: str | None, order_by: Any, limit: Any) -> tuple[
        Node | None, list[OrderKey], SqlPiece, tuple[list[str], list[Any], list[str]]]:
    """(filter AST, sort keys, WHERE, ORDER BY pieces) of a search; the errors both engines give."""
    node = parse_filter(filter)
    keys = parse_order_by(order_by)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise InvalidArgumentError(f"limit must be a non-negative int or None, got {limit!r}")
    return node, keys, compile_filter(node, filter or ""), compile_order(keys)


def _fields(node: Node | None) -> list[Field]:
    if node is None:
        return []
    if isinstance(node, (And, Or)):
        return [f for item in node.items for f in _fields(item)]
    if isinstance(node, Not):
        return _fields(node.item)
    return [node.field]


def search(layout: StoreLayout, filter: str | None = None, order_by: Any = None, limit: int | None = None,
           project: str | None = None) -> RunTable | None:
    """The index's answer to this search on a small store, or None: ask the index."""
    node, keys, _where, _order = parse_search(filter, order_by, limit)
    if any(f.kind == METRIC and f.agg == "mean" for f in [*_fields(node), *(k.field for k in keys)]):
        return None  # every run's mean would have to be read: the index keeps them
    try:
        runs = read_store(layout)
        evaluator = _Evaluator()
        found = [r for r in runs if (node is None or evaluator.matches(node, r))
                 and (project is None or r.attrs["project"] == project)]
        found = _ordered(found, keys)
        if limit is not None:
            found = found[:limit]
        return RunTable([_row(r) for r in found], [])
    except Unsure:
        return None


# The names other DuckDB-free readers (query/search_columns) evaluate with.
RunRows = _Run
Evaluator = _Evaluator
ordered = _ordered
fields_of = _fields
OPERATORS = _OPS
STATS = _STATS

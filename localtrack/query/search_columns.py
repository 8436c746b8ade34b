"""A filtered search over a big store without DuckDB: the columns it reads, kept beside the listing.

On a 10,000-run store importing DuckDB and connecting cost most of a warm ``localtrack
search`` (``Store.runs(filter=...)``). After a search the index answered, it writes
``index/search-v1.cols``: for each field that search read (and those the file held before,
up to ``MAX_COLUMNS``), its rows as the index holds them (a ``runs_t`` column, or per key the
``params_t``, ``summary_t``, ``tags_t`` or ``msum_t`` row), one JSON array in the listing's run
order. The next search that reads only such fields decodes just those columns, evaluates the
filter column by column with pysearch's reading of the SQL (each leaf by
:class:`~localtrack.query.pysearch.Evaluator`, on the same rows), orders the runs it keeps as
pysearch does and takes their rows from the listing's entries. It answers only when the
listing matches the run folders now (``fastlist.current_listing``: one ``stat`` per run, the
index's own test) and the columns were written from that same index state; anything else, or
any doubt pysearch has (a filter on means, a key two rows of one run share...), returns None
and the caller asks the index, which writes the columns again.

File layout (a derived cache, git-ignored, never trusted past its checks): line 1 is JSON
``[index state key, length of line 2, length of the rest]``; line 2 a JSON object ``{"rks":
[...], "doubled": [...], "columns": {name: [offset, length]}}`` (offsets into the rest); the
rest the columns' JSON texts. Names: ``a:<runs_t column>`` (times as epoch microseconds) and
``p:``, ``s:``, ``m:``, ``t:`` + key (a run's row of that key, or null).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from localtrack.query import fields as F
from localtrack.query.filter_ast import (
    ATTRIBUTE,
    METRIC,
    PARAM,
    TAG,
    And,
    Compare,
    Field,
    Node,
    Not,
    Or,
    OrderKey,
)
from localtrack.query.pysearch import (
    OPERATORS,
    RUN_COLUMNS,
    STATS,
    Evaluator,
    RunRows,
    Unsure,
    fields_of,
    ordered,
    parse_search,
)
from localtrack.query.results import RunTable
from localtrack.storage.atomic import atomic_write_bytes
from localtrack.storage.layout import StoreLayout

COLUMNS_VERSION = 1
COLUMNS_FILENAME = f"search-v{COLUMNS_VERSION}.cols"
MAX_COLUMNS = 64  # fields kept from earlier searches; more and the file holds only the latest ones
MAX_COLUMNS_BYTES = 1 << 30
ALWAYS = ("a:id", "a:created_at", "a:project", "a:status")  # the order's last terms, --project, liveness
_TIMES = frozenset(("created_at", "ended_at"))
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_STATS = STATS  # msum_t's columns, in pysearch's order
_NAN_KEY = (1, 0.0)  # pysearch's _fkey of NaN: above every number
_OPS = OPERATORS
_PREFIX = {PARAM: "p:", F.SUMMARY: "s:", METRIC: "m:", TAG: "t:"}
_TABLES = {  # prefix -> (table, the row's columns after rk and key)
    "p:": ("params_t", "value, num, kind, json"),
    "s:": ("summary_t", "value, num, kind, json"),
    "m:": ("msum_t", '"last", "min", "max", "mean", "count", "step"'),
    "t:": ("tags_t", "value"),
}
_WIDTH = {"p:": 4, "s:": 4, "m:": 6}  # values in a row of those tables


def column_name(f: Field) -> str:
    """The column a field reads."""
    if f.kind == ATTRIBUTE:
        return "a:" + F.ATTRIBUTES[f.key][0]
    return _PREFIX[f.kind] + f.key


def names_read(filter: str | None, order_by: Any) -> list[str]:
    """The columns a search reads (its fields', and ``ALWAYS``); [] for one that cannot be
    answered from columns (means, kept lazily by the index)."""
    node, keys, _where, _order = parse_search(filter, order_by, None)
    return _names_of(node, keys)


def _names_of(node: Node | None, keys: Sequence[OrderKey]) -> list[str]:
    """:func:`names_read` of a parsed filter and order."""
    fields = [*fields_of(node), *(k.field for k in keys)]
    if any(f.kind == METRIC and f.agg == "mean" for f in fields):
        return []
    return list(dict.fromkeys([*ALWAYS, *(column_name(f) for f in fields)]))


def columns_state(index_dir: Path) -> tuple[str | None, list[str]]:
    """(the index state the file was written from, the columns it holds); (None, []) if unusable."""
    try:
        with open(index_dir / COLUMNS_FILENAME, "rb") as handle:
            key, head_length, _rest = json.loads(handle.readline(256))
            if not isinstance(head_length, int) or not 0 <= head_length <= MAX_COLUMNS_BYTES:
                return None, []
            head = json.loads(handle.read(head_length))
        names = [*head["columns"], *head["doubled"]]
    except (OSError, ValueError, TypeError, KeyError, RecursionError):
        return None, []
    return (key if isinstance(key, str) else None), [str(n) for n in names]


def write_columns(con: Any, index_dir: Path, key: str, names: Iterable[str]) -> None:
    """Write these columns of the attached, up-to-date index (inside its lock), in the
    listing's order (listing_write's ``_ORDER``), for index state ``key``."""
    from localtrack.query.listing_write import _ORDER

    order = [r[0] for r in con.execute(f"SELECT rk FROM runs_t {_ORDER}").fetchall()]
    place = {rk: i for i, rk in enumerate(order)}
    count = len(order)
    texts: list[bytes] = []
    directory: dict[str, list[list[int]]] = {}
    doubled: list[str] = []
    offset = 0
    for name in names:
        prefix, field_key = name[:2], name[2:]
        values: list[Any] = [None] * count
        if prefix == "a:":
            if field_key not in RUN_COLUMNS:
                continue
            column = f'epoch_us("{field_key}")' if field_key in _TIMES else f'"{field_key}"'
            for rk, value in con.execute(f"SELECT rk, {column} FROM runs_t").fetchall():
                values[place[rk]] = value
        else:
            table, rest = _TABLES[prefix]
            single = rest == "value"
            twice = False
            for row in con.execute(f"SELECT rk, {rest} FROM {table} WHERE key = ?", [field_key]).fetchall():
                i = place[row[0]]
                twice = twice or values[i] is not None
                values[i] = row[1] if single else list(row[1:])
            if twice:  # a key twice in one run (truncated keys colliding): pysearch's doubt
                doubled.append(name)
                continue
        # a row's values one array each (a comparison reads one; flat arrays decode fastest), then presence
        parts = [values] if prefix in ("a:", "t:") else [
            *([None if v is None else v[n] for v in values] for n in range(_WIDTH[prefix])),
            [0 if v is None else 1 for v in values]]
        directory[name] = []
        for part in parts:
            text = json.dumps(part, ensure_ascii=False, separators=(",", ":")).encode()
            directory[name].append([offset, len(text)])
            texts.append(text)
            offset += len(text)
    head = json.dumps({"rks": order, "doubled": doubled, "columns": directory},
                      ensure_ascii=False, separators=(",", ":")).encode()
    data = json.dumps([key, len(head), offset]).encode() + b"\n" + head + b"\n" + b"".join(texts)
    atomic_write_bytes(index_dir / COLUMNS_FILENAME, data, durable=False)


class _Columns:
    """An open columns file: its directory; a column is read and decoded when asked for."""

    def __init__(self, path: Path, key: str) -> None:
        self._handle = open(path, "rb")  # noqa: SIM115 - closed by close()
        try:
            line = self._handle.readline(256)
            stated, head_length, rest_length = json.loads(line)
            if stated != key or not all(isinstance(n, int) and 0 <= n <= MAX_COLUMNS_BYTES
                                        for n in (head_length, rest_length)):
                raise ValueError("columns of another index state")
            if os.fstat(self._handle.fileno()).st_size != len(line) + head_length + 1 + rest_length:
                raise ValueError("columns file of the wrong size")
            head = json.loads(self._handle.read(head_length))
            self.rks: list[Any] = head["rks"]
            self.doubled = set(head["doubled"])
            self.directory: dict[str, list[list[int]]] = head["columns"]
            if not isinstance(self.rks, list) or not isinstance(self.directory, dict):
                raise ValueError("not a columns file")
        except BaseException:
            self._handle.close()
            raise
        self._start = len(line) + head_length + 1
        self._rest = rest_length

    def close(self) -> None:
        self._handle.close()

    def parts(self, name: str) -> int:
        """How many arrays the named column has; Unsure when the file does not hold it (the
        index then writes it)."""
        where = self.directory.get(name)
        if where is None:
            raise Unsure(f"no column {name!r}" if name not in self.doubled else f"key {name[2:]!r} twice in a run")
        expected = 1 if name[:2] in ("a:", "t:") else _WIDTH[name[:2]] + 1
        if len(where) != expected:
            raise ValueError(f"column {name!r} of the wrong shape")
        return expected

    def part(self, name: str, n: int) -> list[Any]:
        """Array ``n`` of the named column (a row's value ``n``; the last: presence)."""
        self.parts(name)
        start, length = int(self.directory[name][n][0]), int(self.directory[name][n][1])
        if not 0 <= start <= start + length <= self._rest:
            raise ValueError(f"column {name!r} out of the file")
        self._handle.seek(self._start + start)
        values = json.loads(self._handle.read(length))
        if not isinstance(values, list) or len(values) != len(self.rks):
            raise ValueError(f"column {name!r} of the wrong length")
        return values


def search(layout: StoreLayout, filter: str | None = None, order_by: Any = None, limit: int | None = None,
           project: str | None = None) -> RunTable | None:
    """The index's answer to this search from the listing and the columns, or None: ask the index."""
    node, keys, _where, _order = parse_search(filter, order_by, limit)
    if not _names_of(node, keys) or not os.path.isfile(layout.index_dir / COLUMNS_FILENAME):
        return None  # (a small store never has the file: its listing is not checked for nothing)
    from localtrack.query.fastlist import current_listing

    listing = current_listing(layout)
    if listing is None or listing.key is None:
        return None
    entries = listing.runs
    try:
        columns = _Columns(layout.index_dir / COLUMNS_FILENAME, listing.key)
    except (OSError, ValueError, TypeError, KeyError, RecursionError):
        return None
    try:
        count = len(entries)  # written from the same index state in the same order: a sample suffices
        if len(columns.rks) != count or any(columns.rks[i] != entries[i][1] for i in range(0, count, 97)):
            return None
        reader = _Reader(columns, listing.live)
        keep = reader.matching(node) if node is not None else [True] * len(entries)
        if project is not None:
            keep = [k and p == project for k, p in zip(keep, reader.get("a:project"), strict=True)]
        chosen = [i for i, k in enumerate(keep) if k]
        runs = ordered(reader.runs(chosen, [k.field for k in keys]), keys)
        if limit is not None:
            runs = runs[:limit]
        rows = listing.rows([entries[reader.position[id(run)]] for run in runs], sparks=False)
    except Unsure:
        return None
    except (OSError, ValueError, TypeError, KeyError, IndexError, ArithmeticError, RecursionError):
        return None  # stale or damaged: only a cache
    finally:
        columns.close()
    if [r.get("id") for r in rows] != [run.attrs["id"] for run in runs]:
        return None
    return RunTable(rows, listing.problems)


class _Reader:
    """The columns of one search, decoded once, and the filter evaluated over them."""

    def __init__(self, columns: _Columns, live: dict[str, Any]) -> None:
        self._columns = columns
        self._raw: dict[tuple[str, int], list[Any]] = {}
        self._rows: dict[str, list[Any]] = {}
        self._live = live
        self._evaluator = Evaluator()
        self.position: dict[int, int] = {}  # id() of a run runs() made -> its place in the listing

    def raw(self, name: str, n: int = 0) -> list[Any]:
        """Array ``n`` of the column as stored."""
        found = self._raw.get((name, n))
        if found is None:
            found = self._raw[name, n] = self._columns.part(name, n)
        return found

    def get(self, name: str) -> list[Any]:
        """Per run, the value pysearch's rows hold for this column (None: no row)."""
        found = self._rows.get(name)
        if found is not None:
            return found
        parts = self._columns.parts(name)
        if parts > 1:  # rows zipped back from their arrays
            arrays = [self.raw(name, n) for n in range(parts)]
            found = [row[:-1] if row[-1] else None for row in zip(*arrays, strict=True)]
        elif name.startswith("a:") and name[2:] in _TIMES:
            found = [None if v is None else _EPOCH + timedelta(microseconds=v) for v in self.raw(name)]
        elif name == "a:status" and self._live:  # a running run's status, derived now
            from localtrack.store.status import derive_status

            now = time.time()
            found = [derive_status(self._live[i], now) if i in self._live else s
                     for i, s in zip(self.raw("a:id"), self.raw(name), strict=True)]
        else:
            found = self.raw(name)
        self._rows[name] = found
        return found

    def matching(self, node: Node) -> list[bool]:
        """Per run, whether it matches (``filter_sql``'s two-valued leaves, combined)."""
        if isinstance(node, And):
            out = self.matching(node.items[0])
            for item in node.items[1:]:
                out = [a and b for a, b in zip(out, self.matching(item), strict=True)]
            return out
        if isinstance(node, Or):
            out = self.matching(node.items[0])
            for item in node.items[1:]:
                out = [a or b for a, b in zip(out, self.matching(item), strict=True)]
            return out
        if isinstance(node, Not):
            return [not a for a in self.matching(node.item)]
        if isinstance(node, Compare) and node.op not in ("LIKE", "ILIKE") and node.field.kind != ATTRIBUTE:
            return self._compared(node)
        f = node.field
        values = self.get(column_name(f))
        stub = RunRows({}, {}, {}, {}, {}, [])
        matches = self._evaluator.matches
        out = []
        if f.kind == ATTRIBUTE:
            attrs, column = stub.attrs, F.ATTRIBUTES[f.key][0]
            for value in values:
                attrs[column] = value
                out.append(matches(node, stub))
            return out
        table = _table_of(stub, f.kind)
        for value in values:
            if value is None:
                table.pop(f.key, None)
            else:
                table[f.key] = value
            out.append(matches(node, stub))
        return out

    def _compared(self, node: Compare) -> list[bool]:
        """A comparison of a metric, param, summary value or tag: Evaluator.value_condition per run
        (for a metric against a number, the same test inline over that statistic's array)."""
        f, op, lit = node.field, node.op, node.value
        name, compare = column_name(f), _OPS[op]
        if f.kind == METRIC:
            against = float(lit.value)
            if against == against:  # not NaN: _cmp is then the plain comparison of two doubles
                values = self.raw(name, _STATS.index(F.AGGREGATES[f.agg or "last"]))
                return [v is not None and v == v and compare(float(v), against) for v in values]
        elif f.kind in (PARAM, F.SUMMARY) and lit.kind == "number":
            against = float(lit.value)
            if against == against:  # the row's number (None: not a number, or no row); NaN above all
                return [n is not None and (compare(n, against) if n == n else compare(_NAN_KEY, (0, against)))
                        for n in self.raw(name, 1)]
        elif f.kind in (PARAM, F.SUMMARY) and lit.kind == "string" and isinstance(lit.value, str):
            against_text = lit.value  # the row's text against the literal's
            return [v is not None and compare(v, against_text) for v in self.raw(name, 0)]
        condition = self._evaluator.value_condition
        if f.kind == TAG:  # Evaluator.row's form of a tag: a 1-tuple
            return [v is not None and condition(f, op, lit, (v,)) for v in self.get(name)]
        return [x is not None and condition(f, op, lit, x) for x in self.get(name)]

    def runs(self, chosen: Sequence[int], order: Sequence[Field]) -> list[RunRows]:
        """The chosen runs with what the order reads (``position`` maps each to its place)."""
        ids, created = self.raw("a:id"), self.raw("a:created_at")
        reads: dict[str, set[int]] = {}  # per column, the values any order key reads
        for f in order:
            if f.kind in (METRIC, PARAM, F.SUMMARY):
                reads.setdefault(column_name(f), set()).update(
                    {_STATS.index(F.AGGREGATES[f.agg or "last"])} if f.kind == METRIC else {0, 1, 2})
        wanted = [(f, column_name(f), self._order_parts(f, reads.get(column_name(f), set())))
                  for f in {column_name(f): f for f in order}.values()]
        out = []
        for i in chosen:
            micros = created[i]
            attrs: dict[str, Any] = {"id": ids[i],
                                     "created_at": None if micros is None else _EPOCH + timedelta(microseconds=micros)}
            run = RunRows(attrs, {}, {}, {}, {}, [])
            self.position[id(run)] = i
            for f, name, parts in wanted:
                if f.kind == ATTRIBUTE:
                    attrs[name[2:]] = parts[0][i]
                elif f.kind == TAG:
                    if parts[0][i] is not None:
                        run.tags[f.key] = parts[0][i]
                elif parts[-1][i]:  # a row: the values the order reads (pysearch's _order_values), None elsewhere
                    _table_of(run, f.kind)[f.key] = [None if p is None else p[i] for p in parts[:-1]]
            out.append(run)
        return out

    def _order_parts(self, f: Field, read: set[int]) -> list[Any]:
        """The arrays an order on ``f``'s column reads (a row's: the values ``read``, None for
        the others, then presence): a metric's statistics, a param's or summary value's text,
        number and kind."""
        name = column_name(f)
        if f.kind == ATTRIBUTE:
            return [self.get(name)]
        if f.kind == TAG:
            return [self.raw(name)]
        width = _WIDTH[name[:2]]
        return [*(self.raw(name, n) if n in read else None for n in range(width)), self.raw(name, width)]


def _table_of(run: RunRows, kind: str) -> dict[str, Any]:
    """The run's rows of one field kind."""
    tables: dict[str, dict[str, Any]] = {PARAM: run.params, F.SUMMARY: run.summary, METRIC: run.msum, TAG: run.tags}
    return tables[kind]

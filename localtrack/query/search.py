"""Answering the read API from the index: run searches, one run's details, metric points."""

from __future__ import annotations

from typing import Any

from localtrack.errors import CorruptRunError, InvalidArgumentTypeError
from localtrack.query import duck
from localtrack.query.index import Index
from localtrack.query.index_load import ensure_means, files_of, points_sql, uses_mean
from localtrack.query.pysearch import parse_search
from localtrack.query.results import ATTRIBUTE_COLUMNS, RunInfo, RunTable
from localtrack.query.row_values import base_row, param_value
from localtrack.query.run_details import PointColumns, build_run_info
from localtrack.store.reader import load_run
from localtrack.store.run_refs import LATEST, RunCandidate, check_ref, pick_run

_base_row = base_row  # the name listing_write imports
_SELECT_RUNS = "SELECT r.rk, " + ", ".join(f'r."{c}"' for c in ATTRIBUTE_COLUMNS) + " FROM runs_t r"


def search(index: Index, filter: str | None = None, order_by: Any = None, limit: int | None = None,
           project: str | None = None) -> RunTable:
    """Runs matching ``filter`` in ``order_by`` order (newest first by default)."""
    _node, _keys, where, (joins, join_params, terms) = parse_search(filter, order_by, limit)
    sql = f"{_SELECT_RUNS} {' '.join(joins)} WHERE {where.sql}"
    params: list[Any] = [*join_params, *where.params]
    if project is not None:
        sql += " AND r.project = ?"
        params.append(project)
    sql += " ORDER BY " + ", ".join(terms)
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)

    def query(con: Any) -> RunTable:
        if uses_mean(sql):  # a filter or order on means: every run's mean must be known first
            ensure_means(con, None)
        found = con.execute(sql, params).fetchall()
        rows = [_base_row(r[1:]) for r in found]
        _attach_details(con, rows, [r[0] for r in found], index.details)
        problems = [(r[0], r[1]) for r in con.execute(
            "SELECT run_id, message FROM problems_t ORDER BY run_id, message").fetchall()]
        return RunTable(rows, problems)

    return index.read(query)


DETAILS_CACHE_LIMIT = 50_000
_Details = tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]  # tags, params, metrics, summary


def _attach_details(con: Any, rows: list[dict[str, Any]], rks: list[int],
                    cache: dict[int, _Details] | None = None) -> None:
    """Fill each row's tags, params, metric summaries and summary values (lookups by run number: few blocks read).

    ``cache`` keeps them per run number across calls: a run's number changes whenever its
    rows do, so a cached entry is never stale.
    """
    if not rows:
        return
    by_rk = dict(zip(rks, rows, strict=True))
    wanted = [rk for rk in rks if cache is None or rk not in cache]
    fresh: dict[int, _Details] = {rk: ({}, {}, {}, {}) for rk in wanted}
    if wanted:
        ensure_means(con, wanted)
        params: list[Any]
        if len(wanted) <= 200:
            where, params = f"rk IN ({', '.join('?' * len(wanted))})", list(wanted)
        else:
            where, params = "rk IN (SELECT unnest(?::BIGINT[]))", [list(wanted)]
        for rk, key, value in con.execute(
            f"SELECT rk, key, value FROM tags_t WHERE {where} ORDER BY rk, key", params
        ).fetchall():
            fresh[rk][0][key] = value
        for rk, key, value, kind, raw in con.execute(
            f"SELECT rk, key, value, kind, json FROM params_t WHERE {where} ORDER BY rk, key", params
        ).fetchall():
            fresh[rk][1][key] = param_value(value, kind, raw)
        for rk, key, last, lo, hi, mean, count, step in con.execute(
            f'SELECT rk, key, "last", "min", "max", "mean", "count", "step" FROM msum_t WHERE {where} '
            "ORDER BY rk, key", params,
        ).fetchall():
            fresh[rk][2][key] = {"last": last, "min": lo, "max": hi, "mean": mean, "count": count, "step": step}
        for rk, key, value, kind, raw in con.execute(
            f"SELECT rk, key, value, kind, json FROM summary_t WHERE {where} ORDER BY rk, key", params
        ).fetchall():
            fresh[rk][3][key] = param_value(value, kind, raw)
        if cache is not None:
            if len(cache) + len(fresh) > DETAILS_CACHE_LIMIT:
                cache.clear()
            cache.update(fresh)
    for rk, row in by_rk.items():
        tags, params_, metrics, summary = fresh[rk] if rk in fresh else cache[rk]  # type: ignore[index]
        row["tags"] = dict(tags)
        row["params"] = dict(params_)
        row["metrics"] = {k: dict(v) for k, v in metrics.items()}
        row["summary"] = dict(summary)


# ---------------------------------------------------------------------- one run
def resolve(con: Any, ref: str) -> str:
    """A run id from an id, unique id prefix, short id, unique name or ``@latest`` (run_refs' rule)."""
    ref = check_ref(ref)
    known = con.execute("SELECT id FROM runs_t WHERE id = ? UNION SELECT run_id FROM files_t WHERE run_id = ?",
                        [ref, ref]).fetchall()
    if known:
        return ref
    # candidates (a superset: every id holding ``ref`` — a short id is part of its id — and every
    # run of that name; for @latest only the newest), then the one rule picks among them
    if ref == LATEST:
        where, params = "r.id IS NOT NULL ORDER BY r.created_at DESC NULLS LAST, f.run_id DESC LIMIT 1", []
    else:
        where, params = "contains(f.run_id, ?) OR r.name = ? ORDER BY f.run_id", [ref, ref]
    rows = con.execute(
        "SELECT f.run_id, r.name, r.created_at, r.id IS NOT NULL FROM files_t f LEFT JOIN runs_t r ON r.id = f.run_id "
        f"WHERE {where}", params).fetchall()
    return pick_run(ref, (RunCandidate(i, name if listed else None, created) for i, name, created, listed in rows)).id


def run_info(index: Index, ref: str, con: Any = None) -> RunInfo:
    """Everything about one run: its manifest read now, summaries and children from the index
    (``con``: an open session's connection; default: a session of its own)."""
    if con is None:
        with index.session() as con:
            return run_info(index, ref, con)
    run_id = resolve(con, ref)
    record = load_run(index.layout, run_id)
    problems = [r[0] for r in con.execute(
        "SELECT message FROM problems_t WHERE run_id = ? ORDER BY message", [run_id]).fetchall()]
    if not record.ok:
        raise CorruptRunError(f"run {run_id} cannot be read: {record.error}", run_id)
    row = con.execute(f"{_SELECT_RUNS} WHERE r.id = ?", [run_id]).fetchone()
    base: dict[str, Any] = {"tags": {}, "params": {}, "metrics": {}, "summary": {}}
    if row:
        base = _base_row(row[1:])
        _attach_details(con, [base], [row[0]], index.details)
    children = [r[0] for r in con.execute(
        "SELECT id FROM runs_t WHERE parent = ? ORDER BY created_at, id", [run_id]).fetchall()]

    def metrics(keys: list[str] | None) -> Any:
        return metric_points(index, [run_id], keys).select(["step", "timestamp", "key", "value"])

    return build_run_info(run_id, record, base, children, problems, metrics)


# ---------------------------------------------------------------------- metric points
def _ref_of(item: Any) -> str:
    if isinstance(item, str):
        return item
    if isinstance(item, dict) and isinstance(ref := item.get("id"), str):
        return ref
    run_id = getattr(item, "id", None)
    if isinstance(run_id, str):
        return run_id
    raise InvalidArgumentTypeError(f"runs must be run ids, names, RunInfo or rows, got {type(item).__name__}")


def metric_points(index: Index, runs: Any = None, keys: Any = None) -> Any:
    """Long table (run, key, step, timestamp, value) ordered by run, key, step."""
    if isinstance(runs, str) or (runs is not None and not isinstance(runs, (list, tuple, set))
                                 and not hasattr(runs, "__iter__")):
        runs = [runs]
    if isinstance(keys, str):
        keys = [keys]
    if hasattr(runs, "ids") and not isinstance(runs, (list, tuple)):
        runs = runs.ids
    if keys is not None:
        keys = [str(k) for k in keys]
    refs = None if runs is None else [_ref_of(item) for item in runs]  # once: ``runs`` may be an iterator

    def query(con: Any) -> Any:
        rks = None
        if refs is not None:
            # Full ids (the usual case: rows of a RunTable) in one query; only the rest
            # (prefixes, names, @latest) are resolved one by one.
            exact = {row[0] for row in con.execute(
                "SELECT id FROM runs_t WHERE id IN (SELECT unnest(?::VARCHAR[]))", [[str(r) for r in refs]]).fetchall()}
            ids = list(dict.fromkeys(ref if ref in exact else resolve(con, ref) for ref in refs))
            rks = [r[0] for r in con.execute(
                "SELECT rk FROM runs_t WHERE id IN (SELECT unnest(?::VARCHAR[]))", [ids]).fetchall()]
        relation, params = points_sql(files_of(con, rks))
        sql = f'SELECT r.id AS run, p.key, p.step, p."timestamp", p.value FROM {relation} p JOIN runs_t r USING (rk)'
        sql += " WHERE TRUE"
        if keys is not None:
            sql += " AND p.key IN (SELECT unnest(?::VARCHAR[]))"
            params.append(keys)
        sql += ' ORDER BY run, p.key, p.step, p."timestamp", p.ord'
        return duck.arrow(con, sql, params)

    return index.retrying(query)


def point_columns(reader: Any, info: RunInfo) -> Any:
    """The points of one run (``info``) as :class:`PointColumns`; ``info.metrics()`` for a
    reader without an index."""
    index = getattr(reader, "index", None)
    if not isinstance(index, Index):
        return info.metrics()
    return index.retrying(lambda con: _point_columns(con, info.id))


def run_with_points(reader: Any, ref: str) -> tuple[RunInfo, Any]:
    """One run and its points (what ``show`` draws) in one pass over the index: the run folders
    are checked once, while the queries run (``Index.read``), instead of once per call."""
    index = getattr(reader, "index", None)
    if not isinstance(index, Index):
        info = reader.run(ref)
        return info, info.metrics()
    ref = check_ref(ref)

    def query(con: Any) -> tuple[RunInfo, PointColumns]:
        info = run_info(index, ref, con)
        return info, _point_columns(con, info.id)

    return index.read(query)


def _point_columns(con: Any, run_id: str) -> PointColumns:
    row = con.execute("SELECT rk FROM runs_t WHERE id = ?", [run_id]).fetchone()
    relation, params = points_sql(files_of(con, [row[0]] if row else []))
    found = con.execute(f'SELECT step, "timestamp", key, value FROM {relation} '
                        'ORDER BY key, step, "timestamp"', params).fetchall()
    names = ["step", "timestamp", "key", "value"]
    return PointColumns({name: [r[i] for r in found] for i, name in enumerate(names)})

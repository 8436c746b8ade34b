"""``localtrack.Store``: the Python read API over a store (search, one run, metrics, raw SQL).

    store = localtrack.Store()                       # or Store("path/to/project")
    store.runs(filter="metrics.acc > 0.9", order_by="metrics.acc DESC", limit=10).to_pandas()
    store.run("bert-baseline").metrics(["val/acc"])
    store.metrics(runs=[...], keys=["val/acc"])      # long table: run, key, step, timestamp, value
    store.sql("select name, status from runs")       # sandboxed, read-only DuckDB
    store.export(store.runs(filter="params.lr > 0.01"), to="points.parquet")
    store.report(["bert-base", "@latest"]).to_dict()  # also compare(runs), series(runs, keys)

Every call first brings the index up to date with the run folders (cheap when nothing
changed), so results always reflect the files on disk.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO, Union

from localtrack.errors import InvalidValueError, InvalidValueTypeError, RunNotFoundError
from localtrack.query.results import RunInfo, RunTable
from localtrack.storage.layout import StoreLayout
from localtrack.store.project import open_store

if TYPE_CHECKING:
    from localtrack.query.compare import Comparison
    from localtrack.query.export import ExportReport
    from localtrack.query.report import Report
    from localtrack.query.series import MetricSeries

__all__ = ["RunInfo", "RunTable", "Store"]

RunRef = Union[str, RunInfo, Mapping[str, Any]]
Runs = Union[RunTable, RunRef, Sequence[RunRef], None]
"""Which runs a call is about: a RunTable, run references (ids, prefixes, names, ``@latest``),
RunInfo objects or rows of a RunTable; None means every run."""


def _decodable_ref(ref: Any) -> str:
    """A run reference as text every lookup can use; refuse what is not (named, escaped).

    A shell argument that is not UTF-8 arrives as lone surrogates (``os.fsdecode``); no run id
    or name can hold one, so it matches nothing.
    """
    if not isinstance(ref, str):
        raise RunNotFoundError(f"a run reference is a string (id, prefix, name or @latest), got {type(ref).__name__}", ref)
    try:
        ref.encode("utf-8")
    except UnicodeEncodeError:
        shown = ref.encode("utf-8", "surrogateescape" if _fs_bytes(ref) else "backslashreplace")
        raise RunNotFoundError(
            f"no run matches {shown!r}: it is not valid UTF-8 text, and run ids and names always are", ref
        ) from None
    return ref


def _fs_bytes(ref: str) -> bool:
    try:
        ref.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return False
    return True


class Store:
    """A read handle on one store (the ``.localtrack`` folder, or a project folder holding one)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.layout: StoreLayout = open_store(path)
        self.root = self.layout.root
        self._index: Any = None

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    @property
    def index(self) -> Any:
        """The index of this store (built on first use, refreshed by every query)."""
        if self._index is None:
            from localtrack.query.index import Index

            self._index = Index(self.layout)
        return self._index

    def runs(
        self,
        filter: str | None = None,
        order_by: str | list[str] | None = None,
        limit: int | None = None,
        project: str | None = None,
    ) -> RunTable:
        """Runs matching an MLflow-style ``filter`` (see docs/FILTERS.md), ordered and limited.

        ``order_by`` is ``"metrics.acc DESC, params.lr"`` or MLflow's list of such strings;
        default newest first. ``limit`` defaults to every matching run.
        """
        from localtrack.query.search import search

        return search(self.index, filter=filter, order_by=order_by, limit=limit, project=project)

    def run(self, ref: str) -> RunInfo:
        """One run by id, unique id prefix, short id, unique name or ``@latest``."""
        from localtrack.query.search import run_info

        return run_info(self.index, _decodable_ref(ref))

    def metrics(self, runs: list[Any] | str | None = None, keys: list[str] | str | None = None) -> Any:
        """Metric points as a long Arrow table: run, key, step, timestamp, value.

        ``runs`` are run references (ids, names, RunInfo, or rows of a RunTable); None means
        every run. ``keys`` limits the metric keys; None means all.
        """
        from localtrack.query.search import metric_points

        return metric_points(self.index, runs, keys)

    def sql(self, query: str) -> Any:
        """Run one read-only SQL statement over the views runs, params, tags, metrics,
        metric_summary and artifacts; returns an Arrow table. Sandboxed: no file access
        outside the store, no writes, no extensions."""
        from localtrack.query.sandbox import run_sql

        return run_sql(self.index, query)

    def export(
        self,
        runs: Runs,
        *,
        to: str | os.PathLike[str] | BinaryIO | TextIO,
        format: str | None = None,
        what: str = "metrics",
        metrics: Sequence[str] | None = None,
    ) -> ExportReport:
        """Write runs' metric points (``what="metrics"``: run, name, key, step, timestamp, value)
        or one row per run (``what="runs"``) to a file or an open stream.

        ``format`` is csv, json (one array), jsonl or parquet; by default a path's suffix
        decides (a stream gets csv). A file is written whole or not at all. ``metrics`` limits
        the metric keys. Returns what was written (path, format, runs, rows, bytes).
        """
        from localtrack.query import export as out

        if what not in ("metrics", "runs"):
            raise InvalidValueError(f"export what={what!r}: pick 'metrics' (every point) or 'runs' (one row per run)", what)
        kind = out.format_for(to, format)
        rows = self._rows(runs)
        keys = [metrics] if isinstance(metrics, str) else list(metrics or [])
        if what == "metrics":
            points = self.metrics(runs=[str(r["id"]) for r in rows], keys=keys or None)
            table = out.points_table(points, rows)
        else:
            table = out.runs_table(rows, keys)
        data = out.table_bytes(table, kind)
        path = out.write_to(to, data, kind)
        return out.ExportReport(path=path, format=kind, what=what, runs=len(rows), rows=table.num_rows, bytes=len(data))

    def report(
        self,
        runs: Runs,
        *,
        metrics: Sequence[str] | None = None,
        maximize: Iterable[str] = (),
        minimize: Iterable[str] = (),
        selection: str | None = None,
    ) -> Report:
        """The experiment report on ``runs``: params, final and best metrics, winners, and the
        completeness checks of each run (``Report.to_dict()`` is the JSON document).

        ``selection`` is recorded as how the runs were chosen (e.g. the filter).
        """
        from localtrack.query.report import report_for

        return report_for(self, self._rows(runs), metrics=list(metrics) if metrics else None,
                          maximize=list(maximize), minimize=list(minimize), selection=selection)

    def compare(
        self,
        runs: Runs,
        metrics: Sequence[str] | None = None,
        *,
        maximize: Iterable[str] = (),
        minimize: Iterable[str] = (),
    ) -> Comparison:
        """Runs side by side: which params differ, each metric's last value and its best run.

        A metric's direction comes from its name (loss: lower, accuracy: higher) unless
        named in ``maximize`` / ``minimize``; ``metrics`` defaults to every logged metric.
        """
        from localtrack.query.compare import compare

        return compare(self._rows(runs), list(metrics) if metrics else None,
                       maximize=list(maximize), minimize=list(minimize))

    def series(self, runs: Runs = None, keys: Sequence[str] | str | None = None) -> list[MetricSeries]:
        """Every point of each (run, metric key), in step order: what ``visualize`` plots.

        One :class:`~localtrack.query.series.MetricSeries` (run, key, steps, timestamps,
        values) per pair that has points, ordered by run, then key.
        """
        from localtrack.query.series import metric_series

        ids = [str(r["id"]) for r in self._rows(runs)] if runs is not None else None
        if ids == []:
            return []
        wanted = None if keys is None else [keys] if isinstance(keys, str) else list(keys)
        return metric_series(self.metrics(runs=ids, keys=wanted))

    def _rows(self, runs: Runs) -> list[dict[str, Any]]:
        """Read-API rows of ``runs`` in the order given, each run once."""
        if runs is None:
            return self.runs().to_dicts()
        if isinstance(runs, RunTable):
            return runs.to_dicts()
        items: list[Any] = [runs] if isinstance(runs, (str, RunInfo, Mapping)) else list(runs)
        if all(isinstance(i, Mapping) and isinstance(i.get("id"), str) and "metrics" in i for i in items):
            given: dict[str, dict[str, Any]] = {}
            for item in items:
                given.setdefault(str(item["id"]), dict(item))
            return list(given.values())
        ids: list[str] = []
        for item in items:
            if isinstance(item, str):
                ids.append(self.run(item).id)
            elif isinstance(item, Mapping) and isinstance(item.get("id"), str):
                ids.append(self.run(item["id"]).id)
            elif isinstance(getattr(item, "id", None), str):
                ids.append(self.run(item.id).id)
            else:
                raise InvalidValueTypeError(
                    f"runs are run ids, names, RunInfo or rows of a RunTable, got {type(item).__name__}", item)
        by_id = {str(r["id"]): r for r in self.runs().to_dicts()}
        return [by_id[i] for i in dict.fromkeys(ids) if i in by_id]

    @property
    def problems(self) -> list[tuple[str, str]]:
        """(run_id, message) for every damaged run seen while indexing (refreshes first)."""
        return self.index.problems()

    def refresh(self) -> None:
        """Bring the index up to date now (every query does this anyway)."""
        self.index.refresh()

    def rebuild(self) -> None:
        """Delete the index and build it again from the run folders (it is only a cache)."""
        self.index.rebuild()

    def close(self) -> None:
        """Release this handle's DuckDB connection (the index file is never held open between calls)."""
        if self._index is not None:
            self._index.close()
        self._index = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

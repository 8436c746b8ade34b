"""``localtrack.Store``: the Python read API over a store (search, one run, metrics, raw SQL).

    store = localtrack.Store()                       # or Store("path/to/project")
    store.runs(filter="metrics.acc > 0.9", order_by="metrics.acc DESC", limit=10).to_pandas()
    store.run("bert-baseline").metrics(["val/acc"])
    store.metrics(runs=[...], keys=["val/acc"])      # long table: run, key, step, timestamp, value
    store.sql("select name, status from runs")       # sandboxed, read-only DuckDB

Every call first brings the index up to date with the run folders (cheap when nothing
changed), so results always reflect the files on disk.
"""

from __future__ import annotations

import os
from typing import Any

from localtrack.errors import RunNotFoundError
from localtrack.query.results import RunInfo, RunTable
from localtrack.storage.layout import StoreLayout
from localtrack.store.project import open_store

__all__ = ["RunInfo", "RunTable", "Store"]


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

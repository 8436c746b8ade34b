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
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO, Union

from localtrack.errors import InvalidValueError, InvalidValueTypeError
from localtrack.query.results import RunInfo, RunTable
from localtrack.storage.layout import StoreLayout
from localtrack.store.project import open_store

if TYPE_CHECKING:
    from localtrack.query.store_manage import (
        ArtifactListing,
        GcReport,
        LoggedSteps,
        RunRef,
        VerifyResult,
    )
    from localtrack.store.artifacts import ArtifactHandle, ArtifactRef
    from localtrack.store.manage import TrashedRun

if TYPE_CHECKING:
    from localtrack.query.compare import Comparison
    from localtrack.query.export import ExportReport
    from localtrack.query.index import Index
    from localtrack.query.report import Report
    from localtrack.query.series import MetricSeries

__all__ = ["RunInfo", "RunTable", "Store"]

RunLike = Union[str, RunInfo, Mapping[str, Any]]
Runs = Union[RunTable, RunLike, Sequence[RunLike], None]
"""Which runs a call is about: a RunTable, run references (ids, prefixes, names, ``@latest``),
RunInfo objects or rows of a RunTable; None means every run."""


class Store:
    """A read handle on one store (the ``.localtrack`` folder, or a project folder holding one)."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, create: bool = False) -> None:
        """Open the store at ``path`` (default: LOCALTRACK_DIR, else the nearest ``.localtrack``
        above the working directory); with ``create``, a missing one is made there (or here)."""
        self.layout: StoreLayout = open_store(path, create=create)
        self.root = self.layout.root
        self._index: Index | None = None
        self.created = False  # True when Store.create() made the store

    @classmethod
    def create(cls, path: str | os.PathLike[str] | None = None) -> Store:
        """Create a store (``localtrack init``): ``path`` is a project folder (default: here) that
        gets a ``.localtrack/``, or a ``.localtrack`` folder itself. An existing store is opened
        as is; ``.created`` says whether this call made it."""
        from localtrack.storage.layout import STORE_DIRNAME
        from localtrack.store.project import create_store, locate_store

        given = Path(path) if path is not None else None
        target = (given or Path.cwd()) / STORE_DIRNAME if (given is None or given.name != STORE_DIRNAME) else given
        folder = locate_store(target) or target
        existed = (folder / "FORMAT").is_file()
        layout = create_store(folder)
        store = cls(layout.root)
        store.created = not existed
        return store

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    @property
    def index(self) -> Index:
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
        if self._index is None:  # answered without DuckDB when it can be (None: ask the index)
            from localtrack.query import pysearch, search_columns

            table = pysearch.search(self.layout, filter=filter, order_by=order_by, limit=limit, project=project)
            if table is None:  # a big store: its listing and search columns, when current
                table = search_columns.search(self.layout, filter=filter, order_by=order_by, limit=limit,
                                              project=project)
            if table is not None:
                return table
        from localtrack.query.search import search

        table = search(self.index, filter=filter, order_by=order_by, limit=limit, project=project)
        from localtrack.query.search_columns import names_read

        self.index.sync_search_columns(names_read(filter, order_by))  # for the next search: no DuckDB
        return table

    def run(self, ref: str) -> RunInfo:
        """One run by id, unique id prefix, short id, unique name or ``@latest``."""
        from localtrack.query.search import run_info
        from localtrack.store.run_refs import check_ref

        return run_info(self.index, check_ref(ref))

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

    # ------------------------------------------------------------------ selecting and checking
    def select(self, *refs: str, pattern: str | None = None, filter: str | None = None,
               project: str | None = None, order_by: str | None = None) -> RunTable:
        """The runs named by ids, unique prefixes, short ids, names, ``@latest`` or globs
        (``"bert-*"``; also ``pattern=``), within ``filter`` if given (each named run must match it).

        In the order given (a glob's matches newest first); with only a filter, the filter's
        order. A reference that names no run, or a glob that matches none, raises RunNotFoundError.
        """
        from localtrack.query import store_manage

        return store_manage.select(self, refs, pattern=pattern, filter=filter, project=project, order_by=order_by)

    def resolve(self, ref: Any, *, include_trash: bool = False) -> RunRef:
        """The one run a reference names, read from its folder now (no index); ``include_trash``
        also looks in the trash. The write-side methods below accept the same references."""
        from localtrack.query import store_manage

        return store_manage.resolve(self.layout, ref, include_trash=include_trash)

    def verify(self) -> VerifyResult:
        """Re-hash every object and segment and check every manifest: a list of findings
        (``severity``, ``path``, ``message``), empty when all is well; ``.ok`` is False when
        anything is damaged. ``localtrack verify`` prints the same."""
        from localtrack.query import store_manage

        return store_manage.verify(self.layout)

    def gc(self, grace: float | int | str | None = None, dry_run: bool = True) -> GcReport:
        """Objects no run (or trashed run) references, and stale temp files: listed, and deleted
        unless ``dry_run``. Files younger than ``grace`` are kept (seconds, or ``"0"``, ``"30m"``,
        ``"2h"``, ``"7d"``; default one hour; 0 = now, only while no run is writing).
        Deleting while a manifest cannot be read raises GcBlockedError (``localtrack.GcBlockedError``) naming them in ``.problems``."""
        from localtrack.query import store_manage

        return store_manage.gc(self.layout, grace=grace, dry_run=dry_run)

    # ------------------------------------------------------------------ removing and editing runs
    def remove(self, run: Any, purge: bool = False, *, force: bool = False) -> RunRef:
        """Move a run to the trash (``restore`` brings it back), or with ``purge`` delete it for
        good (a trashed run too). A running run is refused (RunStateError) unless ``force``."""
        from localtrack.query import store_manage

        return store_manage.remove(self.layout, run, purge=purge, force=force)

    def restore(self, run: Any) -> RunRef:
        """Bring a trashed run (id, prefix, short id or name) back; returns it as now on disk."""
        from localtrack.query import store_manage

        return store_manage.restore(self.layout, run)

    def trash(self) -> list[TrashedRun]:
        """The runs in the trash (id, name, status, trashed_at...), most recently trashed first."""
        from localtrack.query import store_manage

        return store_manage.trash(self.layout)

    def find_trashed(self, run: Any) -> TrashedRun:
        """The run in the trash that a reference (id, prefix, short id or name) names."""
        from localtrack.query import store_manage

        return store_manage.find_trashed(self.layout, run)

    def change_tags(self, run: Any, add: Mapping[str, str] | Iterable[str] = (), remove: Iterable[str] = ()) -> RunRef:
        """Add tags (``{key: value}``, or ``"label"`` / ``"key=value"`` strings) and remove tags by
        key, in one locked manifest edit (safe while the run writes); returns the run after."""
        from localtrack.query import store_manage

        return store_manage.change_tags(self.layout, run, add=add, remove=remove)

    def set_note(self, run: Any, text: str, *, append: bool = False) -> RunRef:
        """Replace (or ``append`` a line to) a run's notes; returns the run after."""
        from localtrack.query import store_manage

        return store_manage.set_note(self.layout, run, text, append=append)

    def rename(self, run: Any, name: str) -> RunRef:
        """Give a run a new display name (its id and folder stay); returns the run after."""
        from localtrack.query import store_manage

        return store_manage.rename(self.layout, run, name)

    # ------------------------------------------------------------------ logging from separate calls
    def new_run(self, *, project: str | None = None, name: str | None = None, tags: Iterable[str] | None = None,
                params: Mapping[str, Any] | str | None = None) -> RunRef:
        """Create a run that separate short calls log to (``localtrack create``); finish it with
        :meth:`finish`. For a training loop in Python, ``localtrack.init()`` is the faster way."""
        from localtrack.query import store_manage

        return store_manage.new_run(self.layout, project=project, name=name, tags=tags, params=params)

    def log_params(self, run: Any, params: Mapping[str, Any] | str) -> RunRef:
        """Merge params (a dict, or a JSON object as text) into a running run's config."""
        from localtrack.query import store_manage

        return store_manage.log_params(self.layout, run, params)

    def log_metrics(self, run: Any, metrics: Mapping[str, Any] | str, step: int | None = None) -> LoggedSteps:
        """Log one step of metrics (``step`` None: the last step + 1); ``.last_step`` is the step used."""
        from localtrack.query import store_manage

        return store_manage.log_metrics(self.layout, run, metrics, step)

    def stream_metrics(self, run: Any, source: BinaryIO, *, flush_seconds: float = 2.0) -> LoggedSteps:
        """Log every JSON line of a binary stream (``{"step": 3, "loss": 0.1}``, step optional);
        the first bad line raises InvalidValueError naming it, after the lines before it are saved."""
        from localtrack.query import store_manage

        return store_manage.stream_metrics(self.layout, run, source, flush_seconds=flush_seconds)

    def finish(self, run: Any, status: str = "finished") -> RunRef:
        """End a run started with :meth:`new_run` (finished, failed or killed); returns it after."""
        from localtrack.query import store_manage

        return store_manage.finish(self.layout, run, status)

    # ------------------------------------------------------------------ artifacts
    def log_artifact(self, run: Any, path: str | os.PathLike[str], *, name: str | None = None,
                     type: str | None = None, description: str | None = None, follow_symlinks: bool = False,
                     progress: Any = None) -> ArtifactRef:
        """Store a file or folder with a run as the next version of artifact ``name`` (default:
        the file name); identical bytes are kept once. ``progress(n_bytes)`` is called as it hashes."""
        from localtrack.query import store_manage

        return store_manage.log_artifact(self.layout, run, path, name=name, type=type, description=description,
                                         follow_symlinks=follow_symlinks, progress=progress)

    def artifacts(self, run: Any = None, *, name: str | None = None, version: int | None = None,
                  type: str | None = None, latest: bool = False, skip_damaged: bool = True) -> ArtifactListing:
        """Artifact versions of one run (default: every run): ``.handles`` (each ``.download(dir)``),
        ``.run_names`` and ``.problems``. ``name`` picks one (latest unless ``version``);
        ``latest`` keeps the newest version per name."""
        from localtrack.query import store_manage

        return store_manage.artifacts(self.layout, run, name=name, version=version, type=type, latest=latest,
                                      skip_damaged=skip_damaged)

    def download_artifacts(self, artifacts: Sequence[ArtifactHandle] | ArtifactListing, to: str | os.PathLike[str] = ".",
                           *, overwrite: bool = False, progress: Any = None) -> list[Path]:
        """Restore artifacts (from :meth:`artifacts`) into folder ``to``; every target is checked
        before any is written (an existing file raises ArtifactError unless ``overwrite``)."""
        from localtrack.query import store_manage

        handles = artifacts.handles if isinstance(artifacts, store_manage.ArtifactListing) else artifacts
        return store_manage.download_artifacts(handles, to, overwrite=overwrite, progress=progress)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

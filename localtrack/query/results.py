"""What the read API hands back: :class:`RunTable` (many runs) and :class:`RunInfo` (one run).

A row of a RunTable is a plain dict with a stable shape (see docs/FILTERS.md, "Results")::

    id, name, project, group, parent, status, created_at, ended_at, duration,
    tags {key: str}, git_commit, git_branch, git_dirty, notes,
    params {"optim.lr": typed value}, metrics {key: {last, min, max, mean, count, step}},
    summary {"best_acc": typed value}   (values set with run.summary[k] = v)

``to_arrow()`` / ``to_pandas()`` / ``to_polars()`` give the same runs as one wide table in
MLflow's layout: the attribute columns, then ``params.<key>``, ``metrics.<key>`` (the latest
value), ``tags.<key>`` and ``summary.<key>`` columns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ATTRIBUTE_COLUMNS = (
    "id", "name", "project", "group", "parent", "status", "created_at", "ended_at", "duration",
    "git_commit", "git_branch", "git_dirty", "notes",
)
ROW_KEYS = (*ATTRIBUTE_COLUMNS[:9], "tags", *ATTRIBUTE_COLUMNS[9:], "params", "metrics", "summary")


class RunTable:
    """The runs a search returned, in order; convert with ``to_arrow`` / ``to_pandas`` / ``to_dicts``."""

    def __init__(self, rows: list[dict[str, Any]], problems: list[tuple[str, str]] | None = None) -> None:
        self._rows = rows
        self.problems = list(problems or [])

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._rows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self._rows[index]

    def __repr__(self) -> str:
        return f"<RunTable {len(self._rows)} runs>"

    @property
    def ids(self) -> list[str]:
        return [row["id"] for row in self._rows]

    def to_dicts(self) -> list[dict[str, Any]]:
        """The rows as nested dicts (a copy: changing it does not change the table)."""
        return [
            {**row, "tags": dict(row["tags"]), "params": dict(row["params"]),
             "metrics": {k: dict(v) for k, v in row["metrics"].items()}, "summary": dict(row.get("summary") or {})}
            for row in self._rows
        ]

    def wide_columns(self) -> list[str]:
        """Column names of the wide table: attributes, then params.*, metrics.*, tags.*, summary.*."""
        params = sorted({k for row in self._rows for k in row["params"]})
        metrics = sorted({k for row in self._rows for k in row["metrics"]})
        tags = sorted({k for row in self._rows for k in row["tags"]})
        summary = sorted({k for row in self._rows for k in row.get("summary") or {}})
        return [*ATTRIBUTE_COLUMNS, *(f"params.{k}" for k in params), *(f"metrics.{k}" for k in metrics),
                *(f"tags.{k}" for k in tags), *(f"summary.{k}" for k in summary)]

    def to_arrow(self) -> Any:
        """A pyarrow Table, one row per run, MLflow's wide layout (metrics.<k> = latest value)."""
        import pyarrow as pa

        columns: dict[str, Any] = {}
        for name in ATTRIBUTE_COLUMNS:
            values = [row.get(name) for row in self._rows]
            columns[name] = pa.array(values, type=_ATTRIBUTE_TYPES[name]())
        for column in self.wide_columns()[len(ATTRIBUTE_COLUMNS):]:
            kind, _, key = column.partition(".")
            if kind == "metrics":
                values = [(row["metrics"].get(key) or {}).get("last") for row in self._rows]
                columns[column] = pa.array(values, type=pa.float64())
            elif kind == "tags":
                columns[column] = pa.array([row["tags"].get(key) for row in self._rows], type=pa.string())
            elif kind == "summary":
                columns[column] = _param_array([(row.get("summary") or {}).get(key, _MISSING) for row in self._rows])
            else:
                columns[column] = _param_array([row["params"].get(key, _MISSING) for row in self._rows])
        return pa.table(columns)

    def to_pandas(self) -> Any:
        """A pandas DataFrame (needs pandas installed)."""
        _require("pandas")
        return self.to_arrow().to_pandas()

    def to_polars(self) -> Any:
        """A polars DataFrame (needs polars installed)."""
        _require("polars")
        import polars as pl

        return pl.from_arrow(self.to_arrow())


_MISSING = object()


def _require(module: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise ImportError(f"to_{module}() needs {module}: pip install {module} (or use to_arrow())")


def _ts() -> Any:
    import pyarrow as pa

    return pa.timestamp("us", tz="UTC")


def _str() -> Any:
    import pyarrow as pa

    return pa.string()


def _f64() -> Any:
    import pyarrow as pa

    return pa.float64()


def _bool() -> Any:
    import pyarrow as pa

    return pa.bool_()


_ATTRIBUTE_TYPES: dict[str, Callable[[], Any]] = {
    **{name: _str for name in ATTRIBUTE_COLUMNS},
    "created_at": _ts,
    "ended_at": _ts,
    "duration": _f64,
    "git_dirty": _bool,
}


def _param_array(values: list[Any]) -> Any:
    """One params.<key> column: int64 / float64 / bool when every value has that type, else str()."""
    import pyarrow as pa

    present = [v for v in values if v is not _MISSING and v is not None]
    clean = [None if v is _MISSING else v for v in values]
    if present and all(isinstance(v, bool) for v in present):
        return pa.array(clean, type=pa.bool_())
    if present and all(isinstance(v, int) and not isinstance(v, bool) and abs(v) < 2**63 for v in present):
        return pa.array(clean, type=pa.int64())
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return pa.array([None if v is None else float(v) for v in clean], type=pa.float64())
    from localtrack.query.flatten import python_str

    return pa.array([None if v is None else python_str(v) for v in clean], type=pa.string())


@dataclass
class RunInfo:
    """Everything about one run: its manifest's fields, status as derived now, and its metrics."""

    id: str
    name: str
    project: str | None
    group: str | None
    parent: str | None
    status: str
    created_at: datetime | None
    ended_at: datetime | None
    duration: float | None
    config: dict[str, Any]
    params: dict[str, Any]
    tags: dict[str, str]
    notes: str
    git: dict[str, Any] | None
    command: dict[str, Any] | None
    environment: dict[str, Any] | None
    summary: dict[str, dict[str, Any]]
    summary_values: dict[str, Any]
    artifacts: list[Any]
    children: list[str]
    error: Any
    writers: dict[str, Any]
    path: Path
    manifest: dict[str, Any] = field(repr=False)
    problems: list[str] = field(default_factory=list, repr=False)
    _metrics: Callable[[list[str] | None], Any] | None = field(default=None, repr=False, compare=False)
    alerts: list[dict[str, Any]] = field(default_factory=list)  # wandb.alert records

    def metrics(self, keys: list[str] | str | None = None) -> Any:
        """This run's metric points as an Arrow table: step, timestamp, key, value (by key, then step)."""
        if isinstance(keys, str):
            keys = [keys]
        assert self._metrics is not None
        return self._metrics(None if keys is None else list(keys))

    def artifact(self, name: str, version: int | None = None, type: str | None = None) -> Any:
        """One artifact of this run (latest version unless ``version``): ``.download(dir)``, ``.path()``."""
        from localtrack.storage.layout import StoreLayout
        from localtrack.store.artifacts import artifact_handle

        return artifact_handle(StoreLayout(self.path.parent.parent), self.id, name, version=version, type=type)

    # Edits write the manifest through the store's locked manifest edit (safe while the run is
    # writing), then update this object in place from what was written, and return it.
    def add_tag(self, key: str, value: str = "") -> RunInfo:
        """Set tag ``key`` (a label when ``value`` is ""); updates this object in place and returns it."""
        return self._edited(lambda layout: _manage().change_tags(layout, self.id, add={key: value}))

    def remove_tag(self, key: str) -> RunInfo:
        """Remove tag ``key`` (LocaltrackError if the run has none); updates this object in place and returns it."""
        return self._edited(lambda layout: _manage().change_tags(layout, self.id, remove=[key]))

    def set_note(self, text: str, append: bool = False) -> RunInfo:
        """Replace (or ``append`` a line to) the notes; updates this object in place and returns it."""
        return self._edited(lambda layout: _manage().set_note(layout, self.id, text, append=append))

    def rename(self, name: str) -> RunInfo:
        """Give the run a new display name (id and folder stay); updates this object in place and returns it."""
        return self._edited(lambda layout: _manage().rename(layout, self.id, name))

    def _edited(self, edit: Callable[[Any], Any]) -> RunInfo:
        from localtrack.storage.layout import StoreLayout

        after = edit(StoreLayout(self.path.parent.parent))
        self.manifest = after.manifest
        self.name, self.tags, self.notes = after.name, after.tags, after.notes
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain-data view (for ``--format json``)."""
        return {
            name: getattr(self, name)
            for name in (
                "id", "name", "project", "group", "parent", "status", "created_at", "ended_at", "duration",
                "config", "params", "tags", "notes", "git", "command", "environment", "summary",
                "summary_values", "artifacts", "children", "error", "writers", "alerts",
            )
        }


def _manage() -> Any:
    from localtrack.query import store_manage

    return store_manage

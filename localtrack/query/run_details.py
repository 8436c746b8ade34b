"""One run's :class:`RunInfo` from its manifest (read now) and its row: shared by the index's
answer (``search.run_info``) and the DuckDB-free one (``fastshow``), so both build it alike."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from localtrack.query.results import RunInfo
from localtrack.storage.manifest import decode_value, is_legacy_values
from localtrack.store.reader import RunRecord


class PointColumns:
    """A run's points as plain columns, shaped like the Arrow table ``RunInfo.metrics()``
    returns as far as ``select(...).to_pydict()`` goes: ``show`` draws its sparklines from
    them without importing pyarrow (and numpy with it), a third of a warm ``show``."""

    def __init__(self, columns: dict[str, list[Any]]) -> None:
        self.columns = columns

    def select(self, names: list[str]) -> PointColumns:
        return PointColumns({name: self.columns[name] for name in names})

    def to_pydict(self) -> dict[str, list[Any]]:
        return {name: list(values) for name, values in self.columns.items()}


def build_run_info(run_id: str, record: RunRecord, base: dict[str, Any], children: list[str], problems: list[str],
                   metrics: Callable[[list[str] | None], Any]) -> RunInfo:
    """``base``: the run's row as ``Store.runs()`` gives it (empty details when not indexed)."""
    params, tags, summary = base["params"], base["tags"], base["metrics"]
    m = record.manifest
    legacy = is_legacy_values(m)  # tagged non-finite floats (docs/FORMAT.md) back to floats
    config = decode_value(m.get("config"), legacy)
    summary_values = decode_value(m.get("summary_values"), legacy)
    return RunInfo(
        id=run_id, name=record.name, project=base.get("project"), group=base.get("group"),
        parent=base.get("parent"), status=base.get("status") or record.status,
        created_at=base.get("created_at"), ended_at=base.get("ended_at"), duration=base.get("duration"),
        config=config if isinstance(config, dict) else {}, params=params, tags=tags,
        notes=notes if isinstance(notes := m.get("notes"), str) else "",
        git=m.get("git") if isinstance(m.get("git"), dict) else None,
        command=m.get("command") if isinstance(m.get("command"), dict) else None,
        environment=m.get("environment") if isinstance(m.get("environment"), dict) else None,
        summary=summary,
        summary_values=summary_values if isinstance(summary_values, dict) else {},
        artifacts=artifacts if isinstance(artifacts := m.get("artifacts"), list) else [],
        children=children, error=m.get("error"),
        writers=writers if isinstance(writers := m.get("writers"), dict) else {},
        path=record.path, manifest=m, problems=problems, _metrics=metrics,
        alerts=_alerts(m.get("alerts")),
    )


def _alerts(raw: Any) -> list[dict[str, Any]]:
    """``wandb.alert`` records (title, text, level, at); anything malformed in a tampered manifest is skipped."""
    if not isinstance(raw, list):
        return []
    keep = ("title", "text", "level", "at")
    return [
        {k: item[k] for k in keep if isinstance(item.get(k), str)}
        for item in raw[:1000]
        if isinstance(item, dict) and isinstance(item.get("title"), str)
    ]

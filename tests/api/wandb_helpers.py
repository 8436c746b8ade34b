"""Read back what a run recorded, as a reader would (json and pyarrow only)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def manifest_of(run: Any) -> dict[str, Any]:
    """The run's manifest, read with json alone."""
    return json.loads((Path(run.dir) / "manifest.json").read_text(encoding="utf-8"))


def history(store_dir: Path, run_id: str) -> dict[int, dict[str, float]]:
    """step -> {key: value} of every point on disk (a later point of a key at a step wins)."""
    from localtrack.store.project import open_store
    from localtrack.store.reader import read_metrics

    rows: dict[int, dict[str, float]] = {}
    for row in read_metrics(open_store(store_dir), run_id).to_pylist():
        rows.setdefault(row["step"], {})[row["key"]] = row["value"]
    return dict(sorted(rows.items()))


def points(store_dir: Path, run_id: str) -> list[tuple[str, int, float]]:
    from localtrack.store.project import open_store
    from localtrack.store.reader import read_metrics

    return [(r["key"], r["step"], r["value"]) for r in read_metrics(open_store(store_dir), run_id).to_pylist()]

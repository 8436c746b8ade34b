"""Reading back what an integration wrote: the runs of a store, their points and artifacts."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from localtrack.store.project import open_store
from localtrack.store.reader import RunRecord, load_run, read_metrics

sys.path.insert(0, str(Path(__file__).resolve().parent))  # fake_frameworks.py, for the framework tests


class StoreView:
    """The finished runs of one store, read the way a user's script would read them."""

    def __init__(self, root: Path) -> None:
        self.layout = open_store(root)

    def runs(self) -> list[RunRecord]:
        runs_dir = self.layout.runs_dir
        ids = sorted(p.name for p in runs_dir.iterdir() if not p.name.startswith(".")) if runs_dir.is_dir() else []
        return [load_run(self.layout, run_id) for run_id in ids]

    def only_run(self) -> RunRecord:
        (run,) = self.runs()
        return run

    def series(self, run: RunRecord) -> dict[str, list[tuple[int, float]]]:
        table = read_metrics(self.layout, run.id).to_pylist()
        out: dict[str, list[tuple[int, float]]] = {}
        for row in table:
            out.setdefault(row["key"], []).append((row["step"], row["value"]))
        return out

    def object_file(self, record: dict[str, Any], filename: str) -> Path:
        """A file artifact's bytes, copied out of the object store under the name a framework expects."""
        assert record["kind"] == "file"
        target = self.layout.root.parent / "restored" / filename
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((self.layout.objects_dir / record["hash"][:2] / record["hash"]).read_bytes())
        return target

    @staticmethod
    def artifacts(run: RunRecord, type: str | None = None) -> list[dict[str, Any]]:
        return [a for a in run.manifest.get("artifacts") or [] if type is None or a.get("type") == type]


@pytest.fixture
def view(store_dir: Path) -> StoreView:
    return StoreView(store_dir)

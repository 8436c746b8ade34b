"""Where things live inside a store. The only module that joins user names into paths.

    .localtrack/
      FORMAT                  format version (one line: ``localtrack-store 1``)
      .gitignore              ignores index/, tmp/ and every *.tmp / .lock file
      runs/<run_id>/manifest.json
      runs/<run_id>/metrics/<writer>-<first>-<last>.parquet
      objects/<xx>/<xxh3-128 hex>   content-addressed blobs
      trash/<run_id>/         removed runs, restorable
      index/                  derived DuckDB cache, safe to delete
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from localtrack.names import validate_id

STORE_DIRNAME = ".localtrack"
FORMAT_FILENAME = "FORMAT"
FORMAT_VERSION = 1
FORMAT_MAGIC = "localtrack-store"
MANIFEST_FILENAME = "manifest.json"
METRICS_DIRNAME = "metrics"
LOCK_FILENAME = ".lock"

GITIGNORE_TEXT = """\
# Written by localtrack. Derived and temporary files never belong in git.
index/
tmp/
*.tmp
.lock
"""


@dataclass(frozen=True)
class StoreLayout:
    """Paths of one store, rooted at its ``.localtrack`` folder."""

    root: Path

    @property
    def format_file(self) -> Path:
        return self.root / FORMAT_FILENAME

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @property
    def objects_dir(self) -> Path:
        return self.root / "objects"

    @property
    def trash_dir(self) -> Path:
        return self.root / "trash"

    @property
    def index_dir(self) -> Path:
        return self.root / "index"

    @property
    def tmp_dir(self) -> Path:
        return self.root / "tmp"

    def run_dir(self, run_id: str) -> Path:
        return self.runs_dir / validate_id(run_id)

    def manifest_path(self, run_id: str) -> Path:
        return self.run_dir(run_id) / MANIFEST_FILENAME

    def metrics_dir(self, run_id: str) -> Path:
        return self.run_dir(run_id) / METRICS_DIRNAME

    def lock_path(self, run_id: str) -> Path:
        return self.run_dir(run_id) / LOCK_FILENAME

"""Where things live inside a store. The only module that joins user names into paths.

Every path it hands out has been checked for symbolic links (see storage/links.py).

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
from localtrack.storage.links import links_below, owned_path

STORE_DIRNAME = ".localtrack"
FORMAT_FILENAME = "FORMAT"
FORMAT_VERSION = 1
FORMAT_MAGIC = "localtrack-store"
MANIFEST_FILENAME = "manifest.json"
METRICS_DIRNAME = "metrics"
LOCK_FILENAME = ".lock"
RUNS_DIRNAME = "runs"
OBJECTS_DIRNAME = "objects"
TRASH_DIRNAME = "trash"
INDEX_DIRNAME = "index"
TMP_DIRNAME = "tmp"
CHECKOUTS_DIRNAME = "checkouts"
GITIGNORE_FILENAME = ".gitignore"
TOP_LEVEL_NAMES = (
    FORMAT_FILENAME, GITIGNORE_FILENAME, RUNS_DIRNAME, OBJECTS_DIRNAME, TRASH_DIRNAME, INDEX_DIRNAME, TMP_DIRNAME,
)

GITIGNORE_TEXT = """\
# Written by localtrack. Derived and temporary files never belong in git.
index/
tmp/
*.tmp
.lock
"""


@dataclass(frozen=True)
class StoreLayout:
    """Paths of one store, rooted at its ``.localtrack`` folder.

    Every accessor checks, with ``lstat`` from the root down, that no component it names is a
    symbolic link, and raises :class:`~localtrack.errors.StoreLinkError` naming the link: so
    every store operation refuses a planted link before it opens or creates anything.
    """

    root: Path

    @property
    def format_file(self) -> Path:
        return owned_path(self.root, FORMAT_FILENAME)

    @property
    def runs_dir(self) -> Path:
        return owned_path(self.root, RUNS_DIRNAME)

    @property
    def objects_dir(self) -> Path:
        return owned_path(self.root, OBJECTS_DIRNAME)

    @property
    def trash_dir(self) -> Path:
        return owned_path(self.root, TRASH_DIRNAME)

    @property
    def index_dir(self) -> Path:
        return owned_path(self.root, INDEX_DIRNAME)

    @property
    def tmp_dir(self) -> Path:
        """Scratch space, not checked here so a linked ``tmp/`` never blocks a read: its only
        users are DuckDB's spill folder (query/duck.py creates it with its own ``lstat`` checks
        and spills nowhere through a link) and :meth:`checkout_dir`, which checks."""
        return self.root / TMP_DIRNAME

    def run_dir(self, run_id: str) -> Path:
        return owned_path(self.root, RUNS_DIRNAME, validate_id(run_id))

    def manifest_path(self, run_id: str) -> Path:
        return owned_path(self.root, RUNS_DIRNAME, validate_id(run_id), MANIFEST_FILENAME)

    def metrics_dir(self, run_id: str) -> Path:
        return owned_path(self.root, RUNS_DIRNAME, validate_id(run_id), METRICS_DIRNAME)

    def lock_path(self, run_id: str) -> Path:
        return owned_path(self.root, RUNS_DIRNAME, validate_id(run_id), LOCK_FILENAME)

    def trash_run_dir(self, run_id: str) -> Path:
        return owned_path(self.root, TRASH_DIRNAME, validate_id(run_id))

    def checkout_dir(self, digest: str) -> Path:
        """Where a folder artifact is restored for ``path()`` (``digest`` already validated)."""
        return owned_path(self.root, TMP_DIRNAME, CHECKOUTS_DIRNAME, digest)

    def owned_links(self) -> list[Path]:
        """Every store-owned top-level folder or file that is a symbolic link (for ``verify``)."""
        return links_below(self.root, [(name,) for name in TOP_LEVEL_NAMES])

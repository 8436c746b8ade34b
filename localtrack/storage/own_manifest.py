"""Re-reading a manifest this writer wrote last, without validating it again.

A writer re-reads its run's manifest under the run lock before every write (another writer
of the run, or ``localtrack tag``, may have changed it). Usually nobody has: the file holds
exactly the bytes this writer wrote, which need neither the hostile-input checks of
:func:`~localtrack.storage.manifest.read_manifest` (duplicate keys, depth, path names) nor
its slow duplicate-refusing parse. Anything else, or any error, takes ``read_manifest``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from localtrack.storage.manifest import read_manifest


def reread_manifest(path: Path, last_written: bytes | None) -> dict[str, Any]:
    """The manifest at ``path``: parsed plainly if it is byte for byte ``last_written``."""
    if last_written is not None:
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with open(fd, "rb") as handle:
                data = handle.read(len(last_written) + 1)
        except OSError:
            data = None
        if data == last_written:
            manifest: dict[str, Any] = json.loads(data)
            return manifest
    return read_manifest(path)

"""Saving a framework object to a temporary file and keeping it as a run artifact."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localtrack.api.run import Run


def log_saved_file(
    run: Run, filename: str, save: Callable[[Path], Any], *, name: str = "model", type: str = "model",
    metadata: dict[str, Any] | None = None,
) -> Any:
    """Call ``save(path)`` into a private temporary folder and log the file as artifact ``name``.

    The bytes are copied into the store's content-addressed objects, so the folder can go.
    """
    with tempfile.TemporaryDirectory(prefix="localtrack-model-") as folder:
        path = Path(folder) / filename
        save(path)
        return run.log_artifact(path, name=name, type=type, metadata=metadata)

"""Where runs go: MLflow's tracking URI mapped onto a local localtrack store.

``file:`` URIs and plain paths name a folder that holds (or will hold) the ``.localtrack``
store. Server URIs (``http://``, ``databricks``, ``sqlite:``...) cannot be honoured locally:
they are ignored with one line on stderr and runs stay in the default store.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

from localtrack.errors import LocaltrackError

_configured: str | None = None  # the store folder given by set_tracking_uri / MLFLOW_TRACKING_URI
_warned: set[str] = set()


def _local_path(uri: str) -> str | None:
    """The folder a local tracking URI names, or None for a server URI."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return unquote(parsed.path)
    if parsed.scheme == "" or (len(parsed.scheme) == 1 and os.name == "nt"):
        return uri
    return None


def _warn_ignored(uri: str) -> None:
    if uri not in _warned:
        _warned.add(uri)
        sys.stderr.write(
            f"localtrack.mlflow: tracking URI {uri!r} is not local; ignored, runs are stored in the local store\n"
        )


def set_tracking_uri(uri: str | os.PathLike[str]) -> None:
    """Use the store in this folder (``file:`` URI or path); server URIs are ignored with a warning."""
    global _configured
    text = os.fspath(uri)
    path = _local_path(text)
    if path is None:
        _warn_ignored(text)
        return
    _configured = path


def store_dir() -> str | None:
    """The folder passed to ``localtrack.init(dir=...)``; None means localtrack's default lookup."""
    if _configured is not None:
        return _configured
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        path = _local_path(env)
        if path is None:
            _warn_ignored(env)
        return path
    return None


def get_tracking_uri() -> str:
    """The ``file:`` URI of the store runs go to (always local)."""
    from localtrack.store.project import open_store

    try:
        return open_store(store_dir()).root.as_uri()
    except LocaltrackError:  # no store yet: where the first run will create it
        base = Path(store_dir() or Path.cwd()).resolve()
        return base.as_uri()


def reset() -> None:
    """Forget the configured URI (tests)."""
    global _configured
    _configured = None

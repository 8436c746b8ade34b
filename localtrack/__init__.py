"""localtrack: a local-first, file-based ML experiment tracker.

    import localtrack
    run = localtrack.init(project="nlp", config={"lr": 3e-4})
    run.log({"train/loss": 0.31})
    run.finish()
"""

from __future__ import annotations

from typing import Any

from localtrack.api import finish, init, log
from localtrack.errors import (
    AmbiguousRunError,
    ArtifactError,
    ArtifactNotFoundError,
    CorruptRunError,
    InvalidNameError,
    InvalidValueError,
    InvalidValueTypeError,
    LocaltrackError,
    RunExistsError,
    RunNotFoundError,
    RunStateError,
    StoreFormatError,
    StoreNotFoundError,
    StoreReadOnlyError,
)
from localtrack.run import Run

__version__ = "0.1.0"

__all__ = [
    "AmbiguousRunError",
    "ArtifactError",
    "ArtifactNotFoundError",
    "CorruptRunError",
    "InvalidNameError",
    "InvalidValueError",
    "InvalidValueTypeError",
    "LocaltrackError",
    "Run",
    "RunExistsError",
    "RunNotFoundError",
    "RunStateError",
    "Store",
    "StoreFormatError",
    "StoreNotFoundError",
    "StoreReadOnlyError",
    "__version__",
    "config",
    "finish",
    "init",
    "log",
    "run",
    "summary",
]


def __getattr__(name: str) -> Any:
    """Lazy attributes: ``Store`` (pulls in duckdb) and wandb-style ``run``/``config``/``summary``."""
    if name == "Store":
        from localtrack.query.store import Store

        return Store
    if name in ("run", "config", "summary"):
        from localtrack import lifecycle

        current = lifecycle.current()
        if name == "run":
            return current
        return None if current is None else getattr(current, name)
    raise AttributeError(f"module 'localtrack' has no attribute {name!r}")

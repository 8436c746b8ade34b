"""localtrack: a local-first, file-based ML experiment tracker.

    import localtrack
    run = localtrack.init(project="nlp", config={"lr": 3e-4})
    run.log({"train/loss": 0.31})
    run.finish()

Attributes load on first use (PEP 562), so ``import localtrack`` costs almost nothing and
the CLI's ``--help`` does not pay for the write path.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_ERRORS = (
    "AmbiguousRunError", "ArtifactError", "ArtifactNotFoundError", "CorruptRunError", "FilterSyntaxError", "InvalidNameError",
    "InvalidValueError", "InvalidValueTypeError", "LocaltrackError", "RunExistsError", "RunNotFoundError",
    "RunStateError", "StoreFormatError", "StoreNotFoundError", "StoreReadOnlyError",
)
_LAZY = {
    **{name: "localtrack.errors" for name in _ERRORS},
    "init": "localtrack.api",
    "log": "localtrack.api",
    "finish": "localtrack.api",
    "Run": "localtrack.run_handle",
    "Store": "localtrack.query.store",
    "sweep": "localtrack.sweeps.api",
    "agent": "localtrack.sweeps.api",
}

__all__ = sorted([*_LAZY, "__version__", "config", "run", "summary"])


def __getattr__(name: str) -> Any:
    """Load public names lazily; ``run``/``config``/``summary`` follow the current run (wandb style)."""
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
        if name != "Store":
            globals()[name] = value
        return value
    if name in ("run", "config", "summary"):
        from localtrack import lifecycle

        current = lifecycle.current()
        if name == "run":
            return current
        return None if current is None else getattr(current, name)
    raise AttributeError(f"module 'localtrack' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__


"""The public run API: what a training script calls (``init``, ``log``, ``finish``) and holds (``Run``).

    session.py       init/log/finish and the module-level wandb-style functions; the current run
    run.py           ``Run``: the handle ``init`` returns (log, summary, artifacts, finish)
    fields.py        the mutable ``run.config`` / ``run.summary`` / ``run.tags`` views
    lifecycle.py     the registry of live runs, finished at exit or on SIGTERM
    active.py        which run ``localtrack.run`` / ``config`` / ``summary`` follow
    disabled.py      the run ``init(mode="disabled")`` returns: records nothing
    module_attrs.py  ``localtrack.config = {...}`` assignments, before and after ``init``
    overrides.py     ``reproduce --set`` values handed to the re-run's ``init`` (stdlib only)

Layer: above query/store/wandb_api, below repro, sweeps, integrations, mlflow and the CLI
(docs/ARCHITECTURE.md). Names load on first use (PEP 562), so importing a submodule such as
``localtrack.api.lifecycle`` does not load the write path.
"""

from __future__ import annotations

import importlib
from typing import Any

# What ``from localtrack.api import ...`` offered when this package was one module.
_SESSION_NAMES = (
    "AlertLevel", "Run", "Settings", "alert", "define_metric", "finish", "init", "join", "log", "log_artifact",
    "login", "mark_preempting", "setup", "teardown", "termerror", "termlog", "termwarn", "unwatch", "watch",
)

__all__ = list(_SESSION_NAMES)


def __getattr__(name: str) -> Any:
    """Load ``localtrack.api.session`` on first use of one of its public names."""
    if name in _SESSION_NAMES:
        value = getattr(importlib.import_module("localtrack.api.session"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'localtrack.api' has no attribute {name!r}")

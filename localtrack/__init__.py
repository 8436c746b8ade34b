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
import sys
import types
from typing import Any

__version__ = "0.1.0"

_ERRORS = (
    "AmbiguousRunError", "ArtifactError", "ArtifactNotFoundError", "CorruptRunError", "FilterSyntaxError", "InvalidNameError",
    "InvalidValueError", "InvalidValueTypeError", "LaunchError", "LocaltrackError", "ReproduceError", "RunExistsError",
    "RunNotFoundError", "RunStateError", "StoreFormatError", "StoreLinkError", "StoreNotFoundError", "StoreReadOnlyError",
    "InvalidArgumentError", "InvalidArgumentTypeError", "UnsupportedFeatureError", "GcBlockedError",
)
_WANDB_NAMES = (
    "define_metric", "alert", "watch", "unwatch", "join", "login", "Settings", "log_artifact", "mark_preempting",
    "AlertLevel", "termlog", "termwarn", "termerror", "setup", "teardown",
)
_PLACEHOLDERS = (
    "Image", "Table", "Histogram", "Audio", "Video", "Html", "Object3D", "Molecule", "Plotly", "Artifact", "Api",
    "Graph", "Bokeh", "use_artifact", "save", "log_code", "restore", "log_model", "use_model", "link_model",
)
_LAZY = {
    **{name: "localtrack.errors" for name in _ERRORS},
    "init": "localtrack.api.session",
    "log": "localtrack.api.session",
    "finish": "localtrack.api.session",
    **{name: "localtrack.api.session" for name in _WANDB_NAMES},
    "Run": "localtrack.api.run",
    "Store": "localtrack.query.store",
    "sweep": "localtrack.sweeps.api",
    "agent": "localtrack.sweeps.api",
    "exec_run": "localtrack.repro.public",
    "reproduce": "localtrack.repro.public",
    "ExecResult": "localtrack.repro.public",
    "Reproduction": "localtrack.repro.public",
    "ExportReport": "localtrack.query.export",
    "Report": "localtrack.query.report",
    "Comparison": "localtrack.query.compare",
    "MetricSeries": "localtrack.query.series",
}

# The public names, spelled out (tests/api/test_api_exports.py pins this list against _LAZY,
# _PLACEHOLDERS and the wandb-style attributes, so adding a name is a deliberate act).
__all__ = [
    "AlertLevel", "AmbiguousRunError", "Api", "Artifact", "ArtifactError", "ArtifactNotFoundError", "Audio", "Bokeh",
    "Comparison", "CorruptRunError", "ExecResult", "ExportReport", "FilterSyntaxError", "GcBlockedError", "Graph", "Histogram",
    "Html", "Image", "InvalidArgumentError", "InvalidArgumentTypeError", "InvalidNameError", "InvalidValueError",
    "InvalidValueTypeError", "LaunchError", "LocaltrackError", "MetricSeries", "Molecule", "Object3D", "Plotly",
    "Report", "ReproduceError", "Reproduction", "Run", "RunExistsError", "RunNotFoundError", "RunStateError",
    "Settings", "Store", "StoreFormatError", "StoreLinkError", "StoreNotFoundError", "StoreReadOnlyError", "Table",
    "UnsupportedFeatureError", "Video", "__version__", "agent", "alert", "config", "define_metric", "exec_run",
    "finish", "init", "join", "link_model", "log", "log_artifact", "log_code", "log_model", "login",
    "mark_preempting", "reproduce", "restore", "run", "save", "setup", "summary", "sweep",
    "teardown", "termerror", "termlog", "termwarn", "unwatch", "use_artifact", "use_model", "watch",
]


def __getattr__(name: str) -> Any:
    """Load public names lazily; ``run``/``config``/``summary`` follow the current run (wandb style)."""
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
        if name != "Store":
            globals()[name] = value
        return value
    if name in ("run", "config", "summary"):
        from localtrack.api import active

        current = active.current()
        if name == "run":
            return current
        return None if current is None else getattr(current, name)
    if name in _PLACEHOLDERS:
        from localtrack.wandb_api.unsupported import PLACEHOLDERS

        return PLACEHOLDERS[name]
    raise AttributeError(f"module 'localtrack' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__


class _LocaltrackModule(types.ModuleType):
    """``localtrack.config = {...}`` (wandb scripts do it) updates the current run's config
    instead of replacing the lazy attribute; see localtrack/api/module_attrs.py."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("config", "summary", "run"):
            from localtrack.api.module_attrs import assign

            assign(name, value)
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _LocaltrackModule


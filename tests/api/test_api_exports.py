"""The public surface is a literal list (httpx's test_exported_members is the model)."""

from __future__ import annotations

import localtrack
import localtrack.errors

EXPORTED = [
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


def test_exported_members() -> None:
    assert localtrack.__all__ == EXPORTED
    assert sorted(EXPORTED) == EXPORTED
    lazy = set(localtrack._LAZY) | set(localtrack._PLACEHOLDERS) | {"__version__", "run", "config", "summary"}
    assert set(EXPORTED) == lazy, "every lazily loaded name is public, and nothing else is"
    for name in EXPORTED:
        if name in ("run", "config", "summary"):
            continue  # None while no run is active (wandb's module attributes)
        assert getattr(localtrack, name) is not None, name


def test_every_error_class_is_exported() -> None:
    errors = {
        name for name, value in vars(localtrack.errors).items()
        if isinstance(value, type) and issubclass(value, localtrack.errors.LocaltrackError)
    }
    assert errors <= set(localtrack.__all__), sorted(errors - set(localtrack.__all__))

"""wandb names whose local version comes with the "media and artifacts" feature.

They exist, so ``wandb.Image`` in a script is not an AttributeError at import or in an
``isinstance`` check, and fail with one clear line when used.
"""

from __future__ import annotations

from typing import Any, NoReturn

from localtrack.errors import UnsupportedFeatureError

FEATURE = "the coming 'media and artifacts' feature"

MEDIA_CLASSES = (
    "Image", "Table", "Histogram", "Audio", "Video", "Html", "Object3D", "Molecule", "Plotly", "Artifact", "Api",
    "Graph", "Bokeh",
)
FUNCTIONS = ("use_artifact", "save", "log_code", "restore", "log_model", "use_model", "link_model")


def refuse(name: str) -> NoReturn:
    raise UnsupportedFeatureError(
        f"wandb.{name} is not supported by localtrack yet: it comes with {FEATURE}. "
        "Log numbers with log(), keep files with run.log_artifact(path)"
    )


def _media_class(name: str) -> type:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        refuse(name)

    return type(name, (), {"__init__": __init__, "__doc__": f"Placeholder for wandb.{name} ({FEATURE})."})


def _function(name: str) -> Any:
    def placeholder(*args: Any, **kwargs: Any) -> NoReturn:
        refuse(name)

    placeholder.__name__ = placeholder.__qualname__ = name
    placeholder.__doc__ = f"Placeholder for wandb.{name} ({FEATURE})."
    return placeholder


PLACEHOLDERS: dict[str, Any] = {
    **{name: _media_class(name) for name in MEDIA_CLASSES},
    **{name: _function(name) for name in FUNCTIONS},
}

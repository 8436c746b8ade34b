"""``wandb.Settings`` and ``wandb.login``: accepted so scripts run; nothing needs a server.

Only ``mode`` and ``reinit`` mean something locally (read by ``init``); every other setting
is kept on the object and ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class Settings:
    """wandb.Settings(...): any keyword accepted and readable back as an attribute."""

    def __init__(self, **kwargs: Any) -> None:
        self.__dict__.update(kwargs)

    def update(self, other: Any = None, **kwargs: Any) -> None:
        if isinstance(other, Mapping):
            self.__dict__.update(other)
        self.__dict__.update(kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return None

    def __repr__(self) -> str:
        return f"Settings({', '.join(f'{k}={v!r}' for k, v in self.__dict__.items())})"


def setting_of(settings: Any, name: str) -> Any:
    """One setting from ``init(settings=...)`` (a Settings, a dict, or None)."""
    if settings is None:
        return None
    if isinstance(settings, Mapping):
        return settings.get(name)
    return getattr(settings, name, None)


def login(*args: Any, **kwargs: Any) -> bool:
    """Nothing to log in to: runs are local. Returns True, as wandb does on success."""
    return True

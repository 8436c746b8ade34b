"""The interpreter, platform and ML library versions a run executed with.

Everything but the pid is fixed for the life of a process, so it is computed once;
the pid is read on every call because a forked worker (DataLoader, DDP launcher) shares
the parent's cache but not its pid.
"""

from __future__ import annotations

import os
import platform
import sys
from typing import Any

from localtrack.capture.packages import _packages, normalize_name

__all__ = ["ML_PACKAGES", "capture_environment"]

ML_PACKAGES: tuple[str, ...] = (
    "accelerate",
    "datasets",
    "jax",
    "jaxlib",
    "keras",
    "lightning",
    "localtrack",
    "numpy",
    "pandas",
    "pyarrow",
    "pytorch-lightning",
    "scikit-learn",
    "scipy",
    "tensorflow",
    "torch",
    "transformers",
    "xgboost",
)
"""Packages whose versions are recorded in every run (the full list goes to ``freeze_text``)."""

_static: dict[str, Any] | None = None


def _ml_versions() -> dict[str, str]:
    installed = _packages()
    found = {name: installed[name] for name in ML_PACKAGES if name in installed}
    if "localtrack" not in found:
        # Run from a checkout (PYTHONPATH) there is no dist-info; ask the loaded module
        # without importing anything.
        module = sys.modules.get("localtrack")
        version = getattr(module, "__version__", None)
        if isinstance(version, str):
            found["localtrack"] = version
    return {normalize_name(k): v for k, v in sorted(found.items())}


def _compute_static() -> dict[str, Any]:
    try:
        host = platform.node() or None  # socket.gethostname(), without importing socket on POSIX
    except OSError:
        host = None
    return {
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "host": host,
        "packages": _ml_versions(),
    }


def capture_environment() -> dict[str, Any]:
    """``{"python", "implementation", "platform", "machine", "host", "pid", "packages"}``.

    ``packages`` maps normalized names from ``ML_PACKAGES`` to versions, for those installed.
    """
    global _static
    if _static is None:
        _static = _compute_static()
    env = dict(_static)
    env["packages"] = dict(_static["packages"])
    env["pid"] = os.getpid()
    return env


def _clear_cache() -> None:
    """Forget the static part (for tests)."""
    global _static
    _static = None

"""Warnings when the interpreter or packages differ from what a run recorded.

A reproduction that differs is only interesting together with what changed around it:
a new numpy explains a drift in the fifth decimal, a new commit does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_LISTED = 12


def _versions(env: Mapping[str, Any] | None) -> dict[str, str]:
    packages = (env or {}).get("packages")
    if not isinstance(packages, Mapping):
        return {}
    return {str(k).lower(): str(v) for k, v in packages.items()}


def package_changes(recorded: Mapping[str, str], current: Mapping[str, str]) -> list[str]:
    """``name old -> new`` for each package whose version changed, appeared or went away."""
    changes = []
    for name in sorted(set(recorded) | set(current)):
        old, new = recorded.get(name), current.get(name)
        if old != new:
            changes.append(f"{name} {old or '(absent)'} -> {new or '(absent)'}")
    return changes


def environment_warnings(
    recorded: Mapping[str, Any] | None,
    current: Mapping[str, Any] | None,
    recorded_packages: Mapping[str, str] | None = None,
    current_packages: Mapping[str, str] | None = None,
) -> list[str]:
    """Human sentences naming what differs; empty when nothing does (or nothing was recorded).

    ``*_packages`` are full package lists (``pip freeze``); without them the ML packages
    recorded in the manifest's ``environment.packages`` are compared.
    """
    if not recorded:
        return ["the run recorded no environment (python, packages): cannot check for version drift"]
    warnings = []
    old_py, new_py = (recorded or {}).get("python"), (current or {}).get("python")
    if old_py and new_py and old_py != new_py:
        warnings.append(f"python {old_py} was recorded, {new_py} is used now")
    old_platform, new_platform = recorded.get("platform"), (current or {}).get("platform")
    if old_platform and new_platform and old_platform != new_platform:
        warnings.append(f"platform differs: recorded {old_platform}, now {new_platform}")
    if recorded_packages is not None and current_packages is not None:
        changes = package_changes(recorded_packages, current_packages)
    else:
        changes = package_changes(_versions(recorded), _versions(current))
    changes = [c for c in changes if not c.startswith("localtrack ")]
    if changes:
        shown = ", ".join(changes[:MAX_LISTED])
        more = f" and {len(changes) - MAX_LISTED} more" if len(changes) > MAX_LISTED else ""
        warnings.append(f"{len(changes)} package version(s) differ from the recording: {shown}{more}")
    return warnings

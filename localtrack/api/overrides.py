"""``reproduce --set a.b=v``: which config value a dotted key names, and setting it there.

A config can hold ``{"opt": {"lr": 0.1}}`` (nested, shown as ``opt.lr``) or ``{"opt.lr": 0.1}``
(a flat key with a dot, as ``--opt.lr`` on a command line gives). ``--set opt.lr=0.2`` must
change the value the script reads, never add a flat ``opt.lr`` beside the nested one, so the
key is resolved against the original run's recorded config into a path of keys, and the path
travels to the re-run script's ``init()`` in ``LOCALTRACK_RUN_OVERRIDES``.

Standard library only: ``init()`` imports this when that variable is set.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from localtrack.errors import InvalidValueError

Path = tuple[str, ...]


def _matches(config: Mapping[str, Any], key: str) -> list[Path]:
    """Every path of keys through ``config`` whose dotted spelling is ``key``."""
    found: list[Path] = []
    if key in config:
        found.append((key,))
    for name, value in config.items():
        if isinstance(name, str) and isinstance(value, Mapping) and key.startswith(name + "."):
            found.extend((name, *rest) for rest in _matches(value, key[len(name) + 1 :]))
    return found


def resolve_path(config: Mapping[str, Any], key: str) -> Path:
    """The config path ``--set key=...`` overrides, given the run's recorded ``config``.

    An existing value wins (flat ``"a.b"`` or nested ``a`` -> ``b``; both at once is refused as
    ambiguous). A new dotted key goes under the deepest existing group it names (``opt.wd``
    next to ``opt.lr``), or is nested from the top. A key that would pass through a value that
    is not a group (``opt.lr`` when ``opt`` is ``"adam"``) is refused.
    """
    found = _matches(config, key)
    if len(found) > 1:
        spelled = " and ".join(_spell(p) for p in found)
        raise InvalidValueError(f"--set {key}: the recorded config has it twice ({spelled}); it is ambiguous", key)
    if found:
        return found[0]
    parts = key.split(".")
    if len(parts) == 1 or any(not p for p in parts):
        return (key,)
    path: list[str] = []
    node: Any = config
    while parts:
        head = parts[0]
        if isinstance(node, Mapping) and isinstance(node.get(head), Mapping):
            path.append(head)
            node = node[head]
            parts.pop(0)
            continue
        if isinstance(node, Mapping) and head in node:
            raise InvalidValueError(
                f"--set {key}: in the recorded config {_spell((*path, head))} is {json.dumps(node[head])[:60]}, "
                "not a group of settings; set it whole, e.g. --set "
                f"{'.'.join((*path, head))}=...",
                key,
            )
        break
    return (*path, *parts)


def _spell(path: Path) -> str:
    return "config" + "".join(f"[{json.dumps(p)}]" for p in path)


def spell(path: Path) -> str:
    """``config["opt"]["lr"]``: where an override lands, for messages and ``--dry-run``."""
    return _spell(path)


def apply(config: dict[str, Any], overrides: list[tuple[Path, Any]]) -> dict[str, Any]:
    """``config`` with each ``(path, value)`` set, groups created as needed (a copy)."""
    out = dict(config)
    for path, value in overrides:
        node = out
        for depth, name in enumerate(path[:-1]):
            child = node.get(name)
            if child is None:
                child = {}
            elif not isinstance(child, Mapping):
                raise InvalidValueError(
                    f"reproduce --set {'.'.join(path)}: the script's config has {_spell(path[: depth + 1])} = "
                    f"{json.dumps(child)[:60]}, not a group of settings",
                    ".".join(path),
                )
            node[name] = child = dict(child)
            node = child
        node[path[-1]] = value
    return out


def encode(overrides: list[tuple[Path, Any]]) -> str:
    """The ``LOCALTRACK_RUN_OVERRIDES`` value: a JSON list of ``[[key, ...], value]`` pairs."""
    return json.dumps([[list(path), value] for path, value in overrides], sort_keys=True)


def decode(text: str, name: str) -> list[tuple[Path, Any]]:
    """Read ``LOCALTRACK_RUN_OVERRIDES``; a JSON object (flat keys) is read too."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidValueError(f"{name} is not valid JSON: {text[:80]!r}", text) from None
    if isinstance(value, dict):
        return [((str(k),), v) for k, v in value.items()]
    if isinstance(value, list):
        out: list[tuple[Path, Any]] = []
        for item in value:
            if (
                isinstance(item, list) and len(item) == 2 and isinstance(item[0], list) and item[0]
                and all(isinstance(p, str) for p in item[0])
            ):
                out.append((tuple(item[0]), item[1]))
            else:
                raise InvalidValueError(f"{name}: each entry is [[key, ...], value], got {json.dumps(item)[:80]}", text)
        return out
    raise InvalidValueError(f"{name} must be a JSON list of [[key, ...], value] pairs", text)

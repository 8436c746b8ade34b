"""What ``init(config=...)`` and ``config.update(...)`` accept, turned into a plain dict.

As wandb: a mapping, an argparse ``Namespace``, a ``SimpleNamespace``, a dataclass or any
object with ``__dict__``; also objects with ``to_dict()`` (OmegaConf-like containers,
HF ``TrainingArguments``). ``include``/``exclude`` are wandb's config_include_keys /
config_exclude_keys.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from localtrack.errors import InvalidArgumentError, InvalidValueTypeError


def config_dict(
    params: Any, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None
) -> dict[Any, Any]:
    """``params`` as a dict of top-level keys, filtered like wandb's ``parse_config``."""
    if include is not None and exclude is not None:
        raise InvalidArgumentError("pass config_include_keys or config_exclude_keys, not both")
    items = _as_mapping(params)
    if include is not None:
        wanted = set(include)
        items = {k: v for k, v in items.items() if k in wanted}
    if exclude is not None:
        unwanted = set(exclude)
        items = {k: v for k, v in items.items() if k not in unwanted}
    return items


def _as_mapping(params: Any) -> dict[Any, Any]:
    if params is None:
        return {}
    if isinstance(params, Mapping):
        return dict(params.items())
    if isinstance(params, str):
        raise InvalidValueTypeError(
            f"config={params[:60]!r}: config files by path are not supported; load the file and pass a dict",
            params,
        )
    to_dict = getattr(params, "to_dict", None)
    if callable(to_dict):
        result = to_dict()
        if isinstance(result, Mapping):
            return dict(result.items())
    if dataclasses.is_dataclass(params) and not isinstance(params, type):
        return {f.name: getattr(params, f.name) for f in dataclasses.fields(params)}
    try:
        return dict(vars(params))
    except TypeError:
        pass
    if isinstance(params, Iterable):  # a list of (key, value) pairs, as dict.update takes
        return dict(params)
    raise InvalidValueTypeError(
        f"config of type {type(params).__name__} cannot be read: pass a dict, an argparse Namespace, "
        "a dataclass or an object with __dict__",
        params,
    )

"""The mutable views a training script holds on its run: ``config``, ``summary``, ``tags``.

Each change is validated at once (a bad key or value raises where it was written) and queued
as a patch that the writer applies to the shared manifest under the run lock, so several
writers of one run never lose each other's changes.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from localtrack.errors import InvalidValueError, InvalidValueTypeError
from localtrack.names import validate_key, validate_keys, validate_tag_value
from localtrack.storage.manifest import MAX_DEPTH, decode_float, encode_float

if TYPE_CHECKING:
    from localtrack.store.writer import RunWriter

MAX_STRING = 1_000_000


def clean_text(value: str, what: str) -> str:
    """``value`` if it can be written as UTF-8; a lone surrogate would break the manifest write later."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidValueError(
            f"{what}: the string holds a lone surrogate (U+{ord(value[exc.start]):04X}) at position {exc.start} "
            "and cannot be stored as UTF-8",
            value,
        ) from None
    return value


def clean_config_value(key: str, value: Any, depth: int = 0) -> Any:
    """A JSON-safe copy of a config value, or an error naming ``key``."""
    if depth > MAX_DEPTH:
        raise InvalidValueError(f"config {key!r}: nested deeper than {MAX_DEPTH} levels", key)
    if value is None or isinstance(value, bool):
        return value
    if type(value) is int or type(value) is float:
        return encode_float(value) if type(value) is float else value
    if isinstance(value, str):
        if len(value) > MAX_STRING:
            raise InvalidValueError(f"config {key!r}: string of {len(value)} characters is too long", key)
        return clean_text(value, f"config {key!r}")
    if isinstance(value, Mapping):
        names = validate_keys(value, "config key")
        return {n: clean_config_value(f"{key}.{k}", v, depth + 1) for n, (k, v) in zip(names, value.items(), strict=True)}
    if isinstance(value, (list, tuple)):
        return [clean_config_value(key, v, depth + 1) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, float):
        return encode_float(float(value))
    if isinstance(value, int):
        return int(value)
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return clean_config_value(key, item(), depth + 1)
        except (ValueError, RuntimeError, TypeError):
            pass
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return clean_config_value(key, tolist(), depth + 1)
    raise InvalidValueTypeError(
        f"config {key!r}: values of type {type(value).__name__} cannot be stored; use numbers, "
        "strings, booleans, lists or dicts",
        value,
    )


class Config(MutableMapping[str, Any]):
    """``run.config``: a dict that also allows ``run.config.lr``; changes reach the manifest."""

    def __init__(self, writer: RunWriter | None, initial: Mapping[str, Any] | None = None) -> None:
        object.__setattr__(self, "_writer", writer)
        object.__setattr__(self, "_data", dict(initial or {}))

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __delitem__(self, key: str) -> None:
        del self._data[key]
        if self._writer is not None:
            self._writer.patch_manifest(lambda m: m.setdefault("config", {}).pop(key, None))

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __getattr__(self, key: str) -> Any:
        try:
            return self._data[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __repr__(self) -> str:
        return f"Config({self._data!r})"

    def update(self, other: Any = (), /, allow_val_change: bool | None = None, **kwargs: Any) -> None:  # type: ignore[override]
        """Merge keys into the config (``allow_val_change`` accepted for wandb scripts)."""
        items = dict(other.items() if isinstance(other, Mapping) else (other or ()))
        items.update(kwargs)
        names = validate_keys(items, "config key")
        clean = {n: clean_config_value(str(k), v) for n, (k, v) in zip(names, items.items(), strict=True)}
        self._data.update(clean)
        if self._writer is not None and clean:
            self._writer.patch_manifest(lambda m: m.setdefault("config", {}).update(clean))

    def as_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(self._data))


class Summary(MutableMapping[str, Any]):
    """``run.summary``: values you set, over the latest value of every logged metric."""

    def __init__(self, writer: RunWriter, initial: Mapping[str, Any] | None = None) -> None:
        self._writer = writer
        self._values: dict[str, Any] = dict(initial or {})

    def _metric_lasts(self) -> dict[str, Any]:
        self._writer.seal()
        return {k: s.get("last") for k, s in self._writer.summary_snapshot().items()}

    def __getitem__(self, key: str) -> Any:
        if key in self._values:
            return _decode(self._values[key])
        return self._metric_lasts()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __delitem__(self, key: str) -> None:
        del self._values[key]
        self._writer.patch_manifest(lambda m: m.setdefault("summary_values", {}).pop(key, None))

    def __iter__(self) -> Iterator[str]:
        return iter({**self._metric_lasts(), **self._values})

    def __len__(self) -> int:
        return len({**self._metric_lasts(), **self._values})

    def update(self, other: Any = (), /, **kwargs: Any) -> None:  # type: ignore[override]
        items = dict(other.items() if isinstance(other, Mapping) else (other or ()))
        items.update(kwargs)
        names = validate_keys(items, "summary key")
        clean = {n: clean_config_value(str(k), v) for n, (k, v) in zip(names, items.items(), strict=True)}
        self._values.update(clean)
        self._writer.patch_manifest(lambda m: m.setdefault("summary_values", {}).update(clean))


def _decode(value: Any) -> Any:
    if isinstance(value, str):
        number = decode_float(value)
        if number is not None and not math.isfinite(number):
            return number
    return value


def clean_tags(tags: Any) -> dict[str, str]:
    """Tags as given (a list of labels or a dict of key -> value) as the stored dict."""
    if tags is None:
        return {}
    if isinstance(tags, str):
        tags = [tags]
    if isinstance(tags, Mapping):
        return {n: validate_tag_value(v) for n, v in zip(validate_keys(tags, "tag"), tags.values(), strict=True)}
    if isinstance(tags, Iterable):
        return {validate_key(t, "tag"): "" for t in tags}
    raise InvalidValueTypeError(f"tags must be a list of labels or a dict, got {type(tags).__name__}", tags)


class Tags(MutableMapping[str, str]):
    """``run.tags``: labels (value ``""``) and key/value tags, as one mapping."""

    def __init__(self, writer: RunWriter, initial: Mapping[str, str] | None = None) -> None:
        self._writer = writer
        self._data: dict[str, str] = dict(initial or {})

    def __getitem__(self, key: str) -> str:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __delitem__(self, key: str) -> None:
        del self._data[key]
        self._writer.patch_manifest(lambda m: m.setdefault("tags", {}).pop(key, None))

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"Tags({self._data!r})"

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def update(self, other: Any = (), /, **kwargs: Any) -> None:  # type: ignore[override]
        clean = clean_tags(other)
        clean.update(clean_tags(kwargs))
        self._data.update(clean)
        self._writer.patch_manifest(lambda m: m.setdefault("tags", {}).update(clean))

    def add(self, *labels: str) -> None:
        """Add labels (wandb-style tags)."""
        self.update(list(labels))

    def append(self, label: str) -> None:
        self.add(label)

"""Config and summary values: validated and encoded the moment they are set.

A value is refused here, with its key named, if a reader could not take it back: integers
beyond int64, strings or values past the limits of ``localtrack.store.limits``, lone surrogates.
Non-finite floats get the tagged encoding of docs/FORMAT.md (``{"$float": "NaN"}``), so a
string ``"NaN"`` stays a string. Dotted-name clashes (``{"opt": {"lr": 1}, "opt.lr": 2}``)
are refused: both spell the parameter ``opt.lr`` in queries and ``reproduce --set``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

from localtrack.errors import InvalidValueError, InvalidValueTypeError
from localtrack.names import validate_key, validate_keys, validate_tag_value
from localtrack.storage.manifest import FLOAT_TAG, MAX_DEPTH, encode_value_float
from localtrack.store.limits import MAX_CONFIG_VALUE_BYTES, MAX_JSON_INT

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


def _clean_int(key: str, value: int) -> int:
    if -MAX_JSON_INT - 1 <= value <= MAX_JSON_INT:
        return value
    digits = int(value.bit_length() * 0.30103) + 1  # str() of a huge int may itself raise
    raise InvalidValueError(
        f"config {key!r}: the integer has about {digits} digits; config integers must fit in 64 bits "
        f"(|x| <= 2**63-1). Store it as a string (str(x)) or a float",
        key,
    )


def _key_text(key: Any) -> Any:
    """An int key of a nested config dict (numpy ints too) as its string, as wandb stores it."""
    if isinstance(key, (str, bool)):
        return key
    if isinstance(key, int):
        return str(int(key))
    item = getattr(key, "item", None)
    if callable(item):
        try:
            scalar = item()
        except (ValueError, TypeError, RuntimeError):
            return key
        if type(scalar) is int:
            return str(scalar)
    return key


def clean_config_value(key: str, value: Any, depth: int = 0) -> Any:
    """A JSON-safe, encoded copy of a config value, or an error naming ``key``."""
    if depth > MAX_DEPTH:
        raise InvalidValueError(f"config {key!r}: nested deeper than {MAX_DEPTH} levels", key)
    if value is None or isinstance(value, bool):
        return value
    if type(value) is float:
        return encode_value_float(value)
    if type(value) is int:
        return _clean_int(key, value)
    if isinstance(value, str):
        if len(value) > MAX_STRING:
            raise InvalidValueError(
                f"config {key!r}: string of {len(value)} characters is over the limit of {MAX_STRING}", key
            )
        return clean_text(value, f"config {key!r}")
    if isinstance(value, Mapping):
        value = {_key_text(k): v for k, v in value.items()}
        names = validate_keys(value, "config key")
        if FLOAT_TAG in names:
            raise InvalidValueError(f"config {key!r}: the key {FLOAT_TAG!r} is reserved by localtrack's encoding", key)
        return {n: clean_config_value(f"{key}.{n}", v, depth + 1) for n, v in zip(names, value.values(), strict=True)}
    if isinstance(value, (list, tuple)):
        return [clean_config_value(key, v, depth + 1) for v in value]
    if isinstance(value, os.PathLike):
        return clean_config_value(key, os.fspath(value), depth)
    if isinstance(value, float):
        return encode_value_float(float(value))
    if isinstance(value, int):
        return _clean_int(key, int(value))
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


def encoded_size(value: Any) -> int:
    """Bytes ``value`` (already cleaned) takes in the manifest, near enough to budget with."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass"))


def check_value_size(what: str, key: str, size: int) -> None:
    if size > MAX_CONFIG_VALUE_BYTES:
        raise InvalidValueError(
            f"{what} {key!r}: the value is {size:,} bytes as JSON, over the limit of "
            f"{MAX_CONFIG_VALUE_BYTES:,} bytes per key; keep large data as an artifact (run.log_artifact)",
            key,
        )


def dotted_names(key: str, value: Any, depth: int = 0) -> list[str]:
    """Every name ``key`` and its nested keys take once flattened with dots (inner nodes too)."""
    names = [key]
    if isinstance(value, dict) and depth < MAX_DEPTH:
        for sub, inner in value.items():
            names.extend(dotted_names(f"{key}.{sub}", inner, depth + 1))
    return names


class DottedNames:
    """Which top-level key owns each dotted name of a config, to refuse two spellings of one."""

    def __init__(self) -> None:
        self._owner: dict[str, str] = {}
        self._names: dict[str, list[str]] = {}

    def apply(self, items: Mapping[str, Any]) -> None:
        """Take ``items`` (top-level key -> cleaned value) in, or raise naming the clash and change nothing."""
        owner = dict(self._owner)
        names_of = dict(self._names)
        for key, value in items.items():
            for old in names_of.pop(key, []):
                if owner.get(old) == key:
                    del owner[old]
            names = dotted_names(key, value)
            for name in names:
                other = owner.get(name)
                if other is not None and other != key:
                    raise InvalidValueError(
                        f"config {key!r}: clashes with config {other!r}, both name the parameter {name!r}; "
                        "use either a nested dict or a dotted key, not both",
                        key,
                    )
            names_of[key] = names
            for name in names:
                owner[name] = key
        self._owner, self._names = owner, names_of

    def remove(self, key: str) -> None:
        for old in self._names.pop(key, []):
            if self._owner.get(old) == key:
                del self._owner[old]


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

"""The mutable views a training script holds on its run: ``config``, ``summary``, ``tags``.

Each change is validated at once (a bad key or value raises where it was written) and queued
as a patch that the writer applies to the shared manifest under the run lock, so several
writers of one run never lose each other's changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from localtrack.errors import InvalidValueError
from localtrack.names import validate_keys
from localtrack.storage.manifest import decode_value
from localtrack.store.config_values import (
    MAX_STRING,
    DottedNames,
    check_value_size,
    clean_config_value,
    clean_tags,
    encoded_size,
)
from localtrack.store.limits import MAX_CONFIG_BYTES, MAX_SUMMARY_VALUES_BYTES
from localtrack.wandb_api.config_source import config_dict

if TYPE_CHECKING:
    from localtrack.store.writer import RunWriter

__all__ = ["MAX_STRING", "Config", "Summary", "Tags"]

class _SizedValues:
    """Cleaned values by key, with the byte budget of the manifest field they go to."""

    def __init__(self, what: str, limit: int, initial: Mapping[str, Any]) -> None:
        self.what, self.limit = what, limit
        self.data: dict[str, Any] = dict(initial)
        self.sizes = {k: encoded_size(v) for k, v in self.data.items()}
        self.total = sum(self.sizes.values())

    def admit(self, clean: Mapping[str, Any]) -> dict[str, int]:
        """The sizes of ``clean``'s values, or an error naming the key and the limit it passes."""
        sizes = {}
        total = self.total
        for key, value in clean.items():
            size = encoded_size(value)
            check_value_size(self.what, key, size)
            total += size - self.sizes.get(key, 0)
            if total > self.limit:
                raise InvalidValueError(
                    f"{self.what} {key!r}: setting it makes the {self.what} {total:,} bytes as JSON, over the "
                    f"limit of {self.limit:,} bytes per run; keep large data as an artifact (run.log_artifact)",
                    key,
                )
            sizes[key] = size
        return sizes

    def store(self, clean: Mapping[str, Any], sizes: Mapping[str, int]) -> None:
        for key, value in clean.items():
            self.total += sizes[key] - self.sizes.get(key, 0)
            self.sizes[key] = sizes[key]
            self.data[key] = value

    def pop(self, key: str) -> None:
        del self.data[key]
        self.total -= self.sizes.pop(key, 0)


def _clean_items(items: Mapping[Any, Any], what: str, strip_dashes: bool) -> dict[str, Any]:
    """Validated names (wandb strips leading/trailing '-' from config keys) and encoded values."""
    if strip_dashes:
        items = {(k.strip("-") if isinstance(k, str) and k.strip("-") else k): v for k, v in items.items()}
    names = validate_keys(items, what)
    return {n: clean_config_value(n, v) for n, v in zip(names, items.values(), strict=True)}


class Config(MutableMapping[str, Any]):
    """``run.config``: a dict that also allows ``run.config.lr``; changes reach the manifest.

    Accepts what wandb's config accepts (dicts, argparse/SimpleNamespace, dataclasses,
    objects with ``__dict__`` or ``to_dict()``). Values are checked when set, naming the key.
    """

    # set through object.__setattr__ (``__setattr__`` turns attributes into config keys)
    _writer: RunWriter | None
    _legacy: bool
    _values: _SizedValues
    _names: DottedNames

    def __init__(self, writer: RunWriter | None, initial: Mapping[str, Any] | None = None, legacy: bool = False) -> None:
        object.__setattr__(self, "_writer", writer)
        object.__setattr__(self, "_legacy", legacy)
        object.__setattr__(self, "_values", _SizedValues("config", MAX_CONFIG_BYTES, initial or {}))
        names = DottedNames()
        try:
            names.apply(self._values.data)
        except InvalidValueError:  # a store written before clashes were refused: keep reading it
            pass
        object.__setattr__(self, "_names", names)

    def _attach(self, writer: RunWriter) -> None:
        """From now on changes reach ``writer``'s manifest (a view init() validated first)."""
        object.__setattr__(self, "_writer", writer)

    @property
    def _data(self) -> dict[str, Any]:
        return self._values.data

    def __getitem__(self, key: str) -> Any:
        return decode_value(self._values.data[key], self._legacy)

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __delitem__(self, key: str) -> None:
        self._values.pop(key)
        self._names.remove(key)
        if self._writer is not None:
            self._writer.patch_manifest(lambda m: m.setdefault("config", {}).pop(key, None))

    def __iter__(self) -> Iterator[str]:
        return iter(self._values.data)

    def __len__(self) -> int:
        return len(self._values.data)

    def __contains__(self, key: object) -> bool:
        return key in self._values.data

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        try:
            return self[key]
        except KeyError:
            raise AttributeError(f"config has no key {key!r}") from None

    def __setattr__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __delattr__(self, key: str) -> None:
        try:
            del self[key]
        except KeyError:
            raise AttributeError(f"config has no key {key!r}") from None

    def __repr__(self) -> str:
        return f"Config({self.as_dict()!r})"

    def update(self, other: Any = None, /, allow_val_change: bool | None = None, **kwargs: Any) -> None:
        """Merge keys into the config (``allow_val_change`` accepted for wandb scripts; a changed
        value is recorded, where wandb would raise)."""
        items = config_dict(other)
        items.update(kwargs)
        self._set(_clean_items(items, "config key", strip_dashes=True))

    def setdefaults(self, other: Any) -> None:
        """Set only the keys that are not set yet (wandb's ``config.setdefaults``)."""
        items = _clean_items(config_dict(other), "config key", strip_dashes=True)
        self._set({k: v for k, v in items.items() if k not in self._values.data})

    def _set(self, clean: dict[str, Any]) -> None:
        if not clean:
            return
        sizes = self._values.admit(clean)
        self._names.apply(clean)
        self._values.store(clean, sizes)
        if self._writer is not None:
            self._writer.patch_manifest(lambda m: m.setdefault("config", {}).update(clean))

    def persist(self) -> None:
        """wandb pushes the config to its server here; locally every change is already queued."""

    def as_dict(self) -> dict[str, Any]:
        return {k: decode_value(v, self._legacy) for k, v in self._values.data.items()}


class Summary(MutableMapping[str, Any]):
    """``run.summary``: values you set, over define_metric summaries, over each metric's last value."""

    def __init__(self, writer: RunWriter | None, initial: Mapping[str, Any] | None = None, legacy: bool = False) -> None:
        self._writer = writer
        self._legacy = legacy
        self._store = _SizedValues("summary", MAX_SUMMARY_VALUES_BYTES, initial or {})
        self.computed: Callable[[], dict[str, Any]] | None = None  # define_metric summaries (set by the run)

    @property
    def _values(self) -> dict[str, Any]:
        return self._store.data

    def _metric_lasts(self) -> dict[str, Any]:
        if self._writer is None:
            return {}
        self._writer.seal()
        return {k: s.get("last") for k, s in self._writer.summary_snapshot().items()}

    def _derived(self) -> dict[str, Any]:
        derived = self._metric_lasts()
        if self.computed is not None:
            for key, value in self.computed().items():
                if value is None:
                    derived.pop(key, None)  # summary="none"
                else:
                    derived[key] = value
        return derived

    def __getitem__(self, key: str) -> Any:
        if key in self._store.data:
            return decode_value(self._store.data[key], self._legacy)
        return self._derived()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __delitem__(self, key: str) -> None:
        self._store.pop(key)
        if self._writer is not None:
            self._writer.patch_manifest(lambda m: m.setdefault("summary_values", {}).pop(key, None))

    def __iter__(self) -> Iterator[str]:
        return iter({**self._derived(), **self._store.data})

    def __len__(self) -> int:
        return len({**self._derived(), **self._store.data})

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self[key]
        except KeyError:
            raise AttributeError(f"summary has no key {key!r}") from None

    def update(self, other: Any = None, /, **kwargs: Any) -> None:
        items = dict(other.items() if isinstance(other, Mapping) else (other or ()))
        items.update(kwargs)
        clean = _clean_items(items, "summary key", strip_dashes=False)
        if not clean:
            return
        sizes = self._store.admit(clean)
        self._store.store(clean, sizes)
        if self._writer is not None:
            self._writer.patch_manifest(lambda m: m.setdefault("summary_values", {}).update(clean))

    def explicit_keys(self) -> set[str]:
        """The keys the script set itself (they win over define_metric summaries)."""
        return set(self._store.data)


class Tags(MutableMapping[str, str]):
    """``run.tags``: labels (value ``""``) and key/value tags, as one mapping."""

    def __init__(self, writer: RunWriter | None, initial: Mapping[str, str] | None = None) -> None:
        self._writer = writer
        self._data: dict[str, str] = dict(initial or {})

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __delitem__(self, key: str) -> None:
        del self._data[key]
        if self._writer is not None:
            self._writer.patch_manifest(lambda m: m.setdefault("tags", {}).pop(key, None))

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"Tags({self._data!r})"

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        clean = clean_tags(other)
        clean.update(clean_tags(kwargs))
        self._data.update(clean)
        if self._writer is not None:
            self._writer.patch_manifest(lambda m: m.setdefault("tags", {}).update(clean))

    @property
    def labels(self) -> tuple[str, ...]:
        """The plain labels (wandb's tags tuple): tags whose value is empty."""
        return tuple(k for k, v in self._data.items() if v == "")

    def __add__(self, other: Any) -> tuple[str, ...]:
        """``run.tags + ("x",)`` as wandb scripts write it (wandb's tags are a tuple)."""
        return self.labels + tuple(other)

    def __radd__(self, other: Any) -> tuple[str, ...]:
        return tuple(other) + self.labels

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, (int, slice)):  # run.tags[0], as on wandb's tuple
            return self.labels[key]
        return self._data[key]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (tuple, list)):
            return self.labels == tuple(other)
        if isinstance(other, Mapping):
            return self._data == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def add(self, *labels: str) -> None:
        """Add labels (wandb-style tags)."""
        self.update(list(labels))

    def append(self, label: str) -> None:
        self.add(label)

"""Turning what users log into float64 losslessly, or refusing it with the key named.

Duck-typed: numpy scalars and 0-d tensors are accepted through ``.item()`` without importing
numpy or torch. Python ints beyond 2**53 would lose digits as float64, so they are refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from localtrack.errors import InvalidValueError, InvalidValueTypeError
from localtrack.names import validate_key, validate_keys

MAX_EXACT_INT = 2**53
MAX_NESTING = 16  # nested dicts in one log() call


def coerce_metric(key: str, value: Any) -> float:
    """One logged value as float, or an error naming ``key``."""
    kind = type(value)
    if kind is float:
        return value
    if kind is bool:
        return float(value)
    if kind is int:
        if -MAX_EXACT_INT <= value <= MAX_EXACT_INT:
            return float(value)
        raise InvalidValueError(
            f"metric {key!r}: the integer {value} cannot be stored exactly as a float64 "
            f"(|x| > 2**53); log it as a float or log a smaller number",
            value,
        )
    if isinstance(value, (str, bytes)) or value is None:
        raise InvalidValueTypeError(
            f"metric {key!r}: got {kind.__name__} {str(value)[:40]!r}; metrics are numbers. "
            "Put text in run.config, run.summary or tags",
            value,
        )
    if isinstance(value, float):  # float subclasses (numpy.float64)
        return float(value)
    if isinstance(value, int):  # int subclasses (numpy ints are not, IntEnum is)
        return coerce_metric(key, int(value))
    item = getattr(value, "item", None)
    if callable(item):
        try:
            scalar = item()
        except (ValueError, RuntimeError, TypeError) as exc:
            raise InvalidValueTypeError(
                f"metric {key!r}: {kind.__name__} is not a single number ({exc}); log a scalar",
                value,
            ) from None
        if type(scalar) in (float, int, bool):
            return coerce_metric(key, scalar)
    raise InvalidValueTypeError(
        f"metric {key!r}: values of type {kind.__name__} are not supported; log an int, float, "
        "bool, numpy scalar or 0-d tensor",
        value,
    )


class NothingToLog(InvalidValueError):
    """A log() call whose every value was None: no row, but (for wandb's log) the step is used."""


def clean_metrics(metrics: Mapping[Any, Any]) -> dict[str, float]:
    """Validate every key and value of one ``log()`` call before anything is stored.

    As wandb records them: a nested dict is flattened with dots (``{"val": {"loss": 1}}`` is
    ``val.loss``) and a None value is skipped. Any other bad value refuses the whole call.
    """
    clean: dict[str, float] = {}
    _clean_into(clean, metrics, "", 0)
    return clean


def _clean_into(clean: dict[str, float], metrics: Mapping[Any, Any], prefix: str, depth: int) -> None:
    for key, value in metrics.items():
        name = validate_key(f"{prefix}{key}" if prefix and isinstance(key, str) else key, "metric key")
        if value is None:
            continue
        if isinstance(value, Mapping):
            if depth >= MAX_NESTING:
                raise InvalidValueError(f"metric {name!r}: nested deeper than {MAX_NESTING} levels", name)
            _clean_into(clean, value, f"{name}.", depth + 1)
            continue
        if name in clean:
            if not prefix and depth == 0:
                validate_keys(metrics, "metric key")  # raises, naming both spellings
            raise InvalidValueError(
                f"metric {name!r} is given twice in one log() call (as a dotted key and as a nested dict)", name
            )
        clean[name] = coerce_metric(name, value)

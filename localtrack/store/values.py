"""Turning what users log into float64 losslessly, or refusing it with the key named.

Duck-typed: numpy scalars and 0-d tensors are accepted through ``.item()`` without importing
numpy or torch. Python ints beyond 2**53 would lose digits as float64, so they are refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from localtrack.errors import InvalidValueError, InvalidValueTypeError, LocaltrackError
from localtrack.names import validate_key, validate_keys

MAX_EXACT_INT = 2**53
MAX_STEP = 2**63 - 1  # steps are int64 on disk


def check_step(step: Any, what: str = "step") -> int:
    """``step`` as stored (int64, >= 0), or an error naming it and the range.

    The one rule for every writer: the Python writer, wandb-style history, the shell writer
    and its stream. ints and numpy integers (through ``.item()``) are accepted; bools,
    floats and strings are not.
    """
    if type(step) is not int:
        if not isinstance(step, bool) and not isinstance(step, (str, bytes, float)):
            item = getattr(step, "item", None)
            if callable(item):
                try:
                    step = item()
                except (ValueError, TypeError, RuntimeError):
                    pass
        if not isinstance(step, int) or isinstance(step, bool):
            raise InvalidValueTypeError(f"{what} {str(step)[:40]!r}: a step is a whole number (0, 1, 2, ...)", step)
        step = int(step)
    if not 0 <= step <= MAX_STEP:
        shown = str(step) if len(str(step)) <= 40 else f"{str(step)[:20]}... ({len(str(step))} digits)"
        raise InvalidValueError(f"{what} {shown}: a step is between 0 and {MAX_STEP} (2**63-1)", step)
    return cast(int, step)  # an exact int by now (checked or converted above)
MAX_NESTING = 16  # nested dicts in one log() call


def coerce_metric(key: str, value: Any) -> float:
    """One logged value as float, or an error naming ``key``."""
    kind = type(value)
    if kind is float:
        number: float = value
        return number
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


def clean_metrics(metrics: Mapping[Any, Any], wandb_shape: bool = False) -> dict[str, float]:
    """Validate every key and value of one ``log()`` call before anything is stored.

    ``wandb_shape`` (the Python ``log()``): as wandb records them, a nested dict is flattened
    with dots (``{"val": {"loss": 1}}`` is ``val.loss``) and a None value is skipped. Without it
    (the shell's ``log-metrics``) both are refused. Any other bad key or value refuses the call.
    """
    clean, refused = split_metrics(metrics, wandb_shape)
    if refused:
        raise refused[0]
    return clean


def split_metrics(
    metrics: Mapping[Any, Any], wandb_shape: bool = True, texts: dict[str, str] | None = None
) -> tuple[dict[str, float], list[LocaltrackError]]:
    """The storable values of one call, and an error (naming its key) for each value that is not.

    With ``texts``, string values are collected there (key -> string) instead of refused.
    A bad key still raises at once: nothing of such a call is stored.
    """
    clean: dict[str, float] = {}
    refused: list[LocaltrackError] = []
    _clean_into(clean, refused, metrics, "", 0, wandb_shape, texts)
    return clean, refused


def _clean_into(
    clean: dict[str, float],
    refused: list[LocaltrackError],
    metrics: Mapping[Any, Any],
    prefix: str,
    depth: int,
    wandb_shape: bool,
    texts: dict[str, str] | None = None,
) -> None:
    for key, value in metrics.items():
        name = validate_key(f"{prefix}{key}" if prefix and isinstance(key, str) else key, "metric key")
        if value is None and wandb_shape:
            continue
        if isinstance(value, Mapping) and wandb_shape:
            if depth >= MAX_NESTING:
                raise InvalidValueError(f"metric {name!r}: nested deeper than {MAX_NESTING} levels", name)
            _clean_into(clean, refused, value, f"{name}.", depth + 1, wandb_shape, texts)
            continue
        if texts is not None and isinstance(value, str):
            texts[name] = value
            continue
        if name in clean:
            if not prefix and depth == 0:
                validate_keys(metrics, "metric key")  # raises, naming both spellings
            raise InvalidValueError(
                f"metric {name!r} is given twice in one log() call (as a dotted key and as a nested dict)", name
            )
        try:
            clean[name] = coerce_metric(name, value)
        except (InvalidValueError, InvalidValueTypeError) as exc:
            refused.append(exc)

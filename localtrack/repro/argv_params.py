"""Params read from a command line (``--lr 0.1``, ``--lr=0.1``) and rewritten for ``--set``.

A script that never calls ``localtrack.init()`` still takes its hyperparameters on the
command line; ``exec`` records those as the run's config, and ``reproduce --set`` edits the
same tokens. Keys follow argparse: ``--learning-rate`` is the param ``learning_rate``.
Values are read like JSON (``0.1``, ``3``, ``true``, ``null``, ``[1, 2]``), else kept as text.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from localtrack.errors import InvalidNameError, InvalidValueError
from localtrack.names import validate_key

_OPTION = re.compile(r"--([A-Za-z_][A-Za-z0-9_.-]*)\Z")
_NEGATIVE_NUMBER = re.compile(r"-(\d|\.\d|inf|nan)", re.IGNORECASE)
_PY_BOOLS = {"True": True, "False": False, "None": None}


def parse_value(text: str) -> Any:
    """``text`` as JSON when it is a JSON number, bool, null, list or object, else the string."""
    if text in _PY_BOOLS:
        return _PY_BOOLS[text]
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if isinstance(value, float) and not math.isfinite(value):
        return text  # "NaN"/"Infinity" spellings stay strings, as the user typed them
    return value


def param_key(option: str) -> str:
    """The param name argparse would give ``--option``: dashes become underscores."""
    return option.replace("-", "_")


def _is_value_token(token: str) -> bool:
    return not token.startswith("-") or bool(_NEGATIVE_NUMBER.match(token))


@dataclass(frozen=True)
class ArgvOption:
    """One ``--key[=value]`` on a command line: where it sits and what it holds."""

    key: str
    index: int  # of the ``--key`` token
    value_index: int | None  # of the value token (== index for ``--key=value``), None for a flag
    raw: str | None  # the value text, None for a flag


def scan_options(argv: Sequence[str]) -> list[ArgvOption]:
    """Every ``--key value`` / ``--key=value`` / ``--flag`` after ``argv[0]``, up to ``--``."""
    found: list[ArgvOption] = []
    i = 1
    while i < len(argv):
        token = argv[i]
        if token == "--":
            break
        name, eq, inline = token.partition("=")
        match = _OPTION.match(name)
        if match is None:
            i += 1
            continue
        key = param_key(match.group(1))
        if eq:
            found.append(ArgvOption(key, i, i, inline))
            i += 1
        elif i + 1 < len(argv) and _is_value_token(argv[i + 1]):
            found.append(ArgvOption(key, i, i + 1, argv[i + 1]))
            i += 2
        else:
            found.append(ArgvOption(key, i, None, None))
            i += 1
    return found


def params_from_argv(argv: Sequence[str]) -> dict[str, Any]:
    """The params a command line carries; a bare ``--flag`` is ``True``. Later wins."""
    params: dict[str, Any] = {}
    for option in scan_options(argv):
        try:
            key = validate_key(option.key, "param")
        except InvalidNameError:
            continue
        params[key] = True if option.raw is None else parse_value(option.raw)
    return params


def parse_assignment(text: str) -> tuple[str, str]:
    """``key=value`` from ``--set``: the key and the raw value text (the value may hold ``=``)."""
    key, eq, raw = text.partition("=")
    key = key.strip()
    if not eq or not key:
        raise InvalidValueError(f"--set {text!r}: use key=value, e.g. --set lr=0.01", text)
    return validate_key(param_key(key), "--set key"), raw


@dataclass
class Rewrite:
    """The command line after ``--set``: what changed on it and which keys it does not carry."""

    argv: list[str]
    replaced: dict[str, str]  # key -> the old value text
    absent: list[str]  # keys not on the command line (they reach the script through run.config only)
    flags: list[str]  # keys present only as a bare --flag: left alone


def rewrite_argv(argv: Sequence[str], assignments: dict[str, str]) -> Rewrite:
    """Replace the value of every ``--key value`` / ``--key=value`` named in ``assignments``."""
    out = list(argv)
    replaced: dict[str, str] = {}
    flags: list[str] = []
    seen: set[str] = set()
    for option in scan_options(argv):
        if option.key not in assignments:
            continue
        seen.add(option.key)
        new = assignments[option.key]
        if option.value_index is None:
            flags.append(option.key)
        elif option.value_index == option.index:
            out[option.index] = f"{argv[option.index].partition('=')[0]}={new}"
            replaced[option.key] = option.raw or ""
        else:
            out[option.value_index] = new
            replaced[option.key] = option.raw or ""
    absent = [k for k in assignments if k not in seen]
    return Rewrite(out, replaced, absent, flags)

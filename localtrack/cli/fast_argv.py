"""Command lines simple enough to run without typer's parser: ``ls``, ``search`` and ``show``.

typer's parsing imports pydantic (its value coercion) and building the application imports
and inspects every command module: together more than a warm ``ls`` or ``search`` on 10,000
runs costs. For the read commands people run all day, a plain command line is matched here
against the command function's own typer declarations (option names, types, bounds) and
the function is called directly with what typer would have passed.

Only exact, unambiguous forms are taken: declared option names (``--name value``,
``--name=value``, short ``-x value``), each at most once, values that cannot be mistaken
for options, strings, positive-or-bounded integers, choices of an Enum, paths, and flags.
Any other command line (help, mistakes, lists, repeated options) is left to typer, so every
message stays typer's own.
"""

from __future__ import annotations

import enum
import importlib
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

DIRECT = {
    "ls": ("localtrack.cli.cmd_ls", "ls_command"),
    "search": ("localtrack.cli.cmd_query", "search_command"),
    "show": ("localtrack.cli.cmd_show", "show_command"),
}
_UNSUPPORTED = ("callback", "parser", "envvar", "prompt", "default_factory", "exists", "resolve_path",
                "count", "flag_value", "is_eager", "clamp")


class _Param:
    """One parameter of a command function, as its typer declaration defines it."""

    def __init__(self, name: str, kind: type | None, info: Any, default: Any) -> None:
        self.name, self.kind, self.info, self.default = name, kind, info, default  # kind None: typer's

    def convert(self, text: str) -> tuple[bool, Any]:
        """(ok, value) for a command-line string; not ok: let typer handle the command line."""
        if not text or text.startswith("-") or self.kind is None:
            return False, None
        if self.kind is str:
            return True, text
        if self.kind is int:
            if not (text.isascii() and text.isdigit()):
                return False, None
            value = int(text)
            low, high = getattr(self.info, "min", None), getattr(self.info, "max", None)
            if (low is not None and value < low) or (high is not None and value > high):
                return False, None
            return True, value
        if self.kind is Path:
            return True, Path(text)
        if isinstance(self.kind, type) and issubclass(self.kind, enum.Enum):
            for member in self.kind:
                if member.value == text:
                    return True, member
            return False, None
        return False, None


def _plain_type(annotation: Any) -> type | None:
    """str/int/bool/Path/Enum behind Optional[...]; None for anything else (lists, unions)."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if len(args) != 1:
            return None
        annotation = args[0]
    if isinstance(annotation, type) and annotation in (str, int, bool, Path):
        return annotation
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return annotation
    return None


def _declarations(fn: Callable[..., Any]) -> tuple[dict[str, _Param], list[_Param], dict[str, Any]] | None:
    """(option name -> param, positional params, defaults) of a typer command function."""
    import inspect

    from typer.models import ArgumentInfo, OptionInfo

    hints = typing.get_type_hints(fn, include_extras=True)
    options: dict[str, _Param] = {}
    positional: list[_Param] = []
    defaults: dict[str, Any] = {}
    for name, parameter in inspect.signature(fn).parameters.items():
        annotation = hints.get(name)
        metadata = getattr(annotation, "__metadata__", ())
        info = next((m for m in metadata if isinstance(m, (OptionInfo, ArgumentInfo))), None)
        if info is None:  # not a typer parameter (a Context, say): typer must call it
            return None
        kind = _plain_type(typing.get_args(annotation)[0])
        if any(getattr(info, a, None) for a in _UNSUPPORTED):
            kind = None
        param = _Param(name, kind, info, parameter.default)
        if parameter.default is not inspect.Parameter.empty:
            defaults[name] = parameter.default
        if isinstance(info, ArgumentInfo):
            positional.append(param)
            continue
        # as typer reads an Annotated Option: its "default" is the first option name; no names
        # at all means --the-parameter-name (--name/--no-name for a flag)
        decls = [info.default] if isinstance(info.default, str) else []
        decls.extend(info.param_decls or ())
        if not decls:
            flag = "--" + name.replace("_", "-")
            decls = [f"{flag}/--no-{flag[2:]}" if kind is bool else flag]
        for decl in decls:
            primary, _, negative = decl.partition("/")
            options[primary.strip()] = param
            if negative:
                options[negative.strip()] = _Param(name, None, info, parameter.default)  # typer's
    return options, positional, defaults


def direct_arguments(fn: Callable[..., Any], args: list[str]) -> dict[str, Any] | None:
    """The keyword arguments typer would call ``fn`` with for ``args``, or None: let typer parse."""
    declared = _declarations(fn)
    if declared is None:
        return None
    options, positional, defaults = declared
    found: dict[str, Any] = {}
    values: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, inline = arg.partition("=")
        param = options.get(arg) or (options.get(name) if eq and name.startswith("--") else None)
        if param is None:
            if arg.startswith("-"):
                return None
            values.append(arg)
            i += 1
            continue
        if param.name in found:
            return None
        if param.kind is None:
            return None
        if param.kind is bool:
            if eq:
                return None
            found[param.name] = True
            i += 1
            continue
        if eq:
            text, i = inline, i + 1
        elif i + 1 < len(args):
            text, i = args[i + 1], i + 2
        else:
            return None
        ok, value = param.convert(text)
        if not ok:
            return None
        found[param.name] = value
    if len(values) != len(positional):
        return None
    for param, text in zip(positional, values, strict=True):
        ok, value = param.convert(text)
        if not ok:
            return None
        found[param.name] = value
    return {**defaults, **found}


def direct_command(args: list[str]) -> Callable[[], Any] | None:
    """A call of the command ``args`` name, when its command line is plain enough; else None."""
    if not args or args[0] not in DIRECT:
        return None
    module_name, function_name = DIRECT[args[0]]
    fn = getattr(importlib.import_module(module_name), function_name)
    kwargs = direct_arguments(fn, args[1:])
    if kwargs is None:
        return None
    return lambda: fn(**kwargs)

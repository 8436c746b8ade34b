"""Command lines simple enough to run without typer's parser: ``ls``, ``search`` and ``show``.

typer's parsing imports pydantic (its value coercion) and building the application imports
and inspects every command module: together more than a warm ``ls`` or ``search`` on 10,000
runs costs. For the read commands people run all day, a plain command line is matched here
against the command's declarations (option names, types, bounds: :data:`SPECS`, written out
from the typer declarations so that typer itself is not even imported; a test checks they
are equal) and the command (its module without the typer skin) is called directly with what
typer would have passed.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localtrack.cli.output import ListFormat, OutputFormat

TYPER_COMMANDS = {  # the typer declarations each spec below is written from (tests compare them)
    "ls": ("localtrack.cli.cmd_ls", "ls_command"),
    "search": ("localtrack.cli.cmd_query", "search_command"),
    "show": ("localtrack.cli.cmd_show", "show_command"),
}
DIRECT = {  # what a plain command line calls: the command without its typer skin (no typer import)
    "ls": ("localtrack.cli.ls_view", "ls"),
    "search": ("localtrack.cli.search_view", "search"),
    "show": ("localtrack.cli.show_view", "show"),
}
_UNSUPPORTED = ("callback", "parser", "envvar", "prompt", "default_factory", "exists", "resolve_path",
                "count", "flag_value", "is_eager", "clamp")


@dataclass(frozen=True)
class Param:
    """One parameter of a command, as its typer declaration defines it (``kind`` None: only
    typer may parse it; ``low``/``high``: an int's bounds)."""

    name: str
    kind: Any
    low: int | None = None
    high: int | None = None

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
            if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
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


@dataclass(frozen=True)
class Spec:
    """A command line's grammar: option name -> parameter, positional parameters, defaults."""

    options: dict[str, Param]
    positional: tuple[Param, ...]
    defaults: dict[str, Any]


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


def declarations(fn: Callable[..., Any]) -> Spec | None:
    """The :class:`Spec` a typer command function declares (None: typer must call it). The
    fast path uses :data:`SPECS`, written out; a test checks they equal this."""
    import inspect

    from typer.models import ArgumentInfo, OptionInfo

    hints = typing.get_type_hints(fn, include_extras=True)
    options: dict[str, Param] = {}
    positional: list[Param] = []
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
        param = Param(name, kind, getattr(info, "min", None), getattr(info, "max", None))
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
                options[negative.strip()] = Param(name, None)  # typer's
    return Spec(options, tuple(positional), defaults)


def direct_arguments(fn: Callable[..., Any], args: list[str]) -> dict[str, Any] | None:
    """The keyword arguments typer would call ``fn`` with for ``args``, or None: let typer parse."""
    spec = declarations(fn)
    return None if spec is None else parse(spec, args)


def parse(spec: Spec, args: list[str]) -> dict[str, Any] | None:
    """The keyword arguments of ``args`` under ``spec``, or None: let typer parse them."""
    options, positional, defaults = spec.options, spec.positional, spec.defaults
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


def _options(*entries: tuple[tuple[str, ...], Param]) -> dict[str, Param]:
    return {name: param for names, param in entries for name in names}


STORE = (("--store",), Param("store", Path))
SPECS = {
    "ls": Spec(_options(
        (("--project", "-p"), Param("project", str)), (("--filter",), Param("filter", str)),
        (("--sort-by", "-s"), Param("sort_by", str)), (("--top", "-n"), Param("top", int, 1)),
        (("--all", "-a"), Param("all_runs", bool)), (("--columns", "-c"), Param("columns", None)),
        (("--group-by", "-g"), Param("group_by", str)), (("--format", "-f"), Param("fmt", ListFormat)), STORE),
        (), {"project": None, "filter": None, "sort_by": None, "top": None, "all_runs": False, "columns": None,
             "group_by": None, "fmt": ListFormat.table, "store": None}),
    "search": Spec(_options(
        (("--filter", "-F"), Param("filter", str)), (("--sort-by", "-s"), Param("sort_by", str)),
        (("--top", "-n"), Param("top", int, 0)), (("--columns", "-c"), Param("columns", str)),
        (("--project", "-p"), Param("project", str)), (("--format", "-f"), Param("format", ListFormat)), STORE),
        (), {"filter": None, "sort_by": None, "top": None, "columns": None, "project": None,
             "format": ListFormat.table, "store": None}),
    "show": Spec(_options((("--format", "-f"), Param("fmt", OutputFormat)), STORE),
                 (Param("run", str),), {"fmt": OutputFormat.table, "store": None}),
}


def direct_command(args: list[str]) -> Callable[[], Any] | None:
    """A call of the command ``args`` name, when its command line is plain enough; else None."""
    if not args or args[0] not in DIRECT:
        return None
    kwargs = parse(SPECS[args[0]], args[1:])
    if kwargs is None:
        return None
    module_name, function_name = DIRECT[args[0]]
    fn = getattr(importlib.import_module(module_name), function_name)
    return lambda: fn(**kwargs)

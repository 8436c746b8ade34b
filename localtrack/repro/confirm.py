"""What ``reproduce`` shows before it runs a recorded command, so a person can say no.

A run folder can arrive in someone else's git commit, and its ``command.argv`` is whatever
that commit says. ``reproduce`` therefore always asks first (``--yes`` skips the question,
and without a terminal to ask on it refuses): these helpers render the command as one
shell line, every control or invisible character escaped, and name what differs from here.
"""

from __future__ import annotations

import os
import re
import shlex
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from localtrack.storage.lease import host_name

_VISIBLE_CATEGORIES_EXCLUDED = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_C_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\\": "\\\\", "'": "\\'"}
_PYTHON = re.compile(r"(python|pypy)[0-9.]*(\.exe)?\Z", re.IGNORECASE)
MAX_SHOWN = 2000  # characters of the command line shown; the rest is counted, not printed


def _needs_escape(ch: str) -> bool:
    return ch != " " and (unicodedata.category(ch) in _VISIBLE_CATEGORIES_EXCLUDED or unicodedata.category(ch) == "Zs")


def _quote(token: str) -> str:
    """One argument as a shell word: ``shlex.quote``, or bash's ``$'...'`` when it holds a
    character a terminal would act on or hide (newline, ESC, bidi override, NUL...)."""
    if not any(_needs_escape(ch) for ch in token):
        return shlex.quote(token)
    out = []
    for ch in token:
        if ch in _C_ESCAPES:
            out.append(_C_ESCAPES[ch])
        elif _needs_escape(ch):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(ch)
    return "$'" + "".join(out) + "'"


def shell_line(argv: Sequence[str]) -> str:
    """The command as one terminal-safe line a person can read (and paste into bash)."""
    line = " ".join(_quote(a) for a in argv)
    if len(line) > MAX_SHOWN:
        line = f"{line[:MAX_SHOWN]}... ({len(line) - MAX_SHOWN} more characters)"
    return line


def recorded_hosts(manifest: Mapping[str, Any]) -> list[str]:
    """The host names the run recorded (its environment and its writers)."""
    hosts: list[str] = []
    env = manifest.get("environment")
    if isinstance(env, Mapping) and isinstance(env.get("host"), str):
        hosts.append(env["host"])
    writers = manifest.get("writers")
    if isinstance(writers, Mapping):
        for entry in writers.values():
            if isinstance(entry, Mapping) and isinstance(entry.get("host"), str) and entry["host"] not in hosts:
                hosts.append(entry["host"])
    return hosts


def notes(manifest: Mapping[str, Any], argv: Sequence[str]) -> list[str]:
    """What a person deciding should know: where the run came from, what program starts."""
    found: list[str] = []
    try:
        here = host_name()
    except OSError:
        here = ""
    others = [h for h in recorded_hosts(manifest) if h != here]
    if others:
        found.append(f"the run was recorded on {', '.join(safe_host[:80] for safe_host in others[:3])}, "
                     f"not only on this machine ({here}): someone else's run folder can name any command")
    if argv and not _PYTHON.match(os.path.basename(argv[0])):
        found.append(f"the command starts {shell_line(argv[:1])}, which is not a Python interpreter")
    return found

"""Validation of every user string that can become a path, a key or a label.

Names are hostile input: a run folder can arrive through a git commit, so the same checks
run when we read. Strings that become paths pass a strict ASCII allow-list and are never
decoded or normalised: the string validated is the string used. Strings that stay inside
files (metric keys, run names) may be any printable unicode, normalised to NFC so that two
spellings of one name never become two keys.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from localtrack.errors import InvalidNameError

MAX_ID_LENGTH = 128
MAX_KEY_LENGTH = 250
MAX_NAME_LENGTH = 256
MAX_PATH_NAME_LENGTH = 255

_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")
_WRITER_ID_RE = re.compile(r"[a-z0-9]{1,32}\Z")  # the writer part of a segment file name
_SEGMENT_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+=@-]*\Z")
# Unicode categories that must never appear: controls, format chars (bidi overrides,
# zero-width joiners), surrogates, private use, unassigned.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def _require_str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidNameError(f"{what} must be a string, got {type(value).__name__}: {value!r}", value)
    return value


def validate_id(value: Any, what: str = "run id") -> str:
    """A name that becomes a single path component: ASCII letters, digits, ``_ . -``."""
    text = _require_str(value, what)
    if not text or len(text) > MAX_ID_LENGTH or not _ID_RE.match(text) or ".." in text:
        raise InvalidNameError(
            f"invalid {what} {text[:80]!r}: use 1-{MAX_ID_LENGTH} ASCII letters, digits, '_', '.' or '-', "
            "starting with a letter or digit and without '..'",
            value,
        )
    return text


def validate_writer_id(value: Any, what: str = "writer id") -> str:
    """A writer id (``manifest.writers`` key): it becomes the start of segment file names.

    Read from disk, so it is hostile: ``"../../X"`` or ``"/abs/X"`` must never reach a path.
    """
    text = _require_str(value, what)
    if not _WRITER_ID_RE.match(text):
        raise InvalidNameError(
            f"invalid {what} {text[:80]!r}: use 1-32 lowercase ASCII letters or digits", value
        )
    return text


def _check_printable(text: str, what: str, value: Any) -> None:
    for ch in text:
        if unicodedata.category(ch) in _FORBIDDEN_CATEGORIES:
            raise InvalidNameError(
                f"invalid {what} {text[:80]!r}: contains the control or invisible character "
                f"U+{ord(ch):04X}; use printable characters only",
                value,
            )


def validate_key(value: Any, what: str = "metric key") -> str:
    """A metric/param/tag key: printable unicode, NFC, 1..250 chars, no edge whitespace."""
    text = _require_str(value, what)
    if not text.strip():
        raise InvalidNameError(f"invalid {what} {text!r}: it is empty", value)
    if len(text) > MAX_KEY_LENGTH:
        raise InvalidNameError(
            f"invalid {what} {text[:40]!r}...: {len(text)} characters, at most {MAX_KEY_LENGTH} allowed", value
        )
    _check_printable(text, what, value)
    if text != text.strip():
        raise InvalidNameError(f"invalid {what} {text!r}: leading or trailing whitespace", value)
    return unicodedata.normalize("NFC", text)


def validate_keys(keys: Iterable[Any], what: str = "metric key") -> list[str]:
    """:func:`validate_key` for every key of one mapping; two keys that are one name once
    normalised (NFC vs NFD spellings) are refused rather than one silently overwriting the other."""
    names: list[str] = []
    seen: dict[str, Any] = {}
    for key in keys:
        name = validate_key(key, what)
        if name in seen and seen[name] != key:
            raise InvalidNameError(
                f"invalid {what} {key!r}: it is the same name as {seen[name]!r} once normalised (NFC); "
                "use one spelling",
                key,
            )
        seen[name] = key
        names.append(name)
    return names


def validate_label(value: Any, what: str = "run name") -> str:
    """A display name (run name, project label, tag value): printable, NFC, bounded."""
    text = _require_str(value, what)
    if not text.strip():
        raise InvalidNameError(f"invalid {what} {text!r}: it is empty", value)
    if len(text) > MAX_NAME_LENGTH:
        raise InvalidNameError(
            f"invalid {what} {text[:40]!r}...: {len(text)} characters, at most {MAX_NAME_LENGTH} allowed",
            value,
        )
    _check_printable(text, what, value)
    return unicodedata.normalize("NFC", text.strip())


def validate_tag_value(value: Any, what: str = "tag value") -> str:
    """A tag value may be empty (a label) but otherwise follows :func:`validate_label`."""
    if value is None or value == "":
        return ""
    if isinstance(value, (bool, int, float)):
        value = str(value)
    text = _require_str(value, what)
    if len(text) > 5000:
        raise InvalidNameError(f"invalid {what}: {len(text)} characters, at most 5000 allowed", value)
    _check_printable(text, what, value)
    return unicodedata.normalize("NFC", text)


def validate_relpath(value: Any, what: str = "artifact name") -> str:
    """A relative path of ``/``-separated segments, each on a conservative ASCII allow-list.

    Refuses traversal (``..``), absolute and Windows forms, empty and ``.`` segments, and
    any encoded form (``%``, ``\\``, ``:`` are simply not on the list). Never decodes.
    """
    text = _require_str(value, what)
    if not text or len(text.encode("utf-8", "surrogatepass")) > MAX_PATH_NAME_LENGTH:
        raise InvalidNameError(
            f"invalid {what} {text[:80]!r}: must be 1-{MAX_PATH_NAME_LENGTH} bytes", value
        )
    for segment in text.split("/"):
        if segment in ("", ".", "..") or not _SEGMENT_RE.match(segment):
            raise InvalidNameError(
                f"invalid {what} {text[:80]!r}: each '/'-separated part must be ASCII letters, digits "
                "or '_ . + = @ -', not empty, '.' or '..', and not start with '.' or '-'",
                value,
            )
    return text

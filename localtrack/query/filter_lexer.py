"""Tokens of the filter language (MLflow's ``search_runs`` syntax and our extensions).

A hand-written scanner: every token records where it starts, so errors can point at it.
Bare words may hold letters, digits and ``_ . - / :`` (``metrics.val/loss``); anything else
is written in quotes: ``'...'``, ``"..."`` or backticks, with the quote doubled inside
(``'o''brien'``), as in SQL. Backslashes are plain characters (``'C:\\data'`` is C:\\data).
"""

from __future__ import annotations

import re

from localtrack.errors import FilterSyntaxError
from localtrack.query.filter_ast import _Frozen, _set

MAX_FILTER_CHARS = 20_000

WORD = "word"
STRING = "string"  # '...'
DQUOTED = "dquoted"  # "..."  (a key after a dot, a string elsewhere)
BACKTICK = "backtick"  # `...`  (always a key)
NUMBER = "number"
OP = "op"
LPAREN = "("
RPAREN = ")"
COMMA = ","
MINUS = "-"
PLUS = "+"
END = "end"

_NUMBER_RE = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_DIGITS = frozenset("0123456789")
_WORD_START = re.compile(r"[^\W\d]", re.UNICODE)
_OPERATORS = ("<=", ">=", "!=", "<>", "==", "=", "<", ">")


class Token(_Frozen):
    """One token (a frozen value class like the AST's: a dataclass costs ~0.4 ms to create)."""

    __slots__ = ("kind", "text", "pos", "raw")  # noqa: RUF023 - constructor order (repr, equality)
    kind: str
    text: str  # the value: unquoted for quoted tokens
    pos: int  # offset of the token's first character in the filter
    raw: str  # the source text of the token

    def __init__(self, kind: str, text: str, pos: int, raw: str = "") -> None:
        _set(self, "kind", kind)
        _set(self, "text", text)
        _set(self, "pos", pos)
        _set(self, "raw", raw)


def show_position(text: str, pos: int) -> str:
    """The filter on one line with a caret under ``pos`` (control characters made visible)."""
    shown = "".join(ch if ch.isprintable() else "?" for ch in text)
    if len(shown) > 200:
        start = max(0, min(pos - 100, len(shown) - 200))
        shown, pos = shown[start : start + 200], pos - start
    return f"\n    {shown}\n    {' ' * max(pos, 0)}^"


def syntax_error(message: str, text: str, pos: int) -> FilterSyntaxError:
    """A FilterSyntaxError naming the position, with the filter and a caret under it."""
    return FilterSyntaxError(f"{message} at position {pos}:{show_position(text, pos)}", text, pos)


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_.-/:"


def tokenize(text: str) -> list[Token]:
    """Split a filter into tokens; raises FilterSyntaxError on characters that cannot start one."""
    if not isinstance(text, str):
        raise FilterSyntaxError(f"a filter must be a string, got {type(text).__name__}", text, 0)
    if len(text) > MAX_FILTER_CHARS:
        raise FilterSyntaxError(f"filter is {len(text)} characters long; the limit is {MAX_FILTER_CHARS}", text[:80], 0)
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        start = i
        if ch in "'\"`":
            value, i = _quoted(text, i)
            kind = {"'": STRING, '"': DQUOTED, "`": BACKTICK}[ch]
            tokens.append(Token(kind, value, start, text[start:i]))
            continue
        if ch in _DIGITS or (ch == "." and i + 1 < n and text[i + 1] in _DIGITS):
            match = _NUMBER_RE.match(text, i)
            if match is None:  # pragma: no cover - guarded by the digit test above
                raise syntax_error("malformed number", text, start)
            i = match.end()
            if i < n and (text[i].isalnum() or text[i] == "_"):
                raise syntax_error(f"malformed number {text[start:i + 1]!r}", text, start)
            tokens.append(Token(NUMBER, match.group(), start, match.group()))
            continue
        if _WORD_START.match(ch):
            while i < n and _is_word_char(text[i]):
                i += 1
            tokens.append(Token(WORD, text[start:i], start, text[start:i]))
            continue
        op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
        if op is not None:
            i += len(op)
            tokens.append(Token(OP, {"==": "=", "<>": "!="}.get(op, op), start, op))
            continue
        if ch in "(),-+":
            i += 1
            tokens.append(Token(ch, ch, start, ch))
            continue
        raise syntax_error(f"unexpected character {ch!r}", text, start)
    tokens.append(Token(END, "", n, ""))
    return tokens


def _quoted(text: str, start: int) -> tuple[str, int]:
    """The value of the quoted token starting at ``start`` and the offset after it."""
    quote = text[start]
    out: list[str] = []
    i, n = start + 1, len(text)
    while i < n:
        ch = text[i]
        if ch == quote:
            if i + 1 < n and text[i + 1] == quote:
                out.append(quote)
                i += 2
                continue
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise syntax_error(f"unterminated {quote}...{quote} quote", text, start)

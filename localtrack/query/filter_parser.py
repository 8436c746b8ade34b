"""Recursive-descent parser: filter text -> AST, order_by text -> sort keys.

Grammar (keywords case-insensitive)::

    filter     := or_expr END
    or_expr    := and_expr (OR and_expr)*
    and_expr   := not_expr (AND not_expr)*
    not_expr   := NOT not_expr | '(' or_expr ')' | comparison
    comparison := operand ( OP value | [NOT] (LIKE|ILIKE) value | [NOT] IN '(' value (',' value)* ')'
                          | IS [NOT] NULL )
    operand    := AGG '(' field ')' | field
    field      := PREFIX '.' key | PREFIX '.' quoted | attribute
    value      := 'str' | "str" | [+-] number | TRUE | FALSE
    order_by   := operand [ASC|DESC] (',' operand [ASC|DESC])*
"""

from __future__ import annotations

from localtrack.errors import FilterSyntaxError
from localtrack.query import fields as F
from localtrack.query.filter_ast import (
    ATTRIBUTE,
    METRIC,
    And,
    Compare,
    Field,
    InList,
    IsNull,
    Literal,
    Node,
    Not,
    Or,
    OrderKey,
)
from localtrack.query.filter_lexer import (
    BACKTICK,
    COMMA,
    DQUOTED,
    END,
    LPAREN,
    MINUS,
    NUMBER,
    OP,
    PLUS,
    RPAREN,
    STRING,
    WORD,
    Token,
    syntax_error,
    tokenize,
)

MAX_DEPTH = 64
MAX_IN_VALUES = 10_000
_KEYWORDS = frozenset({"and", "or", "not", "in", "like", "ilike", "is", "null", "asc", "desc", "true", "false"})


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    # ---------------------------------------------------------------- helpers
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        token = self.tokens[self.i]
        if token.kind != END:
            self.i += 1
        return token

    def is_word(self, *words: str) -> bool:
        return self.tok.kind == WORD and self.tok.text.lower() in words

    def error(self, message: str, token: Token | None = None) -> FilterSyntaxError:
        token = token or self.tok
        return syntax_error(message, self.text, token.pos)

    def describe(self, token: Token) -> str:
        return "the end of the filter" if token.kind == END else repr(token.raw or token.text)

    def expect(self, kind: str, what: str) -> Token:
        if self.tok.kind != kind:
            raise self.error(f"expected {what}, found {self.describe(self.tok)}")
        return self.advance()

    # ---------------------------------------------------------------- boolean structure
    def parse_filter(self) -> Node:
        node = self.or_expr()
        if self.tok.kind != END:
            hint = " (join conditions with AND or OR)" if self.tok.kind in (WORD, LPAREN) else ""
            raise self.error(f"unexpected {self.describe(self.tok)}{hint}")
        return node

    def or_expr(self) -> Node:
        items = [self.and_expr()]
        while self.is_word("or"):
            self.advance()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Node:
        items = [self.not_expr()]
        while self.is_word("and"):
            self.advance()
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_expr(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"filter is nested more than {MAX_DEPTH} levels deep")
        try:
            if self.is_word("not"):
                self.advance()
                return Not(self.not_expr())
            if self.tok.kind == LPAREN:
                self.advance()
                node = self.or_expr()
                self.expect(RPAREN, "')'")
                return node
            return self.comparison()
        finally:
            self.depth -= 1

    # ---------------------------------------------------------------- comparisons
    def comparison(self) -> Node:
        field = self.operand()
        token = self.tok
        if token.kind == OP:
            self.advance()
            return Compare(field, token.text, self.value())
        if self.is_word("like", "ilike"):
            self.advance()
            return Compare(field, token.text.upper(), self.value())
        if self.is_word("in"):
            self.advance()
            return InList(field, self.value_list(), negated=False)
        if self.is_word("not"):
            self.advance()
            if self.is_word("like", "ilike"):
                op = self.advance().text.upper()
                return Compare(field, op, self.value(), negated=True)
            if self.is_word("in"):
                self.advance()
                return InList(field, self.value_list(), negated=True)
            raise self.error(f"expected LIKE, ILIKE or IN after NOT, found {self.describe(self.tok)}")
        if self.is_word("is"):
            self.advance()
            negated = False
            if self.is_word("not"):
                self.advance()
                negated = True
            if not self.is_word("null"):
                raise self.error(f"expected NULL after IS, found {self.describe(self.tok)}")
            self.advance()
            return IsNull(field, negated)
        raise self.error(
            f"expected a comparison (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, IS NULL) after "
            f"{field.label()!r}, found {self.describe(token)}"
        )

    def operand(self) -> Field:
        token = self.tok
        if token.kind == WORD and token.text.lower() in F.AGGREGATES and self.tokens[self.i + 1].kind == LPAREN:
            self.advance()
            self.advance()
            inner = self.field()
            self.expect(RPAREN, f"')' to close {token.text}(")
            if inner.kind != METRIC:
                raise self.error(f"{token.text}() applies to metrics (e.g. {token.text}(metrics.loss))", token)
            return Field(METRIC, inner.key, F.AGGREGATES[token.text.lower()], token.pos)
        return self.field()

    def field(self) -> Field:
        token = self.tok
        if token.kind in (BACKTICK, DQUOTED):
            self.advance()
            return self._attribute(token.text, token)
        if token.kind != WORD or token.text.lower() in _KEYWORDS:
            raise self.error(f"expected a field such as metrics.acc or params.lr, found {self.describe(token)}")
        self.advance()
        prefix, dot, key = token.text.partition(".")
        if not dot:
            return self._attribute(token.text, token)
        kind = F.PREFIXES.get(prefix) or F.PREFIXES.get(prefix.lower())
        if kind is None:
            if prefix.lower() in ("dataset", "datasets"):
                raise self.error("dataset filters are not supported", token)
            raise self.error(
                f"unknown field prefix {prefix!r}: use metrics., params., tags., summary. or attributes.", token
            )
        if not key:
            quoted = self.tok
            if quoted.kind not in (STRING, DQUOTED, BACKTICK):
                raise self.error(f"expected a key after {token.text!r}, found {self.describe(quoted)}")
            self.advance()
            key = quoted.text
            if not key:
                raise self.error("empty key", quoted)
        if kind == ATTRIBUTE:
            return self._attribute(key, token)
        if kind == "tags" and key in F.TAG_ALIASES:
            return Field(ATTRIBUTE, F.TAG_ALIASES[key], None, token.pos)
        return Field(kind, key, "last" if kind == METRIC else None, token.pos)

    def _attribute(self, key: str, token: Token) -> Field:
        name = F.attribute_name(key)
        if name is None:
            raise self.error(
                f"unknown attribute {key!r}; known: {', '.join(F.known_attributes())} "
                "(or prefix the key with metrics., params. or tags.)",
                token,
            )
        return Field(ATTRIBUTE, name, None, token.pos)

    # ---------------------------------------------------------------- values
    def value(self) -> Literal:
        token = self.tok
        if token.kind in (STRING, DQUOTED):
            self.advance()
            return Literal("string", token.text, token.text, token.pos)
        if token.kind in (MINUS, PLUS) and self.tokens[self.i + 1].kind == NUMBER:
            self.advance()
            number = self.advance()
            text = ("-" if token.kind == MINUS else "") + number.text
            return Literal("number", _number(text), text, token.pos)
        if token.kind == NUMBER:
            self.advance()
            return Literal("number", _number(token.text), token.text, token.pos)
        if self.is_word("true", "false"):
            self.advance()
            return Literal("bool", token.text.lower() == "true", token.text, token.pos)
        if self.is_word("null"):
            raise self.error("compare with NULL using IS NULL or IS NOT NULL")
        if token.kind == WORD:
            raise self.error(f"expected a value, found {self.describe(token)} (quote strings: '{token.text}')")
        raise self.error(f"expected a value (a number or a quoted string), found {self.describe(token)}")

    def value_list(self) -> tuple[Literal, ...]:
        self.expect(LPAREN, "'(' to start the IN list")
        values = [self.value()]
        while self.tok.kind == COMMA:
            self.advance()
            values.append(self.value())
            if len(values) > MAX_IN_VALUES:
                raise self.error(f"IN lists are limited to {MAX_IN_VALUES} values")
        self.expect(RPAREN, "',' or ')' in the IN list")
        return tuple(values)

    # ---------------------------------------------------------------- order_by
    def order_keys(self) -> list[OrderKey]:
        keys = []
        while True:
            field = self.operand()
            descending = False
            if self.is_word("asc", "desc"):
                descending = self.advance().text.lower() == "desc"
            keys.append(OrderKey(field, descending))
            if self.tok.kind == COMMA:
                self.advance()
                continue
            if self.tok.kind != END:
                raise self.error(f"expected ASC, DESC, ',' or the end, found {self.describe(self.tok)}")
            return keys


def _number(text: str) -> int | float:
    digits = text.lstrip("-")
    if digits.isdigit() and len(digits) <= 18:
        return int(text)
    return float(text)


def parse_filter(text: str | None) -> Node | None:
    """The AST of a filter; None for an empty filter. Raises FilterSyntaxError only."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise FilterSyntaxError(f"a filter must be a string, got {type(text).__name__}", text, 0)
    if not text.strip():
        return None
    return _Parser(text).parse_filter()


def parse_order_by(order_by: str | list[str] | tuple[str, ...] | None) -> list[OrderKey]:
    """Sort keys from ``"metrics.acc DESC, params.lr"`` or MLflow's list of such strings."""
    if order_by is None:
        return []
    items = [order_by] if isinstance(order_by, str) else order_by
    if not isinstance(items, (list, tuple)):
        raise FilterSyntaxError(f"order_by must be a string or a list of strings, got {type(order_by).__name__}", order_by, 0)
    keys: list[OrderKey] = []
    for item in items:
        if not isinstance(item, str):
            raise FilterSyntaxError(f"order_by items must be strings, got {type(item).__name__}", item, 0)
        if item.strip():
            keys.extend(_Parser(item).order_keys())
    return keys

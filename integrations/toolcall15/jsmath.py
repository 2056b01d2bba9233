"""The calculator mock: what upstream's ``Function('"use strict"; return (' + expr + ');')()`` returns.

Upstream whitelists the characters ``[\\d\\s()+\\-*/.%]`` and then hands the string to the JS engine.
That is not plain arithmetic: ``**`` is exponentiation, ``//`` and ``/* */`` are comments, ``07`` is a
strict-mode syntax error, ``-2 ** 2`` is a syntax error, ``2 (3)`` is a call (TypeError), ``%`` is
``fmod``, ``1/0`` is Infinity (rejected as non-finite), and a ``)`` inside the expression can close
the ``return (`` early (``"1) + (2"`` is 3). TC-11 and TC-15 feed model-written expressions to this
mock, so we parse the same source text with JS's grammar instead of trusting Python's ``eval``.

Only the parts of JS reachable from the whitelisted characters are modelled. A regular-expression
literal (``/2/`` in operand position) is supported enough to make its arithmetic NaN or its ``+`` a
string, both of which the mock turns into ``Invalid expression``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from integrations.toolcall15.jsvalues import JS_LINE_TERMINATORS, JS_WHITESPACE, js_trim, number_to_string

_WS_CLASS = re.escape(JS_WHITESPACE)
_ALLOWED = re.compile(rf"[0-9{_WS_CLASS}()+\-*/.%]+")


class _JSSyntaxError(Exception):
    pass


class _JSRuntimeError(Exception):
    pass


@dataclass(frozen=True)
class _Token:
    kind: str  # "num", "regex", "op", "return", "end"
    text: str
    newline_before: bool


@dataclass(frozen=True)
class _Regex:
    source: str

    def __str__(self) -> str:
        return f"/{self.source}/"


Value = float | str | _Regex


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(source)
    newline = False

    def operand_expected() -> bool:
        # A '/' starts a regex literal where an operand is expected, a division elsewhere.
        return not tokens or (tokens[-1].kind in ("op", "return") and tokens[-1].text != ")")

    while i < n:
        ch = source[i]
        if ch in JS_LINE_TERMINATORS:
            newline = True
            i += 1
            continue
        if ch in JS_WHITESPACE:
            i += 1
            continue
        if source.startswith("//", i):
            while i < n and source[i] not in JS_LINE_TERMINATORS:
                i += 1
            continue
        if source.startswith("/*", i):
            end = source.find("*/", i + 2)
            if end < 0:
                raise _JSSyntaxError("unterminated comment")
            if any(c in JS_LINE_TERMINATORS for c in source[i + 2 : end]):
                newline = True
            i = end + 2
            continue
        if source.startswith("return", i):
            tokens.append(_Token("return", "return", newline))
            i += len("return")
        elif ch.isdigit() or (ch == "." and i + 1 < n and source[i + 1].isdigit()):
            match = re.compile(r"\d+\.?\d*|\.\d+").match(source, i)
            assert match is not None
            text = match.group()
            if len(text) > 1 and text[0] == "0" and text[1].isdigit():
                raise _JSSyntaxError("leading zeros are not allowed in strict mode")
            tokens.append(_Token("num", text, newline))
            i = match.end()
            if i < n and source[i].isdigit():  # pragma: no cover - the regex consumed every digit
                raise _JSSyntaxError("identifier directly after number")
        elif ch == "/" and operand_expected():
            j = i + 1
            while j < n and source[j] != "/":
                if source[j] in JS_LINE_TERMINATORS:
                    raise _JSSyntaxError("unterminated regular expression")
                j += 1
            if j >= n:
                raise _JSSyntaxError("unterminated regular expression")
            body = source[i + 1 : j]
            if j + 1 < n and source[j + 1].isdigit():
                raise _JSSyntaxError("invalid regular expression flags")
            _check_regex(body)
            tokens.append(_Token("regex", body, newline))
            i = j + 1
        elif source.startswith(("**", "++", "--"), i):
            tokens.append(_Token("op", source[i : i + 2], newline))
            i += 2
        elif ch in "()+-*/%;":
            tokens.append(_Token("op", ch, newline))
            i += 1
        else:
            raise _JSSyntaxError(f"unexpected character {ch!r}")
        newline = False
    tokens.append(_Token("end", "", newline))
    return tokens


def _check_regex(body: str) -> None:
    # JS (non-unicode mode) rejects a quantifier after a quantifier; Python 3.11 reads '*+' as possessive.
    if re.search(r"[*+][*+]", body):
        raise _JSSyntaxError("nothing to repeat")
    try:
        re.compile(body)
    except re.error as exc:
        raise _JSSyntaxError(str(exc)) from exc


# AST nodes are tuples: ("num", float) | ("regex", str) | ("unary", op, node) | ("bin", op, l, r) | ("call",)


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    @property
    def tok(self) -> _Token:
        return self.tokens[self.pos]

    def take(self, text: str) -> None:
        if self.tok.text != text or self.tok.kind not in ("op", "return"):
            raise _JSSyntaxError(f"expected {text!r}, found {self.tok.text!r}")
        self.pos += 1

    def function_body(self) -> tuple:
        """``return Expression ;`` followed by dead statements that still have to parse."""
        self.take("return")
        if self.tok.newline_before:  # pragma: no cover - the template puts ' (' right after return
            raise _JSSyntaxError("return followed by a line break")
        returned = self.expression()
        self.statement_end()
        while self.tok.kind != "end":
            if self.tok.kind == "op" and self.tok.text == ";":
                self.pos += 1
                continue
            self.expression()
            self.statement_end()
        return returned

    def statement_end(self) -> None:
        if self.tok.kind == "op" and self.tok.text == ";":
            self.pos += 1
        elif self.tok.kind == "end" or self.tok.newline_before:
            return  # automatic semicolon insertion
        else:
            raise _JSSyntaxError(f"unexpected {self.tok.text!r}")

    def expression(self) -> tuple:
        node = self.multiplicative()
        while self.tok.kind == "op" and self.tok.text in ("+", "-"):
            op = self.tok.text
            self.pos += 1
            node = ("bin", op, node, self.multiplicative())
        return node

    def multiplicative(self) -> tuple:
        node = self.exponentiation()
        while self.tok.kind == "op" and self.tok.text in ("*", "/", "%"):
            op = self.tok.text
            self.pos += 1
            node = ("bin", op, node, self.exponentiation())
        return node

    def exponentiation(self) -> tuple:
        if self.tok.kind == "op" and self.tok.text in ("+", "-"):
            node = self.unary()
            if self.tok.kind == "op" and self.tok.text == "**":
                raise _JSSyntaxError("unary operator used immediately before exponentiation")
            return node
        base = self.postfix()
        if self.tok.kind == "op" and self.tok.text == "**":
            self.pos += 1
            return ("bin", "**", base, self.exponentiation())
        return base

    def unary(self) -> tuple:
        if self.tok.kind == "op" and self.tok.text in ("+", "-"):
            op = self.tok.text
            self.pos += 1
            return ("unary", op, self.unary())
        return self.postfix()

    def postfix(self) -> tuple:
        if self.tok.kind == "op" and self.tok.text in ("++", "--"):
            raise _JSSyntaxError("invalid update expression target")
        node = self.primary()
        while self.tok.kind == "op" and self.tok.text == "(":
            self.pos += 1
            if not (self.tok.kind == "op" and self.tok.text == ")"):
                self.expression()
            self.take(")")
            node = ("call",)
        if self.tok.kind == "op" and self.tok.text in ("++", "--"):
            raise _JSSyntaxError("invalid update expression target")
        return node

    def primary(self) -> tuple:
        tok = self.tok
        if tok.kind == "num":
            self.pos += 1
            return ("num", float(tok.text))
        if tok.kind == "regex":
            self.pos += 1
            return ("regex", tok.text)
        if tok.kind == "op" and tok.text == "(":
            self.pos += 1
            node = self.expression()
            self.take(")")
            return node
        raise _JSSyntaxError(f"unexpected {tok.text or 'end of input'!r}")


def _to_number(value: Value) -> float:
    # Regex objects and the strings made from them never convert to a number.
    return value if isinstance(value, float) else math.nan


def _to_str(value: Value) -> str:
    return number_to_string(value) if isinstance(value, float) else str(value)


def _js_mod(x: float, y: float) -> float:
    if math.isnan(x) or math.isnan(y) or math.isinf(x) or y == 0:
        return math.nan
    if math.isinf(y) or x == 0:
        return x
    return math.fmod(x, y)


def _is_odd_integer(y: float) -> bool:
    return math.isfinite(y) and y == math.floor(y) and math.fmod(y, 2) != 0


def _js_pow(x: float, y: float) -> float:
    if math.isnan(y):
        return math.nan
    if y == 0:
        return 1.0
    if math.isnan(x) or (abs(x) == 1 and math.isinf(y)):
        return math.nan
    try:
        return math.pow(x, y)
    except OverflowError:
        return -math.inf if x < 0 and _is_odd_integer(y) else math.inf
    except ValueError:
        if x == 0 and y < 0:
            return -math.inf if math.copysign(1, x) < 0 and _is_odd_integer(y) else math.inf
        return math.nan


def _js_div(x: float, y: float) -> float:
    if y == 0:
        if x == 0 or math.isnan(x):
            return math.nan
        negative = (math.copysign(1, x) < 0) != (math.copysign(1, y) < 0)
        return -math.inf if negative else math.inf
    return x / y


def _evaluate(node: tuple) -> Value:
    kind = node[0]
    if kind == "num":
        return node[1]
    if kind == "regex":
        return _Regex(node[1])
    if kind == "call":
        raise _JSRuntimeError("value is not a function")
    if kind == "unary":
        operand = _to_number(_evaluate(node[2]))
        return -operand if node[1] == "-" else operand
    _, op, left_node, right_node = node
    left, right = _evaluate(left_node), _evaluate(right_node)
    if op == "+":
        if isinstance(left, float) and isinstance(right, float):
            return left + right
        return _to_str(left) + _to_str(right)
    x, y = _to_number(left), _to_number(right)
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    if op == "/":
        return _js_div(x, y)
    if op == "%":
        return _js_mod(x, y)
    return _js_pow(x, y)


def evaluate_expression(expression: str) -> float | None:
    """The calculator mock's ``parseMathExpression``: a finite number, or None for "Invalid expression"."""
    sanitized = js_trim(expression.replace(",", ""))
    if not _ALLOWED.fullmatch(sanitized):
        return None
    try:
        tree = _Parser(_tokenize(f"return ({sanitized});")).function_body()
        value = _evaluate(tree)
    except (_JSSyntaxError, _JSRuntimeError, RecursionError):
        return None
    if not isinstance(value, float) or not math.isfinite(value):
        return None
    return value

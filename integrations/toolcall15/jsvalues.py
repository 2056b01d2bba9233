"""JavaScript value semantics that ToolCall-15's scoring silently depends on.

Upstream is TypeScript: it lower-cases with ``toLowerCase``, trims with ``trim``, compares
``Number(x) === 30``, parses arguments with ``JSON.parse`` and serialises tool results with
``JSON.stringify``. Python's nearest built-ins differ at the edges (``json.loads`` accepts ``NaN``;
``json.dumps(30.0)`` is ``30.0`` where JS writes ``30``; ``str.strip`` trims a different whitespace
set; ``Number("0x1e")`` is 30). A model that emits ``"duration_minutes": "30"`` or a calculator result
of ``30.0`` must score exactly as upstream, so these helpers reproduce the JS rules instead of
approximating them.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any

# ECMAScript WhiteSpace + LineTerminator: the set ``String.prototype.trim`` removes and ``\s`` matches.
JS_WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
JS_LINE_TERMINATORS = "\n\r\u2028\u2029"


class _Undefined:
    """JS ``undefined``: a missing property, distinct from JSON ``null`` (``Number(null)`` is 0)."""

    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "undefined"


UNDEFINED: Any = _Undefined()


def js_trim(text: str) -> str:
    return text.strip(JS_WHITESPACE)


def as_string(value: Any) -> str:
    """Upstream's ``asString``: strings pass, every other type (numbers included) becomes ''."""
    return value if isinstance(value, str) else ""


def as_string_array(value: Any) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def normalize(value: str) -> str:
    return js_trim(value).lower()


def includes_text(value: Any, expected: str) -> bool:
    return expected.lower() in as_string(value).lower()


def answer_contains_number(answer: str, value: str) -> bool:
    return value.replace(",", "").lower() in answer.replace(",", "").lower()


def number_to_string(x: float) -> str:
    """ECMAScript ``Number::toString`` (radix 10): shortest round-trip digits, JS exponent rules.

    Python's ``repr`` picks the same shortest digits but switches to exponent notation at other
    thresholds (``1e-05`` vs JS ``0.00001``; ``1e+16`` vs JS ``10000000000000000``).
    """
    if math.isnan(x):
        return "NaN"
    if x == 0:
        return "0"
    if x < 0:
        return "-" + number_to_string(-x)
    if math.isinf(x):
        return "Infinity"
    sign, digit_tuple, exponent = Decimal(repr(float(x))).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    exponent += len(digit_tuple) - len(digits)
    k = len(digits)
    n = exponent + k  # value = 0.d1d2...dk * 10**n
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    e = n - 1
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"


def to_js_string(value: Any) -> str:
    """ECMAScript ``ToString`` for JSON-shaped values (arrays join with ',', objects are opaque)."""
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return number_to_string(float(value))
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ",".join("" if item is None or item is UNDEFINED else to_js_string(item) for item in value)
    return "[object Object]"


_DECIMAL_LITERAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_RADIX_LITERAL = re.compile(r"0(?:[xX](?P<hex>[0-9a-fA-F]+)|[oO](?P<oct>[0-7]+)|[bB](?P<bin>[01]+))")


def string_to_number(text: str) -> float:
    """ECMAScript ``StringToNumber``: '' is 0, hex/octal/binary prefixes count, junk is NaN."""
    text = js_trim(text)
    if text == "":
        return 0.0
    if text in ("Infinity", "+Infinity"):
        return math.inf
    if text == "-Infinity":
        return -math.inf
    radix = _RADIX_LITERAL.fullmatch(text)
    if radix:
        if radix["hex"]:
            return float(int(radix["hex"], 16))
        if radix["oct"]:
            return float(int(radix["oct"], 8))
        return float(int(radix["bin"], 2))
    if _DECIMAL_LITERAL.fullmatch(text):
        try:
            return float(text)
        except OverflowError:  # pragma: no cover - float() returns inf rather than raising
            return math.inf if not text.startswith("-") else -math.inf
    return math.nan


def to_number(value: Any) -> float:
    """ECMAScript ``Number(value)`` for JSON-shaped values; ``UNDEFINED`` (missing key) is NaN."""
    if value is UNDEFINED:
        return math.nan
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        return string_to_number(value)
    if isinstance(value, list):
        return string_to_number(to_js_string(value))
    return math.nan


def _string_literal(text: str) -> str:
    # JSON.stringify escapes lone surrogates (well-formed stringify); json.dumps would pass them raw.
    out = json.dumps(text, ensure_ascii=False)
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        out = re.sub(r"[\ud800-\udfff]", lambda m: f"\\u{ord(m.group()):04x}", out)
    return out


def json_stringify(value: Any) -> str:
    """``JSON.stringify(value)`` with no indent: compact, non-ASCII kept, numbers in JS form."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return number_to_string(value) if math.isfinite(value) else "null"
    if isinstance(value, str):
        return _string_literal(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join("null" if v is UNDEFINED else json_stringify(v) for v in value) + "]"
    if isinstance(value, dict):
        parts = [f"{_string_literal(str(k))}:{json_stringify(v)}" for k, v in value.items() if v is not UNDEFINED]
        return "{" + ",".join(parts) + "}"
    raise TypeError(f"cannot JSON-stringify {type(value).__name__}")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def json_parse(text: str) -> Any:
    """``JSON.parse``: like ``json.loads`` but without Python's NaN/Infinity extension."""
    return json.loads(text, parse_constant=_reject_constant)


def parse_tool_arguments(raw: str) -> dict[str, Any]:
    """Upstream's ``parseToolArguments``: invalid JSON or any non-object value becomes ``{}``."""
    try:
        parsed = json_parse(raw)
    except (ValueError, RecursionError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def get(arguments: dict[str, Any], key: str) -> Any:
    """Property access with JS semantics: a missing key is ``undefined``, not ``None`` (``null``)."""
    return arguments.get(key, UNDEFINED)

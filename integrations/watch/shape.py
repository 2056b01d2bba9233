"""A line's *shape*: the line with what varies between repetitions of "the same line" replaced.

Why: a training log says the same few things thousands of times — ``step 4100 loss 2.871``,
``step 4110 loss 2.866`` — and a program's verdict on one is its verdict on all. The shape is the
cache key for verdicts (:mod:`integrations.watch.verdicts`): numbers, hex addresses, ids, paths,
timestamps, IPs and UUIDs become placeholders, whitespace runs collapse.

What is deliberately *kept*, because it changes the verdict: ``nan``/``inf`` (a loss of ``nan`` is
not a number like the others), exit codes, statuses, signal and errno numbers (``exit code 0`` and
``exit code 137`` must not share a verdict), and the order of magnitude of decimal numbers beyond 10⁴ (a loss of
``16056408064.0`` is a diverging run, not another ``0.69``), bucketed coarsely so a diverging run
still shares a handful of shapes. Integers stay one class whatever their size (steps, pids, sizes).
"""

from __future__ import annotations

import math
import re

# (pattern, placeholder, characters one of which must be in the text for the pattern to apply):
# the guard skips a regex pass that cannot match, which is most of them on most lines.
_RULES: list[tuple[re.Pattern[str], str, tuple[str, ...]]] = [
    (re.compile(r"\b\d{4}[-/]\d{2}[-/]\d{2}(?:[T _]\d{2}:\d{2}(?::\d{2})?(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?\b"), "<ts>", ("-", "/")),
    (re.compile(r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+\d{1,2}\b"), "<date>", ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")),
    (re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?\b"), "<time>", (":",)),
    (re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"), "<uuid>", ("-",)),
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "<hex>", ("0x",)),
    (re.compile(r"\b(?=[0-9a-fA-F]*[a-fA-F])(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{8,}\b"), "<hex>", ()),
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b"), "<ip>", (".",)),
    (re.compile(r"(?<![\w.)\]/])(?:[A-Za-z]:)?(?:~|\.{1,2})?/[\w.@+\-]+(?:/[\w.@+\-]*)*|\b[\w.\-]+(?:/[\w.\-]+){2,}|\b[\w\-]+/[\w\-]+\.[A-Za-z]\w*\b"), "<path>", ("/",)),
]
_LETTERS = str.maketrans("-0123456789", "mabcdefghij")  # a kept code must not look like a number
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\d.])|(?<=[A-Za-z_])\d+\b")
_SPACES = re.compile(r"\s+")
_STATUS = re.compile(r"(?i)\b(exit(?:\s*code)?|exitcode|status|signal|errno|returncode|rc|code)(\s*[:=]?\s*\(?)(-?\d{1,3})\b")
_KEEP = re.compile(r"\b(?:nan|inf|infinity)\b", re.IGNORECASE)


def _number(match: re.Match[str]) -> str:
    token = match.group()
    if not any(c in token for c in ".eE"):
        return "<n>"
    try:
        value = abs(float(token))
    except ValueError:
        return "<n>"
    if not math.isfinite(value):
        return token
    if value >= 1e4:
        return f"<f1e{min(int(math.log10(value)) // 4 * 4, 32)}>"
    return "<f>"


_STATUS_WORDS = re.compile(r"(?i)exit|status|signal|errno|code|rc\b")


def _keep_code(match: re.Match[str]) -> str:
    return f"{match.group(1)}{match.group(2)}#{match.group(3).translate(_LETTERS)}#"


def line_shape(text: str) -> str:
    """The cache key of ``text``: the same for lines that differ only in values."""
    shape = _STATUS.sub(_keep_code, text) if _STATUS_WORDS.search(text) else text
    for pattern, placeholder, needs in _RULES:
        if not needs or any(n in shape for n in needs):
            shape = pattern.sub(placeholder, shape)
    shape = _NUMBER.sub(_number, shape)
    return _SPACES.sub(" ", shape).strip()


def keeps_non_finite(text: str) -> bool:
    """True when the text names nan/inf (the shape keeps those words; tests use this)."""
    return bool(_KEEP.search(text))

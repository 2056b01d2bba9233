"""Conditional requests ("if it's raining, remind me …"): finding the clause and deciding numbers exactly.

Finding the clause is a regular expression over the request (the words "if", "unless", "in case",
"should it"); numeric comparisons ("above 30 degrees", "below 100") are decided here in Python against
the tool result's key number. Everything else ("if it's raining", "if it's chilly") is the
``tc-condition`` program's decision.
"""

from __future__ import annotations

import re
from typing import Any

from integrations.toolcall15.pipeline.conversation import key_number

_COND = re.compile(
    r"\b(only if|if|in case(?: of)?|unless|should(?= (?:it|there|the)\b))\s+(.+?)"
    r"(?=,|;|\.(?:\s|$)|\?|!|\s+(?:then|remind|set|send|email|e-mail|tell|let|book|schedule|create|add|text|notify|"
    r"message|please|i want|i'd like|i need|go ahead|do|call|put)\b|$)",
    re.IGNORECASE,
)
_COMPARE = re.compile(
    r"\b(above|over|more than|greater than|higher than|warmer than|exceeds?|at least|below|under|less than|"
    r"lower than|colder than|at most|cheaper than)\s+\$?(-?\d+(?:\.\d+)?)", re.IGNORECASE)


def condition_clause(request: str) -> str | None:
    m = _COND.search(request)
    if not m:
        return None
    return f"{m.group(1)} {m.group(2)}".strip()


def numeric_condition(clause: str, result: Any) -> bool | None:
    """Exact comparisons ("if it's above 20 degrees") against the result's key number."""
    m = _COMPARE.search(clause)
    if not m:
        return None
    value = key_number(result)
    if value is None:
        return None
    threshold = float(m.group(2))
    word = m.group(1).lower()
    above = word in ("above", "over", "more than", "greater than", "higher than", "warmer than", "exceeds", "exceed", "at least")
    if word == "at least":
        holds = float(value) >= threshold
    elif word == "at most":
        holds = float(value) <= threshold
    else:
        holds = float(value) > threshold if above else float(value) < threshold
    return (not holds) if clause.lower().startswith("unless") else holds



_CLAUSE_STOP = {"if", "only", "in", "case", "of", "should", "when", "it", "it's", "its", "is", "there", "there's", "a", "an",
                "the", "be", "being", "out", "outside", "today", "now", "right", "day", "we", "get", "expected", "any"}
_NEGATION = re.compile(r"\b(not|no|isn't|aren't|unless)\b|n't\b", re.IGNORECASE)


def literal_condition(clause: str, result: Any) -> bool | None:
    """True when the clause's own weather word occurs in the result ("if it's raining" / "Light rain").

    An exact shortcut, like :func:`numeric_condition`: only a verbatim match (the first four letters of
    the clause's word, so raining/rainy/rain agree) is decided here, and only for a clause without a
    negation; synonyms ("drizzle" for rain) and everything else are ``tc-condition``'s decision (None)."""
    if _NEGATION.search(clause):
        return None
    words = [w for w in re.findall(r"[a-z']+", clause.lower()) if w not in _CLAUSE_STOP and len(w) >= 4]
    if not words:
        return None
    text = " ".join(re.findall(r"[a-z]+", json_text(result).lower()))
    return True if any(re.search(rf"\b{re.escape(w[:4])}", text) for w in words) else None


def json_text(result: Any) -> str:
    """The part of a result a weather word can be in: its condition-like fields (not a place name)."""
    import json

    if isinstance(result, dict):
        fields = [str(v) for k, v in result.items() if k.lower() in ("condition", "conditions", "weather", "description", "summary", "sky")]
        if fields:
            return " ".join(fields)
    return result if isinstance(result, str) else json.dumps(result, ensure_ascii=False)

"""The input layout of every TOOLCALL-15 program, in one place.

A fitted program only works on inputs laid out exactly like its training rows, so the data
generator (``programs/data/gen_tc.py``), the pipeline steps and the evaluation script
(``programs/data/eval_tc.py``) all build and parse program inputs with these functions and nothing
else. Changing a layout here changes the training data and the pipeline together (and, through the
data files, the programs' build keys, so ``pawflow compile --all`` refits them).
"""

from __future__ import annotations

import json
from typing import Any

from integrations.toolcall15.pipeline.conditions import describe_result

NONE = "none"


# ----------------------------------------------------------------------------- tc-next-tool


def next_tool_input(request: str, done: list[str]) -> str:
    """``Request: …`` / ``Done: tool, tool`` (or ``none`` on the first turn)."""
    return f"Request: {one_line(request)}\nDone: {', '.join(done) if done else NONE}"


def parse_next_tool_input(text: str) -> tuple[str, list[str]]:
    """(request, done) back from :func:`next_tool_input`'s layout."""
    request, done_text = text.removeprefix("Request: ").split("\nDone: ")
    return request, [] if done_text == NONE else done_text.split(", ")


# ----------------------------------------------------------------------------- tc-arg


def arg_input(tool: str, field: str, request: str, found: str | None = None, description: str = "") -> str:
    """``Tool: name (description)`` / ``Field: f`` / ``Request: …`` [/ ``Found: n``].

    The tool's own description (from the request's tool schema) travels with the tool name, so the
    extractor reads what the tool is for rather than relying on the name alone.
    """
    head = f"Tool: {tool}" + (f" ({one_line(description)})" if description else "")
    text = f"{head}\nField: {field}\nRequest: {one_line(request)}"
    return text + (f"\nFound: {found}" if found else "")


def parse_arg_input(text: str) -> dict[str, str]:
    """``{"tool", "description", "field", "request", "found"}`` back from :func:`arg_input`'s layout."""
    lines = dict(line.split(": ", 1) for line in text.split("\n") if ": " in line)
    head = lines.get("Tool", "")
    tool, _, rest = head.partition(" (")
    return {"tool": tool, "description": rest[:-1] if rest.endswith(")") else rest, "field": lines.get("Field", ""),
            "request": lines.get("Request", ""), "found": lines.get("Found", "")}


# ----------------------------------------------------------------------------- tc-condition


def condition_input(clause: str, result: Any) -> str:
    """``Condition: if …`` / ``Result: …`` for a clause **without negation** (``conditions.positive_clause``).

    The result is given as the words the program judges (``conditions.describe_result``: the weather
    text, the temperature as a band word, a price move as up/down), or flattened to one line when it
    has none of these."""
    return f"Condition: {one_line(clause)}\nResult: {describe_result(result) or flat_result(result, 300)}"


# ----------------------------------------------------------------------------- tc-answer


def answer_input(request: str) -> str:
    """The question as the user wrote it, on one line."""
    return one_line(request)


# ----------------------------------------------------------------------------- helpers


def one_line(text: str) -> str:
    """Newlines would break the ``Key: value`` layouts: fold them into spaces."""
    return " ".join(str(text).split())


def flat_result(result: Any, limit: int = 400) -> str:
    """A one-line ``key: value, ...`` rendering of a tool result (lists of dicts joined with '; ')."""
    if isinstance(result, str):
        parsed = _maybe_json(result)
        if parsed is not result:
            return flat_result(parsed, limit)
    if isinstance(result, dict):
        parts = []
        for key, value in result.items():
            if isinstance(value, (dict, list)):
                value = flat_result(value, limit)
            parts.append(f"{key}: {value}")
        text = ", ".join(parts)
    elif isinstance(result, list):
        text = "; ".join(flat_result(item, limit) for item in result)
    else:
        text = str(result)
    text = one_line(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _maybe_json(text: str) -> Any:
    stripped = text.strip()
    if stripped[:1] in "{[":
        try:
            return json.loads(stripped)
        except ValueError:
            return text
    return text

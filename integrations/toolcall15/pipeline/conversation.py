"""Reading the conversation: the current request, the tool calls made for it and their results.

All multi-turn state comes from the messages a client sends (prior assistant ``tool_calls`` and the
``role: tool`` results that answer them), never from server memory, so any client and any replay of
a transcript gets the same next step.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from integrations.toolcall15.pipeline.dates import message_text, reference_date


@dataclass
class Call:
    """One tool call made since the last user message, with its result (None while unanswered)."""

    id: str
    name: str
    args: dict[str, Any]
    result: Any = None
    answered: bool = False
    batch: int = 0  # 1-based index of the assistant message that made it

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "args": self.args, "result": self.result, "answered": self.answered,
                "batch": self.batch}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Call":
        return cls(**data)


@dataclass
class Conversation:
    request: str
    ref_date: date
    calls: list[Call] = field(default_factory=list)
    assistant_turns: int = 0  # assistant messages since the last user message
    tools: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> parameters schema
    descriptions: dict[str, str] = field(default_factory=dict)

    @property
    def last_batch(self) -> list[Call]:
        if not self.calls:
            return []
        last = max(call.batch for call in self.calls)
        return [call for call in self.calls if call.batch == last]

    def done_names(self) -> list[str]:
        out: list[str] = []
        for call in self.calls:
            if call.name not in out:
                out.append(call.name)
        return out

    def called(self, name: str) -> list[Call]:
        return [call for call in self.calls if call.name == name]


def parse_json_maybe(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    stripped = text.strip()
    if stripped[:1] in "{[":
        try:
            return json.loads(stripped)
        except ValueError:
            return text
    return text


def read_conversation(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> Conversation:
    """The state of the current request: everything after the last user message."""
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    request = message_text(messages[last_user]).strip() if last_user >= 0 else ""
    convo = Conversation(request=request, ref_date=reference_date(messages))
    for tool in tools or []:
        fn = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(fn, dict) and fn.get("name"):
            convo.tools[fn["name"]] = fn.get("parameters") or {"type": "object", "properties": {}}
            convo.descriptions[fn["name"]] = fn.get("description") or ""
    by_id: dict[str, Call] = {}
    for message in messages[last_user + 1:]:
        role = message.get("role")
        if role == "assistant":
            convo.assistant_turns += 1
            for raw in message.get("tool_calls") or []:
                fn = raw.get("function") or {}
                args = parse_json_maybe(fn.get("arguments") or "{}")
                call = Call(id=str(raw.get("id") or f"call_{len(convo.calls)}"), name=str(fn.get("name") or ""),
                            args=args if isinstance(args, dict) else {}, batch=convo.assistant_turns)
                convo.calls.append(call)
                by_id[call.id] = call
        elif role == "tool":
            call = by_id.get(str(message.get("tool_call_id")))
            if call is not None:
                call.result = parse_json_maybe(message_text(message))
                call.answered = True
    return convo


# ----------------------------------------------------------------------------- reading results


def result_error(result: Any) -> str | None:
    """The error a tool reported, if any ({"error": ...}, {"status": "error"}, a plain error string)."""
    if isinstance(result, dict):
        for key in ("error", "error_message", "errors"):
            if result.get(key):
                value = result[key]
                return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        status = str(result.get("status") or "").lower()
        if status in ("error", "failed", "failure"):
            return str(result.get("message") or result.get("detail") or "the tool reported a failure")
    if isinstance(result, str) and re.match(r"\s*(error|exception|failed)\b", result, re.IGNORECASE):
        return result.strip()
    return None


_LIST_KEYS = ("results", "items", "files", "contacts", "matches", "data", "hits")


def result_items(result: Any) -> list[Any] | None:
    """The list of hits a search-like tool returned, or None when the result is not list-shaped."""
    if isinstance(result, list):
        return result
    if isinstance(result, dict):
        for key in _LIST_KEYS:
            if isinstance(result.get(key), list):
                return result[key]
    return None


def result_is_empty(result: Any) -> bool:
    items = result_items(result)
    if items is not None:
        return len(items) == 0
    return result in (None, "", {}, [])


_YEARISH = re.compile(r"^(19|20)\d\d$")


def numbers_in(text: str) -> list[str]:
    """Numbers in a text, commas removed, in order ("372,520" -> "372520")."""
    out = []
    for m in re.finditer(r"(?<![\w.])-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![\w.])-?\d+(?:\.\d+)?", text):
        out.append(m.group(0).replace(",", ""))
    return out


def key_number(result: Any) -> str | None:
    """The number a follow-up calculation should use from a tool result.

    Named numeric fields first (price, result, value, total, population, temperature...); otherwise the
    numbers in the result's text, preferring the largest one that does not look like a year.
    """
    if isinstance(result, dict):
        for key in ("result", "price", "value", "total", "amount", "population", "count", "temperature"):
            value = result.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return _num(value)
    text = json.dumps(result, ensure_ascii=False) if not isinstance(result, str) else result
    candidates = [n for n in numbers_in(text)]
    if not candidates:
        return None
    non_years = [n for n in candidates if not _YEARISH.match(n)]
    pool = non_years or candidates
    return max(pool, key=lambda n: abs(float(n)))


def _num(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))

"""Real functions that pipeline tests wire in as python steps (imported as tests.pipeline_steps:NAME)."""

from __future__ import annotations

import threading
import time
from typing import Literal

CALLS: dict[str, int] = {}
_LOCK = threading.Lock()


def _count(name: str) -> None:
    with _LOCK:
        CALLS[name] = CALLS.get(name, 0) + 1


def words(text: str) -> list:
    _count("words")
    return text.split()


def count(items: list, minimum: int = 0) -> int:
    return max(len(items), minimum)


def shout(text: str) -> str:
    _count("shout")
    return text.upper() + "!"


def join_words(items: list, sep: str = " ") -> str:
    return sep.join(items)


def sleepy(text: str, seconds: float = 0.3) -> str:
    """Sleeps, to show that independent steps overlap and that timeouts fire."""
    time.sleep(seconds)
    return text


def explode(text: str) -> str:
    raise ValueError(f"cannot handle {text!r}")


def wrong_type(text: str) -> int:
    return text  # type: ignore[return-value]  # lies about its return type on purpose


def grade(score: float) -> Literal["low", "high"]:
    return "high" if score >= 0.5 else "low"


def last_user_message(messages: list, tools: list) -> dict:
    """TOOLCALL-shaped: several named inputs (lists of dicts) in, a dict ``message`` out."""
    user = [m for m in messages if m.get("role") == "user"]
    names = [t["name"] for t in tools]
    return {"role": "assistant", "content": user[-1]["content"] if user else "", "tools": names}


def message_text(message: dict) -> str:
    return str(message.get("content", ""))


def too_long(text: str) -> str:
    """Fails the way the interpreter does when an input does not fit its context."""
    from pawflow.errors import ContextLengthError

    raise ContextLengthError(f"input needs {len(text) * 1000} tokens of context", needed=len(text) * 1000, limit=4096)

"""The OpenAI chat-completions protocol as pydantic models: what a client sends, what a responder returns.

Requests are validated strictly where it matters (types of known fields) and leniently where clients
differ (unknown fields are ignored). A responder's reply is validated into :class:`AssistantMessage`
and rendered into the wire form (``call_…`` ids, ``arguments`` as a JSON string).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# ------------------------------------------------------------------------------------ request models


class _Lenient(BaseModel):
    """Unknown fields are ignored (clients send many we do not use); known ones are type-checked."""

    model_config = ConfigDict(extra="ignore", strict=True)


class FunctionDefinition(_Lenient):
    name: str = Field(min_length=1)
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ToolDefinition(_Lenient):
    type: Literal["function"]
    function: FunctionDefinition


class FunctionCall(_Lenient):
    name: str
    arguments: str


class ToolCall(_Lenient):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class ContentPart(_Lenient):
    model_config = ConfigDict(extra="allow", strict=True)

    type: str
    text: str | None = None


class ChatMessage(_Lenient):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    reasoning_content: str | None = None

    @model_validator(mode="after")
    def _role_rules(self) -> ChatMessage:
        if self.role == "tool" and not self.tool_call_id:
            raise ValueError("a message with role 'tool' needs a tool_call_id")
        if self.role in ("system", "developer", "user") and self.content is None:
            raise ValueError(f"a message with role '{self.role}' needs content")
        return self

    def text(self) -> str:
        """The message's text, with content parts of type ``text`` joined."""
        if isinstance(self.content, str):
            return self.content
        if isinstance(self.content, list):
            return "".join(part.text or "" for part in self.content if part.type == "text")
        return ""


class NamedToolChoice(_Lenient):
    type: Literal["function"]
    function: dict[str, str]


class StreamOptions(_Lenient):
    include_usage: bool = False


class ChatRequest(_Lenient):
    """The subset of the OpenAI chat-completions request a responder can act on."""

    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    tools: list[ToolDefinition] | None = None
    tool_choice: Literal["auto", "none", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    n: int | None = Field(default=None, ge=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: str | None = None


# ----------------------------------------------------------------------------------- responder side


class ReplyFunction(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1)
    arguments: str | dict[str, Any] = "{}"


class ReplyToolCall(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    type: Literal["function"] = "function"
    function: ReplyFunction


class AssistantMessage(BaseModel):
    """What a responder returns: the next assistant turn. Dict-shaped replies are validated into this."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["assistant"] = "assistant"
    content: str | None = None
    tool_calls: list[ReplyToolCall] | None = None
    reasoning_content: str | None = None


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class AssistantReply(BaseModel):
    """A reply with token counts, for responders that know them (a pipeline may not)."""

    message: AssistantMessage
    usage: Usage | None = None


Responder = Callable[[ChatRequest], "dict[str, Any] | AssistantMessage | AssistantReply"]


def new_call_id() -> str:
    return "call_" + secrets.token_hex(12)


def render_message(message: AssistantMessage) -> dict[str, Any]:
    """The wire form: ``call_`` ids, ``type: function``, ``arguments`` always a JSON string."""
    wire: dict[str, Any] = {"role": "assistant", "content": message.content}
    if message.tool_calls:
        calls = []
        for call in message.tool_calls:
            arguments = call.function.arguments
            if not isinstance(arguments, str):
                arguments = json.dumps(arguments, ensure_ascii=False)
            call_id = call.id if call.id and call.id.startswith("call_") else new_call_id()
            calls.append({"id": call_id, "type": "function", "function": {"name": call.function.name, "arguments": arguments}})
        wire["tool_calls"] = calls
    if message.reasoning_content is not None:
        wire["reasoning_content"] = message.reasoning_content
    return wire


def coerce_reply(raw: Any) -> AssistantReply:
    if isinstance(raw, AssistantReply):
        return raw
    if isinstance(raw, AssistantMessage):
        return AssistantReply(message=raw)
    if isinstance(raw, dict):
        return AssistantReply(message=AssistantMessage.model_validate(raw))
    raise TypeError(f"a responder must return a dict, AssistantMessage or AssistantReply, not {type(raw).__name__}")

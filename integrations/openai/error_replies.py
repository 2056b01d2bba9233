"""Error replies in OpenAI's shape, ``{"error": {"message", "type", "param", "code"}}``, so OpenAI client
libraries raise their usual typed exceptions (``BadRequestError`` with ``.code``, ``NotFoundError``…).

Also what decides them: which field a validation error names, when a body is too large, when a
responder's failure is really the client's input being longer than the context. None of these
replies repeats the client's input back.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.responses import JSONResponse

from pawflow.errors import ContextLengthError, PawflowError, PipelineRunError


def error_response(
    status: int, message: str, *, type_: str = "invalid_request_error", param: str | None = None, code: str | None = None
) -> JSONResponse:
    """An OpenAI-style error body, so OpenAI client libraries raise their usual typed exceptions."""
    return JSONResponse({"error": {"message": message, "type": type_, "param": param, "code": code}}, status_code=status)


_UNION_TAGS = {"str", "int", "float", "bool", "list", "dict", "none"}


def _loc_to_param(loc: tuple[Any, ...]) -> str:
    """``('messages', 0, 'role')`` → ``messages[0].role``; pydantic's union-branch tags are dropped."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        text = str(part)
        if text in _UNION_TAGS or "[" in text or text[:1].isupper():
            continue  # e.g. 'str', 'list[ContentPart]', 'function-after[...]', 'NamedToolChoice'
        out += ("." if out else "") + text
    return out


def validation_error(exc: ValidationError) -> JSONResponse:
    """400 naming the first invalid field as OpenAI does (``param``), with up to five problems listed."""
    first = exc.errors()[0]
    param = _loc_to_param(tuple(first["loc"]))
    problems = "; ".join(
        f"{_loc_to_param(tuple(e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()[:5]
    )
    missing = first["type"] == "missing"
    return error_response(
        400,
        f"Invalid request: {problems}",
        param=param or None,
        code="missing_required_parameter" if missing else "invalid_value",
    )


class BodyTooLarge(Exception):
    """The request body passed the limit; ``declared`` is its Content-Length when the client sent one."""

    def __init__(self, declared: int | None) -> None:
        self.declared = declared
        super().__init__(declared)


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.3g} MiB"


def too_large_response(limit: int, declared: int | None) -> JSONResponse:
    size = f"{declared} bytes" if declared is not None else f"more than {limit} bytes"
    response = error_response(
        413,
        f"Request body too large: {size}; this server accepts at most {limit} bytes ({_mib(limit)}).",
        code="request_too_large",
    )
    response.headers["Connection"] = "close"  # the rest of the body is never read: this connection is done
    return response


def context_overflow(exc: BaseException) -> ContextLengthError | None:
    """The :class:`ContextLengthError` behind ``exc`` (through pipeline run errors and causes), if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ContextLengthError):
            return current
        seen.add(id(current))
        nested = current.cause if isinstance(current, PipelineRunError) else None
        current = nested or current.__cause__ or current.__context__
    return None


def context_length_response(exc: ContextLengthError) -> JSONResponse:
    """OpenAI's answer to a prompt that does not fit: 400, ``context_length_exceeded``, input not echoed."""
    if exc.limit is not None and exc.needed is not None:
        message = (
            f"This model's maximum context length is {exc.limit} tokens. However, your messages resulted in "
            f"{exc.needed} tokens (counting the pipeline's prompt for the step that ran out). "
            "Please reduce the length of the messages."
        )
    else:
        message = "The messages do not fit this model's context window. Please reduce the length of the messages."
    return error_response(400, message, param="messages", code="context_length_exceeded")


def server_error_message(exc: PawflowError) -> str:
    """What a 500 says about a responder failure: the step and the reason, never the step's inputs."""
    if isinstance(exc, PipelineRunError):
        where = f"pipeline {exc.pipeline!r} " if exc.pipeline else "pipeline "
        hint = f" (hint: {exc.hint})" if exc.hint else ""
        return f"The {where}step {exc.step!r} failed: {exc.reason}{hint}"
    return str(exc)

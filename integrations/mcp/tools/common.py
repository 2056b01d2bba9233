"""What every pawflow tool does the same way: check arguments, run on the queue, turn failures into tool errors.

A caller's mistake — a wrong type, an input too long for the model's context, a program that no
longer exists — comes back as an MCP tool error whose message says what to change; a bug of ours is
logged with its traceback on stderr and reported as a tool error naming the exception. Either way the
server keeps serving: nothing but cancellation propagates out of a tool.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import jsonschema
from fastmcp.exceptions import FastMCPError, ToolError
from fastmcp.server.dependencies import get_context
from fastmcp.tools.base import ToolResult

from integrations.mcp.errors import CallCancelled, ToolInputError
from pawflow.errors import PawflowError

log = logging.getLogger("pawflow.mcp")

T = TypeVar("T")


async def guarded(tool: str, work: Callable[[], Awaitable[T]]) -> T:
    """Run a tool body; every failure but cancellation becomes a :class:`ToolError` with a clear message."""
    try:
        return await work()
    except (FastMCPError, asyncio.CancelledError):
        raise  # already a tool-visible error (ToolError, argument ValidationError) or a cancellation
    except CallCancelled as exc:
        raise ToolError(f"{tool}: {exc}") from exc
    except PawflowError as exc:
        raise ToolError(f"{tool}: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - report, keep serving
        log.exception("tool %s failed", tool)
        raise ToolError(f"{tool} failed unexpectedly ({type(exc).__name__}: {exc}); the server log on stderr has the traceback") from exc


def check_arguments(tool: str, schema: dict[str, Any], arguments: dict[str, Any], max_chars: int) -> None:
    """Validate against the tool's input schema, with the size limit first and said in plain words."""
    check_size(arguments, max_chars)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(arguments), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    problems = []
    for error in errors[:5]:
        where = ".".join(str(part) for part in error.absolute_path)
        problems.append(f"argument {where!r}: {error.message}" if where else error.message)
    expected = ", ".join(f"{name}: {_type_name(prop)}" for name, prop in schema.get("properties", {}).items())
    raise ToolInputError(f"invalid arguments: {'; '.join(problems)}", hint=f"{tool} takes {{{expected}}}")


def check_size(value: Any, max_chars: int, where: str = "") -> None:
    """Refuse any string over ``max_chars``, and a whole argument set over 8× that once serialised."""
    for path, text in _strings(value, where):
        if len(text) > max_chars:
            raise ToolInputError(
                f"{path} is {len(text):,} characters; this server accepts at most {max_chars:,} per input",
                hint="send a shorter input (one log line, one message), or start the server with a larger --max-input-chars",
            )
    total = len(json.dumps(value, ensure_ascii=False, default=str))
    if total > max_chars * 8:
        raise ToolInputError(
            f"arguments are {total:,} characters of JSON; this server accepts at most {max_chars * 8:,} per call",
            hint="split the work into several calls, or start the server with a larger --max-input-chars",
        )


def _strings(value: Any, path: str) -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in _strings(item, f"{path}.{key}" if path else str(key))]
    if isinstance(value, list):
        return [found for index, item in enumerate(value) for found in _strings(item, f"{path}[{index}]")]
    return []


def _type_name(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return " | ".join(json.dumps(v) for v in schema["enum"])
    kind = schema.get("type", "any")
    return "/".join(kind) if isinstance(kind, list) else str(kind)


def structured(content: dict[str, Any]) -> ToolResult:
    """A result carrying the same object as structured content and as JSON text (for clients that read only text)."""
    return ToolResult(content=json.dumps(content, ensure_ascii=False), structured_content=content)


def progress_reporter() -> Callable[[float, float | None, str | None], Awaitable[None]] | None:
    """The current request's progress sender (a no-op when the client sent no progress token)."""
    try:
        context = get_context()
    except RuntimeError:
        return None
    return context.report_progress

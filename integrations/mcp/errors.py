"""Errors of the MCP server, under :class:`pawflow.errors.PawflowError` like every error pawflow raises.

A tool call that fails for a reason the caller can fix (bad arguments, an unknown program, a damaged
program file) becomes an MCP *tool error* — a result with ``isError: true`` and this message — so
the agent reads what went wrong and the server keeps serving. These classes exist so the server can
tell the caller's mistakes from its own failures, and so tests can catch them by type.
"""

from __future__ import annotations

from pawflow.errors import ConfigError, PawflowError


class McpServerError(PawflowError):
    """Base class of errors the MCP integration raises on purpose."""


class ServeConfigError(ConfigError, McpServerError):
    """The server cannot start as asked (folder missing, unsafe bind without a token, bad flag)."""


class ToolInputError(McpServerError):
    """A tool was called with arguments it cannot accept (type, size, unknown program or pipeline)."""


class ToolUnavailableError(McpServerError):
    """A listed tool's program or pipeline can no longer run (file removed or damaged while serving)."""


class CallCancelled(McpServerError):
    """The client cancelled the call; raised inside the worker so long work stops at the next check."""

"""Request hooks: keep ``tools/list`` current, start the model load after the first list, and word errors.

* Before every ``tools/list`` the catalog is rescanned (a ``stat`` per file), so a client that re-lists
  after ``notifications/tools/list_changed`` — or one that ignores it and simply lists again — sees
  what is on disk now.
* The first ``tools/list`` is answered before the model loads; right after it, the model is loaded in
  the background (``--no-preload`` turns that off), so the agent's first real call does not pay for it.
* fastmcp answers an unknown tool with "Unknown tool: 'x'" and bad arguments with pydantic's report;
  these are reworded to say what exists and what was expected.
"""

from __future__ import annotations

import difflib
import logging
import time
from typing import Any

from fastmcp.exceptions import NotFoundError, ToolError, ValidationError
from fastmcp.server.middleware import Middleware, MiddlewareContext

from integrations.mcp.server.state import ServerState

log = logging.getLogger("pawflow.mcp")


class CatalogMiddleware(Middleware):
    def __init__(self, state: ServerState, preload: Any) -> None:
        self.state = state
        self._preload = preload

    async def on_list_tools(self, context: MiddlewareContext[Any], call_next: Any) -> Any:
        await self.state.sync.refresh("tools/list")
        tools = await call_next(context)
        if self.state.first_list_s is None:
            self.state.first_list_s = time.perf_counter() - self.state.started
            log.info("first tools/list answered %.0f ms after start (%d tools)", self.state.first_list_s * 1000, len(tools))
        if self.state.options.preload and not self.state.preload_started:
            self.state.preload_started = True
            self._preload()
        return tools

    async def on_call_tool(self, context: MiddlewareContext[Any], call_next: Any) -> Any:
        name = context.message.name
        try:
            return await call_next(context)
        except NotFoundError:
            raise ToolError(await self._unknown_tool(name)) from None
        except ValidationError as exc:
            raise ToolError(f"{name}: invalid arguments: {_compact_validation(exc)}") from None

    async def _unknown_tool(self, name: str) -> str:
        await self.state.sync.refresh("unknown tool")
        snapshot = self.state.sync.snapshot
        names = [*self.state.stable_tools, *(e.tool_name for e in snapshot.programs.values()),
                 *(e.tool_name for e in snapshot.pipelines.values())]
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return (f"unknown tool {name!r}: no program, pipeline or pawflow tool has that name. {hint}"
                "Call list_programs for what this server runs, or run_program / run_pipeline by name.")


def _compact_validation(exc: ValidationError) -> str:
    """pydantic's report without the URL lines, one problem per clause."""
    cause = exc.__cause__
    errors = getattr(cause, "errors", None)
    if callable(errors):
        parts = []
        for error in errors()[:5]:
            where = ".".join(str(part) for part in error.get("loc", ()))
            got = error.get("input")
            shown = f" (got {got!r})" if got is not None and not isinstance(got, dict) else ""
            parts.append(f"argument {where!r}: {error.get('msg')}{shown}" if where else f"{error.get('msg')}{shown}")
        if parts:
            return "; ".join(parts)
    return str(exc).split("\n    For further information")[0]

"""Who is connected, so the server can tell every client its tool list changed.

fastmcp 4 sends ``notifications/tools/list_changed`` only for visibility changes made inside a
request, not when tools are added or removed from outside one — and a program rebuilt on disk
changes the list with no request in flight. So this middleware remembers each client connection
the first time it sends a request (the MCP SDK's per-connection :class:`mcp.server.connection.Connection`,
whose ``outbound`` channel reaches the client outside any request; over streamable HTTP that is the
session's GET stream) and forgets it when the connection closes (its exit stack).

Reaching the connection goes through ``ServerSession._connection``: the SDK builds a new
``ServerSession`` per request and exposes the connection nowhere else on fastmcp's context. fastmcp is
pinned to major 4 and the stdio/HTTP tests exercise this path.
"""

from __future__ import annotations

import logging
from typing import Any

from fastmcp.server.middleware import Middleware, MiddlewareContext

log = logging.getLogger("pawflow.mcp")

TOOLS_LIST_CHANGED = "notifications/tools/list_changed"


class ConnectionRegistry(Middleware):
    """Tracks live client connections; :meth:`broadcast_tools_changed` notifies them all."""

    def __init__(self) -> None:
        self._connections: dict[int, Any] = {}
        self.notifications_sent = 0

    @property
    def count(self) -> int:
        return len(self._connections)

    async def on_request(self, context: MiddlewareContext[Any], call_next: Any) -> Any:
        self._remember(context)
        return await call_next(context)

    def _remember(self, context: MiddlewareContext[Any]) -> None:
        ctx = context.fastmcp_context
        if ctx is None or ctx.request_context is None:
            return
        connection = getattr(ctx.session, "_connection", None)
        if connection is None or not getattr(connection, "has_standalone_channel", False):
            return  # sessionless (2026-07-28 single exchange): no channel to notify on
        key = id(connection)
        if key in self._connections:
            return
        self._connections[key] = connection
        connection.exit_stack.callback(self._connections.pop, key, None)

    async def broadcast_tools_changed(self) -> int:
        """Send ``notifications/tools/list_changed`` to every connection; returns how many got it."""
        delivered = 0
        for key, connection in list(self._connections.items()):
            try:
                await connection.outbound.notify(TOOLS_LIST_CHANGED, None)
                delivered += 1
            except Exception as exc:  # noqa: BLE001 - a client that went away must not stop the others
                log.debug("tools/list_changed not delivered to a connection: %s", exc)
                self._connections.pop(key, None)
        self.notifications_sent += delivered
        return delivered

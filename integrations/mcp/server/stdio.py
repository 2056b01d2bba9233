"""The stdio transport with a clean wire: stdout carries JSON-RPC messages and nothing else.

An MCP client reads the server's stdout line by line as JSON-RPC; one stray line (a library's print,
llama.cpp's log, a warning) breaks the session. So the command's first act, before fastmcp, llama.cpp
or any pipeline code is imported, is to keep a private duplicate of the real stdout for the protocol
and to point file descriptor 1 (which C code writes to directly) and ``sys.stdout`` at stderr. The
MCP SDK's ``stdio_server`` is then given the private descriptor explicitly. (The SDK diverts fd 1
itself, but only once it starts serving, after fastmcp's lifespan — where the folders are scanned
and pipelines' Python steps imported — has run; doing it first covers everything.)

Serving with explicit streams goes through fastmcp's lifespan manager and its low-level SDK server
(``FastMCP._lifespan_manager``, ``FastMCP._mcp_server``): ``run_stdio_async`` has no stream
parameters. fastmcp is pinned to major 4; the whole-session test catches a change.
"""

from __future__ import annotations

import io
import os
import sys


def claim_stdout() -> int:
    """Return a private descriptor for the protocol; from now on fd 1 and ``sys.stdout`` go to stderr."""
    sys.stdout.flush()
    wire = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return wire


async def serve_stdio(mcp: object, wire_fd: int) -> None:
    """Serve one client over stdin and the claimed descriptor until stdin closes."""
    import anyio
    from fastmcp.server.context import reset_transport, set_transport
    from mcp.server.stdio import stdio_server

    wire = io.TextIOWrapper(os.fdopen(wire_fd, "wb", closefd=False), encoding="utf-8", newline="\n")
    token = set_transport("stdio")
    try:
        async with mcp._lifespan_manager():  # type: ignore[attr-defined]
            async with stdio_server(stdout=anyio.wrap_file(wire)) as (read_stream, write_stream):
                low_level = mcp._mcp_server  # type: ignore[attr-defined]
                await low_level.run(read_stream, write_stream, low_level.create_initialization_options())
    finally:
        reset_transport(token)

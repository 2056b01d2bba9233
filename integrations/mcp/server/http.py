"""The streamable-HTTP transport: loopback by default, a bearer token when exposed.

``pawflow mcp --transport http`` binds 127.0.0.1. Any other address is refused unless
``--allow-remote`` is given together with a token (``--token`` or ``PAWFLOW_MCP_TOKEN``), because
whoever reaches the port runs programs on this machine (:meth:`ServeOptions.check_bind`). With a
token, fastmcp's auth layer checks ``Authorization: Bearer …`` on every request to the endpoint
(constant-time comparison, see :func:`integrations.mcp.server.app._bearer_auth`).

The socket is bound before serving so ``--port 0`` works: the chosen port is announced on stderr
(``pawflow mcp: serving … at http://HOST:PORT/mcp``), which is what tests and scripts read.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

from integrations.mcp.errors import ServeConfigError
from integrations.mcp.options import ServeOptions


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise ServeConfigError(f"cannot listen on {host}:{port} ({exc.strerror or exc})",
                               hint="choose another --port (0 picks a free one)") from exc
    sock.listen(128)
    sock.setblocking(False)
    return sock


async def serve_http(mcp: object, options: ServeOptions, announce: Callable[[str], None]) -> None:
    options.check_bind()
    sock = bind_socket(options.host, options.port)
    port = sock.getsockname()[1]
    shown_host = f"[{options.host}]" if ":" in options.host else options.host
    auth = " (bearer token required)" if options.token else ""
    announce(f"serving at http://{shown_host}:{port}{options.path}{auth}")
    try:
        await mcp.run_http_async(  # type: ignore[attr-defined]
            transport="http",
            host=options.host,
            port=port,
            path=options.path,
            sockets=[sock],
            show_banner=False,
            log_level="warning",
        )
    finally:
        sock.close()

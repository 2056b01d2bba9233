"""``pawflow mcp``: serve programs and pipelines as MCP tools (stdio for a local agent, or HTTP).

Registered through the ``pawflow.commands`` entry point; importing this module imports only typer.
With ``--transport stdio`` (the default) the first thing the command does is move everything that is
not protocol off stdout (:func:`integrations.mcp.server.stdio.claim_stdout`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional

import typer

TRANSPORTS = ("stdio", "http")


def register(app: typer.Typer) -> None:
    from pawflow.cli.registry import needs_note

    @app.command("mcp", help="Serve programs and pipelines as MCP tools for coding agents (stdio or HTTP)."
                 + needs_note("mcp", "fastmcp"))
    def mcp_command(
        programs: Optional[List[Path]] = typer.Option(None, "--programs", help="Folder of .paw programs (repeatable; default: the program search path)."),
        pipelines: Optional[List[Path]] = typer.Option(None, "--pipelines", help="Folder of pipeline YAML files (repeatable; default: ./pipelines)."),
        transport: str = typer.Option("stdio", "--transport", help="stdio (an agent starts the server) or http (streamable HTTP)."),
        host: str = typer.Option("127.0.0.1", "--host", help="HTTP listen address; not loopback needs --allow-remote and a token."),
        port: int = typer.Option(8765, "--port", min=0, max=65535, help="HTTP port (0: any free port, announced on stderr)."),
        token: Optional[str] = typer.Option(None, "--token", envvar="PAWFLOW_MCP_TOKEN", help="Bearer token every HTTP request must carry."),
        allow_remote: bool = typer.Option(False, "--allow-remote", help="Allow binding a non-loopback address (requires --token)."),
        max_input_chars: int = typer.Option(12_000, "--max-input-chars", min=1, help="Longest input text a call may send."),
        max_batch: int = typer.Option(256, "--max-batch", min=1, help="Most inputs one run_program batch may hold."),
        preload: bool = typer.Option(True, "--preload/--no-preload", help="Load the model in the background after the first tools/list."),
        warm: Optional[List[str]] = typer.Option(None, "--warm", help="Program whose prefix to evaluate during preload (repeatable)."),
        watch: bool = typer.Option(True, "--watch/--no-watch", help="Follow the folders and announce changed tools."),
        log_level: str = typer.Option("info", "--log-level", help="stderr log level: debug, info, warning, error."),
    ) -> None:
        """Serve MCP tools until the client disconnects (stdio) or Ctrl+C (HTTP)."""
        if transport not in TRANSPORTS:
            raise typer.BadParameter(f"{transport!r}: choose stdio or http", param_hint="--transport")
        wire_fd = None
        if transport == "stdio":
            from integrations.mcp.server.stdio import claim_stdout

            wire_fd = claim_stdout()
        from pawflow.cli.registry import require

        require("mcp", "fastmcp", "mcp", "watchdog", command="mcp")
        _configure_logging(log_level)

        import anyio

        from integrations.mcp.options import ServeOptions
        from integrations.mcp.server.app import create_server, export_program_path

        options = ServeOptions(
            program_dirs=list(programs or []), pipeline_dirs=list(pipelines or []), transport=transport,  # type: ignore[arg-type]
            host=host, port=port, token=token or None, allow_remote=allow_remote, max_input_chars=max_input_chars,
            max_batch=max_batch, preload=preload, warm=list(warm or []), watch=watch,
        )
        options.check_bind()
        options.check_folders()
        if options.program_dirs:
            export_program_path(options.program_dirs)
        server = create_server(options)
        announce = _announcer()
        if wire_fd is not None:
            from integrations.mcp.server.stdio import serve_stdio

            announce(f"serving over stdio (pid {os.getpid()})")
            anyio.run(serve_stdio, server.mcp, wire_fd)
        else:
            from integrations.mcp.server.http import serve_http

            try:
                anyio.run(serve_http, server.mcp, options, announce)
            except KeyboardInterrupt:
                pass


def _announcer():
    import sys

    def announce(message: str) -> None:
        sys.stderr.write(f"pawflow mcp: {message}\n")
        sys.stderr.flush()

    return announce


def _configure_logging(level: str) -> None:
    import logging
    import sys

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("pawflow mcp: %(message)s"))
    logger = logging.getLogger("pawflow.mcp")
    logger.handlers[:] = [handler]
    logger.setLevel(level.upper())
    logger.propagate = False

"""``pawflow serve openai``: expose a pipeline as an OpenAI-compatible chat-completions model.

Registered through the ``pawflow.commands`` entry point; this module imports only typer, rich and
pawflow, so the command is listed even without the ``openai`` extra (Starlette, uvicorn) and then
answers with the pip line that installs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from integrations.openai import DEFAULT_MAX_BODY_BYTES
from pawflow.cli.registry import needs_note, require
from pawflow.errors import ConfigError

EXTRA = "openai"
EXTRA_MODULES = ("starlette", "uvicorn")


def register(app: typer.Typer) -> None:
    serve = typer.Typer(help="Serve pipelines over standard protocols.", no_args_is_help=True)
    app.add_typer(serve, name="serve")

    @serve.command(
        "openai",
        help="Serve /v1/chat/completions and /v1/models; requests run one at a time on the interpreter."
        + needs_note(EXTRA, *EXTRA_MODULES),
    )
    def openai(
        pipeline: Path = typer.Option(..., "--pipeline", help="Pipeline YAML with inputs messages+tools and output message."),
        host: str = typer.Option("127.0.0.1", "--host", help="Listen address (loopback by default: there is no auth)."),
        port: int = typer.Option(8000, "--port", min=0, max=65535, help="Listen port."),
        model: Optional[str] = typer.Option(None, "--model", help="Model id clients must request (default: pawflow-<stem>)."),
        max_pending: int = typer.Option(64, "--max-pending", min=1, help="Queued requests before answering 429."),
        max_body_bytes: int = typer.Option(
            DEFAULT_MAX_BODY_BYTES, "--max-body-bytes", min=1,
            help="Largest request body accepted; larger ones get 413 before they are read.",
        ),
    ) -> None:
        require(EXTRA, *EXTRA_MODULES, command="serve openai")
        import uvicorn

        from integrations.openai.server import PipelineResponder, bind_socket, create_app

        if not pipeline.is_file():
            raise ConfigError(f"Pipeline file not found: {pipeline}")
        name = model or f"pawflow-{pipeline.stem}"
        responder = PipelineResponder(pipeline)
        sock = bind_socket(host, port)
        actual_port = sock.getsockname()[1]
        Console(stderr=True).print(
            f"Serving {pipeline} as model '{name}' at http://{host}:{actual_port}/v1 (Ctrl+C to stop)", highlight=False, soft_wrap=True
        )
        app_ = create_app(responder, model=name, max_pending=max_pending, max_body_bytes=max_body_bytes)
        server = uvicorn.Server(uvicorn.Config(app_, log_level="info"))
        try:
            server.run(sockets=[sock])
        finally:
            sock.close()

"""``pawflow serve openai``: expose a pipeline as an OpenAI-compatible chat-completions model."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from pawflow.errors import ConfigError


def register(app: typer.Typer) -> None:
    serve = typer.Typer(help="Serve pipelines over standard protocols.", no_args_is_help=True)
    app.add_typer(serve, name="serve")

    @serve.command("openai")
    def openai(
        pipeline: Path = typer.Option(..., "--pipeline", help="Pipeline YAML with inputs messages+tools and output message."),
        host: str = typer.Option("127.0.0.1", "--host", help="Listen address (loopback by default: there is no auth)."),
        port: int = typer.Option(8000, "--port", min=0, max=65535, help="Listen port."),
        model: Optional[str] = typer.Option(None, "--model", help="Model id clients must request (default: pawflow-<stem>)."),
        max_pending: int = typer.Option(64, "--max-pending", min=1, help="Queued requests before answering 429."),
    ) -> None:
        """Serve /v1/chat/completions and /v1/models; requests run one at a time on the interpreter."""
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
        server = uvicorn.Server(uvicorn.Config(create_app(responder, model=name, max_pending=max_pending), log_level="info"))
        try:
            server.run(sockets=[sock])
        finally:
            sock.close()

"""What ``pawflow mcp`` serves and how: one validated object shared by the CLI, the bench and the tests."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from integrations.mcp.errors import ServeConfigError

TOKEN_ENV = "PAWFLOW_MCP_TOKEN"
DEFAULT_MAX_INPUT_CHARS = 12_000  # ≈3k tokens: fits the default 4096-token context beside a pseudo-program
DEFAULT_MAX_BATCH = 256


class ServeOptions(BaseModel):
    """Server settings. Folders left empty mean the runtime's program search path and ``./pipelines``."""

    model_config = ConfigDict(extra="forbid")

    program_dirs: list[Path] = Field(default_factory=list, description="folders of .paw programs to serve")
    pipeline_dirs: list[Path] = Field(default_factory=list, description="folders of pipeline YAML files to serve")
    transport: Literal["stdio", "http"] = "stdio"
    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=0, le=65535)
    path: str = "/mcp"
    token: str | None = Field(default=None, repr=False, description="bearer token every HTTP request must carry")
    allow_remote: bool = False
    max_input_chars: int = Field(default=DEFAULT_MAX_INPUT_CHARS, ge=1)
    max_batch: int = Field(default=DEFAULT_MAX_BATCH, ge=1)
    preload: bool = Field(default=True, description="load the model in the background once the first tools/list is answered")
    warm: list[str] = Field(default_factory=list, description="programs whose prefix is evaluated during preload")
    watch: bool = Field(default=True, description="follow the folders with watchdog and announce changes")
    compile_tool: bool = Field(default=True, description="offer compile_program when the compile stack is installed")
    plugins: bool = Field(default=True, description="load tools other integrations register (pawflow.mcp_tools)")

    def check_bind(self) -> None:
        """Refuse to expose the server beyond this machine without an explicit flag and a token."""
        if self.transport != "http" or is_loopback(self.host):
            return
        if not self.allow_remote:
            raise ServeConfigError(
                f"refusing to bind {self.host}: the MCP server runs programs for whoever reaches it",
                hint="bind 127.0.0.1 (the default), or pass --allow-remote together with --token / "
                f"{TOKEN_ENV} so every request must carry the bearer token",
            )
        if not self.token:
            raise ServeConfigError(
                f"--allow-remote on {self.host} needs a bearer token",
                hint=f"pass --token SECRET or set {TOKEN_ENV}; clients send 'Authorization: Bearer SECRET'",
            )

    def check_folders(self) -> None:
        for kind, folders in (("programs", self.program_dirs), ("pipelines", self.pipeline_dirs)):
            for folder in folders:
                if not folder.is_dir():
                    raise ServeConfigError(f"{kind} folder not found: {folder}", hint=f"pass --{kind} with an existing folder")


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False

"""Everything a tool needs from the running server, in one place."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from integrations.mcp.options import ServeOptions
from integrations.mcp.runtime.batching import Coalescer
from integrations.mcp.runtime.queue import ModelQueue
from integrations.mcp.server.connections import ConnectionRegistry
from pawflow.base import BaseModelInfo
from pawflow.config import Settings

if TYPE_CHECKING:
    from integrations.mcp.catalog.sync import CatalogSync


@dataclass
class ServerState:
    options: ServeOptions
    settings: Settings
    base: BaseModelInfo
    queue: ModelQueue
    connections: ConnectionRegistry
    catalog: "CatalogSync | None" = None
    stable_tools: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    first_list_s: float | None = None
    preload_started: bool = False
    coalescer: Coalescer = field(init=False)

    def __post_init__(self) -> None:
        self.coalescer = Coalescer(self.queue)

    @property
    def sync(self) -> "CatalogSync":
        assert self.catalog is not None, "the catalog is created with the server"
        return self.catalog

"""The seam through which any integration adds MCP tools: a :class:`ToolKit` and an entry-point group.

An integration that wants a tool in ``pawflow mcp`` (the search reranker, say) declares, in
``pyproject.toml``::

    [project.entry-points."pawflow.mcp_tools"]
    rerank = "integrations.rerank.mcp_tools:register"

and writes ``register(kit: ToolKit) -> None``, calling :meth:`ToolKit.add` with plain typed functions
(the argument schema comes from the signature, the description from the docstring). Model work goes
through :meth:`ToolKit.run_on_model`, which queues it on the one interpreter with every other call,
forwards progress to the client and honours cancellation::

    def register(kit: ToolKit) -> None:
        async def rerank(query: str, documents: list[str]) -> dict:
            \"\"\"Order documents by relevance to the query.\"\"\"
            def job(control):
                interpreter = kit.interpreter()          # loaded lazily, on the worker
                ...                                       # control.check(); control.progress(i, n)
            return await kit.run_on_model(job, label="rerank")
        kit.add(rerank)

pawflow's own generic tools (``list_programs``, ``run_program``, …) register through the same kit.
A plugin that fails to load is reported on stderr and skipped; the server still starts.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any, TypeVar

from fastmcp.tools.base import Tool
from mcp_types import ToolAnnotations

from integrations.mcp.runtime.queue import JobControl
from integrations.mcp.server.state import ServerState
from integrations.mcp.tools.common import guarded, progress_reporter
from pawflow.interpreter import Interpreter

log = logging.getLogger("pawflow.mcp")

ENTRY_POINT_GROUP = "pawflow.mcp_tools"

T = TypeVar("T")

Registrar = Callable[["ToolKit"], None]


class ToolKit:
    """What a tool-registering integration gets: add tools, run model work on the shared queue."""

    def __init__(self, server: Any, state: ServerState, *, source: str = "pawflow") -> None:
        self._server = server
        self._state = state
        self.source = source

    @property
    def state(self) -> ServerState:
        return self._state

    def add(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        read_only: bool = True,
        output_schema: dict[str, Any] | None = None,
    ) -> Tool:
        """Register ``fn`` (sync or async, typed) as a stable tool; pawflow errors become tool errors."""
        tool = Tool.from_function(
            _guard(fn, name or fn.__name__),
            name=name or fn.__name__,
            description=description,
            annotations=ToolAnnotations(read_only_hint=read_only, open_world_hint=False),
            tags={"pawflow", self.source},
            **({"output_schema": output_schema} if output_schema is not None else {}),
        )
        self._server.add_tool(tool)
        self._state.stable_tools.append(tool.name)
        return tool

    def interpreter(self) -> Interpreter:
        """The shared interpreter; call it inside a job (it loads the model on first use)."""
        return self._state.queue.interpreter()

    async def run_on_model(self, job: Callable[[JobControl], T], *, label: str = "call") -> T:
        """Queue ``job(control)`` behind every other model call; progress goes to the current request."""
        return await self._state.queue.run(job, label=label, report=progress_reporter())


def _guard(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    """``fn`` as an async function whose pawflow errors read as tool errors (same signature, for the schema)."""

    @functools.wraps(fn)
    async def guarded_call(*args: Any, **kwargs: Any) -> Any:
        async def work() -> Any:
            if inspect.iscoroutinefunction(fn):
                return await fn(*args, **kwargs)
            return await asyncio.to_thread(fn, *args, **kwargs)

        return await guarded(name, work)

    return guarded_call


def plugin_registrars() -> list[tuple[str, Registrar]]:
    """``register`` functions declared under the ``pawflow.mcp_tools`` entry-point group."""
    found = []
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            found.append((ep.name, ep.load()))
        except Exception as exc:  # noqa: BLE001 - one broken plugin must not stop the server
            log.error("MCP tool plugin %r (%s) failed to load: %s", ep.name, ep.value, exc)
    return found


def register_plugins(server: Any, state: ServerState, registrars: list[tuple[str, Registrar]]) -> list[str]:
    loaded = []
    for name, register in registrars:
        try:
            register(ToolKit(server, state, source=name))
            loaded.append(name)
        except Exception as exc:  # noqa: BLE001
            log.error("MCP tool plugin %r failed to register its tools: %s", name, exc)
    return loaded

"""Assembling the server: fastmcp, the model queue, the catalog, the built-in and plugin tools.

:func:`create_server` builds everything without starting anything: the folders are scanned, the
watcher started and the model queue opened by fastmcp's lifespan, i.e. when a transport starts
serving. Nothing here loads the model (see :mod:`integrations.mcp.runtime.queue`).
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastmcp import FastMCP

from integrations.mcp.catalog.sync import CatalogSync
from integrations.mcp.options import ServeOptions
from integrations.mcp.runtime.queue import JobControl, ModelQueue
from integrations.mcp.server.connections import ConnectionRegistry
from integrations.mcp.server.middleware import CatalogMiddleware
from integrations.mcp.server.state import ServerState
from integrations.mcp.tools import compile as compile_tool
from integrations.mcp.tools import generic, watch_log
from integrations.mcp.tools.catalog_tools import PipelineTool, ProgramTool
from integrations.mcp.tools.seam import Registrar, ToolKit, plugin_registrars, register_plugins
from pawflow import __version__
from pawflow.base import inspect_base
from pawflow.config import Settings, load_settings
from pawflow.function import Function
from pawflow.resolve import search_path

log = logging.getLogger("pawflow.mcp")

INSTRUCTIONS = (
    "Local pawflow programs and pipelines: small fuzzy functions (classify a log line, route a ticket, "
    "answer a site question) run on a CPU model on this machine. Each program and pipeline is a tool named "
    "after it. list_programs shows what exists (and what cannot run, and why); run_program and run_pipeline "
    "run one by name, for clients that do not follow tools/list_changed. Inputs are short texts."
)


@dataclass
class PawflowServer:
    """The fastmcp server and the state its tools share."""

    mcp: FastMCP
    state: ServerState

    @property
    def catalog(self) -> CatalogSync:
        return self.state.sync


def default_program_dirs(settings: Settings) -> list[Path]:
    return search_path(settings)


def default_pipeline_dirs() -> list[Path]:
    folder = Path.cwd() / "pipelines"
    return [folder] if folder.is_dir() else []


def export_program_path(program_dirs: Sequence[Path]) -> None:
    """Make the served program folders part of ``PAWFLOW_PATH`` so pipelines find their programs there too."""
    current = [p for p in os.environ.get("PAWFLOW_PATH", "").split(os.pathsep) if p]
    wanted = [str(Path(d).resolve()) for d in program_dirs]
    os.environ["PAWFLOW_PATH"] = os.pathsep.join(dict.fromkeys([*wanted, *current]))


def create_server(
    options: ServeOptions,
    *,
    settings: Settings | None = None,
    registrars: Sequence[tuple[str, Registrar]] | None = None,
) -> PawflowServer:
    """Build the server for ``options``. ``registrars`` adds tool plugins (default: the entry-point group)."""
    settings = settings or load_settings()
    options.check_folders()
    program_dirs = [Path(p) for p in options.program_dirs] or default_program_dirs(settings)
    pipeline_dirs = [Path(p) for p in options.pipeline_dirs] or default_pipeline_dirs()
    base = inspect_base(settings.base_path())
    connections = ConnectionRegistry()
    state = ServerState(options=options, settings=settings, base=base, queue=ModelQueue(settings), connections=connections)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastMCP) -> AsyncIterator[dict[str, Any]]:
        import asyncio

        await state.sync.refresh("start", force=True)
        watched = state.sync.start_watching(asyncio.get_running_loop()) if options.watch else []
        snapshot = state.sync.snapshot
        log.info("serving %d programs and %d pipelines (%d unavailable); watching %s",
                 len(snapshot.programs), len(snapshot.pipelines), len(snapshot.unavailable),
                 ", ".join(map(str, watched)) or "nothing")
        try:
            yield {}
        finally:
            state.sync.stop_watching()
            state.queue.close()

    auth = _bearer_auth(options.token) if options.transport == "http" and options.token else None
    mcp = FastMCP(
        "pawflow",
        instructions=INSTRUCTIONS,
        version=__version__,
        middleware=[connections, CatalogMiddleware(state, lambda: preload(state))],
        lifespan=lifespan,
        auth=auth,
    )
    kit = ToolKit(mcp, state)
    generic.register(kit)
    watch_log.register(kit)
    if options.compile_tool and compile_tool.available():
        compile_tool.register(kit)
    if options.plugins or registrars:
        register_plugins(mcp, state, list(registrars) if registrars is not None else plugin_registrars())
    state.catalog = CatalogSync(
        mcp,
        program_dirs=program_dirs,
        pipeline_dirs=pipeline_dirs,
        base=base,
        allow_base_mismatch=settings.allow_base_mismatch,
        reserved_names=lambda: set(state.stable_tools),
        make_program_tool=lambda entry: ProgramTool.for_entry(state, entry),
        make_pipeline_tool=lambda entry: PipelineTool.for_entry(state, entry),
        broadcast=connections.broadcast_tools_changed,
    )
    return PawflowServer(mcp, state)


def preload(state: ServerState) -> None:
    """Load the model (and evaluate the ``--warm`` programs' prefixes) on the queue, in the background."""

    def job(control: JobControl) -> None:
        interpreter = state.queue.interpreter()
        for name in state.options.warm:
            control.check()
            entry = state.sync.snapshot.programs.get(name)
            if entry is None:
                log.warning("--warm %s: no such program is served", name)
                continue
            Function(entry.program, interpreter).run("warm-up")
        log.info("model loaded in %.2f s (preload)", state.queue.stats.model_load_s or 0.0)

    future = state.queue.submit(job, label="preload")
    future.add_done_callback(lambda f: f.cancelled() or (f.exception() and log.error("preload failed: %s", f.exception())))


def _bearer_auth(token: str) -> Any:
    """fastmcp's token verifier with a constant-time comparison: every HTTP request must carry the token."""
    from fastmcp.server.auth.providers.debug import DebugTokenVerifier

    expected = token.encode()
    return DebugTokenVerifier(validate=lambda presented: hmac.compare_digest(presented.encode(), expected), client_id="pawflow-mcp")

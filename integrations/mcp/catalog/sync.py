"""Keeping the served tools in step with the folders, and telling clients when they change.

:meth:`CatalogSync.refresh` rescans (cheap for unchanged files, see :mod:`.entries`), compares each
tool's fingerprint with what is registered, removes, adds or replaces fastmcp tools
(``FastMCP.add_tool`` / ``local_provider.remove_tool``) and, when anything changed, broadcasts
``notifications/tools/list_changed`` itself — fastmcp does not on add/remove. A refresh runs:

* at start;
* shortly after watchdog reports a change in a served folder (debounced: an atomic write is a
  create + rename, a compile touches the manifest too);
* before every ``tools/list`` and every program or pipeline call — a ``stat`` per file — so a client
  never gets a stale list or runs a program that was removed or damaged since, even when file-system
  events are unavailable (inotify limits, network folders).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from integrations.mcp.catalog.entries import (
    PIPELINE_SUFFIXES,
    FileSignature,
    PipelineEntry,
    ProgramEntry,
    Snapshot,
    Unavailable,
    assign_tool_names,
    scan_pipelines,
    scan_programs,
)
from integrations.mcp.errors import ToolUnavailableError
from pawflow.base import BaseModelInfo

log = logging.getLogger("pawflow.mcp")

DEBOUNCE_S = 0.25

ToolFactory = Callable[[Any], Any]  # entry -> fastmcp Tool


@dataclass
class Changes:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.replaced)


class CatalogSync:
    """Owns the current :class:`Snapshot` and the fastmcp tools made from it."""

    def __init__(
        self,
        server: Any,  # fastmcp.FastMCP
        *,
        program_dirs: list[Path],
        pipeline_dirs: list[Path],
        base: BaseModelInfo,
        allow_base_mismatch: bool,
        reserved_names: Callable[[], set[str]],
        make_program_tool: ToolFactory,
        make_pipeline_tool: ToolFactory,
        broadcast: Callable[[], Any],
    ) -> None:
        self.server = server
        self.program_dirs = program_dirs
        self.pipeline_dirs = pipeline_dirs
        self.base = base
        self.allow_base_mismatch = allow_base_mismatch
        self._reserved_names = reserved_names
        self._make_program_tool = make_program_tool
        self._make_pipeline_tool = make_pipeline_tool
        self._broadcast = broadcast
        self.snapshot = Snapshot()
        self._fingerprints: dict[str, tuple[Any, ...]] = {}
        self._lock = asyncio.Lock()
        self._pending: asyncio.TimerHandle | None = None
        self._observer: Any = None
        self.refreshes = 0
        self.last_changes = Changes()

    # ------------------------------------------------------------------ rescanning

    def _scan(self) -> Snapshot:
        previous = self.snapshot
        programs, broken, shadowed = scan_programs(
            self.program_dirs, self.base, previous, allow_base_mismatch=self.allow_base_mismatch
        )
        programs_changed = _program_keys(programs) != _program_keys(previous.programs)
        pipelines, broken_pipelines = scan_pipelines(self.pipeline_dirs, previous, programs_changed)
        snapshot = Snapshot(programs, pipelines, broken + broken_pipelines, shadowed)
        assign_tool_names(snapshot, self._reserved_names())
        return snapshot

    def files_changed(self) -> bool:
        """True when any served file was added, removed or written since the last scan (stat only)."""
        known: dict[Path, FileSignature | None] = {e.path: e.signature for e in self.snapshot.programs.values()}
        known.update({e.path: e.signature for e in self.snapshot.pipelines.values()})
        known.update({u.path: u.signature for u in self.snapshot.unavailable})
        seen: set[Path] = set()
        for folder in self.program_dirs:
            if folder.is_dir():
                seen.update(folder.glob("*.paw"))
        for folder in self.pipeline_dirs:
            if folder.is_dir():
                seen.update(p for p in folder.iterdir() if p.suffix in PIPELINE_SUFFIXES)
        if seen - self.snapshot.shadowed != set(known):
            return True
        return any(FileSignature.of(path) != signature for path, signature in known.items())

    async def refresh(self, reason: str = "", *, force: bool = False) -> Changes:
        """Rescan when something changed (or ``force``); apply the difference; notify clients."""
        async with self._lock:
            if not force and self.refreshes and not await asyncio.to_thread(self.files_changed):
                return Changes()
            snapshot = await asyncio.to_thread(self._scan)
            changes = self._apply(snapshot)
            self.refreshes += 1
            self.last_changes = changes
        if changes:
            log.info("tools changed (%s): +%s -%s ~%s", reason or "rescan", changes.added, changes.removed, changes.replaced)
            await self._broadcast()
        return changes

    def _apply(self, snapshot: Snapshot) -> Changes:
        wanted: dict[str, tuple[tuple[Any, ...], ProgramEntry | PipelineEntry]] = {}
        for entry in snapshot.programs.values():
            wanted[entry.tool_name] = (("program", entry.name, entry.program_id, entry.path), entry)
        for entry in snapshot.pipelines.values():
            wanted[entry.tool_name] = (("pipeline", entry.name, entry.signature, entry.program_ids, entry.path), entry)
        changes = Changes()
        for name in [n for n in self._fingerprints if n not in wanted]:
            self._remove(name)
            changes.removed.append(name)
        for name, (fingerprint, entry) in wanted.items():
            old = self._fingerprints.get(name)
            if old == fingerprint:
                continue
            if old is not None:
                self._remove(name)
                changes.replaced.append(name)
            else:
                changes.added.append(name)
            factory = self._make_program_tool if isinstance(entry, ProgramEntry) else self._make_pipeline_tool
            self.server.add_tool(factory(entry))
            self._fingerprints[name] = fingerprint
        self.snapshot = snapshot
        return changes

    def _remove(self, name: str) -> None:
        try:
            self.server.local_provider.remove_tool(name)
        except KeyError:
            pass
        self._fingerprints.pop(name, None)

    # ------------------------------------------------------------------ what a call runs

    async def program_for_call(self, name: str) -> ProgramEntry:
        """The program behind a tool, re-checked on disk; raises ToolUnavailableError with the reason."""
        entry = self.snapshot.programs.get(name)
        if entry is None or FileSignature.of(entry.path) != entry.signature:
            await self.refresh(f"program {name} changed on disk")
            entry = self.snapshot.programs.get(name)
        if entry is None:
            raise ToolUnavailableError(self._why_missing("program", name))
        return entry

    async def pipeline_for_call(self, ref: str) -> PipelineEntry:
        await self.refresh(f"before running pipeline {ref}")
        entry = self.snapshot.find_pipeline(ref)
        if entry is None:
            raise ToolUnavailableError(self._why_missing("pipeline", ref))
        return entry

    def _why_missing(self, kind: str, name: str) -> str:
        for item in self.snapshot.unavailable:
            if item.kind == kind and name in (item.path.stem, item.path.name):
                return f"{kind} {name!r} cannot run: {item.error}"
        known = sorted(self.snapshot.programs) if kind == "program" else sorted(e.name for e in self.snapshot.pipelines.values())
        folders = self.program_dirs if kind == "program" else self.pipeline_dirs
        where = ", ".join(str(f) for f in folders) or "(no folder)"
        listing = ", ".join(known[:20]) or "none"
        return f"no {kind} named {name!r} is served (looked in {where}); served: {listing}"

    def unavailable(self) -> list[Unavailable]:
        return list(self.snapshot.unavailable)

    # ------------------------------------------------------------------ following the folders

    def start_watching(self, loop: asyncio.AbstractEventLoop) -> list[Path]:
        """Follow the served folders with watchdog; returns the folders actually watched."""
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        sync = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                paths = [getattr(event, "src_path", ""), getattr(event, "dest_path", "")]
                if any(str(p).endswith((".paw", *PIPELINE_SUFFIXES)) for p in paths if p):
                    loop.call_soon_threadsafe(sync._schedule_refresh)

        observer = Observer()
        watched = []
        for folder in dict.fromkeys([*self.program_dirs, *self.pipeline_dirs]):
            if folder.is_dir():
                observer.schedule(Handler(), str(folder), recursive=False)
                watched.append(folder)
        observer.daemon = True
        observer.start()
        self._observer = observer
        return watched

    def _schedule_refresh(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
        loop = asyncio.get_running_loop()
        self._pending = loop.call_later(DEBOUNCE_S, lambda: loop.create_task(self._refresh_from_event()))

    async def _refresh_from_event(self) -> None:
        self._pending = None
        started = time.perf_counter()
        try:
            await self.refresh("file-system event")
        except Exception:  # noqa: BLE001 - the watcher must survive anything a folder throws at it
            log.exception("rescan after a file-system event failed")
        log.debug("rescan took %.1f ms", (time.perf_counter() - started) * 1000)

    def stop_watching(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=2)
            self._observer = None


def _program_keys(programs: dict[str, ProgramEntry]) -> dict[str, str]:
    return {name: entry.program_id for name, entry in programs.items()}

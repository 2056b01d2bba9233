"""What is being served: programs and pipelines found in the served folders, read and checked.

A scan reads every ``*.paw`` and pipeline ``*.yaml`` once and keeps it with its file signature
(inode, size, mtime, ctime), so the next scan re-reads only files that changed: rescanning on every
``tools/list`` and before every call costs a ``stat`` per file, which is what lets the server notice
a rebuilt, removed or damaged program even when no file-system event arrives. Files that cannot be
served (damaged, compiled for another base, a pipeline that does not validate) are kept as
:class:`Unavailable` with the reason, so ``list_programs`` can say why a tool is missing.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from pawflow.base import BaseModelInfo
from pawflow.errors import PawflowError
from pawflow.pipeline import Pipeline
from pawflow.pipeline.spec import ProgramStep
from pawflow.program import Program

PIPELINE_SUFFIXES = (".yaml", ".yml")
TOOL_NAME_LIMIT = 64


@dataclass(frozen=True)
class FileSignature:
    """Changes whenever the file is replaced or written (ctime moves on every write, even a same-size one)."""

    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, path: Path) -> "FileSignature | None":
        try:
            st = os.stat(path)
        except OSError:
            return None
        return cls(st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


@dataclass
class ProgramEntry:
    name: str
    path: Path
    signature: FileSignature
    program: Program
    tool_name: str = ""

    @property
    def program_id(self) -> str:
        return self.program.meta.program_id


@dataclass
class PipelineEntry:
    name: str
    path: Path
    signature: FileSignature
    pipeline: Pipeline
    programs: list[str]
    program_ids: tuple[str, ...]
    tool_name: str = ""


@dataclass
class Unavailable:
    """A file in a served folder that cannot be served, and why."""

    kind: str  # "program" | "pipeline"
    path: Path
    error: str
    signature: FileSignature | None = None


@dataclass
class Snapshot:
    """One scan's result. Tool names are assigned over the whole snapshot (collisions resolved)."""

    programs: dict[str, ProgramEntry] = field(default_factory=dict)
    pipelines: dict[str, PipelineEntry] = field(default_factory=dict)
    unavailable: list[Unavailable] = field(default_factory=list)
    shadowed: set[Path] = field(default_factory=set)  # same name in a later folder: not served

    def program_by_tool(self, tool_name: str) -> ProgramEntry | None:
        return next((entry for entry in self.programs.values() if entry.tool_name == tool_name), None)

    def find_pipeline(self, ref: str) -> PipelineEntry | None:
        """By tool name, pipeline name or file stem."""
        for entry in self.pipelines.values():
            if ref in (entry.tool_name, entry.name, entry.path.stem):
                return entry
        return None


def read_program(path: Path, base: BaseModelInfo, *, allow_base_mismatch: bool) -> Program:
    """Read and check a program the way loading it would: integrity, then fit with the served base."""
    program = Program.read(path)
    program.check_base(base, allow_mismatch=allow_base_mismatch)
    return program


def scan_programs(
    folders: list[Path], base: BaseModelInfo, previous: Snapshot | None, *, allow_base_mismatch: bool
) -> tuple[dict[str, ProgramEntry], list[Unavailable], set[Path]]:
    """Every ``*.paw`` in ``folders``; an earlier folder shadows a later one by name (as the search path does)."""
    old = previous.programs if previous else {}
    old_broken = {item.path: item for item in previous.unavailable} if previous else {}
    found: dict[str, ProgramEntry] = {}
    broken: list[Unavailable] = []
    shadowed: set[Path] = set()
    for folder in folders:
        for path in sorted(folder.glob("*.paw")) if folder.is_dir() else []:
            name = path.stem
            if name in found or any(item.path.stem == name for item in broken):
                shadowed.add(path)
                continue
            signature = FileSignature.of(path)
            if signature is None:  # removed between glob and stat
                continue
            cached = old.get(name)
            if cached is not None and cached.path == path and cached.signature == signature:
                found[name] = ProgramEntry(name, path, signature, cached.program)
                continue
            known = old_broken.get(path)
            if known is not None and known.signature == signature:
                broken.append(known)
                continue
            try:
                program = read_program(path, base, allow_base_mismatch=allow_base_mismatch)
            except PawflowError as exc:
                broken.append(Unavailable("program", path, str(exc), signature))
                continue
            found[name] = ProgramEntry(name, path, signature, program)
    return found, broken, shadowed


def scan_pipelines(
    folders: list[Path], previous: Snapshot | None, programs_changed: bool
) -> tuple[dict[str, PipelineEntry], list[Unavailable]]:
    """Every pipeline file in ``folders``, validated (programs resolved, types worked out).

    Pipelines are re-validated when any program changed, because their output types and the
    programs they hold come from the program files.
    """
    old = {entry.path: entry for entry in previous.pipelines.values()} if previous else {}
    old_broken = {item.path: item for item in previous.unavailable} if previous else {}
    found: dict[str, PipelineEntry] = {}
    broken: list[Unavailable] = []
    for folder in folders:
        paths = sorted(p for p in folder.iterdir() if p.suffix in PIPELINE_SUFFIXES) if folder.is_dir() else []
        for path in paths:
            signature = FileSignature.of(path)
            if signature is None:
                continue
            cached = old.get(path)
            if not programs_changed and cached is not None and cached.signature == signature:
                found[cached.name] = cached
                continue
            known = old_broken.get(path)
            if not programs_changed and known is not None and known.signature == signature:
                broken.append(known)
                continue
            entry_or_error = load_pipeline(path, signature)
            if isinstance(entry_or_error, Unavailable):
                broken.append(entry_or_error)
            elif entry_or_error.name in found:
                other = found[entry_or_error.name].path
                broken.append(Unavailable("pipeline", path, f"pipeline name {entry_or_error.name!r} is already served from {other}", signature))
            else:
                found[entry_or_error.name] = entry_or_error
    return found, broken


def load_pipeline(path: Path, signature: FileSignature) -> PipelineEntry | Unavailable:
    try:
        pipeline = Pipeline.load(path)
        report = pipeline.validate()
    except PawflowError as exc:
        return Unavailable("pipeline", path, str(exc), signature)
    except Exception as exc:  # noqa: BLE001 - a broken pipeline file must not stop the server from serving the rest
        return Unavailable("pipeline", path, f"{type(exc).__name__}: {exc}", signature)
    if not report.ok:
        shown = "; ".join(str(problem) for problem in report.errors[:3])
        more = f" (+{len(report.errors) - 3} more)" if len(report.errors) > 3 else ""
        return Unavailable("pipeline", path, f"does not validate: {shown}{more}", signature)
    analysis = pipeline.analysis()
    programs: list[str] = []
    ids: list[str] = []
    for info in analysis.steps.values():
        step = info.inner.step if info.inner is not None else info.step
        holder = info.inner if info.inner is not None else info
        if isinstance(step, ProgramStep) and holder.program is not None:
            programs.append(holder.program.name)
            ids.append(holder.program.meta.program_id)
    return PipelineEntry(pipeline.name, path, signature, pipeline, sorted(set(programs)), tuple(sorted(ids)))


# --------------------------------------------------------------------------- tool names

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def safe_tool_name(name: str) -> str:
    """MCP clients (and the LLM APIs behind them) accept ``^[A-Za-z0-9_-]{1,64}$``."""
    cleaned = _UNSAFE.sub("_", name).strip("_") or "tool"
    return cleaned[:TOOL_NAME_LIMIT]


def assign_tool_names(snapshot: Snapshot, reserved: set[str]) -> None:
    """Programs keep their name; a pipeline keeps its own unless taken, then gets a ``pipeline_`` prefix.

    Deterministic from the snapshot alone, so a rescan never renames a tool that did not change.
    """
    taken = set(reserved)
    for name in sorted(snapshot.programs):
        entry = snapshot.programs[name]
        candidate = safe_tool_name(name)
        if candidate in taken:
            candidate = safe_tool_name(f"program_{name}")
        entry.tool_name = _unique(candidate, taken)
    for name in sorted(snapshot.pipelines):
        entry = snapshot.pipelines[name]
        candidate = safe_tool_name(name)
        if candidate in taken:
            candidate = safe_tool_name(f"pipeline_{name}")
        entry.tool_name = _unique(candidate, taken)


def _unique(candidate: str, taken: set[str]) -> str:
    name, n = candidate, 2
    while name in taken:
        suffix = f"_{n}"
        name = candidate[: TOOL_NAME_LIMIT - len(suffix)] + suffix
        n += 1
    taken.add(name)
    return name

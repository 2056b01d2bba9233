"""The compile driver: a source (or every source in a folder) -> ``build/NAME.paw``, only when needed.

A build is identified by its *build key*: the sha256 of the source file and its data files, the
method and its resolved options, the base model's sha256 and :data:`COMPILER_VERSION`. The key is
stored inside the .paw (``CompileInfo.details.build_key``) — the program itself is the record of what
it was built from, so deleting or copying builds never leaves a stale cache behind — and mirrored in
``build/manifest.json`` for people and tools. ``compile --all`` rebuilds exactly the sources whose key
changed, which is what lets ``make run`` compile only what it must.

Programs are written atomically (``Program.write``): an exception or Ctrl-C during a compile leaves
the previous program, or none, never a partial file.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from compiler.methods import BaseSpec, CompileRequest, ProgressFn, _no_progress, get_method, method_names
from pawflow.base import inspect_base
from pawflow.errors import CompileError, PawflowError, SourceError
from pawflow.program import CompileInfo, Program
from pawflow.source import LoadedSource, load_source
from pawflow.storage import atomic_write_text

# Bump when a change to the compiler alters what a given source compiles to (the template layout, the
# pseudo-compiler prompt, the fit recipe), so `compile --all` rebuilds everything once.
COMPILER_VERSION = "1"
MANIFEST = "manifest.json"


class CompileReport(BaseModel):
    """One row of a compile run: what happened to one source."""

    name: str
    source: Path
    out: Path | None = None
    method: str = ""
    status: Literal["built", "skipped", "failed"]
    reason: str = ""
    seconds: float = 0.0
    build_key: str = ""
    details: dict[str, Any] = Field(default_factory=dict)


class ManifestEntry(BaseModel):
    model_config = ConfigDict(extra="ignore")
    source: str
    out: str
    method: str
    build_key: str
    source_sha256: str
    built_at: str
    seconds: float
    # Few-example compiles (method auto): what shipped, why, and its held-out estimate with n.
    chosen: str | None = None
    why: str | None = None
    estimate: dict[str, Any] | None = None


class Manifest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    compiler_version: str = COMPILER_VERSION
    programs: dict[str, ManifestEntry] = Field(default_factory=dict)


def default_out(source_path: Path, name: str) -> Path:
    return source_path.parent / "build" / f"{name}.paw"


def resolve_base(base: Path | None) -> BaseSpec:
    """The base to compile for: an explicit path, else the configured/embedded one."""
    from pawflow.config import load_settings

    path = load_settings(base=base).base_path()
    return BaseSpec(path=path, info=inspect_base(path))


def resolve_options(loaded: LoadedSource | None, method_name: str, overrides: dict[str, Any]) -> BaseModel:
    """The method's options: source ``compile.options`` < CLI overrides, validated by the method.

    Options written in the source for *another* method are ignored only if that method does not
    know them; a key no method accepts is an error naming the source's file and line.
    """
    method = get_method(method_name)
    from_source: dict[str, Any] = {}
    if loaded is not None and loaded.source.compile.method == method_name:
        from_source = dict(loaded.source.compile.options)
    elif loaded is not None:
        # Options meant for another method still apply where this method has the same knob (seed, pseudo_lm).
        known = set(method.Options.model_fields)
        from_source = {k: v for k, v in loaded.source.compile.options.items() if k in known}
    values = {**from_source, **{k: v for k, v in overrides.items() if v is not None}}
    try:
        return method.Options.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"])
        if loaded is not None and error["loc"] and error["loc"][0] in from_source and error["loc"][0] not in overrides:
            line = _source_line(loaded.path, ("compile", "options", str(error["loc"][0])))
            raise SourceError(
                loaded.path, f"compile.options.{field}: {error['msg']} (method {method_name!r})", line=line
            ) from exc
        raise CompileError(f"invalid option {field} for method {method_name!r}: {error['msg']}") from exc


def _source_line(path: Path, loc: tuple[str, ...]) -> int | None:
    from pawflow.yamlio import line_for, load_yaml

    _, lines = load_yaml(path)
    return line_for(loc, lines)


def build_key(request: CompileRequest, method: str, options: BaseModel, base: BaseSpec) -> str:
    identity = {
        "compiler_version": COMPILER_VERSION,
        "source_sha256": request.source_sha256,
        "method": method,
        "options": options.model_dump(mode="json"),
        "base_sha256": base.info.sha256,
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def compile_request(
    request: CompileRequest,
    *,
    method: str,
    options: BaseModel,
    base: BaseSpec,
    progress: ProgressFn = _no_progress,
) -> tuple[Program, str, float]:
    """Compile in memory: (program, build key, seconds). Nothing is written.

    With ``options.evaluate`` and held-out rows, the built program is scored through llama.cpp and the
    held-out exact match is recorded in its details (``heldout_em``); the seconds exclude that scoring.
    """
    key = build_key(request, method, options, base)
    started = time.perf_counter()
    outcome = get_method(method).run(request, options, base, progress)
    seconds = time.perf_counter() - started
    details = {
        **outcome.details,
        "build_key": key,
        "compiler_version": COMPILER_VERSION,
        "compile_s": round(seconds, 1),
        "origin": request.origin,
        "train_rows": len(request.train),
        "heldout_rows": len(request.heldout),
    }

    def build() -> Program:
        return Program.build(
            name=request.name,
            base=base.info,
            prompt_template=outcome.prompt_template,
            pseudo_program=outcome.pseudo_program,
            adapter=outcome.adapter,
            spec=request.spec,
            version=request.version,
            output=outcome.output or request.output,
            generation=request.generation,
            compile=CompileInfo(method=method, details=details),
            source_sha256=request.source_sha256,
        )

    program = build()
    if getattr(options, "evaluate", False) and request.heldout:
        from compiler.evaluate import exact_match
        from compiler.methods import shared_interpreter

        total = len(request.heldout)
        progress("scoring held-out", 0, total)
        result = exact_match(
            program, request.heldout, interpreter=shared_interpreter(base),
            on_progress=lambda done: progress("scoring held-out", done, total),
        )
        details.update(heldout_em=round(result.em, 4), heldout_n=result.n, heldout_eval_s=round(result.seconds, 1))
        program = build()
    return program, key, seconds


def recorded_key(path: Path) -> str | None:
    """The build key stored in an existing .paw, or None if there is none or it cannot be read."""
    if not path.is_file():
        return None
    try:
        program = Program.read(path)
    except PawflowError:
        return None
    if program.meta.pawflow is None:
        return None
    key = program.meta.pawflow.compile.details.get("build_key")
    return key if isinstance(key, str) else None


def compile_file(
    source: Path,
    *,
    method: str | None = None,
    out: Path | None = None,
    base: BaseSpec | None = None,
    overrides: dict[str, Any] | None = None,
    force: bool = True,
    progress: ProgressFn = _no_progress,
) -> CompileReport:
    """Compile one source file to its .paw. With ``force=False`` an up-to-date build is skipped.

    Errors in the source raise :class:`SourceError` (file, line, field); errors while compiling raise
    :class:`CompileError` or propagate, and in every case the output path is left untouched.
    """
    loaded = load_source(source)
    if method is None:
        method = loaded.source.compile.method
        if method not in method_names():
            raise SourceError(
                loaded.path, f"compile.method: unknown method {method!r}; available: {', '.join(method_names())}",
                line=_source_line(loaded.path, ("compile", "method")),
            )
    options = resolve_options(loaded, method, overrides or {})
    base = base or resolve_base(None)
    request = CompileRequest.from_source(loaded)
    out = out or default_out(loaded.path, loaded.source.name)
    key = build_key(request, method, options, base)
    if not force and recorded_key(out) == key:
        return CompileReport(name=request.name, source=source, out=out, method=method, status="skipped",
                             reason="up to date", build_key=key)
    previous = recorded_key(out)
    program, key, seconds = compile_request(request, method=method, options=options, base=base, progress=progress)
    program.write(out)
    _update_manifest(out.parent, request, out, method, key, seconds, program.meta.pawflow.compile.details if program.meta.pawflow else {})
    reason = "new" if previous is None else ("forced" if previous == key else "changed")
    return CompileReport(
        name=request.name, source=source, out=out, method=method, status="built", reason=reason,
        seconds=seconds, build_key=key, details=program.meta.pawflow.compile.details if program.meta.pawflow else {},
    )


def find_sources(folder: Path) -> list[Path]:
    """Program sources are the ``*.yaml``/``*.yml`` files directly in the folder (data/ and build/ are not)."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in (".yaml", ".yml"))


def compile_all(
    folder: Path,
    *,
    method: str | None = None,
    base: BaseSpec | None = None,
    overrides: dict[str, Any] | None = None,
    force: bool = False,
    progress_for: Callable[[str], ProgressFn] | None = None,
    on_report: Callable[[CompileReport], None] | None = None,
) -> list[CompileReport]:
    """Compile every source in ``folder`` whose build key changed; a broken source fails alone."""
    if not folder.is_dir():
        raise CompileError(f"{folder}: not a directory of program sources")
    base = base or resolve_base(None)
    reports = []
    for source in find_sources(folder):
        try:
            report = compile_file(
                source, method=method, base=base, overrides=overrides, force=force,
                progress=progress_for(source.stem) if progress_for else _no_progress,
            )
        except PawflowError as exc:
            report = CompileReport(name=source.stem, source=source, status="failed", reason=str(exc))
        reports.append(report)
        if on_report is not None:
            on_report(report)
    return reports


def _update_manifest(
    build_dir: Path, request: CompileRequest, out: Path, method: str, key: str, seconds: float,
    details: dict[str, Any] | None = None,
) -> None:
    path = build_dir / MANIFEST
    manifest = read_manifest(path)
    manifest.compiler_version = COMPILER_VERSION
    manifest.programs[request.name] = ManifestEntry(
        source=request.origin,
        out=out.name,
        method=method,
        build_key=key,
        source_sha256=request.source_sha256 or "",
        built_at=datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        seconds=round(seconds, 1),
        chosen=(details or {}).get("chosen"),
        why=((details or {}).get("auto") or {}).get("why"),
        estimate=(details or {}).get("estimate"),
    )
    atomic_write_text(path, manifest.model_dump_json(indent=2) + "\n")


def read_manifest(path: Path) -> Manifest:
    """The manifest, or an empty one if it is missing or unreadable (the .paw files stay authoritative)."""
    try:
        return Manifest.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError, ValueError):
        return Manifest()


def summarize(reports: Sequence[CompileReport]) -> dict[str, int]:
    counts = {"built": 0, "skipped": 0, "failed": 0}
    for report in reports:
        counts[report.status] += 1
    return counts

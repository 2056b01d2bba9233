"""Resumable batch runs: JSONL in, JSONL out, one line per row, safe to kill at any moment.

Every output line carries the row's id and is appended, flushed and fsynced before the next row is
written, so a crash loses at most the rows being computed, never a written one. A rerun reads the
output first and skips ids already there; a torn last line (a crash mid-write) is cut off before
appending. Rows are computed in chunks through ``Engine.run_rows`` so model calls stay grouped per
program — resumability is per row, grouping per chunk.

*Where* rows are computed is a :class:`BatchEngine`: ``local`` (this process, built in) or one
registered in the ``pawflow.batch_engines`` entry-point group (``ray`` lives in
``integrations/scale``; the runtime never imports it by name). An engine only computes records and
hands them back in input order; writing, resuming and counting stay here, so every engine gets the
same guarantees for free.
"""

from __future__ import annotations

import json
import os
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Protocol, runtime_checkable

from pydantic import BaseModel

from pawflow.errors import ConfigError, PipelineError, SourceError
from pawflow.jsonl import iter_jsonl
from pawflow.pipeline.cache import ResultCache
from pawflow.pipeline.core import Pipeline

if TYPE_CHECKING:
    from pawflow.pipeline import RowResult

ENGINE_ENTRY_POINT_GROUP = "pawflow.batch_engines"
Row = tuple[str, dict[str, Any]]  # (row id, pipeline inputs)


class BatchSummary(BaseModel):
    total: int
    already_done: int
    ok: int
    failed: int
    out: str
    engine: str = "local"


def read_rows(path: Path, id_field: str, input_names: set[str]) -> list[Row]:
    """(row id, inputs) for every non-blank line; SourceError names the line of anything malformed."""
    rows: list[Row] = []
    seen: dict[str, int] = {}
    for number, raw in iter_jsonl(path, what="batch input file"):
        if not isinstance(raw, dict):
            raise SourceError(path, f"each line must be a JSON object of pipeline inputs, got {type(raw).__name__}", line=number)
        if id_field in raw and id_field not in input_names:
            row_id = raw.pop(id_field)
            if not isinstance(row_id, (str, int)) or isinstance(row_id, bool):
                raise SourceError(path, f"{id_field!r} must be a string or integer", line=number)
            row_id = str(row_id)
        else:
            row_id = f"line-{number}"
        if row_id in seen:
            raise SourceError(path, f"row id {row_id!r} also appears on line {seen[row_id]}", line=number,
                              hint="ids must be unique for a rerun to know which rows are done")
        seen[row_id] = number
        rows.append((row_id, raw))
    return rows


def done_ids(out: Path, *, retry_failed: bool) -> set[str]:
    """Ids already written to ``out``; cuts a torn final line left by a crash."""
    if not out.exists():
        return set()
    with out.open("rb+") as handle:
        data = handle.read()
        keep = len(data)
        if data and not data.endswith(b"\n"):
            keep = data.rfind(b"\n") + 1  # the last line was half-written: drop it
        else:
            last_start = data.rfind(b"\n", 0, len(data) - 1) + 1
            try:
                if data:
                    json.loads(data[last_start:])
            except ValueError:
                keep = last_start
        if keep != len(data):
            handle.truncate(keep)
            handle.flush()
            os.fsync(handle.fileno())
            data = data[:keep]
    status: dict[str, bool] = {}
    for number, line in enumerate(data.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise SourceError(out, "output file has a corrupt line that is not the last one", line=number,
                              hint="move the file away or fix that line, then rerun") from exc
        if isinstance(record, dict) and "id" in record:
            status[str(record["id"])] = "error" not in record  # a later record for an id wins
    return {row_id for row_id, ok in status.items() if ok or not retry_failed}


def row_record(row_id: str, row: RowResult, *, trace: bool) -> dict[str, Any]:
    """The JSON object written for one row. Engines on other machines build it there (it is plain JSON)."""
    record: dict[str, Any] = {"id": row_id}
    if row.result is not None:
        record["outputs"] = row.result.outputs
        if row.result.skipped:
            record["skipped"] = row.result.skipped
    else:
        record["error"] = row.error
        record["failed_step"] = row.failed_step
    if trace:
        record["trace"] = [t.model_dump(mode="json", fallback=repr) for t in row.trace]
    # Round-trip through JSON here, not at write time, so a record that crossed a process boundary and
    # one computed in-process are byte-identical when written.
    return json.loads(json.dumps(record, ensure_ascii=False, default=repr))


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), max(1, size)):
        yield items[start : start + max(1, size)]


# --------------------------------------------------------------------------- engines


@runtime_checkable
class BatchEngine(Protocol):
    """Computes batch rows somewhere and yields ``(row id, record)`` in the order the rows were given.

    Yielding in input order is part of the contract: the writer appends as records arrive, so order
    and resumability are the same whatever the engine. An engine may compute rows out of order and
    buffer them. It must yield each row exactly once, however often it had to recompute it.
    """

    name: str

    def compute(
        self, pipeline: Pipeline, rows: list[Row], *, chunk: int, cache: ResultCache | bool | None, trace: bool
    ) -> Iterator[tuple[str, dict[str, Any]]]: ...

    def close(self) -> None: ...


class LocalBatchEngine:
    """This process, one chunk at a time on the process's interpreter (the default)."""

    name = "local"

    def __init__(self, **options: Any) -> None:
        if options:
            raise ConfigError(f"the local batch engine takes no options (got {', '.join(sorted(options))})",
                              hint="--address and --workers are for --engine ray")

    def compute(
        self, pipeline: Pipeline, rows: list[Row], *, chunk: int, cache: ResultCache | bool | None, trace: bool
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        engine = pipeline.engine(cache=cache)
        for group in chunks(rows, chunk):
            results = engine.run_rows([inputs for _, inputs in group])
            for (row_id, _), row in zip(group, results):
                yield row_id, row_record(row_id, row, trace=trace)

    def close(self) -> None:
        pass


def engine_names() -> list[str]:
    """``local`` plus every engine registered in the ``pawflow.batch_engines`` group."""
    return ["local", *sorted({ep.name for ep in entry_points(group=ENGINE_ENTRY_POINT_GROUP)} - {"local"})]


def batch_engine(name: str = "local", **options: Any) -> BatchEngine:
    """Instantiate an engine by name; options (``address``, ``workers``…) go to its constructor.

    Options left at ``None`` are dropped, so an engine only sees what the user actually set.
    """
    options = {key: value for key, value in options.items() if value is not None}
    if name == "local":
        return LocalBatchEngine(**options)
    found = [ep for ep in entry_points(group=ENGINE_ENTRY_POINT_GROUP) if ep.name == name]
    if not found:
        raise ConfigError(f"unknown batch engine {name!r}; available: {', '.join(engine_names())}",
                          hint="engines register in the 'pawflow.batch_engines' entry-point group; "
                          "the ray engine comes with pip install 'pawflow[scale]'")
    try:
        factory = found[0].load()
    except ImportError as exc:
        raise ConfigError(f"batch engine {name!r} ({found[0].value}) could not be imported: {exc}",
                          hint="pip install 'pawflow[scale]'  (from a checkout: pip install -e '.[scale]')") from exc
    return factory(**options)


# --------------------------------------------------------------------------- the run


def run_batch_file(
    pipeline: Pipeline,
    source: str | Path,
    out: str | Path,
    *,
    id_field: str = "id",
    chunk: int = 32,
    cache: ResultCache | bool | None = None,
    trace: bool = False,
    retry_failed: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
    engine: str | BatchEngine = "local",
    engine_options: dict[str, Any] | None = None,
) -> BatchSummary:
    """Run every row of ``source`` not yet in ``out``; ``on_progress(done, total)`` after each row.

    ``engine`` is a name (see :func:`batch_engine`, built with ``engine_options``) or an engine
    instance; a named engine is closed at the end, an instance is left to its owner.
    """
    source, out = Path(source), Path(out)
    spec = pipeline.check().spec
    rows = read_rows(source, id_field, set(spec.inputs))
    finished = done_ids(out, retry_failed=retry_failed)
    pending = [(row_id, inputs) for row_id, inputs in rows if row_id not in finished]
    already = len(rows) - len(pending)
    done, ok, failed = already, 0, 0
    if on_progress:
        on_progress(done, len(rows))
    if isinstance(engine, str):
        runner, owned = batch_engine(engine, **(engine_options or {})), True
    else:
        runner, owned = engine, False
    out.parent.mkdir(parents=True, exist_ok=True)
    expected = [row_id for row_id, _ in pending]
    try:
        with out.open("a", encoding="utf-8") as handle:
            for position, (row_id, record) in enumerate(runner.compute(pipeline, pending, chunk=chunk, cache=cache, trace=trace)):
                if position >= len(expected) or row_id != expected[position]:
                    raise PipelineError(f"batch engine {runner.name!r} returned row {row_id!r} out of order; "
                                        "rows written so far are kept, rerun to resume")
                handle.write(json.dumps(record, ensure_ascii=False, default=repr) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
                if "error" in record:
                    failed += 1
                else:
                    ok += 1
                done += 1
                if on_progress:
                    on_progress(done, len(rows))
    finally:
        if owned:
            runner.close()
    return BatchSummary(total=len(rows), already_done=already, ok=ok, failed=failed, out=str(out), engine=runner.name)

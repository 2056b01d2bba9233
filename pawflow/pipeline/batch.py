"""Resumable batch runs: JSONL in, JSONL out, one line per row, safe to kill at any moment.

Every output line carries the row's id and is appended, flushed and fsynced before the next row is
written, so a crash loses at most the rows being computed, never a written one. A rerun reads the
output first and skips ids already there; a torn last line (a crash mid-write) is cut off before
appending. Rows are computed in chunks through ``Engine.run_rows`` so model calls stay grouped per
program — resumability is per row, grouping per chunk.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Iterator

from pydantic import BaseModel

from pawflow.errors import SourceError
from pawflow.jsonl import iter_jsonl
from pawflow.pipeline.cache import ResultCache
from pawflow.pipeline.core import Pipeline


class BatchSummary(BaseModel):
    total: int
    already_done: int
    ok: int
    failed: int
    out: str


def read_rows(path: Path, id_field: str, input_names: set[str]) -> list[tuple[str, dict[str, Any]]]:
    """(row id, inputs) for every non-blank line; SourceError names the line of anything malformed."""
    rows: list[tuple[str, dict[str, Any]]] = []
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


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


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
) -> BatchSummary:
    """Run every row of ``source`` not yet in ``out``; ``on_progress(done, total)`` after each row."""
    source, out = Path(source), Path(out)
    engine = pipeline.engine(cache=cache)
    rows = read_rows(source, id_field, set(engine.spec.inputs))
    finished = done_ids(out, retry_failed=retry_failed)
    pending = [(row_id, inputs) for row_id, inputs in rows if row_id not in finished]
    already = len(rows) - len(pending)
    done, ok, failed = already, 0, 0
    if on_progress:
        on_progress(done, len(rows))
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a", encoding="utf-8") as handle:
        for group in _chunks(pending, max(1, chunk)):
            results = engine.run_rows([inputs for _, inputs in group])
            for (row_id, _), row in zip(group, results):
                record: dict[str, Any] = {"id": row_id}
                if row.result is not None:
                    record["outputs"] = row.result.outputs
                    if row.result.skipped:
                        record["skipped"] = row.result.skipped
                    ok += 1
                else:
                    record["error"] = row.error
                    record["failed_step"] = row.failed_step
                    failed += 1
                if trace:
                    record["trace"] = [t.model_dump(mode="json", fallback=repr) for t in row.trace]
                handle.write(json.dumps(record, ensure_ascii=False, default=repr) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
                done += 1
                if on_progress:
                    on_progress(done, len(rows))
    return BatchSummary(total=len(rows), already_done=already, ok=ok, failed=failed, out=str(out))

"""FuzzyBench-format tasks: JSONL rows ``{"spec", "input", "output"}`` grouped into tasks, split by task.

The format is the paper's (one row per input/output pair, the spec repeated on every row). Optional
keys pawflow's generator also writes, and any other FuzzyBench-style file may carry:

* ``task`` — the task identity. Paraphrases of one task (the same function, other words) share it, so
  they always land in the same split; without it the spec itself is the identity.
* ``labels`` — the label set of a classification task. Without it a task is read as ``labels`` when it
  has at most 8 distinct outputs, each at most 3 words, each seen at least twice; else as ``text``.
* ``family`` — a free-form group name, only reported.

Split: sha256 of the task identity (and a salt) picks train / val / test as 80/10/10, so test specs are
never seen in training, whatever order the file is in. Within a spec the first ``n_shown`` rows are the
examples shown in its pseudo-program, the rest are its rows (fitted / trained on; for val/test specs the
evaluation rows come after ``n_fit`` of them). Errors name the file and line.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pawflow.errors import SourceError
from pawflow.jsonl import iter_jsonl
from pawflow.program import GenerationSettings, LabelsOutput, TextOutput
from pawflow.source import Example

Split = Literal["train", "val", "test"]
SPLIT_SALT = "pawflow-hypernet-split-v1"


class FuzzyRow(BaseModel):
    """One row of a FuzzyBench-format JSONL file."""

    model_config = ConfigDict(extra="ignore")
    spec: str = Field(min_length=1)
    input: str = Field(min_length=1)
    output: str
    task: str | None = None
    labels: list[str] | None = None
    family: str = ""


class FuzzyTask(BaseModel):
    """All rows of one spec. ``task_id`` is shared by paraphrases; ``split`` follows it."""

    model_config = ConfigDict(frozen=True)
    spec: str
    task_id: str
    family: str
    output: LabelsOutput | TextOutput
    rows: list[Example]
    split: Split

    @property
    def key(self) -> str:
        """The spec's key (pseudo-program cache, logs): sha256 of the spec text."""
        return spec_key(self.spec)

    def generation(self) -> GenerationSettings:
        if isinstance(self.output, LabelsOutput):
            return GenerationSettings(max_tokens=8)
        longest = max((len(str(r.output)) for r in self.rows), default=16)
        return GenerationSettings(max_tokens=max(16, min(96, longest // 2 + 16)), stop=["\n"])


def spec_key(spec: str) -> str:
    return hashlib.sha256(spec.strip().encode("utf-8")).hexdigest()[:24]


def split_of(task_id: str, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)) -> Split:
    """Deterministic 80/10/10 assignment by task identity (paraphrases stay together)."""
    digest = hashlib.sha256(f"{SPLIT_SALT}:{task_id}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    if u < fractions[0]:
        return "train"
    return "val" if u < fractions[0] + fractions[1] else "test"


def _infer_output(outputs: Sequence[str], labels: list[str] | None) -> LabelsOutput | TextOutput:
    if labels:
        return LabelsOutput(labels=list(dict.fromkeys(labels)))
    counts: dict[str, int] = {}
    for value in outputs:
        counts[value] = counts.get(value, 0) + 1
    if 2 <= len(counts) <= 8 and all(len(v.split()) <= 3 and n >= 2 for v, n in counts.items()):
        return LabelsOutput(labels=sorted(counts))
    return TextOutput()


def tasks_from_rows(rows: Iterable[tuple[FuzzyRow, str]]) -> list[FuzzyTask]:
    """Group rows by spec (keeping file order) into tasks; ``where`` strings locate errors."""
    grouped: dict[str, list[tuple[FuzzyRow, str]]] = {}
    for row, where in rows:
        grouped.setdefault(row.spec.strip(), []).append((row, where))
    tasks = []
    for spec, members in grouped.items():
        first_row, first_where = members[0]
        task_id = first_row.task or spec
        labels = first_row.labels
        output = _infer_output([r.output for r, _ in members], labels)
        if isinstance(output, LabelsOutput):
            for row, where in members:
                if row.output not in output.labels:
                    raise SourceError(where, f"output {row.output!r} is not one of the spec's labels {output.labels}")
        if len(members) < 4:
            raise SourceError(first_where, f"spec has {len(members)} rows; a task needs at least 4 (examples + rows)")
        tasks.append(
            FuzzyTask(
                spec=spec,
                task_id=task_id,
                family=first_row.family,
                output=output,
                rows=[Example(input=r.input, output=r.output) for r, _ in members],
                split=split_of(task_id),
            )
        )
    return tasks


def load_fuzzybench(path: str | Path) -> list[FuzzyTask]:
    """Read a FuzzyBench-format JSONL file into tasks (split assigned by task identity)."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(path, "no such FuzzyBench JSONL file")
    parsed: list[tuple[FuzzyRow, str]] = []
    for line, record in iter_jsonl(path):
        try:
            parsed.append((FuzzyRow.model_validate(record), f"{path}:{line}"))
        except Exception as exc:  # pydantic's message names the missing/invalid field
            raise SourceError(path, f"not a FuzzyBench row: {exc}", line=line) from exc
    if not parsed:
        raise SourceError(path, "no rows")
    return tasks_from_rows(parsed)


def write_fuzzybench(path: str | Path, tasks: Sequence[FuzzyTask]) -> Path:
    """Write tasks back as FuzzyBench JSONL (atomically), with the optional keys pawflow reads."""
    from pawflow.storage import atomic_write_text

    lines = []
    for task in tasks:
        labels = task.output.labels if isinstance(task.output, LabelsOutput) else None
        for row in task.rows:
            record = {"spec": task.spec, "input": row.input, "output": row.output, "task": task.task_id, "family": task.family}
            if labels:
                record["labels"] = labels
            lines.append(json.dumps(record, ensure_ascii=False))
    atomic_write_text(Path(path), "\n".join(lines) + "\n")
    return Path(path)


def by_split(tasks: Sequence[FuzzyTask]) -> dict[Split, list[FuzzyTask]]:
    out: dict[Split, list[FuzzyTask]] = {"train": [], "val": [], "test": []}
    for task in tasks:
        out[task.split].append(task)
    return out

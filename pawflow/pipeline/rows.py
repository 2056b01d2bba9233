"""Per-row state while a pipeline runs, and how references are read from it.

A :class:`RowState` holds one row's inputs and the outcome of every step so far; a :class:`Task` is
one unit of work the scheduler hands out (a step for a row, or one element of a map step) and carries
its result back. :func:`resolve_ref` reads ``inputs.X`` / ``steps.S.O`` / ``item`` / ``index`` — with
paths into dicts and lists — out of that state.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from pawflow.errors import PipelineRunError
from pawflow.pipeline.analysis import StepInfo
from pawflow.pipeline.refs import Ref
from pawflow.pipeline.results import SKIPPED, Status, StepTrace


class RefError(Exception):
    """A reference's path does not exist in the value it walks (missing key, index out of range)."""


@dataclass
class Outcome:
    """What one step did in one row: its status, its outputs and its trace entry."""

    status: Status
    outputs: dict[str, Any] = field(default_factory=dict)
    trace: StepTrace | None = None


@dataclass
class RowState:
    """One row in flight: its inputs, every step's outcome so far, and the error that stopped it."""

    index: int
    inputs: dict[str, Any]
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    error: PipelineRunError | None = None
    model_ms: float = 0.0
    started: float = field(default_factory=time.perf_counter)


@dataclass
class Task:
    """One unit of work: a step for a row, or one element of a map step."""

    row: RowState
    name: str
    info: StepInfo  # the step that runs (a map's inner step for map elements)
    inputs: dict[str, Any]
    item: int | None = None  # index within a map step
    cache_key: str | None = None
    result: dict[str, Any] | None = None
    error: BaseException | None = None
    timed_out: bool = False
    started: float | None = None
    duration_ms: float | None = None
    batched: int | None = None
    cached: bool = False


def resolve_ref(row: RowState, ref: Ref, item: tuple[Any, int] | None) -> Any:
    """The value ``ref`` names in this row (``SKIPPED`` when it comes from an untaken branch); RefError
    when its path does not exist in the value."""
    if ref.root == "inputs":
        value = row.inputs[ref.name]  # type: ignore[index]
    elif ref.root == "steps":
        outcome = row.outcomes[ref.name]  # type: ignore[index]
        if outcome.status == "skipped":
            return SKIPPED
        value = outcome.outputs.get(ref.socket)  # type: ignore[arg-type]
        if value is SKIPPED:
            return SKIPPED
    elif ref.root == "item":
        value = item[0] if item else None
    else:
        return item[1] if item else None
    for depth, segment in enumerate(ref.path):
        where = ".".join(ref.text.split(".")[: len(ref.text.split(".")) - len(ref.path) + depth])
        if isinstance(value, dict):
            key = segment if segment in value else str(segment)
            if key not in value:
                shown = ", ".join(map(str, list(value)[:10]))
                raise RefError(f"{ref.text}: {where} has no key {segment!r} (keys: {shown or 'none'})")
            value = value[key]
        elif isinstance(value, list) and isinstance(segment, int):
            if segment >= len(value):
                raise RefError(f"{ref.text}: {where} has {len(value)} elements, no index {segment}")
            value = value[segment]
        else:
            raise RefError(f"{ref.text}: cannot take {segment!r} of {where}, which is {type(value).__name__}")
    return value


def step_inputs(row: RowState, info: StepInfo, item: tuple[Any, int] | None, *, allow_skipped: bool = False) -> dict[str, Any] | None:
    """Resolved inputs, or None when one is skipped (the step is skipped with it)."""
    values: dict[str, Any] = {}
    for name, ref in info.refs.items():
        value = resolve_ref(row, ref, item)
        if value is SKIPPED and not allow_skipped:
            return None
        values[name] = value
    return values


def resolve_quiet(row: RowState, ref: Ref) -> Any:
    """Like :func:`resolve_ref`, None where the path does not exist (for messages, not results)."""
    try:
        return resolve_ref(row, ref, None)
    except RefError:
        return None

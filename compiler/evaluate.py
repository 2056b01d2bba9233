"""Held-out exact match of a compiled program, measured through the real runtime.

Scores are taken with :class:`pawflow.Function` on the shared llama.cpp interpreter — the path users
call — so a number here is what a program does after export and quantisation, not what the torch
model did during training.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from pawflow.program import JsonOutput, LabelsOutput, Program, TextOutput
from pawflow.source import Example


class Miss(BaseModel):
    input: str
    expected: Any
    got: Any


class EvalResult(BaseModel):
    n: int
    correct: int
    seconds: float
    misses: list[Miss] = Field(default_factory=list, description="the first few wrong answers, for reading")

    @property
    def em(self) -> float:
        return self.correct / self.n if self.n else 0.0


def same_output(output: LabelsOutput | TextOutput | JsonOutput, got: Any, expected: Any) -> bool:
    """Exact match: labels and JSON values compare as values, text after trimming surrounding space."""
    if isinstance(output, TextOutput):
        return isinstance(got, str) and got.strip() == str(expected).strip()
    if isinstance(output, JsonOutput):
        return json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True)
    return got == expected


def exact_match(
    program: Program,
    rows: Sequence[Example],
    *,
    chunk: int = 16,
    on_progress: Any = None,
    keep_misses: int = 5,
    interpreter: Any = None,
) -> EvalResult:
    """Run ``program`` on every row and count exact matches. Output errors count as wrong answers.

    ``on_progress(done)`` is called after each chunk so callers can advance a progress bar.
    """
    from pawflow.errors import OutputValidationError
    from pawflow.function import Function
    from pawflow.interpreter import Interpreter

    function = Function(program, interpreter or Interpreter.shared())
    started = time.perf_counter()
    correct, misses = 0, []
    rows = list(rows)
    for begin in range(0, len(rows), chunk):
        batch = rows[begin : begin + chunk]
        try:
            values = [result.value for result in function.run_many([row.input for row in batch])]
        except OutputValidationError:
            values = []
            for row in batch:  # one unparseable output must not void the rest of the chunk
                try:
                    values.append(function(row.input))
                except OutputValidationError as exc:
                    values.append(f"<invalid output: {exc.message[:80]}>")
        for row, value in zip(batch, values):
            if same_output(program.output, value, row.output):
                correct += 1
            elif len(misses) < keep_misses:
                misses.append(Miss(input=row.input[:200], expected=row.output, got=value))
        if on_progress is not None:
            on_progress(begin + len(batch))
    return EvalResult(n=len(rows), correct=correct, seconds=time.perf_counter() - started, misses=misses)

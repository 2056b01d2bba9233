"""What a program call returns."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Result(BaseModel):
    """One program call's outcome.

    ``value`` is typed by the program's output (a label, a string, parsed JSON); ``text`` is what the
    model produced before parsing; ``confidence``/``scores`` exist for labels programs, where every
    label was scored and ``scores`` sums to 1 over the labels.
    """

    model_config = ConfigDict(frozen=True)

    value: Any
    text: str
    program: str
    confidence: float | None = None
    scores: dict[str, float] | None = None
    latency_ms: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    truncated: bool = False  # the input was cut to fit the context (``run_many(..., truncate=True)``)
    error: str | None = None  # this row failed (``run_many(..., errors="return")``); ``value`` is None
    error_code: str | None = None  # the failure's PawflowError code, e.g. "context_length_exceeded"

    @property
    def ok(self) -> bool:
        return self.error is None

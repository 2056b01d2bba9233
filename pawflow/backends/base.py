"""The seam between the interpreter and whatever executes the model.

The interpreter owns program resolution, locking and statistics; a backend owns the model: how an
adapter is applied, how the prompt prefix is reused, how an output type is decoded. llama.cpp is the
default; a transformers backend (for training parity) and an OpenAI-compatible multi-LoRA backend
(vLLM, for scale-out) implement the same protocol.
"""

from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

from pydantic import BaseModel, ConfigDict

from pawflow.base import BaseModelInfo
from pawflow.program import Program


class RawOutput(BaseModel):
    """What a backend produced for one input, before the Function types it."""

    model_config = ConfigDict(frozen=True)
    text: str
    label_logprobs: dict[str, float] | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    truncated: bool = False  # the input was cut to fit the context (run(..., truncate=True))
    error: str | None = None  # this row could not run (e.g. longer than the context); the others did
    error_code: str | None = None  # the PawflowError code of that failure (e.g. "context_length_exceeded")


class BackendStats(BaseModel):
    """Counters a backend keeps; benchmarks and the pipeline engine read them."""

    calls: int = 0
    swaps: int = 0
    prefix_evals: int = 0
    prefix_restores: int = 0
    tokens_evaluated: int = 0
    adapters_loaded: int = 0
    adapters_evicted: int = 0
    thread_changes: int = 0
    decodes: int = 0


@runtime_checkable
class Backend(Protocol):
    name: str
    base_info: BaseModelInfo
    stats: BackendStats

    def run(
        self, program: Program, inputs: Sequence[str], *, cache_prefix: bool = True, truncate: bool = False
    ) -> list[RawOutput]:
        """Run one program on many inputs (one adapter activation; rows that cannot run carry ``error``)."""

    def complete(self, prompt: str, *, max_tokens: int = 256, stop: Sequence[str] = (), grammar: str | None = None) -> str:
        """Raw completion on the bare base: no adapter, the prompt rendered by the caller."""

    def describe(self) -> dict[str, object]:
        """Facts for ``pawflow info``."""

    def close(self) -> None: ...

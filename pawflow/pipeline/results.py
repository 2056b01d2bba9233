"""What a pipeline run returns: outputs, the per-step trace, per-row results of a batch, and the
``SKIPPED`` marker an untaken branch leaves behind.

These are the engine's public result types (re-exported from :mod:`pawflow.pipeline`); they are
pydantic models so ``--trace --json`` and batch output files are their plain JSON dumps.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr


class _Skipped:
    """The value of an output that was not produced because its branch was not taken."""

    _instance: "_Skipped | None" = None

    def __new__(cls) -> "_Skipped":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<skipped>"

    def __bool__(self) -> bool:
        return False


SKIPPED = _Skipped()


Status = Literal["ok", "cached", "skipped", "failed", "not_run"]


class StepTrace(BaseModel):
    """What happened to one step in one run: the ``--trace`` view."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    step: str
    kind: str
    level: int
    status: Status
    inputs: dict[str, Any] | None = None
    outputs: dict[str, Any] | None = None
    started_ms: float | None = Field(default=None, description="since the run started")
    duration_ms: float | None = None
    program: str | None = None
    program_id: str | None = None
    adapter: str | None = Field(default=None, description="adapter sha256 prefix, or 'none' for prompt-only programs")
    batched: int | None = Field(default=None, description="size of the grouped model call this step's work was part of")
    items: int | None = Field(default=None, description="elements a map step ran over")
    cached_calls: int = 0
    reason: str | None = Field(default=None, description="why it was skipped")
    error: str | None = None


class RunResult(BaseModel):
    """One run's outputs (a skipped output is None and listed in ``skipped``) and its trace."""

    pipeline: str
    outputs: dict[str, Any]
    skipped: list[str] = Field(default_factory=list)
    trace: list[StepTrace] = Field(default_factory=list)
    duration_ms: float = 0.0
    model_ms: float = Field(default=0.0, description="wall time this row's grouped program calls took, shared fairly")


class RowResult(BaseModel):
    """One row of a batch: a result, or the error that stopped it (with the trace so far)."""

    index: int
    result: RunResult | None = None
    error: str | None = None
    failed_step: str | None = None
    trace: list[StepTrace] = Field(default_factory=list)
    # The exception itself, for callers in this process (a nested pipeline's step keeps it as its cause,
    # so a server can still tell a context overflow deep inside); never serialised.
    _exception: BaseException | None = PrivateAttr(default=None)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def exception(self) -> BaseException | None:
        """The error that stopped the row (a ``PipelineRunError`` with its cause), in this process only."""
        return self._exception


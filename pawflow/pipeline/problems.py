"""What validation reports: located problems, and the report that collects them.

A :class:`Problem` is one finding with file, line, step, a stable ``code`` (listed in
docs/pipelines.md), what was wrong and a hint; a :class:`ValidationReport` is every problem of one
file, so a user fixes the whole file in one go instead of one error per run.
"""

from __future__ import annotations

import difflib
import typing
from typing import Literal

from pydantic import BaseModel, ConfigDict

from pawflow.errors import PipelineValidationError


class Problem(BaseModel):
    """One located finding. ``line`` is None only where no file backs the pipeline (Python API)."""

    model_config = ConfigDict(frozen=True)
    file: str
    line: int | None = None
    step: str | None = None
    code: str
    message: str
    hint: str | None = None
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        step = f" step {self.step!r}:" if self.step else ""
        hint = f" (hint: {self.hint})" if self.hint else ""
        return f"{where}: {self.severity}[{self.code}]{step} {self.message}{hint}"


class ValidationReport(BaseModel):
    """All problems of one pipeline file (nested pipelines' problems included, with their own file)."""

    file: str
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def raise_for_errors(self) -> None:
        if self.errors:
            raise PipelineValidationError(self.file, self.problems)


def did_you_mean(name: str, choices: typing.Iterable[str]) -> str | None:
    """A "did you mean" for a misspelt name, or the names there are when none is close."""
    choices = list(choices)
    close = difflib.get_close_matches(name, choices, n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    if choices:
        shown = ", ".join(sorted(choices)[:12])
        return f"known: {shown}"
    return None

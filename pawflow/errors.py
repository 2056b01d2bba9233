"""The pawflow error hierarchy.

Every error a user can cause derives from :class:`PawflowError`, so a CLI or a server can catch one
type and print one clear line. Subclasses exist only where a caller would reasonably branch on them.
Messages name the file (and line, where there is one), what was found and what was expected.
"""

from __future__ import annotations

from pathlib import Path


class PawflowError(Exception):
    """Base class of every error pawflow raises on purpose."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if hint is None else f"{message} (hint: {hint})")


class ConfigError(PawflowError):
    """A setting (flag, environment variable, pawflow.toml) is missing or invalid."""


class MissingExtraError(ConfigError):
    """A command or feature needs an optional extra that is not installed; the hint is the pip command."""

    def __init__(self, message: str, *, hint: str | None = None, extra: str = "") -> None:
        self.extra = extra
        super().__init__(message, hint=hint)


class BaseModelError(PawflowError):
    """The interpreter's base GGUF cannot be found, read or loaded."""


class ProgramNotFoundError(PawflowError):
    """A program name or path resolved to nothing on the search path."""


class ProgramFormatError(PawflowError):
    """A .paw file is not a valid program: bad zip, unsafe member, missing member, bad meta.json."""

    def __init__(self, path: str | Path, message: str, *, hint: str | None = None) -> None:
        self.path = Path(path)
        super().__init__(f"{path}: {message}", hint=hint)


class IntegrityError(ProgramFormatError):
    """A member's sha256 does not match the one recorded in meta.json: the file was altered or truncated."""


class BaseMismatchError(PawflowError):
    """A program was compiled for another base model than the one the interpreter runs."""


class InputTypeError(PawflowError, TypeError):
    """A program or step received an input of the wrong type."""


class OutputValidationError(PawflowError):
    """The model's output could not be parsed or validated against the program's output type."""


class SourceError(PawflowError):
    """A program source (programs/*.yaml) or data file is malformed. Carries file and line."""

    def __init__(
        self, path: str | Path, message: str, *, line: int | None = None, hint: str | None = None
    ) -> None:
        self.path = Path(path)
        self.line = line
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {message}", hint=hint)


class CompileError(PawflowError):
    """Compiling a program failed (training diverged, export failed, a check after export failed)."""


class BackendError(PawflowError):
    """The inference backend failed (llama.cpp refused an adapter, context overflow, server error)."""


class PipelineError(PawflowError):
    """A pipeline (pipelines/*.yaml) is invalid or failed while running."""


class PipelineValidationError(PipelineError):
    """Static validation found problems. ``problems`` lists every one, each with file, line and hint.

    All problems are collected before raising, so one fix-and-rerun cycle fixes everything at once.
    """

    def __init__(self, path: str | Path, problems: list) -> None:
        self.path = str(path)
        self.problems = list(problems)
        errors = [p for p in self.problems if getattr(p, "severity", "error") == "error"]
        noun = "problem" if len(errors) == 1 else "problems"
        listing = "\n".join(f"  {p}" for p in errors)
        super().__init__(f"{self.path}: {len(errors)} {noun} found by validation:\n{listing}")


class PipelineRunError(PipelineError):
    """A step failed while running. Names the step, the inputs it had and the underlying cause."""

    def __init__(self, step: str, message: str, *, inputs: dict | None = None, cause: BaseException | None = None,
                 trace: list | None = None, pipeline: str | None = None, hint: str | None = None) -> None:
        self.step = step
        self.inputs = inputs
        self.cause = cause
        self.trace = trace or []
        self.pipeline = pipeline
        where = f"{pipeline}: " if pipeline else ""
        shown = ""
        if inputs is not None:
            rendered = repr(inputs)
            shown = f"; inputs: {rendered[:300]}{'…' if len(rendered) > 300 else ''}"
        super().__init__(f"{where}step {step!r} failed: {message}{shown}", hint=hint)

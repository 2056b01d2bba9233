"""The pawflow error hierarchy.

Every error pawflow raises on purpose derives from :class:`PawflowError`, so a CLI or a server can
catch one type and print one clear line. Below it, one base per part of the system a caller may want
to handle differently — a setting, a program, the model, a pipeline, a file the user wrote, an
integration — and leaf classes only where a caller would reasonably branch on them::

    PawflowError
    ├── ConfigError                    a flag, environment variable or pawflow.toml setting
    │   └── MissingExtraError          a command needs an extra that is not installed (hint: pip line)
    ├── ProgramError                   finding, reading, compiling or calling a program
    │   ├── ProgramNotFoundError
    │   ├── ProgramFormatError         a .paw that is not a valid program
    │   │   └── IntegrityError         a member's sha256 does not match meta.json
    │   ├── BaseMismatchError          compiled for another base model
    │   ├── OutputValidationError      the model's output does not parse as the program's type
    │   └── CompileError
    ├── InputTypeError (TypeError)     a value of the wrong type passed to a program, step or pipeline
    ├── BackendError                   the inference backend (llama.cpp) failed
    │   ├── BaseModelError             the base GGUF cannot be found, read or loaded
    │   └── ContextLengthError         the input does not fit the interpreter's context
    ├── PipelineError                  a pipeline file, or a run of it
    │   ├── PipelineValidationError    every problem static validation found
    │   ├── PipelineInputError         (also InputTypeError) the run's inputs do not fit the pipeline
    │   └── PipelineRunError           a step failed: which step, with what inputs, why
    ├── SourceError                    a file the user wrote (program source, JSONL data, pipeline
    │                                  YAML, batch input) is malformed; carries file and line
    └── IntegrationError               an integration could not talk to the outside world
                                       (e.g. integrations.toolcall15.ModelRequestError)

Each class has a stable :attr:`PawflowError.code` (``"program-not-found"``, ``"context_length_exceeded"``)
that servers and JSON output can report without parsing messages. Messages name the file (and line,
where there is one), what was found and what was expected; ``hint`` says what to do about it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar


class PawflowError(Exception):
    """Base class of every error pawflow raises on purpose."""

    code: ClassVar[str] = "pawflow-error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if hint is None else f"{message} (hint: {hint})")


# --------------------------------------------------------------------------------------- config


class ConfigError(PawflowError):
    """A setting (flag, environment variable, pawflow.toml) is missing or invalid."""

    code = "config"


class MissingExtraError(ConfigError):
    """A command or feature needs an optional extra that is not installed; the hint is the pip command."""

    code = "missing-extra"

    def __init__(self, message: str, *, hint: str | None = None, extra: str = "") -> None:
        self.extra = extra
        super().__init__(message, hint=hint)


# -------------------------------------------------------------------------------------- program


class ProgramError(PawflowError):
    """A program cannot be found, read, compiled or used. Catch this for anything about programs."""

    code = "program"


class ProgramNotFoundError(ProgramError):
    """A program name or path resolved to nothing on the search path."""

    code = "program-not-found"


class ProgramFormatError(ProgramError):
    """A .paw file is not a valid program: bad zip, unsafe member, missing member, bad meta.json."""

    code = "program-format"

    def __init__(self, path: str | Path, message: str, *, hint: str | None = None) -> None:
        self.path = Path(path)
        super().__init__(f"{path}: {message}", hint=hint)


class IntegrityError(ProgramFormatError):
    """A member's sha256 does not match the one recorded in meta.json: the file was altered or truncated."""

    code = "program-integrity"


class BaseMismatchError(ProgramError):
    """A program was compiled for another base model than the one the interpreter runs."""

    code = "base-mismatch"


class OutputValidationError(ProgramError):
    """The model's output could not be parsed or validated against the program's output type."""

    code = "output-invalid"


class CompileError(ProgramError):
    """Compiling a program failed (training diverged, export failed, a check after export failed)."""

    code = "compile"


class InputTypeError(PawflowError, TypeError):
    """A program, step or pipeline received an input of the wrong type (a usage error, so also a TypeError)."""

    code = "input-type"


# -------------------------------------------------------------------------------------- backend


class BackendError(PawflowError):
    """The inference backend failed (llama.cpp refused an adapter, context overflow, server error)."""

    code = "backend"


class BaseModelError(BackendError):
    """The interpreter's base GGUF cannot be found, read or loaded."""

    code = "base-model"


class ContextLengthError(BackendError):
    """An input (with its program's prefix and room for the answer) does not fit the context window.

    ``needed`` and ``limit`` are token counts where the backend knows them, so a server can answer
    OpenAI's ``context_length_exceeded`` without repeating the input back.
    """

    code = "context_length_exceeded"

    def __init__(self, message: str, *, needed: int | None = None, limit: int | None = None,
                 hint: str | None = None) -> None:
        self.needed = needed
        self.limit = limit
        super().__init__(message, hint=hint)


# ------------------------------------------------------------------------------------- pipeline


class PipelineError(PawflowError):
    """A pipeline (pipelines/*.yaml) is invalid or failed while running."""

    code = "pipeline"


class PipelineValidationError(PipelineError):
    """Static validation found problems. ``problems`` lists every one, each with file, line and hint.

    All problems are collected before raising, so one fix-and-rerun cycle fixes everything at once.
    """

    code = "pipeline-invalid"

    def __init__(self, path: str | Path, problems: list[Any]) -> None:
        self.path = str(path)
        self.problems = list(problems)
        errors = [p for p in self.problems if getattr(p, "severity", "error") == "error"]
        noun = "problem" if len(errors) == 1 else "problems"
        listing = "\n".join(f"  {p}" for p in errors)
        super().__init__(f"{self.path}: {len(errors)} {noun} found by validation:\n{listing}")


class PipelineInputError(PipelineError, InputTypeError):
    """The inputs of a run do not fit the pipeline's declared inputs (unknown, missing or mistyped).

    Both a :class:`PipelineError` and an :class:`InputTypeError`, so either ``except`` catches it.
    """

    code = "pipeline-input"


class PipelineRunError(PipelineError):
    """A step failed while running. Names the step, the inputs it had and the underlying cause.

    ``reason`` is the failure without the inputs, for places that must not repeat them (a server's
    reply to a client); the full message, with inputs shortened, is for the person debugging.
    """

    code = "pipeline-run"

    def __init__(self, step: str, message: str, *, inputs: dict[str, Any] | None = None,
                 cause: BaseException | None = None, trace: list[Any] | None = None, pipeline: str | None = None,
                 hint: str | None = None) -> None:
        self.step = step
        self.reason = message
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

    def root_cause(self) -> BaseException | None:
        """The innermost cause, through nested pipelines' run errors."""
        cause: BaseException | None = self.cause
        while isinstance(cause, PipelineRunError) and cause.cause is not None:
            cause = cause.cause
        return cause


# ---------------------------------------------------------------------------------- files, other


class SourceError(PawflowError):
    """A file the user wrote (program source, JSONL data, pipeline YAML, batch input) is malformed.

    Carries file and line, so an editor can jump to it.
    """

    code = "source"

    def __init__(
        self, path: str | Path, message: str, *, line: int | None = None, hint: str | None = None
    ) -> None:
        self.path = Path(path)
        self.line = line
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {message}", hint=hint)


class IntegrationError(PawflowError):
    """An integration (benchmark harness, server, watcher, MCP server…) failed at its boundary with the
    outside world: an endpoint that does not answer, a client that sends what cannot be served."""

    code = "integration"


__all__ = [
    "BackendError",
    "BaseMismatchError",
    "BaseModelError",
    "CompileError",
    "ConfigError",
    "ContextLengthError",
    "InputTypeError",
    "IntegrationError",
    "IntegrityError",
    "MissingExtraError",
    "OutputValidationError",
    "PawflowError",
    "PipelineError",
    "PipelineInputError",
    "PipelineRunError",
    "PipelineValidationError",
    "ProgramError",
    "ProgramFormatError",
    "ProgramNotFoundError",
    "SourceError",
]

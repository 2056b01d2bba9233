"""Program sources: ``programs/NAME.yaml`` — what a user writes before compiling.

A source holds the natural-language spec (as users write it, typos allowed), the output type, a few
examples, and optionally JSONL data files with a declared split (``train`` is fitted on, ``heldout``
only ever scores and early-stops). Validation errors name the file, the line and the field.
"""

from __future__ import annotations

import hashlib
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pawflow.errors import SourceError
from pawflow.jsonl import iter_jsonl
from pawflow.program import GenerationSettings, JsonOutput, LabelsOutput, OutputSpec, TextOutput
from pawflow.yamlio import line_for, load_yaml, parse_model


class Example(BaseModel):
    """One input/output pair. ``output`` is a label or text, or any JSON value for json programs."""

    model_config = ConfigDict(extra="forbid")
    input: str = Field(min_length=1)
    output: Any


class DataFiles(BaseModel):
    """JSONL files of ``{"input", "output"}`` rows, paths relative to the source file."""

    model_config = ConfigDict(extra="forbid")
    train: Path | None = None
    heldout: Path | None = None

    @model_validator(mode="after")
    def _distinct(self) -> "DataFiles":
        if self.train is not None and self.heldout is not None and self.train == self.heldout:
            raise ValueError("train and heldout must be different files (never score on what you fit)")
        return self


class CompileOptions(BaseModel):
    """Defaults for ``pawflow compile``; flags override them. Method-specific keys live in ``options``."""

    model_config = ConfigDict(extra="forbid")
    method: str = "prompt"
    options: dict[str, Any] = Field(default_factory=dict)


class ProgramSource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    version: str = "0.1.0"
    spec: str = Field(min_length=1)
    output: OutputSpec = Field(default_factory=TextOutput)
    examples: list[Example] = Field(default_factory=list)
    data: DataFiles | None = None
    generation: GenerationSettings = Field(default_factory=GenerationSettings)
    compile: CompileOptions = Field(default_factory=CompileOptions)

    @model_validator(mode="after")
    def _examples_fit_output(self) -> "ProgramSource":
        if _LOCATED_EXAMPLE_CHECK.get():
            return self  # load_source checks examples itself, with each example's own line
        for index, example in enumerate(self.examples):
            check_output(self.output, example.output, f"examples.{index}.output")
        return self


# A model validator can only report errors at the top level (line 1). While load_source validates, it
# switches the example check off here and redoes it per example, so the error names the example's line.
_LOCATED_EXAMPLE_CHECK: ContextVar[bool] = ContextVar("pawflow_located_example_check", default=False)


def check_output(output: LabelsOutput | TextOutput | JsonOutput, value: Any, where: str) -> None:
    """Raise ValueError if ``value`` is not a valid output of this type."""
    if isinstance(output, LabelsOutput):
        if value not in output.labels:
            raise ValueError(f"{where}: {value!r} is not one of the labels {output.labels}")
    elif isinstance(output, TextOutput):
        if not isinstance(value, str):
            raise ValueError(f"{where}: text programs need string outputs, got {type(value).__name__}")
    else:
        import jsonschema

        try:
            jsonschema.validate(value, output.json_schema)
        except jsonschema.ValidationError as exc:
            raise ValueError(f"{where}: does not match the output schema: {exc.message}") from None


class LoadedSource(BaseModel):
    """A validated source plus where it came from and its content hash (for ``compile --all``)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    source: ProgramSource
    path: Path
    sha256: str

    def data_path(self, which: str) -> Path | None:
        files = self.source.data
        rel = getattr(files, which) if files is not None else None
        return None if rel is None else (self.path.parent / rel)

    def rows(self, which: str) -> list[Example]:
        """The examples of a data split (``train`` or ``heldout``), validated row by row."""
        path = self.data_path(which)
        return [] if path is None else read_jsonl(path, self.source.output)


def read_jsonl(path: Path, output: LabelsOutput | TextOutput | JsonOutput) -> list[Example]:
    rows: list[Example] = []
    for number, raw in iter_jsonl(path):
        if not isinstance(raw, dict) or set(raw) - {"input", "output", "note"} or "input" not in raw or "output" not in raw:
            raise SourceError(path, 'expected an object {"input": ..., "output": ...}', line=number)
        try:
            check_output(output, raw["output"], "output")
            rows.append(Example(input=raw["input"], output=raw["output"]))
        except ValueError as exc:
            raise SourceError(path, str(exc).split("\n")[0], line=number) from exc
    return rows


def load_source(path: str | Path) -> LoadedSource:
    """Read and validate a program source and its data files; every error names file and line."""
    path = Path(path)
    data, lines = load_yaml(path)
    if not isinstance(data, dict):
        raise SourceError(path, "a program source must be a YAML mapping (name, spec, output, examples…)", line=1)
    token = _LOCATED_EXAMPLE_CHECK.set(True)
    try:
        source = parse_model(ProgramSource, data, lines, path)
    finally:
        _LOCATED_EXAMPLE_CHECK.reset(token)
    for index, example in enumerate(source.examples):
        try:
            check_output(source.output, example.output, f"examples.{index}.output")
        except ValueError as exc:
            line = line_for(("examples", index, "output"), lines)
            raise SourceError(path, str(exc).split("\n")[0], line=line) from exc
    digest = hashlib.sha256(path.read_bytes())
    loaded = LoadedSource(source=source, path=path, sha256="")
    for which in ("train", "heldout"):
        data_path = loaded.data_path(which)
        if data_path is not None:
            loaded.rows(which)  # validate now, not halfway through a compile
            digest.update(data_path.read_bytes())
    loaded.sha256 = digest.hexdigest()
    return loaded

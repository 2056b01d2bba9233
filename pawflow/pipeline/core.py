"""``Pipeline``: the Python face of a pipeline file.

The YAML file and the Python object are the same thing — a :class:`PipelineSpec` — so
``Pipeline.load(f).to_yaml()`` and ``Pipeline.from_yaml_text(p.to_yaml())`` round-trip exactly, and a
pipeline built in code can be saved for the CLI. Validation runs once, on first use, and its result
(resolved programs, imported functions, the execution plan) is reused by every run until the
pipeline is edited.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import yaml

from pawflow.errors import PipelineError, PipelineValidationError
from pawflow.pipeline.analysis import Analysis
from pawflow.pipeline.cache import ResultCache
from pawflow.pipeline.engine import Engine, RowResult, RunResult
from pawflow.pipeline.problems import Problem, ValidationReport
from pawflow.pipeline.refs import parse_ref
from pawflow.pipeline.spec import AnyStep, InputSpec, PipelineSpec, _check_name, spec_to_data
from pawflow.pipeline.types import LabelsType
from pawflow.pipeline.validate import analyze_spec, parse_text
from pawflow.storage import atomic_write_text

SCHEMA_COMMENT = "# yaml-language-server: $schema=pipeline.schema.json\n"


class _Dumper(yaml.SafeDumper):
    """Block style, multi-line strings as literal blocks: files a person would write."""


_YAML_BREAKS = ("\x85", "\u2028", "\u2029", "\r")


def _str_presenter(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    if any(ch in value for ch in _YAML_BREAKS) or not value.isprintable() and "\n" not in value:
        # YAML normalises these line breaks when reading; double quotes escape them (\N, \L, \P, \r)
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str_presenter)


def dump_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)


class Pipeline:
    """A DAG of steps over programs and deterministic functions.

    Build from YAML (:meth:`load`, :meth:`from_yaml_text`) or in code::

        p = Pipeline("triage", inputs={"text": "str"})
        p.add_step("kind", ProgramStep(program="ticket-kind"))
        p.connect("inputs.text", "kind.text")
        p.add_output("kind", "steps.kind.value")
        p.run({"text": "my card was charged twice"}).outputs
    """

    def __init__(
        self,
        name: str = "pipeline",
        *,
        inputs: dict[str, InputSpec | str | LabelsType] | None = None,
        description: str = "",
        version: str = "0.1.0",
        path: str | Path | None = None,
    ) -> None:
        self._name = name
        self._description = description
        self._version = version
        self._inputs: dict[str, InputSpec] = {}
        self._steps: dict[str, AnyStep] = {}
        self._outputs: dict[str, str] = {}
        self.path = Path(path) if path is not None else None
        self._analysis: Analysis | None = None
        self._lines: dict[tuple[Any, ...], int] = {}
        self._engines: dict[int, Engine] = {}
        self._default_cache: ResultCache | None = None
        for input_name, spec in (inputs or {}).items():
            self.add_input(input_name, spec)

    # -- construction -----------------------------------------------------------------------

    @classmethod
    def from_spec(cls, spec: PipelineSpec, *, path: str | Path | None = None) -> "Pipeline":
        pipeline = cls(spec.name, description=spec.description, version=spec.version, path=path)
        pipeline._inputs = dict(spec.inputs)
        pipeline._steps = dict(spec.steps)
        pipeline._outputs = dict(spec.outputs)
        return pipeline

    @classmethod
    def load(cls, path: str | Path) -> "Pipeline":
        """Read a pipeline file. Raises PipelineValidationError (every problem, located) if it does
        not parse; deeper checks (programs, imports, types, graph) run on :meth:`validate`, :meth:`check`
        or the first run, with the same file and line numbers."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise PipelineValidationError(path, [Problem(file=str(path), code="not-found", message="pipeline file not found")]) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise PipelineValidationError(path, [Problem(file=str(path), code="unreadable", message=str(exc))]) from None
        return cls.from_yaml_text(text, path=path)

    @classmethod
    def from_yaml_text(cls, text: str, *, path: str | Path | None = None) -> "Pipeline":
        """Parse YAML text; relative paths inside resolve against ``path``'s folder (else the cwd)."""
        file = str(path) if path is not None else "<string>"
        spec, lines = parse_text(text, file, Path(path).parent if path is not None else Path.cwd())
        pipeline = cls.from_spec(spec, path=path)
        pipeline._lines = lines
        return pipeline

    def _changed(self) -> None:
        self._analysis = None
        self._engines.clear()

    def add_input(self, name: str, spec: InputSpec | str | LabelsType = "str", **fields: Any) -> "Pipeline":
        """Declare an input: a type name, a LabelsType or a full InputSpec (``default=`` makes it optional)."""
        self._inputs[name] = spec if isinstance(spec, InputSpec) else InputSpec(type=spec, **fields)
        self._changed()
        return self

    def add_step(self, name: str, step: AnyStep) -> "Pipeline":
        if name in self._steps:
            raise PipelineError(f"pipeline {self._name!r} already has a step {name!r}")
        self._steps[name] = step
        self._changed()
        return self

    def connect(self, source: str, target: str) -> "Pipeline":
        """Wire ``source`` (``inputs.x``, ``steps.a.value`` or short ``a.value``) into ``STEP.INPUT``."""
        if not source.startswith(("inputs.", "steps.", "item", "index")):
            source = f"steps.{source}"
        parse_ref(source)
        step_name, _, input_name = target.partition(".")
        step = self._steps.get(step_name)
        if step is None or not input_name:
            raise PipelineError(f"connect target {target!r} must be STEP.INPUT with STEP one of {sorted(self._steps)}")
        try:
            _check_name(input_name)
        except ValueError as exc:
            raise PipelineError(f"connect target {target!r}: {exc}") from None
        self._steps[step_name] = step.model_copy(update={"inputs": {**step.inputs, input_name: source}})
        self._steps[step_name].model_fields_set.add("inputs")
        self._changed()
        return self

    def add_output(self, name: str, source: str) -> "Pipeline":
        if not source.startswith(("inputs.", "steps.")):
            source = f"steps.{source}"
        parse_ref(source)
        self._outputs[name] = source
        self._changed()
        return self

    # -- the document -----------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def steps(self) -> dict[str, AnyStep]:
        return dict(self._steps)

    @property
    def spec(self) -> PipelineSpec:
        """The document, validated by the schema (raises PipelineValidationError if it is not)."""
        from pydantic import ValidationError

        fields: dict[str, Any] = {"name": self._name, "inputs": self._inputs, "steps": self._steps, "outputs": self._outputs}
        if self._version != "0.1.0":
            fields["version"] = self._version
        if self._description:
            fields["description"] = self._description
        try:
            return PipelineSpec(**fields)
        except ValidationError as exc:
            problems = [Problem(file=self._file, code="schema", message=f"{'.'.join(map(str, e['loc']))}: {e['msg']}")
                        for e in exc.errors()]
            raise PipelineValidationError(self._file, problems) from exc

    def to_dict(self) -> dict[str, Any]:
        return spec_to_data(self.spec)

    def to_yaml(self, *, schema_comment: bool = False) -> str:
        text = dump_yaml(self.to_dict())
        return (SCHEMA_COMMENT + text) if schema_comment else text

    def save(self, path: str | Path) -> Path:
        """Write the YAML atomically (the old file survives a crash mid-write)."""
        path = Path(path)
        atomic_write_text(path, self.to_yaml(schema_comment=True))
        self.path = path
        self._changed()
        return path

    # -- validation -------------------------------------------------------------------------

    @property
    def _file(self) -> str:
        return str(self.path) if self.path is not None else "<python>"

    def analysis(self) -> Analysis:
        if self._analysis is None:
            self._analysis = analyze_spec(self.spec, self._file, self.path.parent if self.path else None, self._lines)
        return self._analysis

    def validate(self) -> ValidationReport:
        """Every problem (errors and warnings), located; never raises for a bad pipeline."""
        try:
            return self.analysis().report
        except PipelineValidationError as exc:
            return ValidationReport(file=self._file, problems=exc.problems)

    def check(self) -> "Pipeline":
        """Raise PipelineValidationError listing every error, or return self."""
        self.analysis().report.raise_for_errors()
        return self

    # -- running ----------------------------------------------------------------------------

    def engine(self, *, cache: ResultCache | bool | None = None, max_workers: int | None = None) -> Engine:
        self.check()
        if cache is True:
            if self._default_cache is None:
                self._default_cache = ResultCache()
            cache = self._default_cache
        key = id(cache) if cache else 0
        engine = self._engines.get(key) if max_workers is None else None
        if engine is None:
            engine = Engine(self.analysis(), cache=cache or None, max_workers=max_workers)
            if max_workers is None:
                self._engines[key] = engine
        return engine

    def run(self, inputs: dict[str, Any] | None = None, *, cache: ResultCache | bool | None = None, **kwargs: Any) -> RunResult:
        """Run once. Inputs as a dict and/or keywords. Raises PipelineRunError naming the failed step."""
        return self.engine(cache=cache).run({**(inputs or {}), **kwargs})

    def __call__(self, **inputs: Any) -> dict[str, Any]:
        return self.run(inputs).outputs

    def run_batch(self, rows: Iterable[dict[str, Any]], *, cache: ResultCache | bool | None = None) -> list[RowResult]:
        """Run many rows with model calls grouped per program per level; failures stay per row."""
        return self.engine(cache=cache).run_rows(list(rows))

    # -- pictures ---------------------------------------------------------------------------

    def graph(self) -> Any:
        """The networkx DiGraph validation built: ``inputs.*``, ``steps.*``, ``outputs.*`` nodes."""
        return self.analysis().graph

    def __repr__(self) -> str:
        return f"<Pipeline {self._name} ({len(self._steps)} steps)>"

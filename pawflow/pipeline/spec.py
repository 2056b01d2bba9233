"""The pipeline document: pydantic models that *are* the YAML schema.

A pipeline file is exactly ``PipelineSpec.model_validate(yaml)``; ``pipelines/pipeline.schema.json`` is
exported from these models, and the Python API builds the same objects, so YAML and Python cannot
drift apart. Models hold data only: what a step's outputs are (a program's labels, a python
function's return annotation) needs files and imports, and is worked out by validation.

Wiring lives in each step's ``inputs`` (``{name: reference}``; see :mod:`pawflow.pipeline.refs`);
constants live in ``params`` — so a string is never ambiguous between "a value" and "a reference".
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_serializer

from pawflow.pipeline.refs import NAME_PATTERN, RefStr
from pawflow.pipeline.types import TypeSpec

_NAME = re.compile(rf"^{NAME_PATTERN}$")


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(
            f"{name!r} is not a valid name: use letters, digits and _, not starting with a digit "
            "(names appear in references and templates)"
        )
    return name


_FUNCTION_PATTERN = r"^(?![^:]*\.py:)[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$"  # an import path, not a file


def _check_function(value: str) -> str:
    """``module:callable`` by import path (docs/pipelines.md, "Python steps"); say so when given a file path."""
    module = value.partition(":")[0]
    if not re.match(_FUNCTION_PATTERN, value) or module.endswith(".py"):
        if module.endswith(".py") or "/" in module or "\\" in module or module.startswith("."):
            stem = Path(module.replace("\\", "/")).name.removesuffix(".py") or "my_steps"
            raise ValueError(
                f"{value!r} names a file; python steps name an import path, module:function, e.g. "
                f"{stem.replace('-', '_')}:{value.partition(':')[2] or 'clean_text'} for a {stem}.py next to the "
                "pipeline (its folder comes first on sys.path) or mypkg.steps:clean_text from an installed package"
            )
        raise ValueError(
            f"{value!r} is not module:function; python steps name an import path, e.g. my_pipeline_steps:clean_text "
            "(a module next to the pipeline) or mypkg.steps:clean_text (an installed package)"
        )
    return value


Name = Annotated[str, AfterValidator(_check_name), Field(json_schema_extra={"pattern": f"^{NAME_PATTERN}$"})]
Seconds = Annotated[float, Field(gt=0, le=86400)]


# Step fields in the order a person reads them: what it is, what it calls, what it takes, options.
_FIELD_ORDER = {"kind": 0, "description": 1, "inputs": 6, "params": 7, "step": 8, "output": 9, "timeout": 10, "cache": 11}


class _Node(BaseModel):
    """Shared serialisation: ``kind`` first, and an explicitly written ``default`` is kept even if null."""

    model_config = ConfigDict(extra="forbid")
    _always: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _serialize(self, handler: Any) -> Any:
        data = handler(self)
        if not isinstance(data, dict):
            return data
        if "default" in type(self).model_fields and "default" in self.model_fields_set and "default" not in data:
            data["default"] = self.default  # type: ignore[attr-defined]
        if "kind" in type(self).model_fields:
            data["kind"] = self.kind  # type: ignore[attr-defined]
            data = dict(sorted(data.items(), key=lambda item: _FIELD_ORDER.get(item[0], 5)))
        for field in self._always:
            if field not in data:
                value = getattr(self, field)
                data = {field: value.model_dump(mode="json") if isinstance(value, BaseModel) else value, **data}
        return data


class InputSpec(_Node):
    """A pipeline input. Without ``default`` it is required."""

    _always: ClassVar[tuple[str, ...]] = ("type",)
    type: TypeSpec = "str"
    default: Any = Field(default=None, description="makes the input optional; may be null")
    description: str = ""

    @property
    def required(self) -> bool:
        return "default" not in self.model_fields_set


class _StepBase(_Node):
    description: str = ""
    inputs: dict[Name, RefStr] = Field(default_factory=dict, description="{input name: reference}")
    timeout: Seconds | None = Field(default=None, description="seconds; the step fails when it runs longer")
    cache: bool | None = Field(
        default=None,
        description="cache results by content hash when the run enables caching "
        "(default: program steps yes, others no)",
    )


class ProgramStep(_StepBase):
    """Call a compiled program. One input is passed as the program's text; several are rendered by
    ``prompt`` (a jinja2 template over the inputs) or, without one, sent as a JSON object."""

    kind: Literal["program"] = "program"
    program: str = Field(min_length=1, description="program name on the search path, or a .paw path relative to this file")
    prompt: str | None = Field(default=None, description="jinja2 template turning the inputs into the program's input text")
    output: TypeSpec | None = Field(default=None, description="expected output type; checked against the program")


class PythonStep(_StepBase):
    """Call ``module:function`` with the inputs (and ``params``) as keyword arguments."""

    kind: Literal["python"] = "python"
    function: Annotated[str, AfterValidator(_check_function)] = Field(
        json_schema_extra={"pattern": _FUNCTION_PATTERN},
        description="module:attribute by import path: a module next to the pipeline file (its folder comes first "
        "on sys.path), e.g. my_pipeline_steps:clean, or from an installed package, e.g. mypkg.steps:clean",
    )
    params: dict[str, Any] = Field(default_factory=dict, description="constant keyword arguments")
    output: TypeSpec | None = Field(default=None, description="the return type (default: the return annotation)")


RegexFlag = Literal["IGNORECASE", "MULTILINE", "DOTALL", "VERBOSE", "ASCII"]


class RegexStep(_StepBase):
    """Match ``pattern`` against input ``text``; every named group becomes an output."""

    kind: Literal["regex"] = "regex"
    pattern: str = Field(min_length=1)
    flags: list[RegexFlag] = Field(default_factory=list)
    mode: Literal["search", "match", "fullmatch"] = "search"
    required: bool = Field(default=False, description="fail the step when nothing matches (default: groups are null)")


class TemplateStep(_StepBase):
    """Render a jinja2 template (sandboxed, undefined variables are errors) over inputs and params."""

    kind: Literal["template"] = "template"
    template: str
    params: dict[str, Any] = Field(default_factory=dict, description="constant template variables")


class SwitchStep(_StepBase):
    """Branch on input ``value``: the output named like it carries ``payload`` (or ``value`` itself);
    the other outputs are skipped, and so is everything downstream of them that does not merge
    (coalesce). ``case`` carries the name of the taken output."""

    kind: Literal["switch"] = "switch"
    cases: list[Name] = Field(min_length=1, description="values of input `value`; each is also an output name")
    default: Name | None = Field(default=None, description="output taken when no case matches (else the step fails)")

    @field_validator("cases")
    @classmethod
    def _distinct(cls, cases: list[str]) -> list[str]:
        if len(set(cases)) != len(cases):
            raise ValueError("cases must be distinct")
        return cases


class Route(BaseModel):
    model_config = ConfigDict(extra="forbid")
    when: str = Field(min_length=1, description="jinja2 expression over the step's inputs, e.g. `score > 0.8`")
    to: Name = Field(description="output name taken when the expression is true")


class RouteStep(_StepBase):
    """Branch on conditions over the inputs: the first route whose ``when`` is true is taken and carries
    input ``payload`` (or, without one, a dict of all inputs); the rest are skipped."""

    kind: Literal["route"] = "route"
    routes: list[Route] = Field(min_length=1)
    default: Name | None = Field(default=None, description="output taken when no route matches (else the step fails)")


class CoalesceStep(_StepBase):
    """Merge branches: the first input (in order) that was not skipped. Skipped only if all were and
    no ``default`` is given."""

    kind: Literal["coalesce"] = "coalesce"
    default: Any = Field(default=None, description="value when every input was skipped")


class SubPipelineStep(_StepBase):
    """Run another pipeline file; its outputs become this step's outputs."""

    kind: Literal["pipeline"] = "pipeline"
    path: str = Field(min_length=1, description="pipeline YAML, relative to this file")


InnerStep = Annotated[
    Union[ProgramStep, PythonStep, RegexStep, TemplateStep, SubPipelineStep], Field(discriminator="kind")
]


class MapStep(_StepBase):
    """Run ``step`` once per element of input ``over`` (available to it as ``item`` and ``index``);
    ``value`` is the list of its results. Program calls over the elements are batched."""

    kind: Literal["map"] = "map"
    step: InnerStep
    concurrency: int | None = Field(default=None, ge=1, le=256, description="threads for non-program inner steps")


Step = Annotated[
    Union[
        ProgramStep, PythonStep, RegexStep, TemplateStep, SwitchStep, RouteStep, CoalesceStep, MapStep, SubPipelineStep
    ],
    Field(discriminator="kind"),
]
STEP_KINDS = ("program", "python", "regex", "template", "switch", "route", "coalesce", "map", "pipeline")
AnyStep = Union[
    ProgramStep, PythonStep, RegexStep, TemplateStep, SwitchStep, RouteStep, CoalesceStep, MapStep, SubPipelineStep
]


class PipelineSpec(_Node):
    """A pipeline file. Steps run in dependency order; ``outputs`` name what a run returns."""

    model_config = ConfigDict(extra="forbid", title="pawflow pipeline")

    name: Name
    version: str = "0.1.0"
    description: str = ""
    inputs: dict[Name, InputSpec] = Field(default_factory=dict)
    steps: dict[Name, Step] = Field(min_length=1)
    outputs: dict[Name, RefStr] = Field(min_length=1, description="{output name: reference}")


def spec_to_data(spec: PipelineSpec) -> dict[str, Any]:
    """Plain data for YAML: defaults left out, so files stay as short as a person would write them."""
    return spec.model_dump(mode="json", exclude_defaults=True)


def json_schema() -> dict[str, Any]:
    """The JSON Schema editors use to complete and check pipeline files."""
    schema = PipelineSpec.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://pawflow.dev/schemas/pipeline.schema.json"
    return schema

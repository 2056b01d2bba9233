"""The pipeline document: YAML ⇄ Python round-trips, the builder API, and the shipped JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pawflow.errors import PipelineError, PipelineValidationError
from pawflow.pipeline import (
    CoalesceStep,
    InputSpec,
    LabelsType,
    MapStep,
    Pipeline,
    PipelineSpec,
    ProgramStep,
    PythonStep,
    RegexStep,
    Route,
    RouteStep,
    SubPipelineStep,
    SwitchStep,
    TemplateStep,
    json_schema,
)

REPO = Path(__file__).resolve().parent.parent

# --------------------------------------------------------------------------- strategies

names = st.from_regex(r"[a-z_][a-z0-9_]{0,7}", fullmatch=True)
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12)
)
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)), max_leaves=8)
# Text that YAML likes to reinterpret: booleans, nulls, numbers, colons, leading spaces, newlines.
tricky_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["yes", "no", "on", "off", "null", "~", "1.0", "0x10", "- a", "a: b", " lead", "trail ", "#x",
                     "line1\nline2", "line\n", "{{ x }}", "'q'", '"dq"', "", "é ✓ 中文"]),
)
type_specs = st.one_of(st.sampled_from(["str", "int", "float", "bool", "list", "dict", "any"]),
                       st.lists(names, min_size=1, max_size=4, unique=True).map(lambda ls: LabelsType(labels=ls)))
refs = st.one_of(names.map(lambda n: f"inputs.{n}"), st.tuples(names, names).map(lambda t: f"steps.{t[0]}.{t[1]}"),
                 st.tuples(names, names, st.integers(0, 3)).map(lambda t: f"steps.{t[0]}.value.{t[1]}.{t[2]}"))
step_inputs = st.dictionaries(names, refs, max_size=3)
timeouts = st.one_of(st.none(), st.floats(0.01, 3600))
common = dict(inputs=step_inputs, description=tricky_text, timeout=timeouts, cache=st.one_of(st.none(), st.booleans()))


def _step(cls, **fields):
    return st.builds(cls, **common, **fields)


program_steps = _step(ProgramStep, program=st.sampled_from(["intent", "programs/build/x.paw", "a-b.c"]),
                      prompt=st.one_of(st.none(), tricky_text), output=st.one_of(st.none(), type_specs))
python_steps = _step(PythonStep, function=st.sampled_from(["tests.pipeline_steps:words", "pkg.mod:obj.method"]),
                     params=st.dictionaries(names, json_values, max_size=3), output=st.one_of(st.none(), type_specs))
regex_steps = _step(RegexStep, pattern=st.text(min_size=1, max_size=20),
                    flags=st.lists(st.sampled_from(["IGNORECASE", "MULTILINE", "DOTALL"]), max_size=2),
                    mode=st.sampled_from(["search", "match", "fullmatch"]), required=st.booleans())
template_steps = _step(TemplateStep, template=tricky_text, params=st.dictionaries(names, json_values, max_size=2))
switch_steps = _step(SwitchStep, cases=st.lists(names, min_size=1, max_size=4, unique=True), default=st.one_of(st.none(), names))
route_steps = _step(RouteStep, routes=st.lists(st.builds(Route, when=st.text(min_size=1, max_size=20), to=names), min_size=1, max_size=3),
                    default=st.one_of(st.none(), names))
sub_steps = _step(SubPipelineStep, path=st.sampled_from(["sub.yaml", "../other/p.yaml"]))
inner_steps = st.one_of(program_steps, python_steps, regex_steps, template_steps, sub_steps)
map_steps = _step(MapStep, step=inner_steps, concurrency=st.one_of(st.none(), st.integers(1, 8)))


@st.composite
def coalesce_steps(draw):
    fields = {k: draw(v) for k, v in common.items()}
    if draw(st.booleans()):
        fields["default"] = draw(json_values)  # explicitly set, possibly to null
    return CoalesceStep(**fields)


any_step = st.one_of(program_steps, python_steps, regex_steps, template_steps, switch_steps, route_steps,
                     coalesce_steps(), map_steps, sub_steps)


@st.composite
def input_specs(draw):
    fields = {"type": draw(type_specs), "description": draw(tricky_text)}
    if draw(st.booleans()):
        fields["default"] = draw(json_values)
    return InputSpec(**fields)


specs = st.builds(
    PipelineSpec,
    name=names,
    version=st.sampled_from(["0.1.0", "2.0"]),
    description=tricky_text,
    inputs=st.dictionaries(names, input_specs(), max_size=3),
    steps=st.dictionaries(names, any_step, min_size=1, max_size=5),
    outputs=st.dictionaries(names, refs, min_size=1, max_size=3),
)


def _optional_flags(spec: PipelineSpec) -> list:
    """What equality of models cannot see: whether a ``default`` was given at all."""
    flags = [("input", n, i.required) for n, i in spec.inputs.items()]
    for name, step in spec.steps.items():
        if isinstance(step, CoalesceStep):
            flags.append(("coalesce", name, "default" in step.model_fields_set))
    return flags


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs)
def test_yaml_round_trip_of_generated_pipelines(spec: PipelineSpec) -> None:
    pipeline = Pipeline.from_spec(spec)
    text = pipeline.to_yaml()
    again = Pipeline.from_yaml_text(text)
    assert again.spec == spec
    assert _optional_flags(again.spec) == _optional_flags(spec)
    assert again.to_yaml() == text  # a fixed point: saving twice changes nothing


def test_explicit_null_default_survives_but_absent_default_stays_absent() -> None:
    spec = PipelineSpec(
        name="p",
        inputs={"a": InputSpec(type="str"), "b": InputSpec(type="str", default=None)},
        steps={"c": CoalesceStep(inputs={"x": "inputs.a"}, default=None), "d": CoalesceStep(inputs={"x": "inputs.b"})},
        outputs={"o": "steps.c.value", "p": "steps.d.value"},
    )
    data = yaml.safe_load(Pipeline.from_spec(spec).to_yaml())
    assert data["inputs"]["a"] == {"type": "str"}
    assert data["inputs"]["b"] == {"type": "str", "default": None}
    assert data["steps"]["c"] == {"kind": "coalesce", "inputs": {"x": "inputs.a"}, "default": None}
    assert "default" not in data["steps"]["d"]


def test_builder_api_produces_the_same_document_as_yaml() -> None:
    text = """
name: triage
inputs:
  text: {type: str}
steps:
  kind:
    kind: program
    program: ticket-kind
    inputs: {text: inputs.text}
  branch:
    kind: switch
    cases: [billing, bug]
    default: other
    inputs: {value: steps.kind.value, payload: inputs.text}
  loud:
    kind: python
    function: tests.pipeline_steps:shout
    inputs: {text: steps.branch.billing}
outputs:
  kind: steps.kind.value
  loud: steps.loud.value
"""
    built = Pipeline("triage", inputs={"text": "str"})
    built.add_step("kind", ProgramStep(program="ticket-kind"))
    built.add_step("branch", SwitchStep(cases=["billing", "bug"], default="other"))
    built.add_step("loud", PythonStep(function="tests.pipeline_steps:shout"))
    built.connect("inputs.text", "kind.text")
    built.connect("kind.value", "branch.value")
    built.connect("inputs.text", "branch.payload")
    built.connect("steps.branch.billing", "loud.text")
    built.add_output("kind", "kind.value").add_output("loud", "steps.loud.value")
    loaded = Pipeline.from_yaml_text(text)
    assert built.spec == loaded.spec
    assert built.to_yaml() == loaded.to_yaml()


def test_builder_rejects_bad_wiring_with_clear_errors() -> None:
    p = Pipeline("p", inputs={"text": "str"})
    p.add_step("a", PythonStep(function="tests.pipeline_steps:shout"))
    with pytest.raises(PipelineError, match="already has a step 'a'"):
        p.add_step("a", PythonStep(function="tests.pipeline_steps:shout"))
    with pytest.raises(PipelineError, match="STEP.INPUT"):
        p.connect("inputs.text", "nosuch.text")
    with pytest.raises(PipelineError, match="not a valid name"):
        p.connect("inputs.text", "a.bad-name")
    with pytest.raises(ValueError, match="did you mean steps.a.value"):
        p.add_output("o", "steps.a")


def test_save_is_atomic_and_loadable(tmp_path: Path) -> None:
    p = Pipeline("saved", inputs={"text": "str"})
    p.add_step("a", PythonStep(function="tests.pipeline_steps:shout", inputs={"text": "inputs.text"}))
    p.add_output("o", "steps.a.value")
    target = p.save(tmp_path / "saved.yaml")
    assert target.read_text().startswith("# yaml-language-server: $schema=")
    assert [f.name for f in tmp_path.iterdir()] == ["saved.yaml"]  # no temp files left behind
    assert Pipeline.load(target).spec == p.spec
    assert Pipeline.load(target).run(text="hi").outputs == {"o": "HI!"}


def test_shipped_json_schema_is_current() -> None:
    shipped = json.loads((REPO / "pipelines" / "pipeline.schema.json").read_text())
    assert shipped == json_schema(), "regenerate: pawflow pipeline schema -o pipelines/pipeline.schema.json"
    jsonschema.Draft202012Validator.check_schema(shipped)


@pytest.mark.parametrize("path", sorted((REPO / "pipelines").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_pipelines_satisfy_the_json_schema(path: Path) -> None:
    schema = json.loads((REPO / "pipelines" / "pipeline.schema.json").read_text())
    jsonschema.validate(yaml.safe_load(path.read_text()), schema)
    Pipeline.load(path)  # and pydantic agrees


def test_json_schema_rejects_what_pydantic_rejects() -> None:
    schema = json_schema()
    bad = {"name": "p", "steps": {"a": {"kind": "python", "function": "nocolon"}}, "outputs": {"o": "steps.a"}}
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(bad))
    assert errors, "the editor schema should flag a bad function and a bad reference"
    with pytest.raises(PipelineValidationError) as info:
        Pipeline.from_yaml_text(yaml.safe_dump(bad))
    messages = " ".join(p.message for p in info.value.problems)
    assert "module:function" in messages and "steps.a.value" in messages

"""Tool schemas and names built from manifests and pipeline declarations (pure functions, no model)."""

from __future__ import annotations

import jsonschema
import pytest

from integrations.mcp.catalog.entries import ProgramEntry, Snapshot, assign_tool_names, safe_tool_name
from integrations.mcp.catalog.schemas import (
    pipeline_input_schema,
    pipeline_output_schema,
    program_description,
    program_output_schema,
    program_result,
    summarize,
)
from pawflow.pipeline import Pipeline
from pawflow.pipeline.types import VType
from pawflow.program import JsonOutput, LabelsOutput, Program, TextOutput
from pawflow.result import Result
from tests.integrations.mcp.conftest import SHIPPED_PROGRAMS


def test_labels_output_schema_lists_labels_and_accepts_a_result() -> None:
    output = LabelsOutput(labels=["ALERT", "QUIET"])
    schema = program_output_schema(output)
    assert schema["properties"]["label"]["enum"] == ["ALERT", "QUIET"]
    result = Result(value="ALERT", text="ALERT", program="p", confidence=0.9, scores={"ALERT": 0.9, "QUIET": 0.1}, latency_ms=12.34)
    shaped = program_result(result, output)
    jsonschema.validate(shaped, schema)
    assert shaped == {"label": "ALERT", "confidence": 0.9, "scores": {"ALERT": 0.9, "QUIET": 0.1}, "latency_ms": 12.3}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**shaped, "label": "MAYBE"}, schema)


def test_json_output_schema_keeps_references_resolvable() -> None:
    inner = {
        "type": "object",
        "properties": {"when": {"$ref": "#/definitions/date"}, "items": {"type": "array", "items": {"$ref": "#/$defs/item"}}},
        "required": ["when"],
        "definitions": {"date": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}},
        "$defs": {"item": {"type": "integer"}},
    }
    schema = program_output_schema(JsonOutput(schema=inner))
    assert set(schema["$defs"]) == {"date", "item"}
    jsonschema.validate({"value": {"when": "2026-01-02", "items": [1, 2]}}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"value": {"when": "tomorrow"}}, schema)


def test_text_output_schema() -> None:
    schema = program_output_schema(TextOutput())
    jsonschema.validate({"value": "hello", "latency_ms": 3.0}, schema)
    assert schema["required"] == ["value"]


def test_description_summarizes_the_spec_and_names_labels() -> None:
    program = Program.read(SHIPPED_PROGRAMS / "log-alert.paw")
    text = program_description(program)
    assert text.startswith("You get one line from the log")
    assert "ALERT, QUIET" in text and "fit" in text and "LoRA adapter" in text
    assert len(text.split("\n")[0]) <= 361
    assert summarize("a   b\n c") == "a b c"


def test_pipeline_schemas_from_inputs_and_output_types(tmp_path) -> None:
    (tmp_path / "p.yaml").write_text(
        "name: p\ninputs:\n  text: {type: str, description: the text}\n  n: {type: int, default: 3}\n"
        "  mode: {type: {labels: [fast, slow]}, default: fast}\n"
        "steps:\n  t:\n    kind: template\n    template: '{{ text }}'\n    inputs: {text: inputs.text}\n"
        "outputs:\n  said: steps.t.value\n  mode: inputs.mode\n"
    )
    pipeline = Pipeline.load(tmp_path / "p.yaml")
    schema = pipeline_input_schema(dict(pipeline.spec.inputs))
    assert schema["required"] == ["text"]
    assert schema["properties"]["n"] == {"type": "integer", "default": 3}
    assert schema["properties"]["mode"]["enum"] == ["fast", "slow"]
    jsonschema.validate({"text": "x", "n": 1}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"text": "x", "extra": 1}, schema)
    out = pipeline_output_schema(dict(pipeline.analysis().output_types))
    jsonschema.validate({"outputs": {"said": "x", "mode": None}, "skipped": ["mode"]}, out)
    assert out["properties"]["outputs"]["properties"]["mode"] == {"anyOf": [{"type": "string", "enum": ["fast", "slow"]}, {"type": "null"}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"outputs": {"said": "x", "mode": "medium"}, "skipped": []}, out)
    anything = pipeline_output_schema({"any": VType("any")})["properties"]["outputs"]["properties"]["any"]
    for value in ("s", 1, 1.5, True, None, [1], {"a": 1}):
        jsonschema.validate(value, anything)


def test_tool_names_are_safe_and_collisions_resolved() -> None:
    assert safe_tool_name("site.page router!") == "site_page_router"
    assert len(safe_tool_name("x" * 100)) == 64
    program = Program.read(SHIPPED_PROGRAMS / "log-alert.paw")
    snapshot = Snapshot(programs={
        "run_program": ProgramEntry("run_program", SHIPPED_PROGRAMS / "a.paw", None, program),  # type: ignore[arg-type]
        "log-alert": ProgramEntry("log-alert", SHIPPED_PROGRAMS / "b.paw", None, program),  # type: ignore[arg-type]
    })
    assign_tool_names(snapshot, {"run_program", "list_programs"})
    assert snapshot.programs["run_program"].tool_name == "program_run_program"
    assert snapshot.programs["log-alert"].tool_name == "log-alert"

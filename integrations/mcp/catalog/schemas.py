"""JSON schemas and descriptions of the tools, built from what a program or pipeline declares.

An agent picks and calls a tool from its name, description and input schema alone, and checks the
answer against the output schema; so each is derived from the source of truth — the program's
manifest (spec, output type, labels, JSON schema, compile method) or the pipeline's inputs and the
output types validation works out — never written by hand per tool.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from pawflow.pipeline.spec import InputSpec
from pawflow.pipeline.types import LabelsType, VType
from pawflow.program import JsonOutput, LabelsOutput, Program, TextOutput
from pawflow.result import Result

DESCRIPTION_SPEC_CHARS = 360

# --------------------------------------------------------------------------- programs


def program_input_schema(max_input_chars: int) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "input": {
                "type": "string",
                "description": "the text the program reads (one log line, one message, one question)",
                "maxLength": max_input_chars,
            }
        },
        "required": ["input"],
        "additionalProperties": False,
    }


def program_output_schema(output: LabelsOutput | TextOutput | JsonOutput) -> dict[str, Any]:
    """Structured content of one call: ``label``/``confidence``/``scores`` for labels, else ``value``."""
    common = {"latency_ms": {"type": "number", "description": "model time of this call"}}
    if isinstance(output, LabelsOutput):
        return {
            "type": "object",
            "properties": {
                "label": {"type": "string", "enum": list(output.labels), "description": "the most probable label"},
                "confidence": {"type": "number", "minimum": 0, "maximum": 1, "description": "probability of the label"},
                "scores": {
                    "type": "object",
                    "description": "probability of every label (sums to 1)",
                    "properties": {label: {"type": "number"} for label in output.labels},
                    "required": list(output.labels),
                    "additionalProperties": False,
                },
                **common,
            },
            "required": ["label", "confidence", "scores"],
        }
    if isinstance(output, JsonOutput):
        value, defs = _hoist_definitions(output.json_schema)
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {"value": value, **common},
            "required": ["value"],
        }
        if defs:
            schema["$defs"] = defs
        return schema
    return {
        "type": "object",
        "properties": {"value": {"type": "string", "description": "the program's text output"}, **common},
        "required": ["value"],
    }


def _hoist_definitions(schema: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Move ``$defs`` / ``definitions`` to the top, so ``#/$defs/X`` still resolves once the schema is nested.

    References to ``#/definitions/X`` are rewritten to ``#/$defs/X`` (one place for both spellings);
    a bare ``#`` (recursion into the whole value) cannot survive nesting and is widened to any value.
    """
    schema = copy.deepcopy(schema)
    schema.pop("$schema", None)
    defs: dict[str, Any] = {}
    defs.update(schema.pop("definitions", {}) or {})
    defs.update(schema.pop("$defs", {}) or {})

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                if ref == "#":
                    return {}
                node = {**node, "$ref": re.sub(r"^#/definitions/", "#/$defs/", ref)}
            return {key: rewrite(value) for key, value in node.items()}
        if isinstance(node, list):
            return [rewrite(item) for item in node]
        return node

    return rewrite(schema), rewrite(defs)


def program_description(program: Program) -> str:
    """Spec summary, output type (labels listed), compile method and where it runs."""
    meta = program.meta.pawflow
    spec = meta.spec if meta is not None else program.meta.spec
    summary = summarize(spec) or f"pawflow program {program.name}"
    output = program.output
    if isinstance(output, LabelsOutput):
        returns = f"Returns one label of: {', '.join(output.labels)} (with its probability and every label's score)."
    elif isinstance(output, JsonOutput):
        returns = "Returns JSON matching the output schema."
    else:
        returns = "Returns text."
    method = meta.compile.method if meta is not None else "sdk"
    kind = "LoRA adapter" if program.adapter is not None else "prompt-only"
    return f"{summary}\n{returns} Local pawflow program ({method}, {kind}) on a small CPU model: one short input per call."


def summarize(text: str, limit: int = DESCRIPTION_SPEC_CHARS) -> str:
    """Collapse whitespace and cut at a sentence end before ``limit`` characters where there is one."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit]
    end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    return cut[: end + 1] if end > limit // 3 else cut.rstrip() + "…"


def program_result(result: Result, output: LabelsOutput | TextOutput | JsonOutput) -> dict[str, Any]:
    latency = round(result.latency_ms, 1)
    if isinstance(output, LabelsOutput):
        scores = {label: float(result.scores.get(label, 0.0)) for label in output.labels} if result.scores else {}
        return {"label": result.value, "confidence": float(result.confidence or 0.0), "scores": scores, "latency_ms": latency}
    return {"value": result.value, "latency_ms": latency}


# --------------------------------------------------------------------------- pipelines

_JSON_TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean", "list": "array", "dict": "object"}


ANY_JSON: dict[str, Any] = {
    "anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}, {"type": "object"}, {"type": "array"}, {"type": "null"}],
    "description": "any JSON value",
}


def vtype_schema(vtype: VType, *, nullable: bool = False) -> dict[str, Any]:
    """A pipeline value type as JSON Schema, spelled portably: one ``type`` per branch, ``anyOf`` for null.

    (The MCP Inspector's ``--strict`` check warns about ``"type": [...]`` arrays and keyword-less
    schemas: clients that map tool schemas onto single-type dialects, such as Gemini's, reject them.)
    """
    if vtype.kind == "labels" and vtype.labels is not None:
        schema: dict[str, Any] = {"type": "string", "enum": list(vtype.labels)}
    elif vtype.kind in _JSON_TYPES:
        schema = {"type": _JSON_TYPES[vtype.kind]}
    else:  # any
        return copy.deepcopy(ANY_JSON)
    return {"anyOf": [schema, {"type": "null"}]} if nullable else schema


def input_spec_schema(spec: InputSpec) -> dict[str, Any]:
    declared = spec.type
    vtype = VType("labels", tuple(declared.labels)) if isinstance(declared, LabelsType) else VType(str(declared))
    schema = vtype_schema(vtype)
    if spec.description:
        schema["description"] = spec.description
    if not spec.required:
        schema["default"] = spec.default
    return schema


def pipeline_input_schema(inputs: dict[str, InputSpec]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {name: input_spec_schema(spec) for name, spec in inputs.items()},
        "required": [name for name, spec in inputs.items() if spec.required],
        "additionalProperties": False,
    }


def pipeline_output_schema(output_types: dict[str, VType]) -> dict[str, Any]:
    """``outputs`` (each may be null when its branch was skipped), ``skipped`` and timing."""
    return {
        "type": "object",
        "properties": {
            "outputs": {
                "type": "object",
                "properties": {name: vtype_schema(vtype, nullable=True) for name, vtype in output_types.items()},
                "required": list(output_types),
            },
            "skipped": {"type": "array", "items": {"type": "string"}, "description": "outputs whose branch did not run"},
            "duration_ms": {"type": "number"},
        },
        "required": ["outputs", "skipped"],
    }


def pipeline_description(name: str, description: str, programs: list[str], output_names: list[str]) -> str:
    summary = summarize(description) or f"pawflow pipeline {name}"
    uses = f" Runs programs {', '.join(programs)} locally." if programs else ""
    return f"{summary}\nReturns outputs {', '.join(output_names)}.{uses}"

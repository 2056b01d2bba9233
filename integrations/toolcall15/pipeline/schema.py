"""OpenAI message shapes and JSON-schema fitting: what every tool call the pipeline emits goes through.

Arguments are reduced and coerced to the tool's own JSON schema (from the request, never a built-in
copy), so any client's tools work and a call is valid or becomes a clarifying question.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def call_id(request: str, turn: int, index: int, name: str) -> str:
    digest = hashlib.sha256(f"{request}\x00{turn}\x00{index}\x00{name}".encode()).hexdigest()[:24]
    return f"call_{digest}"



def tool_call(name: str, args: dict[str, Any], cid: str) -> dict[str, Any]:
    return {"id": cid, "type": "function", "function": {"name": name, "arguments": json.dumps(args, ensure_ascii=False)}}


def assistant(content: str | None, calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = calls
    return message



def fit_schema(args: dict[str, Any], schema: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Arguments reduced and coerced to a tool's JSON schema; returns (args, missing required names)."""
    props = schema.get("properties") or {}
    out: dict[str, Any] = {}
    for key, value in args.items():
        if value is None or (props and key not in props):
            continue
        spec = props.get(key, {})
        kind = spec.get("type")
        if kind == "integer":
            try:
                value = int(round(float(value)))
            except (TypeError, ValueError):
                continue
        elif kind == "number":
            try:
                value = float(value)
            except (TypeError, ValueError):
                continue
        elif kind == "string":
            value = str(value).strip()
            if not value:
                continue
            if spec.get("enum") and value not in spec["enum"]:
                lowered = {str(e).lower(): e for e in spec["enum"]}
                if value.lower() not in lowered:
                    continue
                value = lowered[value.lower()]
        elif kind == "array":
            value = value if isinstance(value, list) else [value]
            if (spec.get("items") or {}).get("type") == "string":
                value = [str(v) for v in value]
        out[key] = value
    missing = [name for name in schema.get("required") or [] if name not in out]
    return out, missing


def validate_args(args: dict[str, Any], schema: dict[str, Any]) -> str | None:
    """jsonschema's complaint about ``args``, or None when they are valid."""
    import jsonschema

    try:
        jsonschema.validate(args, schema)
    except jsonschema.ValidationError as exc:
        return exc.message
    except jsonschema.SchemaError:
        return None
    return None


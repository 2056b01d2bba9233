"""Value types that flow between pipeline steps, and the compatibility rules validation applies.

Types are deliberately coarse (the JSON kinds plus ``labels``): they exist to catch wiring mistakes
before a model runs — a list fed to a regex, a typo'd label in a switch — not to be a type system.
``any`` switches checking off for one connection; ``int`` widens to ``float``; a ``labels`` value is
a ``str`` and fits any ``labels`` type that contains all of its labels.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

TYPE_NAMES = ("str", "int", "float", "bool", "list", "dict", "any")
TypeName = Literal["str", "int", "float", "bool", "list", "dict", "any"]


class LabelsType(BaseModel):
    """A string that is always one of ``labels`` (what a labels program returns)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    labels: list[str] = Field(min_length=1)

    @field_validator("labels")
    @classmethod
    def _distinct(cls, labels: list[str]) -> list[str]:
        if len(set(labels)) != len(labels):
            raise ValueError("labels must be distinct")
        return labels


def _check_type_spec(value: Any) -> Any:
    """One friendly error instead of pydantic's one-per-union-member noise."""
    if isinstance(value, LabelsType) or (isinstance(value, str) and value in TYPE_NAMES):
        return value
    if isinstance(value, dict) and "labels" in value:
        return value
    raise ValueError(
        f"expected a type: one of {', '.join(TYPE_NAMES)}, or {{labels: [a, b, ...]}}; got {value!r}"
    )


TypeSpec = Annotated[Union[TypeName, LabelsType], BeforeValidator(_check_type_spec)]


@dataclass(frozen=True)
class VType:
    """A resolved type. ``labels`` is set only for kind ``labels``."""

    kind: str
    labels: tuple[str, ...] | None = None

    def describe(self) -> str:
        if self.kind == "labels" and self.labels is not None:
            return "labels[" + ", ".join(self.labels) + "]"
        return self.kind

    def __str__(self) -> str:  # used in messages
        return self.describe()


ANY = VType("any")
STR = VType("str")
INT = VType("int")
FLOAT = VType("float")
BOOL = VType("bool")
LIST = VType("list")
DICT = VType("dict")


def vtype(spec: "str | LabelsType | None") -> VType:
    """Turn a declared TypeSpec (or None = undeclared) into a VType."""
    if spec is None:
        return ANY
    if isinstance(spec, LabelsType):
        return VType("labels", tuple(spec.labels))
    return VType(spec)


def compatible(source: VType, target: VType) -> str | None:
    """None if a ``source`` value may feed a ``target`` slot, else the reason it may not."""
    if source.kind == "any" or target.kind == "any":
        return None
    if source.kind == target.kind:
        if source.kind == "labels" and source.labels and target.labels:
            extra = [label for label in source.labels if label not in target.labels]
            if extra:
                return f"labels {extra} are not among {list(target.labels)}"
        return None
    if source.kind == "labels" and target.kind == "str":
        return None
    if source.kind == "str" and target.kind == "labels":
        return None  # may be fine; only the run can tell, so do not cry wolf
    if source.kind == "int" and target.kind == "float":
        return None
    return f"{source.describe()} does not fit {target.describe()}"


def join(types: list[VType]) -> VType:
    """The type of a value that is one of ``types`` (coalesce): equal types stay, else ``any``."""
    if not types:
        return ANY
    first = types[0]
    if all(t == first for t in types):
        return first
    if all(t.kind in ("labels", "str") for t in types):
        if all(t.kind == "labels" and t.labels for t in types):
            merged: list[str] = []
            for t in types:
                merged += [label for label in t.labels or () if label not in merged]
            return VType("labels", tuple(merged))
        return STR
    if all(t.kind in ("int", "float") for t in types):
        return FLOAT
    return ANY


def check_value(value: Any, expected: VType) -> str | None:
    """None if a runtime value has the expected type, else what is wrong (for run-time errors)."""
    kind = expected.kind
    if kind == "any":
        return None
    if kind == "labels":
        if not isinstance(value, str):
            return f"expected one of the labels {list(expected.labels or ())}, got {type(value).__name__}"
        if expected.labels and value not in expected.labels:
            return f"{value!r} is not one of the labels {list(expected.labels)}"
        return None
    python = {"str": str, "int": int, "float": (int, float), "bool": bool, "list": list, "dict": dict}[kind]
    if kind in ("int", "float") and isinstance(value, bool):
        return f"expected {kind}, got bool"
    if not isinstance(value, python):
        return f"expected {kind}, got {type(value).__name__}"
    return None


def type_of_value(value: Any) -> VType:
    """The VType of a literal (a switch forwarding a constant, a step param)."""
    for kind, python in (("bool", bool), ("int", int), ("float", float), ("str", str), ("list", list), ("dict", dict)):
        if isinstance(value, python):
            return VType(kind)
    return ANY


def from_annotation(annotation: Any) -> VType:
    """The VType a Python parameter or return annotation asks for; unknown shapes are ``any``."""
    if annotation is None or annotation is typing.Any or annotation is inspect_empty():
        return ANY
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Annotated:
        return from_annotation(args[0])
    if origin is Literal and args and all(isinstance(arg, str) for arg in args):
        return VType("labels", tuple(args))
    if origin in (Union, getattr(__import__("types"), "UnionType", Union)):
        members = [arg for arg in args if arg is not type(None)]
        return from_annotation(members[0]) if len(members) == 1 else ANY
    simple = {str: STR, int: INT, float: FLOAT, bool: BOOL, list: LIST, dict: DICT, tuple: LIST}
    if annotation in simple:
        return simple[annotation]
    if origin in simple:
        return simple[origin]
    import collections.abc as abc

    if origin in (abc.Sequence, abc.MutableSequence, abc.Iterable):
        return LIST
    if origin in (abc.Mapping, abc.MutableMapping):
        return DICT
    return ANY


def inspect_empty() -> Any:
    import inspect

    return inspect.Parameter.empty


def from_json_schema(schema: dict[str, Any]) -> VType:
    """The VType of a JSON program's output, from its schema's top-level ``type`` or ``enum``."""
    if isinstance(schema.get("enum"), list) and schema["enum"] and all(isinstance(v, str) for v in schema["enum"]):
        return VType("labels", tuple(schema["enum"]))
    kind = schema.get("type")
    mapping = {"object": DICT, "array": LIST, "string": STR, "integer": INT, "number": FLOAT, "boolean": BOOL}
    return mapping.get(kind, ANY) if isinstance(kind, str) else ANY


def from_program_output(output: Any) -> VType:
    """The VType of a compiled program's ``value`` (LabelsOutput / TextOutput / JsonOutput)."""
    kind = getattr(output, "type", None)
    if kind == "labels":
        return VType("labels", tuple(output.labels))
    if kind == "json":
        return from_json_schema(output.json_schema)
    return STR

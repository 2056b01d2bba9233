"""References: how a step names the value it consumes.

A reference is a dotted string, so it reads the same in YAML, in Python and in error messages:

``inputs.NAME``             a pipeline input
``steps.STEP.OUTPUT``       an output of another step (``value`` for most steps; a regex group; a switch case)
``item`` / ``index``        inside a ``map`` step: the current element and its position

Any reference may continue with a path into dicts and lists: ``steps.page.value.url``,
``inputs.messages.0.content`` (integers index lists). Keys containing dots cannot be addressed; use a
python or template step for those.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

NAME_PATTERN = r"[A-Za-z_][A-Za-z0-9_]*"
_NAME = re.compile(rf"^{NAME_PATTERN}$")
_KEY = re.compile(r"^[A-Za-z0-9_\-]+$")
REF_PATTERN = rf"^(inputs\.{NAME_PATTERN}|steps\.{NAME_PATTERN}\.{NAME_PATTERN}|item|index)(\.[A-Za-z0-9_\-]+)*$"


@dataclass(frozen=True)
class Ref:
    root: Literal["inputs", "steps", "item", "index"]
    name: str | None  # input name or step name; None for item/index
    socket: str | None  # the step output; None unless root == "steps"
    path: tuple[str | int, ...]
    text: str

    @property
    def head(self) -> str:
        """The reference without its path: what identifies the producing socket."""
        if self.root == "inputs":
            return f"inputs.{self.name}"
        if self.root == "steps":
            return f"steps.{self.name}.{self.socket}"
        return self.root


def parse_ref(text: str) -> Ref:
    """Parse a reference; ValueError says what is wrong and what a valid one looks like."""
    if not isinstance(text, str) or not text:
        raise ValueError(f"expected a reference such as inputs.text or steps.NAME.value, got {text!r}")
    parts = text.split(".")
    if any(part == "" for part in parts):
        raise ValueError(f"{text!r}: empty segment (two dots, or a leading/trailing dot)")
    root = parts[0]
    if root == "inputs":
        if len(parts) < 2 or not _NAME.match(parts[1]):
            raise ValueError(f"{text!r}: expected inputs.NAME (NAME a declared pipeline input)")
        name, socket, rest = parts[1], None, parts[2:]
    elif root == "steps":
        if len(parts) < 3:
            hint = f" (did you mean {text}.value?)" if len(parts) == 2 else ""
            raise ValueError(f"{text!r}: expected steps.STEP.OUTPUT, e.g. steps.classify.value{hint}")
        if not _NAME.match(parts[1]) or not _NAME.match(parts[2]):
            raise ValueError(f"{text!r}: step and output names are letters, digits and _, not starting with a digit")
        name, socket, rest = parts[1], parts[2], parts[3:]
    elif root in ("item", "index"):
        name, socket, rest = None, None, parts[1:]
        if root == "index" and rest:
            raise ValueError(f"{text!r}: index is an integer and has no fields")
    else:
        raise ValueError(
            f"{text!r}: a reference starts with inputs., steps., item or index "
            "(constants go in the step's params, not in its inputs)"
        )
    path: list[str | int] = []
    for part in rest:
        if not _KEY.match(part):
            raise ValueError(f"{text!r}: path segment {part!r} may only hold letters, digits, _ and -")
        path.append(int(part) if part.isdigit() else part)
    return Ref(root, name, socket, tuple(path), text)  # type: ignore[arg-type]


def _validate(text: str) -> str:
    parse_ref(text)
    return text


RefStr = Annotated[
    str,
    AfterValidator(_validate),
    Field(
        json_schema_extra={"pattern": REF_PATTERN},
        description="inputs.NAME | steps.STEP.OUTPUT | item | index, optionally followed by .key/.0 path segments",
    ),
]

"""YAML loading that remembers where every value came from, for errors that name file and line.

pydantic reports an error location as a path of keys/indices (``('examples', 3, 'output')``); users
need ``programs/x.yaml:42``. :func:`load_yaml` returns the plain data plus a map from such paths to
1-based line numbers, and :func:`validation_errors` turns a ``ValidationError`` into located messages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from pawflow.errors import SourceError

Loc = tuple[Any, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (a silent overwrite is a classic YAML bug)."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, f"unhashable mapping key {key!r}", key_node.start_mark
            ) from None
        if key in seen:
            raise yaml.constructor.ConstructorError(
                f"duplicate key {key!r} (first at line {seen[key]})", node.start_mark,
                f"duplicate key {key!r}", key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _index_lines(node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> None:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            _index_lines(value_node, loc + (key,), lines)
            lines.setdefault(loc + (key, "__key__"), key_node.start_mark.line + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, loc + (index,), lines)


def load_yaml_text(text: str, path: Path | str) -> tuple[Any, dict[Loc, int]]:
    """Parse YAML; raise :class:`SourceError` with the line of any syntax error."""
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise SourceError(path, f"invalid YAML: {exc.problem or exc}", line=line) from exc
    except yaml.YAMLError as exc:
        raise SourceError(path, f"invalid YAML: {exc}") from exc
    lines: dict[Loc, int] = {}
    if node is not None:
        _index_lines(node, (), lines)
    return data, lines


def load_yaml(path: Path | str) -> tuple[Any, dict[Loc, int]]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourceError(path, "file not found") from None
    except UnicodeDecodeError as exc:
        raise SourceError(path, f"not UTF-8 text ({exc})") from exc
    return load_yaml_text(text, path)


def line_for(loc: Loc, lines: dict[Loc, int]) -> int | None:
    """The line of the deepest known prefix of ``loc`` (a missing field points at its parent)."""
    loc = tuple(loc)
    while True:
        if loc in lines:
            return lines[loc]
        if not loc:
            return None
        loc = loc[:-1]


def validation_errors(exc: ValidationError, lines: dict[Loc, int]) -> list[tuple[int | None, str]]:
    """(line, "field.path: message") for every error in a pydantic ValidationError."""
    located = []
    for error in exc.errors():
        # pydantic inserts the union member's tag into loc for discriminated unions; drop non-data parts
        loc = tuple(part for part in error["loc"] if not (isinstance(part, str) and part.startswith("function-")))
        dotted = ".".join(str(part) for part in loc) or "(top level)"
        located.append((line_for(loc, lines), f"{dotted}: {error['msg']}"))
    return located


def parse_model(model: type[BaseModel], data: Any, lines: dict[Loc, int], path: Path | str) -> Any:
    """Validate ``data`` with ``model``; on failure raise one SourceError listing every problem."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        located = validation_errors(exc, lines)
        first_line = located[0][0] if located else None
        detail = "; ".join(f"line {line}: {msg}" if line else msg for line, msg in located)
        raise SourceError(path, f"invalid {model.__name__}: {detail}", line=first_line) from exc

"""The one jinja2 environment pipelines use: sandboxed, strict and text-oriented.

Pipeline files may come from anyone, so templates run in jinja2's immutable sandbox (no attribute
access to internals, no mutation of inputs). Undefined variables raise instead of rendering as empty
strings: a typo in ``{{ questoin }}`` should fail validation, not quietly send an empty prompt to a
model. Autoescaping is off because the output is prompt text, not HTML.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment


def _to_json(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, ensure_ascii=False, indent=indent, default=str)


@lru_cache(maxsize=1)
def environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True
    )
    env.filters["json"] = _to_json  # the builtin tojson HTML-escapes, which corrupts prompts
    return env


GLOBALS = frozenset(environment().globals)


def undeclared(source: str) -> set[str]:
    """Variables a template reads that it does not define itself (raises TemplateSyntaxError)."""
    return set(meta.find_undeclared_variables(environment().parse(source))) - GLOBALS


def undeclared_expression(expression: str) -> set[str]:
    """Like :func:`undeclared`, for a bare expression (a route's ``when``)."""
    env = environment()
    ast = env.parse("{{ (" + expression + ") }}")
    # a single expression: reject statements smuggled in through the braces
    if len(ast.body) != 1 or not isinstance(ast.body[0], nodes.Output):
        raise SyntaxError("expected a single expression")
    return set(meta.find_undeclared_variables(ast)) - GLOBALS


@lru_cache(maxsize=512)
def template(source: str) -> Template:
    return environment().from_string(source)


@lru_cache(maxsize=512)
def expression(source: str) -> Any:
    return environment().compile_expression(source)

"""The exception tree: drawn in ``pawflow/errors.py``'s docstring, true to the classes, all exported.

The drawing is documentation people read to decide what to catch, so it is checked against the real
class hierarchy line by line: a class moved in the code but not in the drawing (or the reverse) fails.
"""

from __future__ import annotations

import re

import pytest

import pawflow
from pawflow import errors


def _drawn_tree() -> dict[str, str]:
    """``{class: parent}`` as drawn (box-drawing indentation), parsed from the module docstring."""
    parents: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    for line in (errors.__doc__ or "").splitlines():
        match = re.match(r"^([ │]*(?:[├└]── )?)([A-Z][A-Za-z]+Error)\b", line)
        if not match:
            continue
        depth, name = len(match.group(1)), match.group(2)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            parents[name] = stack[-1][1]
        stack.append((depth, name))
    return parents


def _error_classes() -> dict[str, type]:
    return {name: getattr(errors, name) for name in errors.__all__}


def test_the_drawing_matches_the_classes() -> None:
    drawn = _drawn_tree()
    classes = _error_classes()
    assert set(drawn) | {"PawflowError"} == set(classes)
    for name, parent in drawn.items():
        assert issubclass(classes[name], classes[parent]), f"{name} is drawn under {parent}"
        assert classes[name].__bases__[0] is classes[parent], f"{name}'s first base is not {parent}"


def test_every_error_is_a_pawflow_error_with_a_unique_code_and_is_exported() -> None:
    classes = _error_classes()
    assert all(issubclass(cls, errors.PawflowError) for cls in classes.values())
    codes = [cls.code for cls in classes.values()]
    assert len(codes) == len(set(codes))
    assert errors.ContextLengthError.code == "context_length_exceeded"  # OpenAI's code, reported as is
    assert set(classes) <= set(pawflow.__all__)
    assert all(getattr(pawflow, name) is cls for name, cls in classes.items())


def test_the_groups_catch_what_callers_expect() -> None:
    assert issubclass(errors.MissingExtraError, errors.ConfigError)
    for leaf in (errors.ProgramNotFoundError, errors.IntegrityError, errors.BaseMismatchError, errors.CompileError,
                 errors.OutputValidationError):
        assert issubclass(leaf, errors.ProgramError)
    assert issubclass(errors.BaseModelError, errors.BackendError) and issubclass(errors.ContextLengthError, errors.BackendError)
    for leaf in (errors.PipelineValidationError, errors.PipelineRunError, errors.PipelineInputError):
        assert issubclass(leaf, errors.PipelineError)
    # A bad pipeline input is caught by `except InputTypeError` (as before) and by `except PipelineError`.
    assert issubclass(errors.PipelineInputError, errors.InputTypeError) and issubclass(errors.InputTypeError, TypeError)


def test_model_request_error_is_a_pawflow_error() -> None:
    from integrations.toolcall15 import ModelRequestError

    assert issubclass(ModelRequestError, errors.IntegrationError)
    with pytest.raises(errors.PawflowError, match="timed out"):
        raise ModelRequestError("Request timed out after 30s.")


def test_run_error_keeps_the_reason_apart_from_the_inputs() -> None:
    overflow = errors.ContextLengthError("input needs 9000 tokens", needed=9000, limit=4096)
    inner = errors.PipelineRunError("classify", "input needs 9000 tokens", inputs={"text": "secret"}, cause=overflow)
    outer = errors.PipelineRunError("nested>classify", "failed", cause=inner, pipeline="outer")
    assert "secret" in str(inner) and "secret" not in inner.reason
    assert outer.root_cause() is overflow
    assert (overflow.needed, overflow.limit) == (9000, 4096)

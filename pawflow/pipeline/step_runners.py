"""What each step kind computes, given its resolved inputs.

Program steps are run per *group*: every call of one program in a level goes through one
``run_many`` (one adapter swap), and a failing batch is retried row by row so only the culprit fails.
Every other kind (python, template, regex, switch, route, coalesce) is :func:`run_pure_step`: a
function of the step and its inputs, so its semantics live in one place whether it runs inline, on the
pool or inside a map.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

from pawflow.errors import InputTypeError, PipelineRunError
from pawflow.function import row_error
from pawflow.pipeline import jinja
from pawflow.pipeline.analysis import CASE_SOCKET, StepInfo
from pawflow.pipeline.results import SKIPPED
from pawflow.pipeline.rows import Task
from pawflow.pipeline.spec import CoalesceStep, ProgramStep, PythonStep, RegexStep, RouteStep, SwitchStep, TemplateStep
from pawflow.pipeline.types import ANY, check_value


class ProgramCalls:
    """Program steps' calls for one engine: each program loaded once, each level's calls grouped."""

    def __init__(self) -> None:
        self._functions: dict[Path, Any] = {}

    def function(self, info: StepInfo) -> Any:
        """The loaded :class:`~pawflow.function.Function` of a program step (loaded once per engine)."""
        from pawflow.function import Function

        key = info.program_path or Path(info.step.program)  # type: ignore[union-attr]
        fn = self._functions.get(key)
        if fn is None:
            if info.program is None:
                raise PipelineRunError(info.name, f"program {info.step.program!r} was not found at validation")  # type: ignore[union-attr]
            fn = self._functions[key] = Function(info.program)
        return fn

    def run_group(self, group: list[Task]) -> None:
        """All calls of one program in a level: one ``run_many`` (one swap), isolating failures."""
        fn = self.function(group[0].info)
        ready: list[tuple[Task, str]] = []
        for task in group:
            try:
                ready.append((task, program_text(task)))
            except Exception as exc:
                task.error = exc
        if not ready:
            return
        started = time.perf_counter()
        # Rows that cannot run (an input longer than the context) fail alone; the others are answered.
        results: list[Any] = fn.run_many([text for _, text in ready], errors="return")
        results = [row_error(fn.name, 0, 1, r) if getattr(r, "error", None) is not None else r for r in results]
        elapsed = (time.perf_counter() - started) * 1000
        share = elapsed / len(ready)
        for (task, _), result in zip(ready, results):
            task.started, task.duration_ms, task.batched = started, share, len(ready)
            task.row.model_ms += share
            if isinstance(result, Exception):
                task.error = result
            else:
                task.result = {"value": result.value, "text": result.text, "confidence": result.confidence}


def program_text(task: Task) -> str:
    """The text a program step sends: its rendered ``prompt``, its one text input, or its inputs as JSON."""
    step: ProgramStep = task.info.step  # type: ignore[assignment]
    if step.prompt is not None:
        return jinja.template(step.prompt).render(**task.inputs)
    if len(task.inputs) == 1:
        (value,) = task.inputs.values()
        if not isinstance(value, str):
            raise InputTypeError(f"program {step.program!r} takes text, got {type(value).__name__}",
                                 hint="add `prompt:` to render structured inputs into text")
        return value
    return json.dumps(task.inputs, ensure_ascii=False)


def run_task(task: Task) -> None:
    """Run a non-program task where it stands (inline or on a pool thread), recording result or error."""
    task.started = time.perf_counter()
    try:
        task.result = run_pure_step(task.info, task.inputs)
    except Exception as exc:
        task.error = exc
    finally:
        task.duration_ms = (time.perf_counter() - task.started) * 1000


def run_pure_step(info: StepInfo, inputs: dict[str, Any]) -> dict[str, Any] | None:
    """Every non-program step's semantics, in one place."""
    step = info.step
    if isinstance(step, PythonStep):
        assert info.function is not None
        value = info.function(**inputs, **step.params)
        if info.output_type != ANY:
            reason = check_value(value, info.output_type)
            if reason is not None:
                raise InputTypeError(f"{step.function} returned a value that does not match its output type: {reason}")
        return {"value": value}
    if isinstance(step, TemplateStep):
        return {"value": jinja.template(step.template).render(**step.params, **inputs)}
    if isinstance(step, RegexStep):
        text = inputs["text"]
        if not isinstance(text, str):
            raise InputTypeError(f"regex input must be text, got {type(text).__name__}")
        assert info.regex is not None
        match = getattr(info.regex, step.mode)(text)
        if match is None and step.required:
            raise ValueError(f"pattern {step.pattern!r} does not match {text[:120]!r}")
        groups = match.groupdict() if match else {name: None for name in info.regex.groupindex}
        return {"value": groups, "matched": match is not None, **groups}
    if isinstance(step, SwitchStep):
        value = inputs["value"]
        if isinstance(value, str) and value in step.cases:
            taken = value
        elif step.default is not None:
            taken = step.default
        else:
            raise ValueError(f"value {value!r} matches no case ({', '.join(step.cases)}) and there is no default")
        payload = inputs["payload"] if "payload" in inputs else value
        outputs: dict[str, Any] = {case: SKIPPED for case in (*step.cases, *([step.default] if step.default else []))}
        outputs[taken] = payload
        outputs[CASE_SOCKET] = taken
        return outputs
    if isinstance(step, RouteStep):
        taken = None
        for route in step.routes:
            if jinja.expression(route.when)(**inputs):
                taken = route.to
                break
        if taken is None:
            if step.default is None:
                raise ValueError(f"no route condition is true for inputs {_short(inputs)} and there is no default")
            taken = step.default
        payload = inputs["payload"] if "payload" in inputs else dict(inputs)
        names = [route.to for route in step.routes] + ([step.default] if step.default else [])
        outputs = {name: SKIPPED for name in names}
        outputs[taken] = payload
        outputs[CASE_SOCKET] = taken
        return outputs
    if isinstance(step, CoalesceStep):
        for value in inputs.values():
            if value is not SKIPPED:
                return {"value": value}
        if "default" in step.model_fields_set:
            return {"value": copy.deepcopy(step.default)}
        return None
    raise TypeError(f"no inline runner for {step.kind}")  # program/map/pipeline never get here


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "…"

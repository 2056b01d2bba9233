"""Static validation: everything that can be known about a pipeline before a model runs.

One pass resolves every step (programs are read, python functions imported, regexes and templates
compiled, nested pipelines analysed), types every connection and checks the graph with networkx —
and *collects* problems instead of stopping at the first, so a user fixes a file in one go. Each
problem carries file, line, the step, what was expected and a hint.

The same pass produces what the engine executes (:class:`Analysis`): resolved artefacts, output types
and the topological levels, so nothing is resolved twice and a validated pipeline cannot run
differently from how it was checked.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from pawflow.errors import PipelineValidationError, SourceError
from pawflow.pipeline.analysis import CASE_SOCKET, Analysis, SharedState, StepInfo
from pawflow.pipeline.graph_checks import GraphChecks
from pawflow.pipeline.problems import Problem, ValidationReport, did_you_mean
from pawflow.pipeline.python_steps import import_function
from pawflow.pipeline.refs import parse_ref
from pawflow.pipeline.resolution import Resolution
from pawflow.pipeline.spec import STEP_KINDS, AnyStep, InputSpec, PipelineSpec, Step
from pawflow.pipeline.types import ANY, check_value, vtype
from pawflow.pipeline.wiring import Wiring
from pawflow.yamlio import Loc, line_for, load_yaml, load_yaml_text

__all__ = [
    "CASE_SOCKET",
    "Analysis",
    "Problem",
    "StepInfo",
    "ValidationReport",
    "analyze_data",
    "analyze_file",
    "analyze_spec",
    "analyze_text",
    "import_function",
    "parse_text",
    "validate_file",
]

_STEP_ADAPTER: TypeAdapter[Any] = TypeAdapter(Step)
_INPUT_ADAPTER: TypeAdapter[Any] = TypeAdapter(InputSpec)


# --------------------------------------------------------------------------- entry points


def analyze_file(path: str | Path, *, _shared: SharedState | None = None, _stack: tuple[Path, ...] = ()) -> Analysis:
    """Analyse a pipeline file; never raises for a bad file — problems are in the result."""
    path = Path(path)
    try:
        data, lines = load_yaml(path)
    except SourceError as exc:
        return Analysis(str(path), path.parent, [_source_problem(exc, str(path))])
    return analyze_data(data, lines, str(path), path.parent, _shared=_shared, _stack=_stack + (path.resolve(),))


def analyze_text(text: str, file: str = "<string>", base_dir: Path | None = None) -> Analysis:
    try:
        data, lines = load_yaml_text(text, file)
    except SourceError as exc:
        return Analysis(file, base_dir or Path.cwd(), [_source_problem(exc, file)])
    return analyze_data(data, lines, file, base_dir or Path.cwd())


def analyze_spec(spec: PipelineSpec, file: str = "<python>", base_dir: Path | None = None,
                 lines: dict[Loc, int] | None = None) -> Analysis:
    """Analyse an already-parsed pipeline (built in Python, or loaded earlier with its ``lines``)."""
    analysis = Analysis(file, base_dir or Path.cwd(), [], spec=spec)
    stack = (Path(file).resolve(),) if lines else ()
    Analyzer(analysis, lines or {}, SharedState(), stack).run(dict(spec.inputs), dict(spec.steps), dict(spec.outputs), set(), set())
    return analysis


def parse_text(text: str, file: str, base_dir: Path) -> tuple[PipelineSpec, dict[Loc, int]]:
    """Schema-level parse only (no imports, no program lookups); on failure raise with every problem
    the full analysis finds, so a broken file is still reported in one go."""
    try:
        data, lines = load_yaml_text(text, file)
    except SourceError as exc:
        raise PipelineValidationError(file, [_source_problem(exc, file)]) from None
    try:
        if isinstance(data, dict) and not _non_string_keys(data, ()):
            return PipelineSpec.model_validate(data), lines
    except ValidationError:
        pass
    analysis = analyze_data(data, lines, file, base_dir)
    raise PipelineValidationError(file, analysis.problems)


def analyze_data(
    data: Any,
    lines: dict[Loc, int],
    file: str,
    base_dir: Path,
    *,
    _shared: SharedState | None = None,
    _stack: tuple[Path, ...] = (),
) -> Analysis:
    analysis = Analysis(file, base_dir, [])
    shared = _shared or SharedState()
    if not isinstance(data, dict):
        got = "an empty file" if data is None else f"a {type(data).__name__}"
        analysis.problems.append(
            Problem(file=file, line=1, code="not-a-mapping", message=f"a pipeline file must be a YAML mapping, got {got}",
                    hint="start from `pawflow pipeline schema` or docs/pipelines.md: name, inputs, steps, outputs")
        )
        return analysis
    odd_keys = _non_string_keys(data, ())
    for loc, key in odd_keys:
        analysis.problems.append(
            Problem(file=file, line=line_for(loc, lines), step=str(loc[1]) if len(loc) > 1 and loc[0] == "steps" else None,
                    code="schema", message=f"{'.'.join(map(str, loc)) or '(top level)'}: key {key!r} is not a string",
                    hint="YAML reads unquoted on/off/yes/no/true/false as booleans and digits as numbers; quote the key")
        )
    try:
        analysis.spec = PipelineSpec.model_validate(data)
    except ValidationError as exc:
        analysis.problems.extend(_schema_problems(exc, data, lines, file, skip=bool(odd_keys)))
    analyzer = Analyzer(analysis, lines, shared, _stack)
    if analysis.spec is not None:
        spec = analysis.spec
        analyzer.run(dict(spec.inputs), dict(spec.steps), dict(spec.outputs), set(), set())
        return analysis
    # The file does not fully parse: analyse the parts that do, so graph and reference problems are
    # reported together with the schema ones — but say nothing about references to the broken parts.
    inputs, bad_inputs = _partial(data.get("inputs"), _INPUT_ADAPTER)
    steps, bad_steps = _partial(data.get("steps"), _STEP_ADAPTER)
    outputs: dict[str, str] = {}
    raw_outputs = data.get("outputs")
    if isinstance(raw_outputs, dict):
        for key, value in raw_outputs.items():
            if isinstance(key, str) and isinstance(value, str):
                with contextlib.suppress(ValueError):
                    parse_ref(value)
                    outputs[key] = value
    analyzer.run(inputs, steps, outputs, bad_inputs, bad_steps, check_usage=isinstance(raw_outputs, dict) and bool(raw_outputs))
    return analysis


def _partial(raw: Any, adapter: TypeAdapter[Any]) -> tuple[dict[str, Any], set[str]]:
    good: dict[str, Any] = {}
    bad: set[str] = set()
    if not isinstance(raw, dict):
        return good, bad
    for key, value in raw.items():
        if not isinstance(key, str):
            continue
        try:
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
                raise ValueError(key)
            good[key] = adapter.validate_python(value)
        except (ValidationError, ValueError):
            bad.add(key)
    return good, bad


def _source_problem(exc: SourceError, file: str) -> Problem:
    message = exc.message.split(": ", 1)[1] if exc.message.startswith(f"{exc.path}") else exc.message
    return Problem(file=file, line=exc.line, code="yaml", message=message, hint=exc.hint or "fix the YAML syntax first")


_HINTS = {
    "union_tag_not_found": "every step needs `kind:` — one of " + ", ".join(STEP_KINDS),
    "union_tag_invalid": "kind must be one of " + ", ".join(STEP_KINDS),
    "extra_forbidden": "remove it or check its spelling against docs/pipelines.md",
    "missing": None,
}


def _clean_loc(loc: tuple[Any, ...], data: Any, error_type: str) -> tuple[Any, ...]:
    """Drop the parts pydantic inserts that are not in the data (union tags), keeping real keys."""
    cleaned: list[Any] = []
    node = data
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        if isinstance(node, dict) and part in node:
            cleaned.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            cleaned.append(part)
            node = node[part]
        elif last and error_type == "missing" and isinstance(part, str):
            cleaned.append(part)
        elif isinstance(part, str) and part == "[key]":
            continue
    return tuple(cleaned)


def _non_string_keys(node: Any, loc: Loc) -> list[tuple[Loc, Any]]:
    found: list[tuple[Loc, Any]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if not isinstance(key, str):
                found.append((loc, key))
            else:
                found += _non_string_keys(value, loc + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _non_string_keys(value, loc + (index,))
    return found


def _schema_problems(exc: ValidationError, data: Any, lines: dict[Loc, int], file: str, skip: bool = False) -> list[Problem]:
    problems = []
    for error in exc.errors():
        if skip and any(not isinstance(part, (str, int)) or isinstance(part, bool) for part in error["loc"]):
            continue  # a non-string key, reported once with a YAML hint
        if skip and error["type"] in ("string_type",) and "[key]" in error["loc"]:
            continue
        loc = _clean_loc(tuple(error["loc"]), data, error["type"])
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "missing":
            message = f"missing required field {loc[-1]!r}" if loc else "missing required field"
        elif error["type"] == "extra_forbidden":
            message = f"unknown field {loc[-1]!r}" if loc else message
        elif error["type"] == "union_tag_invalid":
            tag = str(error.get("ctx", {}).get("tag", "?"))
            message = f"unknown kind {tag!r}"
        elif error["type"] == "union_tag_not_found":
            message = "missing `kind:`"
        step = str(loc[1]) if len(loc) >= 2 and loc[0] == "steps" else None
        dotted = ".".join(str(p) for p in loc) or "(top level)"
        hint = _HINTS.get(error["type"])
        if error["type"] == "union_tag_invalid":
            hint = (did_you_mean(str(error.get("ctx", {}).get("tag", "")), STEP_KINDS) or "") + " kinds: " + ", ".join(STEP_KINDS)
        if error["type"] == "missing" and loc and loc[-1] == "kind":
            hint = _HINTS["union_tag_not_found"]
        line = line_for(loc + ("__key__",), lines) if error["type"] == "extra_forbidden" else line_for(loc, lines)
        problems.append(Problem(file=file, line=line, step=step, code="schema", message=f"{dotted}: {message}", hint=hint))
    return problems


# --------------------------------------------------------------------------- the analyzer


class Analyzer(Resolution, Wiring, GraphChecks):
    """One pass over one file, in three phases: resolve each step, wire references, check the graph."""

    def run(self, inputs: dict[str, InputSpec], steps: dict[str, AnyStep], outputs: dict[str, str],
            bad_inputs: set[str], bad_steps: set[str], *, check_usage: bool = True) -> None:
        self.inputs, self.steps = inputs, steps
        self.bad_inputs, self.bad_steps = bad_inputs, bad_steps
        self.a.input_types = {name: vtype(spec.type) for name, spec in inputs.items()}
        for name, spec in inputs.items():
            if not spec.required and spec.default is not None:
                reason = check_value(spec.default, vtype(spec.type))
                if reason:
                    self.problem(("inputs", name, "default"), "type-mismatch", f"input {name!r} default: {reason}")
        # 1. resolve what each step is (programs, functions, regexes, templates, nested files)
        for name, step in steps.items():
            info = StepInfo(name, step, ("steps", name))
            self.a.steps[name] = info
            self.resolve(info, in_map=False)
        # 2. wire: references, types, graph edges
        graph = self.a.graph
        for name in inputs:
            graph.add_node(f"inputs.{name}", role="input")
        for name in list(steps) + sorted(bad_steps):
            graph.add_node(f"steps.{name}", role="step", kind=getattr(steps.get(name), "kind", "?"))
        for name, info in self.a.steps.items():
            self.wire(info, in_map=False, owner=name)
        for out_name, ref_text in outputs.items():
            loc = ("outputs", out_name)
            graph.add_node(f"outputs.{out_name}", role="output")
            ref = parse_ref(ref_text)
            self.a.output_refs[out_name] = ref
            result = self.ref_type(ref, loc, step=None, in_map=False)
            self.a.output_types[out_name] = result or ANY
            self.edge(ref, f"outputs.{out_name}", out_name)
        # 3. graph: cycles, order, dead and unreachable steps
        self.check_graph(outputs, check_usage)


def validate_file(path: str | Path) -> ValidationReport:
    """Validate a pipeline file; all problems, none raised."""
    return analyze_file(path).report

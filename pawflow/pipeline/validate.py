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
import difflib
import importlib
import inspect
import re
import sys
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Literal

import networkx as nx
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from pawflow.errors import PawflowError, PipelineValidationError, SourceError
from pawflow.pipeline import jinja
from pawflow.pipeline.refs import Ref, parse_ref
from pawflow.pipeline.spec import (
    STEP_KINDS,
    AnyStep,
    CoalesceStep,
    InputSpec,
    MapStep,
    PipelineSpec,
    ProgramStep,
    PythonStep,
    RegexStep,
    RouteStep,
    Step,
    SubPipelineStep,
    SwitchStep,
    TemplateStep,
)
from pawflow.pipeline.types import (
    ANY,
    BOOL,
    DICT,
    FLOAT,
    INT,
    LIST,
    STR,
    VType,
    check_value,
    compatible,
    from_annotation,
    from_program_output,
    join,
    type_of_value,
    vtype,
)
from pawflow.yamlio import Loc, line_for, load_yaml, load_yaml_text

CASE_SOCKET = "case"
_STEP_ADAPTER: TypeAdapter[Any] = TypeAdapter(Step)
_INPUT_ADAPTER: TypeAdapter[Any] = TypeAdapter(InputSpec)
_REGEX_FLAGS = {"IGNORECASE": re.IGNORECASE, "MULTILINE": re.MULTILINE, "DOTALL": re.DOTALL, "VERBOSE": re.VERBOSE, "ASCII": re.ASCII}


# --------------------------------------------------------------------------- problems


class Problem(BaseModel):
    """One located finding. ``line`` is None only where no file backs the pipeline (Python API)."""

    model_config = ConfigDict(frozen=True)
    file: str
    line: int | None = None
    step: str | None = None
    code: str
    message: str
    hint: str | None = None
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        step = f" step {self.step!r}:" if self.step else ""
        hint = f" (hint: {self.hint})" if self.hint else ""
        return f"{where}: {self.severity}[{self.code}]{step} {self.message}{hint}"


class ValidationReport(BaseModel):
    """All problems of one pipeline file (nested pipelines' problems included, with their own file)."""

    file: str
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def raise_for_errors(self) -> None:
        if self.errors:
            raise PipelineValidationError(self.file, self.problems)


# --------------------------------------------------------------------------- analysis results


@dataclass
class StepInfo:
    """A step as the engine needs it: the model plus everything resolved from it."""

    name: str
    step: AnyStep
    loc: Loc
    sockets: dict[str, VType] | None = None  # None: could not be worked out (already reported)
    refs: dict[str, Ref] = field(default_factory=dict)
    program_path: Path | None = None
    program: Any = None  # pawflow.program.Program
    function: Callable[..., Any] | None = None
    output_type: VType = ANY  # the declared/derived type of ``value`` where the engine checks it
    expects: dict[str, VType] = field(default_factory=dict)  # python parameter types, by name
    regex: re.Pattern[str] | None = None
    sub: "Analysis | None" = None
    inner: "StepInfo | None" = None


@dataclass
class Analysis:
    file: str
    base_dir: Path
    problems: list[Problem]
    spec: PipelineSpec | None = None
    steps: dict[str, StepInfo] = field(default_factory=dict)
    graph: nx.DiGraph = field(default_factory=nx.DiGraph)
    input_types: dict[str, VType] = field(default_factory=dict)
    output_types: dict[str, VType] = field(default_factory=dict)
    output_refs: dict[str, Ref] = field(default_factory=dict)
    levels: list[list[str]] = field(default_factory=list)

    @property
    def report(self) -> ValidationReport:
        return ValidationReport(file=self.file, problems=self.problems)

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)


class _Shared:
    """State shared by a pipeline and the pipelines it nests: analysed sub-files and the include stack."""

    def __init__(self) -> None:
        self.files: dict[Path, Analysis] = {}
        self.settings: Any = None
        self.base_info: Any = None
        self.base_checked = False


# --------------------------------------------------------------------------- entry points


def analyze_file(path: str | Path, *, _shared: _Shared | None = None, _stack: tuple[Path, ...] = ()) -> Analysis:
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
    _Analyzer(analysis, lines or {}, _Shared(), stack).run(dict(spec.inputs), dict(spec.steps), dict(spec.outputs), set(), set())
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
    _shared: _Shared | None = None,
    _stack: tuple[Path, ...] = (),
) -> Analysis:
    analysis = Analysis(file, base_dir, [])
    shared = _shared or _Shared()
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
    analyzer = _Analyzer(analysis, lines, shared, _stack)
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
            hint = (_did_you_mean(str(error.get("ctx", {}).get("tag", "")), STEP_KINDS) or "") + " kinds: " + ", ".join(STEP_KINDS)
        if error["type"] == "missing" and loc and loc[-1] == "kind":
            hint = _HINTS["union_tag_not_found"]
        line = line_for(loc + ("__key__",), lines) if error["type"] == "extra_forbidden" else line_for(loc, lines)
        problems.append(Problem(file=file, line=line, step=step, code="schema", message=f"{dotted}: {message}", hint=hint))
    return problems


def _did_you_mean(name: str, choices: typing.Iterable[str]) -> str | None:
    choices = list(choices)
    close = difflib.get_close_matches(name, choices, n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    if choices:
        shown = ", ".join(sorted(choices)[:12])
        return f"known: {shown}"
    return None


# --------------------------------------------------------------------------- importing python steps


@contextlib.contextmanager
def _import_path(base_dir: Path) -> Iterator[None]:
    """Put the pipeline's folder first on sys.path for the duration of an import."""
    entry = str(base_dir.resolve())
    added = entry not in sys.path
    if added:
        sys.path.insert(0, entry)
    try:
        yield
    finally:
        if added:
            with contextlib.suppress(ValueError):
                sys.path.remove(entry)


def import_function(spec: str, base_dir: Path) -> Callable[..., Any]:
    """Import ``module:attr`` (attr may be dotted); ValueError explains what failed."""
    module_name, _, attr_path = spec.partition(":")
    with _import_path(base_dir):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                raise ValueError(
                    f"cannot import module {module_name!r}: not found in {base_dir.resolve()} or on sys.path"
                ) from exc
            raise ValueError(f"importing {module_name!r} failed: {exc}") from exc
        except Exception as exc:  # a user's module may raise anything at import time
            raise ValueError(f"importing {module_name!r} raised {type(exc).__name__}: {exc}") from exc
    target: Any = module
    for part in attr_path.split("."):
        if not hasattr(target, part):
            names = [n for n in dir(target) if not n.startswith("_")]
            close = difflib.get_close_matches(part, names, n=1)
            more = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"module {module_name!r} has no attribute {attr_path!r}{more}")
        target = getattr(target, part)
    if not callable(target):
        raise ValueError(f"{spec} is a {type(target).__name__}, not a function")
    return target


# --------------------------------------------------------------------------- the analyzer


class _Analyzer:
    def __init__(self, analysis: Analysis, lines: dict[Loc, int], shared: _Shared, stack: tuple[Path, ...]) -> None:
        self.a = analysis
        self.lines = lines
        self.shared = shared
        self.stack = stack
        self.inputs: dict[str, InputSpec] = {}
        self.steps: dict[str, AnyStep] = {}
        self.bad_inputs: set[str] = set()
        self.bad_steps: set[str] = set()
        self._sockets_busy: set[str] = set()
        self.impossible: set[tuple[str, str]] = set()  # (switch step, case) that can never be taken

    # -- reporting --------------------------------------------------------------------------

    def problem(self, loc: Loc, code: str, message: str, *, step: str | None = None, hint: str | None = None,
                severity: Literal["error", "warning"] = "error", key_line: bool = False) -> None:
        line = line_for(tuple(loc) + ("__key__",), self.lines) if key_line else line_for(tuple(loc), self.lines)
        self.a.problems.append(
            Problem(file=self.a.file, line=line, step=step, code=code, message=message, hint=hint, severity=severity)
        )

    # -- driver -----------------------------------------------------------------------------

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

    # -- phase 1: resolve -------------------------------------------------------------------

    def resolve(self, info: StepInfo, *, in_map: bool) -> None:
        step = info.step
        for ref_name, ref_text in step.inputs.items():
            info.refs[ref_name] = parse_ref(ref_text)
        if isinstance(step, ProgramStep):
            self.resolve_program(info)
        elif isinstance(step, PythonStep):
            self.resolve_python(info)
        elif isinstance(step, RegexStep):
            self.resolve_regex(info)
        elif isinstance(step, TemplateStep):
            self.check_template(info, step.template, ("template",), set(step.inputs) | set(step.params))
            self.check_names_overlap(info, step.params)
            info.sockets = {"value": STR}
        elif isinstance(step, SubPipelineStep):
            self.resolve_sub(info)
        elif isinstance(step, MapStep):
            self.resolve_map(info)
        elif isinstance(step, (SwitchStep, RouteStep, CoalesceStep)):
            pass  # their output types depend on their inputs: computed lazily in sockets()

    def resolve_program(self, info: StepInfo) -> None:
        from pawflow.program import Program

        step: ProgramStep = info.step  # type: ignore[assignment]
        loc = info.loc + ("program",)
        if not step.inputs:
            self.problem(info.loc, "missing-input", "a program step needs at least one input", step=info.name,
                         hint="e.g. inputs: {text: inputs.text}", key_line=True)
        if step.prompt is not None:
            self.check_template(info, step.prompt, ("prompt",), set(step.inputs))
        try:
            path = self.find_program(step.program)
            program = Program.read(path)
        except (OSError, ValueError) as exc:  # e.g. a NUL byte or an unreadable path in `program:`
            self.problem(loc, "program-not-found", f"cannot use program {step.program!r}: {exc}", step=info.name)
            info.sockets = {"value": vtype(step.output) if step.output is not None else ANY, "text": STR, "confidence": FLOAT}
            return
        except PawflowError as exc:
            self.problem(loc, "program-not-found" if "not found" in exc.message.lower() or "no program" in exc.message.lower()
                         else "program-invalid", exc.message, step=info.name, hint=self.compile_hint(step.program, exc.hint))
            declared = vtype(step.output) if step.output is not None else ANY
            info.sockets = {"value": declared, "text": STR, "confidence": FLOAT}
            return
        info.program_path, info.program = path, program
        actual = from_program_output(program.output)
        if step.output is not None:
            declared = vtype(step.output)
            reason = compatible(actual, declared)
            if reason:
                self.problem(info.loc + ("output",), "type-mismatch",
                             f"declares output {declared} but program {program.name!r} returns {actual}: {reason}",
                             step=info.name, hint="fix `output:` or recompile the program with the intended output type")
        self.check_base(info, program, loc)
        info.output_type = actual
        info.sockets = {"value": actual, "text": STR, "confidence": FLOAT}

    def check_base(self, info: StepInfo, program: Any, loc: Loc) -> None:
        """A program compiled for another base fails at load; say so now, next to its line."""
        from pawflow.errors import BaseMismatchError

        if not self.shared.base_checked:
            self.shared.base_checked = True
            with contextlib.suppress(PawflowError, OSError):
                from pawflow.base import inspect_base
                from pawflow.config import load_settings

                self.shared.settings = self.shared.settings or load_settings()
                self.shared.base_info = inspect_base(self.shared.settings.base_path())
        if self.shared.base_info is None:
            return
        try:
            program.check_base(self.shared.base_info, allow_mismatch=self.shared.settings.allow_base_mismatch)
        except BaseMismatchError as exc:
            self.problem(loc, "base-mismatch", exc.message, step=info.name, hint=exc.hint)

    def find_program(self, ref: str) -> Path:
        from pawflow.config import load_settings
        from pawflow.resolve import resolve_program

        self.shared.settings = self.shared.settings or load_settings()
        looks_like_path = ref.endswith(".paw") or "/" in ref or ref.startswith(".")
        if looks_like_path:
            candidate = Path(ref).expanduser()
            if not candidate.is_absolute():
                candidate = self.a.base_dir / candidate
            return resolve_program(str(candidate), self.shared.settings)
        try:
            return resolve_program(ref, self.shared.settings)
        except PawflowError:
            # a project keeps pipelines/ beside programs/: find programs/build from the file, not the cwd
            for project in (self.a.base_dir, self.a.base_dir.parent):
                candidate = project / "programs" / "build" / f"{ref}.paw"
                if candidate.is_file():
                    return candidate
            raise

    def compile_hint(self, ref: str, fallback: str | None) -> str | None:
        name = Path(ref).stem
        for project in (Path.cwd(), self.a.base_dir, self.a.base_dir.parent):
            source = project / "programs" / f"{name}.yaml"
            if source.is_file():
                with contextlib.suppress(ValueError):
                    source = source.resolve().relative_to(Path.cwd().resolve())
                return f"compile it first: pawflow compile {source}"
        return fallback

    def resolve_python(self, info: StepInfo) -> None:
        step: PythonStep = info.step  # type: ignore[assignment]
        loc = info.loc + ("function",)
        self.check_names_overlap(info, step.params)
        declared = vtype(step.output) if step.output is not None else None
        try:
            function = import_function(step.function, self.a.base_dir)
        except ValueError as exc:
            self.problem(loc, "python-import", str(exc), step=info.name,
                         hint="python steps import module:function with the pipeline's folder first on sys.path")
            info.sockets = {"value": declared or ANY}
            return
        info.function = function
        try:
            signature = inspect.signature(function)
        except (TypeError, ValueError):
            info.output_type = declared or ANY
            info.sockets = {"value": info.output_type}
            return
        try:
            hints = typing.get_type_hints(function)
        except Exception:  # unresolvable forward references: fall back to what is not a string
            hints = {k: v for k, v in getattr(function, "__annotations__", {}).items() if not isinstance(v, str)}
        provided = set(step.inputs) | set(step.params)
        accepts_any = False
        names = set()
        for param in signature.parameters.values():
            if param.kind is inspect.Parameter.VAR_KEYWORD:
                accepts_any = True
                continue
            if param.kind is inspect.Parameter.VAR_POSITIONAL:
                continue
            names.add(param.name)
            required = param.default is inspect.Parameter.empty
            if param.kind is inspect.Parameter.POSITIONAL_ONLY:
                if required:
                    self.problem(loc, "python-signature", f"{step.function} has positional-only parameter "
                                 f"{param.name!r}; steps pass arguments by name", step=info.name,
                                 hint="wrap it in a function taking keyword arguments")
                continue
            if required and param.name not in provided:
                self.problem(info.loc + ("inputs",), "missing-input",
                             f"{step.function} needs argument {param.name!r}, which no input or param provides",
                             step=info.name, hint=f"add inputs: {{{param.name}: inputs.…}} or params: {{{param.name}: …}}",
                             key_line=True)
        if not accepts_any:
            for extra in sorted(provided - names):
                where = info.loc + (("inputs", extra) if extra in step.inputs else ("params", extra))
                self.problem(where, "python-signature", f"{step.function} has no parameter {extra!r}",
                             step=info.name, hint=_did_you_mean(extra, names), key_line=True)
        info.expects = {name: from_annotation(hints.get(name)) for name in names}
        for name, value in step.params.items():
            expected = info.expects.get(name, ANY)
            reason = check_value(value, expected)
            if reason:
                self.problem(info.loc + ("params", name), "type-mismatch", f"param {name!r}: {reason}", step=info.name)
        returned = from_annotation(hints.get("return"))
        if declared is not None:
            reason = compatible(returned, declared)
            if reason:
                self.problem(info.loc + ("output",), "type-mismatch",
                             f"declares output {declared} but {step.function} is annotated to return {returned}",
                             step=info.name, hint="fix `output:` or the function's return annotation")
        info.output_type = declared or returned
        info.sockets = {"value": info.output_type}

    def resolve_regex(self, info: StepInfo) -> None:
        step: RegexStep = info.step  # type: ignore[assignment]
        flags = 0
        for flag in step.flags:
            flags |= _REGEX_FLAGS[flag]
        if set(step.inputs) != {"text"}:
            self.problem(info.loc + ("inputs",), "regex-input", "a regex step takes exactly one input, named `text`",
                         step=info.name, hint="inputs: {text: steps.NAME.value}", key_line=True)
        try:
            compiled = re.compile(step.pattern, flags)
        except (re.error, OverflowError, RecursionError) as exc:
            position = f" at position {exc.pos}" if getattr(exc, "pos", None) is not None else ""
            self.problem(info.loc + ("pattern",), "bad-regex", f"invalid regular expression{position}: {getattr(exc, 'msg', exc)}",
                         step=info.name, hint="in YAML prefer single quotes around patterns so backslashes stay literal")
            return  # outputs unknown: references to its groups are not reported again
        info.regex = compiled
        sockets = {"value": DICT, "matched": BOOL}
        for group in compiled.groupindex:
            if group in sockets:
                self.problem(info.loc + ("pattern",), "bad-regex", f"group name {group!r} clashes with the step's own output",
                             step=info.name, hint="rename the group; `value` and `matched` are reserved")
                continue
            sockets[group] = STR
        if not compiled.groupindex:
            self.problem(info.loc + ("pattern",), "regex-no-groups",
                         "pattern has no named groups, so only `value` ({}) and `matched` come out",
                         step=info.name, hint="name what you want: (?P<year>\\d{4})", severity="warning")
        info.sockets = sockets

    def resolve_sub(self, info: StepInfo) -> None:
        step: SubPipelineStep = info.step  # type: ignore[assignment]
        loc = info.loc + ("path",)
        path = Path(step.path).expanduser()
        if not path.is_absolute():
            path = self.a.base_dir / path
        try:
            resolved = path.resolve()
            exists = path.is_file()
        except (OSError, ValueError) as exc:
            self.problem(loc, "pipeline-not-found", f"cannot use nested pipeline path {step.path!r}: {exc}", step=info.name)
            return
        if resolved in self.stack:
            chain = " → ".join(p.name for p in (*self.stack, resolved))
            self.problem(loc, "pipeline-recursion", f"pipeline includes itself: {chain}", step=info.name,
                         hint="nesting must form a tree; extract the shared part into its own file")
            return
        if not exists:
            self.problem(loc, "pipeline-not-found", f"nested pipeline file not found: {path}", step=info.name,
                         hint="paths are relative to the file that names them")
            return
        sub = self.shared.files.get(resolved)
        if sub is None:
            sub = analyze_file(path, _shared=self.shared, _stack=self.stack)
            self.shared.files[resolved] = sub
            self.a.problems.extend(sub.problems)
        if not sub.ok:
            self.problem(loc, "pipeline-invalid", f"nested pipeline {path} has errors (listed with its own file)",
                         step=info.name)
            return
        info.sub = sub
        info.sockets = dict(sub.output_types)

    def resolve_map(self, info: StepInfo) -> None:
        step: MapStep = info.step  # type: ignore[assignment]
        if "over" not in step.inputs:
            self.problem(info.loc + ("inputs",), "missing-input", "a map step needs input `over` (the list to map over)",
                         step=info.name, hint="inputs: {over: steps.split.value}", key_line=True)
        for extra in sorted(set(step.inputs) - {"over"}):
            self.problem(info.loc + ("inputs", extra), "map-input", f"a map step takes only `over`, not {extra!r}",
                         step=info.name, hint="give the inner step its inputs; it may use item, index and outer references",
                         key_line=True)
        inner = StepInfo(f"{info.name}.step", step.step, info.loc + ("step",))
        self.resolve(inner, in_map=True)
        info.inner = inner
        info.sockets = {"value": LIST}

    def check_template(self, info: StepInfo, source: str, field_loc: Loc, names: set[str]) -> None:
        from jinja2 import TemplateSyntaxError

        loc = info.loc + field_loc
        try:
            used = jinja.undeclared(source)
        except TemplateSyntaxError as exc:
            self.problem(loc, "bad-template", f"template line {exc.lineno}: {exc.message}", step=info.name,
                         hint="jinja2 syntax: {{ variable }}, {% if %}…{% endif %}")
            return
        for name in sorted(used - names):
            self.problem(loc, "template-undefined", f"template uses {{{{ {name} }}}} but the step has no input or param {name!r}",
                         step=info.name, hint=f"add inputs: {{{name}: inputs.{name}}} (or a steps.… reference)")

    def check_names_overlap(self, info: StepInfo, params: dict[str, Any]) -> None:
        for name in sorted(set(params) & set(info.step.inputs)):
            self.problem(info.loc + ("params", name), "duplicate-name", f"{name!r} is both an input and a param",
                         step=info.name, key_line=True)

    # -- output types -----------------------------------------------------------------------

    def sockets(self, name: str) -> dict[str, VType] | None:
        info = self.a.steps.get(name)
        if info is None:
            return None
        if info.sockets is not None:
            return info.sockets
        step = info.step
        if name in self._sockets_busy:  # a cycle; reported by check_graph
            return None
        self._sockets_busy.add(name)
        try:
            if isinstance(step, SwitchStep):
                forwarded = self.quiet_type(info.refs.get("payload") or info.refs.get("value"))
                names = list(step.cases) + ([step.default] if step.default else [])
                info.sockets = {case: forwarded for case in names}
                info.sockets[CASE_SOCKET] = VType("labels", tuple(dict.fromkeys(names)))
            elif isinstance(step, RouteStep):
                forwarded = self.quiet_type(info.refs["payload"]) if "payload" in info.refs else DICT
                names = [route.to for route in step.routes] + ([step.default] if step.default else [])
                info.sockets = {target: forwarded for target in names}
                info.sockets[CASE_SOCKET] = VType("labels", tuple(dict.fromkeys(names)))
            elif isinstance(step, CoalesceStep):
                types = [self.quiet_type(ref) for ref in info.refs.values()]
                if "default" in step.model_fields_set and step.default is not None:
                    types.append(type_of_value(step.default))
                info.sockets = {"value": join(types)}
        finally:
            self._sockets_busy.discard(name)
        return info.sockets

    def quiet_type(self, ref: Ref | None) -> VType:
        if ref is None:
            return ANY
        if ref.path:
            return ANY
        if ref.root == "inputs":
            return self.a.input_types.get(ref.name or "", ANY)
        if ref.root == "steps":
            sockets = self.sockets(ref.name or "")
            return (sockets or {}).get(ref.socket or "", ANY)
        return INT if ref.root == "index" else ANY

    def ref_type(self, ref: Ref, loc: Loc, *, step: str | None, in_map: bool) -> VType | None:
        """The type a reference delivers, reporting it if it points at nothing (then None)."""
        if ref.root in ("item", "index"):
            if not in_map:
                self.problem(loc, "unknown-reference", f"{ref.text}: `{ref.root}` exists only inside a map step's inner step",
                             step=step, hint="map over a list with kind: map")
                return None
            return INT if ref.root == "index" else ANY
        if ref.root == "inputs":
            if ref.name in self.inputs:
                return self.a.input_types[ref.name] if not ref.path else ANY
            if ref.name in self.bad_inputs:
                return ANY
            self.problem(loc, "unknown-reference", f"{ref.text}: the pipeline has no input {ref.name!r}", step=step,
                         hint=_did_you_mean(ref.name or "", self.inputs) or "declare it under inputs:")
            return None
        if ref.name in self.bad_steps:
            return ANY
        if ref.name not in self.steps:
            self.problem(loc, "unknown-reference", f"{ref.text}: there is no step {ref.name!r}", step=step,
                         hint=_did_you_mean(ref.name or "", self.steps))
            return None
        sockets = self.sockets(ref.name or "")
        if sockets is None:
            return ANY
        if ref.socket not in sockets:
            kind = self.steps[ref.name].kind  # type: ignore[index]
            self.problem(loc, "unknown-reference",
                         f"{ref.text}: step {ref.name!r} ({kind}) has no output {ref.socket!r}; "
                         f"its outputs are {', '.join(sockets)}", step=step, hint=_did_you_mean(ref.socket or "", sockets))
            return None
        return sockets[ref.socket] if not ref.path else ANY

    # -- phase 2: wire ----------------------------------------------------------------------

    def edge(self, ref: Ref, target: str, input_name: str) -> None:
        if ref.root == "inputs":
            source = f"inputs.{ref.name}"
        elif ref.root == "steps":
            source = f"steps.{ref.name}"
        else:
            return
        if not self.a.graph.has_node(source):
            return  # unknown: reported already
        data = self.a.graph.get_edge_data(source, target)
        label = (ref.socket or ref.name or "", input_name, ref.text)
        if data is None:
            self.a.graph.add_edge(source, target, refs=[label])
        else:
            data["refs"].append(label)

    def expect(self, info: StepInfo, input_name: str, expected: VType, what: str, hint: str | None = None) -> None:
        ref = info.refs.get(input_name)
        if ref is None:
            return
        actual = self.quiet_type(ref)
        reason = compatible(actual, expected)
        if reason:
            self.problem(info.loc + ("inputs", input_name), "type-mismatch",
                         f"{what} expects {expected} but {ref.text} is {actual}", step=info.name.split(".")[0], hint=hint)

    def wire(self, info: StepInfo, *, in_map: bool, owner: str) -> None:
        step = info.step
        target = f"steps.{owner}"
        for input_name, ref in info.refs.items():
            self.ref_type(ref, info.loc + ("inputs", input_name), step=owner, in_map=in_map)
            self.edge(ref, target, input_name)
        if isinstance(step, ProgramStep):
            if step.prompt is None and len(info.refs) == 1:
                (only,) = info.refs
                self.expect(info, only, STR, f"program {step.program!r} (its single input is passed as text)",
                            hint="connect a text value (e.g. steps.X.value.field), add `prompt:` to render one, "
                            "or connect several inputs to send a JSON object")
        elif isinstance(step, PythonStep):
            for name, expected in info.expects.items():
                self.expect(info, name, expected, f"{step.function} parameter {name!r}",
                            hint="fix the wiring or the function's annotation")
        elif isinstance(step, RegexStep):
            self.expect(info, "text", STR, "regex input `text`", hint="match against a text value")
        elif isinstance(step, SwitchStep):
            self.wire_switch(info)
        elif isinstance(step, RouteStep):
            self.wire_route(info)
        elif isinstance(step, CoalesceStep):
            if not step.inputs:
                self.problem(info.loc, "missing-input", "a coalesce step needs at least one input (the branches to merge)",
                             step=owner, key_line=True)
        elif isinstance(step, MapStep):
            self.expect(info, "over", LIST, "map input `over`", hint="map over a list (a python step can split text)")
            if info.inner is not None:
                self.wire(info.inner, in_map=True, owner=owner)
        elif isinstance(step, SubPipelineStep) and info.sub is not None:
            sub_inputs = info.sub.spec.inputs if info.sub.spec else {}
            for name in sorted(set(step.inputs) - set(sub_inputs)):
                self.problem(info.loc + ("inputs", name), "unknown-input", f"nested pipeline has no input {name!r}",
                             step=owner, hint=_did_you_mean(name, sub_inputs), key_line=True)
            for name, spec in sub_inputs.items():
                if spec.required and name not in step.inputs:
                    self.problem(info.loc + ("inputs",), "missing-input", f"nested pipeline needs input {name!r}",
                                 step=owner, hint=f"inputs: {{{name}: inputs.…}}", key_line=True)
                elif name in step.inputs:
                    self.expect(info, name, vtype(spec.type), f"nested pipeline input {name!r}")

    def wire_switch(self, info: StepInfo) -> None:
        step: SwitchStep = info.step  # type: ignore[assignment]
        if "value" not in step.inputs:
            self.problem(info.loc + ("inputs",), "missing-input", "a switch step needs input `value` (what to branch on)",
                         step=info.name, hint="inputs: {value: steps.classify.value, payload: inputs.text}", key_line=True)
        for extra in sorted(set(step.inputs) - {"value", "payload"}):
            self.problem(info.loc + ("inputs", extra), "switch-input",
                         f"a switch takes `value` and optionally `payload` (what the taken case carries), not {extra!r}",
                         step=info.name, hint="use a route step to branch on expressions over several inputs", key_line=True)
        names = list(step.cases) + ([step.default] if step.default else [])
        if CASE_SOCKET in names:
            self.problem(info.loc + ("cases",), "reserved-name", f"{CASE_SOCKET!r} is reserved (it carries the taken case)",
                         step=info.name)
        if step.default in step.cases:
            self.problem(info.loc + ("default",), "duplicate-name", f"default {step.default!r} is also a case", step=info.name)
        on_type = self.quiet_type(info.refs.get("value"))
        if on_type.kind in ("int", "float", "bool", "list", "dict"):
            self.problem(info.loc + ("inputs", "value"), "type-mismatch",
                         f"switch compares text with its cases, but {step.inputs['value']} is {on_type}",
                         step=info.name, hint="use a route step with `when:` expressions for numbers and booleans")
        if on_type.kind == "labels" and on_type.labels:
            for index, case in enumerate(step.cases):
                if case not in on_type.labels:
                    self.impossible.add((info.name, case))
                    self.problem(info.loc + ("cases", index), "impossible-case",
                                 f"case {case!r} can never match: {step.inputs['value']} is one of {list(on_type.labels)}",
                                 step=info.name, hint=_did_you_mean(case, on_type.labels))
            uncovered = [label for label in on_type.labels if label not in step.cases]
            if uncovered and not step.default:
                self.problem(info.loc + ("cases",), "uncovered-labels",
                             f"labels {uncovered} match no case and there is no default: the step fails on them",
                             step=info.name, hint="add them to cases or set default:", severity="warning")

    def wire_route(self, info: StepInfo) -> None:
        from jinja2 import TemplateSyntaxError

        step: RouteStep = info.step  # type: ignore[assignment]
        names = set(step.inputs)
        for index, route in enumerate(step.routes):
            loc = info.loc + ("routes", index, "when")
            try:
                used = jinja.undeclared_expression(route.when)
            except (TemplateSyntaxError, SyntaxError) as exc:
                self.problem(loc, "bad-expression", f"route condition {route.when!r}: {getattr(exc, 'message', exc)}",
                             step=info.name, hint="a jinja2 expression, e.g. intent == 'refund' and score > 0.5")
                continue
            for name in sorted(used - names):
                self.problem(loc, "template-undefined", f"route condition uses {name!r}, which is not an input of the step",
                             step=info.name, hint=f"add inputs: {{{name}: …}}")
            if route.to == CASE_SOCKET:
                self.problem(info.loc + ("routes", index, "to"), "reserved-name",
                             f"{CASE_SOCKET!r} is reserved (it carries the taken route)", step=info.name)
        if step.default == CASE_SOCKET:
            self.problem(info.loc + ("default",), "reserved-name", f"{CASE_SOCKET!r} is reserved", step=info.name)

    # -- phase 3: graph ---------------------------------------------------------------------

    def check_graph(self, outputs: dict[str, str], check_usage: bool) -> None:
        graph = self.a.graph
        step_nodes = [n for n, d in graph.nodes(data=True) if d.get("role") == "step"]
        steps_graph = graph.subgraph(step_nodes)
        cycles = []
        for cycle in nx.simple_cycles(steps_graph):
            cycles.append(cycle)
            if len(cycles) >= 10:
                break
        declared = {name: index for index, name in enumerate(self.steps)}
        for cycle in cycles:
            names = [node.removeprefix("steps.") for node in cycle]
            # report on the earliest-declared step of the loop, at its input that closes the loop
            start = min(range(len(names)), key=lambda i: declared.get(names[i], len(declared)))
            names = names[start:] + names[:start]
            closing = names[-1]
            refs = graph.get_edge_data(f"steps.{closing}", f"steps.{names[0]}")["refs"]
            chain = " → ".join(names + [names[0]])
            self.problem(("steps", names[0], "inputs", refs[0][1]), "cycle", f"steps form a cycle: {chain}",
                         step=names[0], hint="a step cannot depend on its own output; break the loop")
        if not cycles:
            self.a.levels = [sorted(n.removeprefix("steps.") for n in level)
                             for level in nx.topological_generations(steps_graph)]
        if not check_usage:
            return
        used: set[str] = set()
        for out_name in outputs:
            used |= nx.ancestors(graph, f"outputs.{out_name}")
        for name in self.steps:
            if f"steps.{name}" not in used:
                self.problem(("steps", name), "unused-step", f"step {name!r} is not used: no output depends on it",
                             step=name, hint="reference it from outputs (or a step that is), or remove it", key_line=True)
        for name in self.inputs:
            if f"inputs.{name}" not in used:
                self.problem(("inputs", name), "unused-input", f"input {name!r} is not used by any output",
                             hint="remove it, or wire it into a step", severity="warning", key_line=True)
        self.check_reachable()

    def check_reachable(self) -> None:
        """Steps fed only through a switch case that cannot happen can never run."""
        if not self.impossible:
            return
        dead: set[str] = set()
        order = [n for level in self.a.levels for n in level] if self.a.levels else list(self.steps)
        for name in order:
            info = self.a.steps.get(name)
            if info is None:
                continue
            refs = list(info.refs.values()) + (list(info.inner.refs.values()) if info.inner else [])
            hits = [r for r in refs if r.root == "steps" and ((r.name, r.socket) in self.impossible or r.name in dead)]
            if not hits:
                continue
            if isinstance(info.step, CoalesceStep) and len(hits) < len(refs):
                continue
            dead.add(name)
            self.problem(("steps", name), "unreachable-step",
                         f"step {name!r} can never run: it depends on {hits[0].text}, which is never produced",
                         step=name, hint="fix the switch case it hangs off", key_line=True)


def validate_file(path: str | Path) -> ValidationReport:
    """Validate a pipeline file; all problems, none raised."""
    return analyze_file(path).report

"""Phase 1 of validation: work out what each step *is* — programs read, functions imported and their
signatures checked, regexes and templates compiled, nested pipelines analysed, map steps' inner steps.

Each resolver fills the step's :class:`~pawflow.pipeline.analysis.StepInfo` (the artefact the engine
will call and the types of its outputs) and reports what cannot work, next to the line that says it.
"""

from __future__ import annotations

import contextlib
import inspect
import re
import typing
from pathlib import Path
from typing import Any

from pawflow.errors import PawflowError
from pawflow.pipeline import jinja
from pawflow.pipeline.analysis import AnalyzerState, StepInfo
from pawflow.pipeline.problems import did_you_mean
from pawflow.pipeline.python_steps import CONVENTION_HINT, import_function
from pawflow.pipeline.refs import parse_ref
from pawflow.pipeline.spec import (
    CoalesceStep,
    MapStep,
    ProgramStep,
    PythonStep,
    RegexStep,
    RouteStep,
    SubPipelineStep,
    SwitchStep,
    TemplateStep,
)
from pawflow.pipeline.types import (
    ANY,
    BOOL,
    DICT,
    FLOAT,
    LIST,
    STR,
    check_value,
    compatible,
    from_annotation,
    from_program_output,
    vtype,
)
from pawflow.yamlio import Loc

_REGEX_FLAGS = {"IGNORECASE": re.IGNORECASE, "MULTILINE": re.MULTILINE, "DOTALL": re.DOTALL, "VERBOSE": re.VERBOSE, "ASCII": re.ASCII}


class Resolution(AnalyzerState):
    """The resolvers, one per step kind; :meth:`resolve` dispatches on the step's kind."""

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
            self.problem(loc, "python-import", str(exc), step=info.name, hint=CONVENTION_HINT)
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
                             step=info.name, hint=did_you_mean(extra, names), key_line=True)
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
            from pawflow.pipeline.validate import analyze_file  # the entry point is also how nested files start

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

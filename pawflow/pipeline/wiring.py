"""Phase 2 of validation: wire the steps — every reference checked against what it points at, every
connection typed, every edge added to the graph.

Output types of switch/route/coalesce steps depend on what flows into them, so :meth:`Wiring.sockets`
works them out lazily (a cycle among them is left to the graph checks to report).
"""

from __future__ import annotations

from pawflow.pipeline import jinja
from pawflow.pipeline.analysis import CASE_SOCKET, AnalyzerState, StepInfo
from pawflow.pipeline.problems import did_you_mean
from pawflow.pipeline.refs import Ref
from pawflow.pipeline.spec import (
    CoalesceStep,
    MapStep,
    ProgramStep,
    PythonStep,
    RegexStep,
    RouteStep,
    SubPipelineStep,
    SwitchStep,
)
from pawflow.pipeline.types import (
    ANY,
    DICT,
    INT,
    LIST,
    STR,
    VType,
    compatible,
    join,
    type_of_value,
    vtype,
)
from pawflow.yamlio import Loc


class Wiring(AnalyzerState):
    """Reference checking, connection types and graph edges."""

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
                         hint=did_you_mean(ref.name or "", self.inputs) or "declare it under inputs:")
            return None
        if ref.name in self.bad_steps:
            return ANY
        if ref.name not in self.steps:
            self.problem(loc, "unknown-reference", f"{ref.text}: there is no step {ref.name!r}", step=step,
                         hint=did_you_mean(ref.name or "", self.steps))
            return None
        sockets = self.sockets(ref.name or "")
        if sockets is None:
            return ANY
        if ref.socket not in sockets:
            kind = self.steps[ref.name].kind  # type: ignore[index]
            self.problem(loc, "unknown-reference",
                         f"{ref.text}: step {ref.name!r} ({kind}) has no output {ref.socket!r}; "
                         f"its outputs are {', '.join(sockets)}", step=step, hint=did_you_mean(ref.socket or "", sockets))
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
                             step=owner, hint=did_you_mean(name, sub_inputs), key_line=True)
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
                                 step=info.name, hint=did_you_mean(case, on_type.labels))
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

"""The analysis plan: what validation works out about a pipeline, and what the engine then executes.

:class:`Analysis` holds, per file, every resolved step (:class:`StepInfo`: program read, function
imported, regex compiled, nested pipeline analysed), the typed wiring graph and the topological
levels, so nothing is resolved twice and a validated pipeline cannot run differently from how it was
checked. :class:`AnalyzerState` is the state one analysis pass shares between its phases
(:mod:`~pawflow.pipeline.resolution`, :mod:`~pawflow.pipeline.wiring`,
:mod:`~pawflow.pipeline.graph_checks`) and the one place problems are recorded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

import networkx as nx

from pawflow.pipeline.problems import Problem, ValidationReport
from pawflow.pipeline.refs import Ref
from pawflow.pipeline.spec import AnyStep, InputSpec, PipelineSpec
from pawflow.pipeline.types import ANY, VType
from pawflow.yamlio import Loc, line_for

CASE_SOCKET = "case"  # the output of a switch/route step that carries the taken case


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
    """Everything validation worked out about one pipeline file: problems, and the plan the engine runs."""

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


class SharedState:
    """State shared by a pipeline and the pipelines it nests: analysed sub-files and the include stack."""

    def __init__(self) -> None:
        self.files: dict[Path, Analysis] = {}
        self.settings: Any = None
        self.base_info: Any = None
        self.base_checked = False


class AnalyzerState:
    """One analysis pass over one file: what the phases share, and :meth:`problem` to record findings."""

    def __init__(self, analysis: Analysis, lines: dict[Loc, int], shared: SharedState, stack: tuple[Path, ...]) -> None:
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

    def problem(self, loc: Loc, code: str, message: str, *, step: str | None = None, hint: str | None = None,
                severity: Literal["error", "warning"] = "error", key_line: bool = False) -> None:
        line = line_for(tuple(loc) + ("__key__",), self.lines) if key_line else line_for(tuple(loc), self.lines)
        self.a.problems.append(
            Problem(file=self.a.file, line=line, step=step, code=code, message=message, hint=hint, severity=severity)
        )

"""Executing an analysed pipeline over one row or many.

The engine walks the topological levels computed by validation. Within a level, every (row, step)
whose inputs are ready becomes a task, and tasks are dispatched by what they need:

* **program** calls are grouped by program and run as one ``run_many`` per program per level (on
  the calling thread; on the interpreter lane, a thread that can be waited on with a deadline, when
  the step has a ``timeout``). Over a batch (and inside ``map``) that turns
  "one adapter swap per row" into "one swap per program per level": the whole point of PAW's
  hot-swapping interpreter.
* **python** and nested **pipeline** tasks go to a thread pool, so independent I/O-bound steps overlap
  with each other and with the model.
* **regex / template / switch / route / coalesce** are pure and fast; they run inline (or in the pool
  when they have a timeout).

A row whose step fails stops there (its trace says which step, with what inputs, and why); other
rows carry on. Skipping is data, not control flow: an untaken branch's output is ``SKIPPED``, and a
step that consumes a skipped value is skipped in turn, except ``coalesce``, which merges branches.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import json
import os
import threading
import time
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field

from pawflow.errors import InputTypeError, PawflowError, PipelineRunError
from pawflow.pipeline import jinja
from pawflow.pipeline.cache import ResultCache, canonical_json
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
    TemplateStep,
    spec_to_data,
)
from pawflow.pipeline.types import ANY, check_value
from pawflow.pipeline.validate import CASE_SOCKET, Analysis, StepInfo


class _Skipped:
    """The value of an output that was not produced because its branch was not taken."""

    _instance: "_Skipped | None" = None

    def __new__(cls) -> "_Skipped":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<skipped>"

    def __bool__(self) -> bool:
        return False


SKIPPED = _Skipped()


# --------------------------------------------------------------------------- results


Status = Literal["ok", "cached", "skipped", "failed", "not_run"]


class StepTrace(BaseModel):
    """What happened to one step in one run: the ``--trace`` view."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    step: str
    kind: str
    level: int
    status: Status
    inputs: dict[str, Any] | None = None
    outputs: dict[str, Any] | None = None
    started_ms: float | None = Field(default=None, description="since the run started")
    duration_ms: float | None = None
    program: str | None = None
    program_id: str | None = None
    adapter: str | None = Field(default=None, description="adapter sha256 prefix, or 'none' for prompt-only programs")
    batched: int | None = Field(default=None, description="size of the grouped model call this step's work was part of")
    items: int | None = Field(default=None, description="elements a map step ran over")
    cached_calls: int = 0
    reason: str | None = Field(default=None, description="why it was skipped")
    error: str | None = None


class RunResult(BaseModel):
    """One run's outputs (a skipped output is None and listed in ``skipped``) and its trace."""

    pipeline: str
    outputs: dict[str, Any]
    skipped: list[str] = Field(default_factory=list)
    trace: list[StepTrace] = Field(default_factory=list)
    duration_ms: float = 0.0
    model_ms: float = Field(default=0.0, description="wall time this row's grouped program calls took, shared fairly")


class RowResult(BaseModel):
    """One row of a batch: a result, or the error that stopped it (with the trace so far)."""

    index: int
    result: RunResult | None = None
    error: str | None = None
    failed_step: str | None = None
    trace: list[StepTrace] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


# --------------------------------------------------------------------------- per-row state


class _RefError(Exception):
    """A reference's path does not exist in the value it walks (missing key, index out of range)."""


@dataclass
class _Outcome:
    status: Status
    outputs: dict[str, Any] = field(default_factory=dict)
    trace: StepTrace | None = None


@dataclass
class _Row:
    index: int
    inputs: dict[str, Any]
    outcomes: dict[str, _Outcome] = field(default_factory=dict)
    error: PipelineRunError | None = None
    model_ms: float = 0.0
    started: float = field(default_factory=time.perf_counter)


@dataclass
class _Task:
    """One unit of work: a step for a row, or one element of a map step."""

    row: _Row
    name: str
    info: StepInfo  # the step that runs (a map's inner step for map elements)
    inputs: dict[str, Any]
    item: int | None = None  # index within a map step
    cache_key: str | None = None
    result: dict[str, Any] | None = None
    error: BaseException | None = None
    timed_out: bool = False
    started: float | None = None
    duration_ms: float | None = None
    batched: int | None = None
    cached: bool = False


# --------------------------------------------------------------------------- the interpreter lane


class _Lane:
    """A single thread that owns model calls, so callers can wait on them with a timeout.

    llama.cpp cannot be interrupted mid-call: a timed-out call is abandoned (its row fails at once)
    but finishes in the background, and later calls queue behind it. Queue time does not count
    against a timeout; only the call's own running time does.
    """

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pawflow-interpreter")

    def submit(self, fn: Callable[[], Any]) -> tuple[Future, threading.Event, list[float]]:
        started = threading.Event()
        stamp: list[float] = []

        def job() -> Any:
            stamp.append(time.perf_counter())
            started.set()
            return fn()

        return self._executor.submit(job), started, stamp


_LANE: _Lane | None = None
_LANE_LOCK = threading.Lock()


def _lane() -> _Lane:
    global _LANE
    with _LANE_LOCK:
        if _LANE is None:
            _LANE = _Lane()
        return _LANE


def _wait(future: Future, started: threading.Event, stamp: list[float], timeout: float | None) -> Any:
    """Result of a submitted job, raising TimeoutError if it *runs* longer than ``timeout``."""
    if timeout is None:
        return future.result()
    started.wait()
    remaining = stamp[0] + timeout - time.perf_counter()
    from concurrent.futures import TimeoutError as FuturesTimeout

    try:
        return future.result(timeout=max(0.0, remaining))
    except FuturesTimeout:
        raise TimeoutError(f"timed out after {timeout:g}s") from None


# --------------------------------------------------------------------------- the engine


class Engine:
    """Runs one analysed pipeline. Reusable and thread-compatible (state lives per call)."""

    def __init__(self, analysis: Analysis, *, cache: ResultCache | None = None, max_workers: int | None = None) -> None:
        if not analysis.ok or analysis.spec is None:
            raise ValueError("Engine needs a pipeline without validation errors")
        self.analysis = analysis
        self.spec = analysis.spec
        self.name = self.spec.name
        self.cache = cache
        self.max_workers = max_workers or min(32, (os.cpu_count() or 1) + 4)
        self._functions: dict[Path, Any] = {}
        self._subs: dict[Path, Engine] = {}
        self._digest = hashlib.sha256(canonical_json(spec_to_data(self.spec)).encode()).hexdigest()
        self._code_ids: dict[str, str] = {}
        self._map_locks: dict[str, threading.Semaphore] = {}

    # -- public -----------------------------------------------------------------------------

    def run(self, inputs: dict[str, Any]) -> RunResult:
        """One row; raises PipelineRunError (or InputTypeError for bad inputs)."""
        row = self._prepare(0, inputs, strict=True)
        self._execute([row])
        if row.error is not None:
            raise row.error
        return self._result(row)

    def run_rows(self, rows: list[dict[str, Any]]) -> list[RowResult]:
        """Many rows with grouped model calls; failures are per row, never raised."""
        prepared = [self._prepare(index, raw, strict=False) for index, raw in enumerate(rows)]
        self._execute([row for row in prepared if row.error is None])
        results = []
        for row in prepared:
            trace = self._trace(row)
            if row.error is not None:
                results.append(RowResult(index=row.index, error=str(row.error), failed_step=row.error.step, trace=trace))
            else:
                results.append(RowResult(index=row.index, result=self._result(row), trace=trace))
        return results

    # -- inputs and outputs -----------------------------------------------------------------

    def _prepare(self, index: int, raw: Any, *, strict: bool) -> _Row:
        try:
            values = self.check_inputs(raw)
        except InputTypeError as exc:
            if strict:
                raise
            row = _Row(index, {})
            row.error = PipelineRunError("(inputs)", exc.message, pipeline=self.name, hint=exc.hint, cause=exc)
            return row
        return _Row(index, values)

    def check_inputs(self, raw: Any) -> dict[str, Any]:
        """Apply defaults and check types; InputTypeError names the input and what was expected."""
        declared = self.spec.inputs
        if not isinstance(raw, dict):
            raise InputTypeError(f"pipeline {self.name!r} takes a JSON object of inputs, got {type(raw).__name__}",
                                 hint="e.g. {" + ", ".join(f'"{n}": …' for n in declared) + "}")
        unknown = sorted(set(raw) - set(declared))
        if unknown:
            raise InputTypeError(f"pipeline {self.name!r} has no input {unknown[0]!r} (inputs: {', '.join(declared) or 'none'})")
        values: dict[str, Any] = {}
        for name, spec in declared.items():
            if name in raw:
                value = raw[name]
                reason = check_value(value, self.analysis.input_types[name])
                if reason is not None and not (value is None and not spec.required):
                    raise InputTypeError(f"pipeline {self.name!r} input {name!r}: {reason}")
                values[name] = value
            elif spec.required:
                raise InputTypeError(f"pipeline {self.name!r} needs input {name!r} ({spec.type if isinstance(spec.type, str) else 'labels'})",
                                     hint=spec.description or None)
            else:
                values[name] = copy.deepcopy(spec.default)
        return values

    def _result(self, row: _Row) -> RunResult:
        outputs: dict[str, Any] = {}
        skipped = []
        for name, ref in self.analysis.output_refs.items():
            try:
                value = self._resolve(row, ref, None)
            except _RefError as exc:
                raise PipelineRunError(f"outputs.{name}", str(exc), pipeline=self.name) from exc
            if value is SKIPPED:
                skipped.append(name)
                value = None
            outputs[name] = value
        return RunResult(pipeline=self.name, outputs=outputs, skipped=skipped, trace=self._trace(row),
                         duration_ms=(time.perf_counter() - row.started) * 1000, model_ms=row.model_ms)

    def _trace(self, row: _Row) -> list[StepTrace]:
        traces = []
        for level_index, level in enumerate(self.analysis.levels):
            for name in level:
                outcome = row.outcomes.get(name)
                if outcome is not None and outcome.trace is not None:
                    traces.append(outcome.trace)
                else:
                    traces.append(StepTrace(step=name, kind=self.analysis.steps[name].step.kind, level=level_index, status="not_run"))
        return traces

    # -- references -------------------------------------------------------------------------

    def _resolve(self, row: _Row, ref: Ref, item: tuple[Any, int] | None) -> Any:
        if ref.root == "inputs":
            value = row.inputs[ref.name]  # type: ignore[index]
        elif ref.root == "steps":
            outcome = row.outcomes[ref.name]  # type: ignore[index]
            if outcome.status == "skipped":
                return SKIPPED
            value = outcome.outputs.get(ref.socket)  # type: ignore[arg-type]
            if value is SKIPPED:
                return SKIPPED
        elif ref.root == "item":
            value = item[0] if item else None
        else:
            return item[1] if item else None
        for depth, segment in enumerate(ref.path):
            where = ".".join(ref.text.split(".")[: len(ref.text.split(".")) - len(ref.path) + depth])
            if isinstance(value, dict):
                key = segment if segment in value else str(segment)
                if key not in value:
                    shown = ", ".join(map(str, list(value)[:10]))
                    raise _RefError(f"{ref.text}: {where} has no key {segment!r} (keys: {shown or 'none'})")
                value = value[key]
            elif isinstance(value, list) and isinstance(segment, int):
                if segment >= len(value):
                    raise _RefError(f"{ref.text}: {where} has {len(value)} elements, no index {segment}")
                value = value[segment]
            else:
                raise _RefError(f"{ref.text}: cannot take {segment!r} of {where}, which is {type(value).__name__}")
        return value

    def _inputs(self, row: _Row, info: StepInfo, item: tuple[Any, int] | None, *, allow_skipped: bool = False) -> dict[str, Any] | None:
        """Resolved inputs, or None when one is skipped (the step is skipped with it)."""
        values: dict[str, Any] = {}
        for name, ref in info.refs.items():
            value = self._resolve(row, ref, item)
            if value is SKIPPED and not allow_skipped:
                return None
            values[name] = value
        return values

    # -- the level loop ---------------------------------------------------------------------

    def _execute(self, rows: list[_Row]) -> None:
        pool: ThreadPoolExecutor | None = None
        abandoned = False
        try:
            for level_index, level in enumerate(self.analysis.levels):
                live = [row for row in rows if row.error is None]
                if not live:
                    break
                tasks: list[_Task] = []
                maps: list[tuple[_Row, str, list[_Task], float]] = []
                for name in level:
                    info = self.analysis.steps[name]
                    for row in live:
                        if row.error is None:
                            self._plan(row, name, info, level_index, tasks, maps)
                if not tasks:
                    self._finish_maps(maps, level_index)
                    continue
                if pool is None and any(self._lane_kind(t) == "pool" for t in tasks):
                    pool = ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="pawflow-step")
                abandoned |= self._dispatch(tasks, pool)
                for task in tasks:
                    if task.item is None:
                        self._finish(task, level_index)
                self._finish_maps(maps, level_index)
        finally:
            if pool is not None:
                pool.shutdown(wait=not abandoned, cancel_futures=True)

    def _plan(self, row: _Row, name: str, info: StepInfo, level: int, tasks: list[_Task], maps: list) -> None:
        step = info.step
        started = time.perf_counter()
        try:
            inputs = self._inputs(row, info, None, allow_skipped=isinstance(step, CoalesceStep))
        except _RefError as exc:
            self._fail(row, name, info, level, str(exc), None, None, started)
            return
        if inputs is None:
            skipped_by = next((r.text for r in info.refs.values() if self._resolve_quiet(row, r) is SKIPPED), "?")
            row.outcomes[name] = _Outcome("skipped", {}, StepTrace(step=name, kind=step.kind, level=level, status="skipped",
                                                                   reason=f"{skipped_by} was skipped"))
            return
        if isinstance(step, (SwitchStep, RouteStep, CoalesceStep)) or (
            isinstance(step, (RegexStep, TemplateStep)) and step.timeout is None
        ):
            try:
                outputs = self._pure(info, inputs)
            except Exception as exc:  # a user template/condition may raise anything
                self._fail(row, name, info, level, _describe(exc), inputs, exc, started)
                return
            duration = (time.perf_counter() - started) * 1000
            if outputs is None:  # coalesce with every branch skipped
                row.outcomes[name] = _Outcome("skipped", {}, StepTrace(step=name, kind=step.kind, level=level, status="skipped",
                                                                       inputs=_shown(inputs), reason="every input was skipped"))
                return
            row.outcomes[name] = _Outcome("ok", outputs, StepTrace(
                step=name, kind=step.kind, level=level, status="ok", inputs=_shown(inputs), outputs=_shown(outputs),
                started_ms=(started - row.started) * 1000, duration_ms=duration))
            return
        if isinstance(step, MapStep):
            items = inputs.get("over")
            if not isinstance(items, list):
                self._fail(row, name, info, level, f"map input `over` must be a list, got {type(items).__name__}",
                           inputs, None, started)
                return
            inner = info.inner
            assert inner is not None
            element_tasks = []
            for index, element in enumerate(items):
                try:
                    element_inputs = self._inputs(row, inner, (element, index))
                except _RefError as exc:
                    self._fail(row, name, info, level, f"element {index}: {exc}", inputs, None, started)
                    return
                if element_inputs is None:  # an outer reference was skipped: the whole map is
                    row.outcomes[name] = _Outcome("skipped", {}, StepTrace(step=name, kind="map", level=level, status="skipped",
                                                                           reason="an input of its inner step was skipped"))
                    return
                element_tasks.append(_Task(row, name, inner, element_inputs, item=index))
            tasks.extend(element_tasks)
            maps.append((row, name, element_tasks, started))
            return
        tasks.append(_Task(row, name, info, inputs))

    def _resolve_quiet(self, row: _Row, ref: Ref) -> Any:
        try:
            return self._resolve(row, ref, None)
        except _RefError:
            return None

    @staticmethod
    def _lane_kind(task: _Task) -> str:
        step = task.info.step
        if isinstance(step, ProgramStep):
            return "program"
        return "pool"

    # -- dispatch ---------------------------------------------------------------------------

    def _dispatch(self, tasks: list[_Task], pool: ThreadPoolExecutor | None) -> bool:
        """Run a level's tasks; True if some work was abandoned on timeout (still running)."""
        for task in tasks:
            self._check_cache(task)
        pending = [t for t in tasks if not t.cached]
        programs: dict[Path | str, list[_Task]] = defaultdict(list)
        subs: dict[str, list[_Task]] = defaultdict(list)
        others: list[_Task] = []
        for task in pending:
            step = task.info.step
            if isinstance(step, ProgramStep):
                key = task.info.program_path or step.program
                programs[key].append(task)
            elif isinstance(step, SubPipelineStep):
                subs[f"{task.name}/{task.info.name}"].append(task)
            else:
                others.append(task)
        jobs: list[tuple[list[_Task], Future, threading.Event, list[float], float | None]] = []
        inline: list[list[_Task]] = []
        for group in programs.values():
            timeout = _group_timeout(group)
            if timeout is None:
                inline.append(group)  # no deadline to enforce: run on this thread, no hand-off
                continue
            future, started, stamp = _lane().submit(lambda group=group: self._run_program_group(group))
            jobs.append((group, future, started, stamp, timeout))
        for task in others:
            assert pool is not None
            future, started, stamp = _submit(pool, lambda task=task: self._run_one(task), self._limiter(task))
            jobs.append(([task], future, started, stamp, task.info.step.timeout))
        for group in subs.values():
            assert pool is not None
            future, started, stamp = _submit(pool, lambda group=group: self._run_sub_group(group), None)
            jobs.append((group, future, started, stamp, _group_timeout(group)))
        for group in inline:  # meanwhile python/pipeline tasks run on the pool
            try:
                self._run_program_group(group)
            except Exception as exc:  # the group runner itself failed: every task in it did
                for task in group:
                    task.error = exc
        abandoned = False
        for group, future, started, stamp, timeout in jobs:
            try:
                _wait(future, started, stamp, timeout)
            except TimeoutError as exc:
                abandoned = True
                for task in group:
                    task.error, task.timed_out = exc, True
            except Exception as exc:
                for task in group:
                    task.error = exc
        for task in pending:
            if task.error is None and task.cache_key and self.cache is not None and task.result is not None:
                self.cache.put(task.cache_key, task.result)
        return abandoned

    def _limiter(self, task: _Task) -> threading.Semaphore | None:
        if task.item is None:
            return None
        step = self.analysis.steps[task.name].step
        if not isinstance(step, MapStep) or step.concurrency is None:
            return None
        return self._map_locks.setdefault(task.name, threading.Semaphore(step.concurrency))

    # -- caching ----------------------------------------------------------------------------

    def _cacheable(self, info: StepInfo) -> bool:
        step = info.step
        if step.cache is not None:
            return step.cache and isinstance(step, (ProgramStep, PythonStep, RegexStep, TemplateStep))
        return isinstance(step, ProgramStep)

    def _check_cache(self, task: _Task) -> None:
        if self.cache is None or not self._cacheable(task.info):
            return
        identity: dict[str, Any] = {"pipeline": self._digest, "step": task.name,
                                    "definition": task.info.step.model_dump(mode="json")}
        if task.info.program is not None:
            identity["program"] = task.info.program.meta.program_id
        if task.info.function is not None:
            identity["function"] = self._code_id(task.info)
        identity["inputs"] = task.inputs
        key = self.cache.key(identity)
        if key is None:
            return
        task.cache_key = key
        hit = self.cache.get(key)
        if hit is not None:
            task.result, task.cached = hit, True

    def _code_id(self, info: StepInfo) -> str:
        step: PythonStep = info.step  # type: ignore[assignment]
        if step.function not in self._code_ids:
            try:
                source = inspect.getsource(info.function)  # type: ignore[arg-type]
            except (OSError, TypeError):
                source = repr(info.function)
            self._code_ids[step.function] = hashlib.sha256(source.encode()).hexdigest()
        return self._code_ids[step.function]

    # -- runners ----------------------------------------------------------------------------

    def _function(self, info: StepInfo) -> Any:
        from pawflow.function import Function

        key = info.program_path or Path(info.step.program)  # type: ignore[union-attr]
        fn = self._functions.get(key)
        if fn is None:
            if info.program is None:
                raise PipelineRunError(info.name, f"program {info.step.program!r} was not found at validation")  # type: ignore[union-attr]
            fn = self._functions[key] = Function(info.program)
        return fn

    def _program_text(self, task: _Task) -> str:
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

    def _run_program_group(self, group: list[_Task]) -> None:
        """All calls of one program in a level: one ``run_many`` (one swap), isolating failures."""
        fn = self._function(group[0].info)
        ready: list[tuple[_Task, str]] = []
        for task in group:
            try:
                ready.append((task, self._program_text(task)))
            except Exception as exc:
                task.error = exc
        if not ready:
            return
        started = time.perf_counter()
        try:
            results: list[Any] = fn.run_many([text for _, text in ready])
        except Exception:
            if len(ready) == 1:
                raise
            results = []
            for _, text in ready:  # find the culprit(s); the others still get answers
                try:
                    results.append(fn.run_many([text])[0])
                except Exception as exc:
                    results.append(exc)
        elapsed = (time.perf_counter() - started) * 1000
        share = elapsed / len(ready)
        for (task, _), result in zip(ready, results):
            task.started, task.duration_ms, task.batched = started, share, len(ready)
            task.row.model_ms += share
            if isinstance(result, Exception):
                task.error = result
            else:
                task.result = {"value": result.value, "text": result.text, "confidence": result.confidence}

    def _run_one(self, task: _Task) -> None:
        task.started = time.perf_counter()
        try:
            task.result = self._pure(task.info, task.inputs)
        except Exception as exc:
            task.error = exc
        finally:
            task.duration_ms = (time.perf_counter() - task.started) * 1000

    def _run_sub_group(self, group: list[_Task]) -> None:
        info = group[0].info
        assert info.sub is not None
        sub_path = Path(info.sub.file).resolve()
        engine = self._subs.get(sub_path)
        if engine is None:
            engine = self._subs[sub_path] = Engine(info.sub, cache=self.cache, max_workers=self.max_workers)
        started = time.perf_counter()
        results = engine.run_rows([task.inputs for task in group])
        elapsed = (time.perf_counter() - started) * 1000
        for task, row_result in zip(group, results):
            task.started, task.duration_ms, task.batched = started, elapsed / len(group), len(group)
            if row_result.result is None:
                task.error = PipelineRunError(f"{task.name}>{row_result.failed_step}", row_result.error or "failed")
            else:
                task.row.model_ms += row_result.result.model_ms
                task.result = {name: (SKIPPED if name in row_result.result.skipped else value)
                               for name, value in row_result.result.outputs.items()}

    def _pure(self, info: StepInfo, inputs: dict[str, Any]) -> dict[str, Any] | None:
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

    # -- recording --------------------------------------------------------------------------

    def _finish(self, task: _Task, level: int) -> None:
        row, info = task.row, task.info
        if task.error is not None:
            started = task.started or time.perf_counter()
            self._fail(row, task.name, info, level, _describe(task.error), task.inputs, task.error, started,
                       duration=task.duration_ms)
            return
        trace = self._base_trace(task.name, info, level, "cached" if task.cached else "ok")
        trace.inputs, trace.outputs = task.inputs, _shown(task.result or {})
        trace.started_ms = ((task.started or row.started) - row.started) * 1000
        trace.duration_ms, trace.batched = task.duration_ms, task.batched
        trace.cached_calls = 1 if task.cached else 0
        row.outcomes[task.name] = _Outcome("ok", task.result or {}, trace)

    def _finish_maps(self, maps: list[tuple[_Row, str, list[_Task], float]], level: int) -> None:
        for row, name, element_tasks, started in maps:
            if row.error is not None:
                continue
            info = self.analysis.steps[name]
            failed = next((t for t in element_tasks if t.error is not None), None)
            if failed is not None:
                self._fail(row, name, info, level, f"element {failed.item}: {_describe(failed.error)}",
                           {"item": failed.inputs}, failed.error, started)
                continue
            values = [(task.result or {}).get("value") for task in element_tasks]
            trace = self._base_trace(name, info, level, "ok")
            inner = info.inner
            if inner is not None and inner.program is not None:
                trace.program, trace.program_id = inner.program.name, inner.program.meta.program_id
                trace.adapter = _adapter_id(inner.program)
            trace.items = len(element_tasks)
            trace.cached_calls = sum(1 for t in element_tasks if t.cached)
            trace.batched = max((t.batched or 0 for t in element_tasks), default=None) or None
            trace.started_ms = (started - row.started) * 1000
            trace.duration_ms = (time.perf_counter() - started) * 1000
            trace.inputs = {"over": f"<list of {len(element_tasks)}>"}
            trace.outputs = _shown({"value": values})
            row.outcomes[name] = _Outcome("ok", {"value": values}, trace)

    def _base_trace(self, name: str, info: StepInfo, level: int, status: Status) -> StepTrace:
        trace = StepTrace(step=name, kind=self.analysis.steps[name].step.kind, level=level, status=status)
        if info.program is not None:
            trace.program, trace.program_id = info.program.name, info.program.meta.program_id
            trace.adapter = _adapter_id(info.program)
        return trace

    def _fail(self, row: _Row, name: str, info: StepInfo, level: int, message: str, inputs: dict[str, Any] | None,
              cause: BaseException | None, started: float, duration: float | None = None) -> None:
        trace = self._base_trace(name, info, level, "failed")
        trace.inputs, trace.error = inputs, message
        trace.started_ms = (started - row.started) * 1000
        trace.duration_ms = duration if duration is not None else (time.perf_counter() - started) * 1000
        row.outcomes[name] = _Outcome("failed", {}, trace)
        if row.error is not None:
            return  # another step of the same level failed first; that one is the row's error
        hint = cause.hint if isinstance(cause, PawflowError) else None
        row.error = PipelineRunError(name, message, inputs=inputs, cause=cause, pipeline=self.name, hint=hint)
        row.error.trace = self._trace(row)
        if cause is not None:
            row.error.__cause__ = cause


def _submit(pool: ThreadPoolExecutor, fn: Callable[[], Any], limiter: threading.Semaphore | None) -> tuple[Future, threading.Event, list[float]]:
    started = threading.Event()
    stamp: list[float] = []

    def job() -> Any:
        if limiter is not None:
            limiter.acquire()
        try:
            stamp.append(time.perf_counter())
            started.set()
            return fn()
        finally:
            if limiter is not None:
                limiter.release()

    return pool.submit(job), started, stamp


def _group_timeout(group: list[_Task]) -> float | None:
    """A grouped call may take as long as its members would one by one."""
    timeouts = [task.info.step.timeout for task in group]
    if any(timeout is None for timeout in timeouts):
        return None
    return float(sum(timeouts))  # type: ignore[arg-type]


def _adapter_id(program: Any) -> str:
    meta = program.meta.pawflow
    sha = meta.members.get("adapter.gguf") if meta is not None else None
    if sha is None and program.adapter is not None:
        sha = program.adapter_sha256
    return sha[:12] if sha else "none"


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "failed"
    if isinstance(exc, TimeoutError):
        return str(exc)
    if isinstance(exc, PawflowError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


def _shown(values: dict[str, Any]) -> dict[str, Any]:
    """Outputs for the trace: skipped branches shown as a marker, not as the sentinel object."""
    return {k: ("<skipped>" if v is SKIPPED else v) for k, v in values.items()}


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "…"

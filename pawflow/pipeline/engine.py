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

This module is the scheduler (levels, grouping, dispatch, recording). What it schedules lives next
to it: the result types in :mod:`~pawflow.pipeline.results`, per-row state and reference reading in
:mod:`~pawflow.pipeline.rows`, the interpreter lane and pool deadlines in :mod:`~pawflow.pipeline.lane`,
each step kind's semantics in :mod:`~pawflow.pipeline.step_runners`, and cache keys in
:mod:`~pawflow.pipeline.cache`.
"""

from __future__ import annotations

import copy
import os
import threading
import time
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pawflow.errors import InputTypeError, PawflowError, PipelineInputError, PipelineRunError
from pawflow.pipeline.analysis import Analysis, StepInfo
from pawflow.pipeline.cache import ResultCache, StepIdentity
from pawflow.pipeline.lane import group_timeout, interpreter_lane, submit_to_pool, wait_for
from pawflow.pipeline.results import SKIPPED, RowResult, RunResult, Status, StepTrace
from pawflow.pipeline.rows import Outcome, RefError, RowState, Task, resolve_quiet, resolve_ref, step_inputs
from pawflow.pipeline.spec import (
    CoalesceStep,
    MapStep,
    ProgramStep,
    RegexStep,
    RouteStep,
    SubPipelineStep,
    SwitchStep,
    TemplateStep,
)
from pawflow.pipeline.step_runners import ProgramCalls, run_pure_step, run_task
from pawflow.pipeline.types import check_value

# The result types are part of this module's public names (``from pawflow.pipeline.engine import SKIPPED``).
__all__ = ["SKIPPED", "Engine", "RowResult", "RunResult", "StepTrace"]


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
        self._programs = ProgramCalls()
        self._subs: dict[Path, Engine] = {}
        self._identity = StepIdentity(self.spec)
        self._map_locks: dict[str, threading.Semaphore] = {}

    # -- public -----------------------------------------------------------------------------

    def run(self, inputs: dict[str, Any]) -> RunResult:
        """One row; raises PipelineRunError (or PipelineInputError, an InputTypeError, for bad inputs)."""
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
                failed = RowResult(index=row.index, error=str(row.error), failed_step=row.error.step, trace=trace)
                failed._exception = row.error
                results.append(failed)
            else:
                results.append(RowResult(index=row.index, result=self._result(row), trace=trace))
        return results

    # -- inputs and outputs -----------------------------------------------------------------

    def _prepare(self, index: int, raw: Any, *, strict: bool) -> RowState:
        try:
            values = self.check_inputs(raw)
        except InputTypeError as exc:
            if strict:
                raise
            row = RowState(index, {})
            row.error = PipelineRunError("(inputs)", exc.message, pipeline=self.name, hint=exc.hint, cause=exc)
            return row
        return RowState(index, values)

    def check_inputs(self, raw: Any) -> dict[str, Any]:
        """Apply defaults and check types; PipelineInputError names the input and what was expected."""
        declared = self.spec.inputs
        if not isinstance(raw, dict):
            raise PipelineInputError(f"pipeline {self.name!r} takes a JSON object of inputs, got {type(raw).__name__}",
                                 hint="e.g. {" + ", ".join(f'"{n}": …' for n in declared) + "}")
        unknown = sorted(set(raw) - set(declared))
        if unknown:
            raise PipelineInputError(f"pipeline {self.name!r} has no input {unknown[0]!r} (inputs: {', '.join(declared) or 'none'})")
        values: dict[str, Any] = {}
        for name, spec in declared.items():
            if name in raw:
                value = raw[name]
                reason = check_value(value, self.analysis.input_types[name])
                if reason is not None and not (value is None and not spec.required):
                    raise PipelineInputError(f"pipeline {self.name!r} input {name!r}: {reason}")
                values[name] = value
            elif spec.required:
                raise PipelineInputError(f"pipeline {self.name!r} needs input {name!r} ({spec.type if isinstance(spec.type, str) else 'labels'})",
                                     hint=spec.description or None)
            else:
                values[name] = copy.deepcopy(spec.default)
        return values

    def _result(self, row: RowState) -> RunResult:
        outputs: dict[str, Any] = {}
        skipped = []
        for name, ref in self.analysis.output_refs.items():
            try:
                value = resolve_ref(row, ref, None)
            except RefError as exc:
                raise PipelineRunError(f"outputs.{name}", str(exc), pipeline=self.name) from exc
            if value is SKIPPED:
                skipped.append(name)
                value = None
            outputs[name] = value
        return RunResult(pipeline=self.name, outputs=outputs, skipped=skipped, trace=self._trace(row),
                         duration_ms=(time.perf_counter() - row.started) * 1000, model_ms=row.model_ms)

    def _trace(self, row: RowState) -> list[StepTrace]:
        traces = []
        for level_index, level in enumerate(self.analysis.levels):
            for name in level:
                outcome = row.outcomes.get(name)
                if outcome is not None and outcome.trace is not None:
                    traces.append(outcome.trace)
                else:
                    traces.append(StepTrace(step=name, kind=self.analysis.steps[name].step.kind, level=level_index, status="not_run"))
        return traces

    # -- the level loop ---------------------------------------------------------------------

    def _execute(self, rows: list[RowState]) -> None:
        pool: ThreadPoolExecutor | None = None
        abandoned = False
        try:
            for level_index, level in enumerate(self.analysis.levels):
                live = [row for row in rows if row.error is None]
                if not live:
                    break
                tasks: list[Task] = []
                maps: list[tuple[RowState, str, list[Task], float]] = []
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

    def _plan(self, row: RowState, name: str, info: StepInfo, level: int, tasks: list[Task], maps: list) -> None:
        step = info.step
        started = time.perf_counter()
        try:
            inputs = step_inputs(row, info, None, allow_skipped=isinstance(step, CoalesceStep))
        except RefError as exc:
            self._fail(row, name, info, level, str(exc), None, None, started)
            return
        if inputs is None:
            skipped_by = next((r.text for r in info.refs.values() if resolve_quiet(row, r) is SKIPPED), "?")
            row.outcomes[name] = Outcome("skipped", {}, StepTrace(step=name, kind=step.kind, level=level, status="skipped",
                                                                   reason=f"{skipped_by} was skipped"))
            return
        if isinstance(step, (SwitchStep, RouteStep, CoalesceStep)) or (
            isinstance(step, (RegexStep, TemplateStep)) and step.timeout is None
        ):
            try:
                outputs = run_pure_step(info, inputs)
            except Exception as exc:  # a user template/condition may raise anything
                self._fail(row, name, info, level, _describe(exc), inputs, exc, started)
                return
            duration = (time.perf_counter() - started) * 1000
            if outputs is None:  # coalesce with every branch skipped
                row.outcomes[name] = Outcome("skipped", {}, StepTrace(step=name, kind=step.kind, level=level, status="skipped",
                                                                       inputs=_shown(inputs), reason="every input was skipped"))
                return
            row.outcomes[name] = Outcome("ok", outputs, StepTrace(
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
                    element_inputs = step_inputs(row, inner, (element, index))
                except RefError as exc:
                    self._fail(row, name, info, level, f"element {index}: {exc}", inputs, None, started)
                    return
                if element_inputs is None:  # an outer reference was skipped: the whole map is
                    row.outcomes[name] = Outcome("skipped", {}, StepTrace(step=name, kind="map", level=level, status="skipped",
                                                                           reason="an input of its inner step was skipped"))
                    return
                element_tasks.append(Task(row, name, inner, element_inputs, item=index))
            tasks.extend(element_tasks)
            maps.append((row, name, element_tasks, started))
            return
        tasks.append(Task(row, name, info, inputs))

    @staticmethod
    def _lane_kind(task: Task) -> str:
        step = task.info.step
        if isinstance(step, ProgramStep):
            return "program"
        return "pool"

    # -- dispatch ---------------------------------------------------------------------------

    def _dispatch(self, tasks: list[Task], pool: ThreadPoolExecutor | None) -> bool:
        """Run a level's tasks; True if some work was abandoned on timeout (still running)."""
        if self.cache is not None:
            for task in tasks:
                self._identity.look_up(self.cache, task)
        pending = [t for t in tasks if not t.cached]
        programs: dict[Path | str, list[Task]] = defaultdict(list)
        subs: dict[str, list[Task]] = defaultdict(list)
        others: list[Task] = []
        for task in pending:
            step = task.info.step
            if isinstance(step, ProgramStep):
                key = task.info.program_path or step.program
                programs[key].append(task)
            elif isinstance(step, SubPipelineStep):
                subs[f"{task.name}/{task.info.name}"].append(task)
            else:
                others.append(task)
        jobs: list[tuple[list[Task], Future, threading.Event, list[float], float | None]] = []
        inline: list[list[Task]] = []
        for group in programs.values():
            timeout = group_timeout(group)
            if timeout is None:
                inline.append(group)  # no deadline to enforce: run on this thread, no hand-off
                continue
            future, started, stamp = interpreter_lane().submit(lambda group=group: self._programs.run_group(group))
            jobs.append((group, future, started, stamp, timeout))
        for task in others:
            assert pool is not None
            future, started, stamp = submit_to_pool(pool, lambda task=task: run_task(task), self._limiter(task))
            jobs.append(([task], future, started, stamp, task.info.step.timeout))
        for group in subs.values():
            assert pool is not None
            future, started, stamp = submit_to_pool(pool, lambda group=group: self._run_sub_group(group), None)
            jobs.append((group, future, started, stamp, group_timeout(group)))
        for group in inline:  # meanwhile python/pipeline tasks run on the pool
            try:
                self._programs.run_group(group)
            except Exception as exc:  # the group runner itself failed: every task in it did
                for task in group:
                    task.error = exc
        abandoned = False
        for group, future, started, stamp, timeout in jobs:
            try:
                wait_for(future, started, stamp, timeout)
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

    def _limiter(self, task: Task) -> threading.Semaphore | None:
        if task.item is None:
            return None
        step = self.analysis.steps[task.name].step
        if not isinstance(step, MapStep) or step.concurrency is None:
            return None
        return self._map_locks.setdefault(task.name, threading.Semaphore(step.concurrency))

    def _run_sub_group(self, group: list[Task]) -> None:
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
                task.error = PipelineRunError(f"{task.name}>{row_result.failed_step}", row_result.error or "failed",
                                              cause=row_result.exception)
            else:
                task.row.model_ms += row_result.result.model_ms
                task.result = {name: (SKIPPED if name in row_result.result.skipped else value)
                               for name, value in row_result.result.outputs.items()}

    # -- recording --------------------------------------------------------------------------

    def _finish(self, task: Task, level: int) -> None:
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
        row.outcomes[task.name] = Outcome("ok", task.result or {}, trace)

    def _finish_maps(self, maps: list[tuple[RowState, str, list[Task], float]], level: int) -> None:
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
            row.outcomes[name] = Outcome("ok", {"value": values}, trace)

    def _base_trace(self, name: str, info: StepInfo, level: int, status: Status) -> StepTrace:
        trace = StepTrace(step=name, kind=self.analysis.steps[name].step.kind, level=level, status=status)
        if info.program is not None:
            trace.program, trace.program_id = info.program.name, info.program.meta.program_id
            trace.adapter = _adapter_id(info.program)
        return trace

    def _fail(self, row: RowState, name: str, info: StepInfo, level: int, message: str, inputs: dict[str, Any] | None,
              cause: BaseException | None, started: float, duration: float | None = None) -> None:
        trace = self._base_trace(name, info, level, "failed")
        trace.inputs, trace.error = inputs, message
        trace.started_ms = (started - row.started) * 1000
        trace.duration_ms = duration if duration is not None else (time.perf_counter() - started) * 1000
        row.outcomes[name] = Outcome("failed", {}, trace)
        if row.error is not None:
            return  # another step of the same level failed first; that one is the row's error
        hint = cause.hint if isinstance(cause, PawflowError) else None
        row.error = PipelineRunError(name, message, inputs=inputs, cause=cause, pipeline=self.name, hint=hint)
        row.error.trace = self._trace(row)
        if cause is not None:
            row.error.__cause__ = cause


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

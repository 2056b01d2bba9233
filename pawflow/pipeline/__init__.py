"""Pipelines: compiled programs and deterministic steps composed into a DAG on one interpreter.

A pipeline file (``pipelines/NAME.yaml``, schema in ``pipelines/pipeline.schema.json``) and a
:class:`Pipeline` built in Python are the same document. ``pawflow run FILE`` runs one; see
``docs/pipelines.md``.

Where things live: the document (:mod:`.spec`, :mod:`.refs`, :mod:`.types`); static validation
(:mod:`.validate` drives :mod:`.resolution`, :mod:`.wiring` and :mod:`.graph_checks` over an
:mod:`.analysis`, reporting :mod:`.problems`; python steps are found by :mod:`.python_steps`); running
(:mod:`.engine` schedules, :mod:`.step_runners` computes, :mod:`.lane`, :mod:`.rows`, :mod:`.cache`,
:mod:`.results`); :mod:`.core` is the :class:`Pipeline` API, :mod:`.batch` resumable JSONL runs,
:mod:`.graph` drawings.
"""

from pawflow.errors import PipelineError, PipelineInputError, PipelineRunError, PipelineValidationError
from pawflow.pipeline.cache import ResultCache
from pawflow.pipeline.core import Pipeline
from pawflow.pipeline.results import SKIPPED, RowResult, RunResult, StepTrace
from pawflow.pipeline.spec import (
    CoalesceStep,
    InputSpec,
    MapStep,
    PipelineSpec,
    ProgramStep,
    PythonStep,
    RegexStep,
    Route,
    RouteStep,
    SubPipelineStep,
    SwitchStep,
    TemplateStep,
    json_schema,
)
from pawflow.pipeline.types import LabelsType
from pawflow.pipeline.validate import Problem, ValidationReport, validate_file

__all__ = [
    "SKIPPED",
    "CoalesceStep",
    "InputSpec",
    "LabelsType",
    "MapStep",
    "Pipeline",
    "PipelineError",
    "PipelineInputError",
    "PipelineRunError",
    "PipelineSpec",
    "PipelineValidationError",
    "Problem",
    "ProgramStep",
    "PythonStep",
    "RegexStep",
    "ResultCache",
    "Route",
    "RouteStep",
    "RowResult",
    "RunResult",
    "StepTrace",
    "SubPipelineStep",
    "SwitchStep",
    "TemplateStep",
    "ValidationReport",
    "json_schema",
    "validate_file",
]

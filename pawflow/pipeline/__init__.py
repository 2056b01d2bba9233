"""Pipelines: compiled programs and deterministic steps composed into a DAG on one interpreter.

A pipeline file (``pipelines/NAME.yaml``, schema in ``pipelines/pipeline.schema.json``) and a
:class:`Pipeline` built in Python are the same document. ``pawflow run FILE`` runs one; see
``docs/pipelines.md``.
"""

from pawflow.errors import PipelineError, PipelineRunError, PipelineValidationError
from pawflow.pipeline.cache import ResultCache
from pawflow.pipeline.core import Pipeline
from pawflow.pipeline.engine import SKIPPED, RowResult, RunResult, StepTrace
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

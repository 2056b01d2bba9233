"""pawflow: fuzzy functions as local, composable tools.

    >>> import pawflow
    >>> alert = pawflow.load("log-alert")
    >>> alert("RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB")
    'ALERT'

Importing pawflow is cheap: the model (llama.cpp) loads on the first call, and the training stack
(torch) lives in the separate ``compiler`` package behind the ``compile`` extra. Every error pawflow
raises is exported here and derives from :class:`PawflowError` (the tree is drawn in
:mod:`pawflow.errors`).
"""

from pawflow.errors import (
    BackendError,
    BaseMismatchError,
    BaseModelError,
    CompileError,
    ConfigError,
    ContextLengthError,
    InputTypeError,
    IntegrationError,
    IntegrityError,
    MissingExtraError,
    OutputValidationError,
    PawflowError,
    PipelineError,
    PipelineInputError,
    PipelineRunError,
    PipelineValidationError,
    ProgramError,
    ProgramFormatError,
    ProgramNotFoundError,
    SourceError,
)
from pawflow.function import Function, load
from pawflow.interpreter import Interpreter
from pawflow.program import Program
from pawflow.result import Result

__version__ = "0.1.0"

__all__ = [
    "BackendError",
    "BaseMismatchError",
    "BaseModelError",
    "CompileError",
    "ConfigError",
    "ContextLengthError",
    "Function",
    "InputTypeError",
    "IntegrationError",
    "IntegrityError",
    "Interpreter",
    "MissingExtraError",
    "OutputValidationError",
    "PawflowError",
    "PipelineError",
    "PipelineInputError",
    "PipelineRunError",
    "PipelineValidationError",
    "Program",
    "ProgramError",
    "ProgramFormatError",
    "ProgramNotFoundError",
    "Result",
    "SourceError",
    "load",
    "__version__",
]

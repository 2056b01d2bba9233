"""``pawflow.load(...)`` → a :class:`Function`: a compiled program you call like a Python function.

Loading checks everything that can be checked without running the model (archive integrity, base
compatibility), so a broken or mismatched program fails at load, not at the first call. The base
model itself is loaded lazily, on first call, through the process-wide interpreter.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any, Literal, Sequence

from pawflow.backends.base import RawOutput
from pawflow.base import inspect_base
from pawflow.config import Settings, load_settings
from pawflow.errors import BackendError, ContextLengthError, InputTypeError, OutputValidationError
from pawflow.interpreter import Interpreter
from pawflow.program import JsonOutput, LabelsOutput, Program
from pawflow.resolve import resolve_program
from pawflow.result import Result


class Function:
    """A program bound to an interpreter. Calls are thread-safe (serialised by the interpreter)."""

    def __init__(self, program: Program, interpreter: Interpreter | None = None, settings: Settings | None = None) -> None:
        self.program = program
        self._interpreter = interpreter
        self._settings = settings

    @property
    def name(self) -> str:
        return self.program.name

    @property
    def output(self):
        return self.program.output

    @property
    def interpreter(self) -> Interpreter:
        if self._interpreter is None:
            self._interpreter = Interpreter.shared(self._settings)
            self._interpreter.check(self.program)
        return self._interpreter

    def __repr__(self) -> str:
        kind = self.output.type
        adapter = "adapter" if self.program.adapter is not None else "prompt-only"
        return f"<pawflow.Function {self.name} ({kind}, {adapter})>"

    # ------------------------------------------------------------------ calling

    def __call__(self, text: str) -> Any:
        return self.run(text).value

    def run(self, text: str) -> Result:
        return self.run_many([text])[0]

    def map(self, texts: Sequence[str]) -> list[Any]:
        """Run over many inputs with one adapter activation; values in input order."""
        return [result.value for result in self.run_many(texts)]

    def run_many(
        self,
        texts: Sequence[str],
        *,
        cache_prefix: bool = True,
        truncate: bool = False,
        errors: Literal["raise", "return"] = "raise",
    ) -> list[Result]:
        """Run over many inputs together: one adapter swap, inputs batched through the model.

        ``truncate``: cut inputs longer than the context to what fits (``Result.truncated``) instead of
        failing them. ``errors``: a row that cannot run (longer than the context) raises its error
        (``"raise"``, naming the row), or comes back as a ``Result`` with ``error`` set while every
        other row is answered (``"return"``).
        """
        if isinstance(texts, str):
            raise InputTypeError("map()/run_many() take a list of strings, got one string", hint="use fn(text) for one input")
        texts = list(texts)
        for text in texts:
            if not isinstance(text, str):
                raise InputTypeError(
                    f"program {self.name!r} takes text input, got {type(text).__name__}",
                    hint="pass a str (serialise structured data with json.dumps first)",
                )
        if not texts:
            return []
        started = time.perf_counter()
        raws = self.interpreter.run(self.program, texts, cache_prefix=cache_prefix, truncate=truncate)
        per_call = (time.perf_counter() - started) * 1000 / len(texts)
        results = []
        for raw in raws:
            try:
                results.append(self._to_result(raw, per_call))
            except OutputValidationError as exc:
                if errors == "raise":
                    raise
                results.append(Result(value=None, text=raw.text, program=self.name, latency_ms=per_call,
                                      input_tokens=raw.input_tokens, output_tokens=raw.output_tokens,
                                      error=str(exc), error_code=getattr(exc, "code", None)))
        if errors == "raise":
            for index, result in enumerate(results):
                if result.error is not None:
                    raise row_error(self.name, index, len(results), result)
        return results

    def label_scores(self, text: str) -> dict[str, float]:
        """Probability of every label (sums to 1). Only for labels programs."""
        if not isinstance(self.output, LabelsOutput):
            raise InputTypeError(f"program {self.name!r} has {self.output.type} output; label_scores needs labels")
        scores = self.run(text).scores
        assert scores is not None
        return scores

    # ------------------------------------------------------------------ typing outputs

    def _to_result(self, raw: RawOutput, latency_ms: float) -> Result:
        output = self.output
        common = dict(program=self.name, latency_ms=latency_ms, input_tokens=raw.input_tokens,
                      output_tokens=raw.output_tokens, truncated=raw.truncated)
        if raw.error is not None:
            return Result(value=None, text="", error=raw.error, error_code=raw.error_code, **common)
        if isinstance(output, LabelsOutput):
            assert raw.label_logprobs is not None
            probs = {label: math.exp(lp) for label, lp in output.apply_bias(raw.label_logprobs).items()}
            best = max(probs, key=probs.__getitem__) if output.bias else raw.text
            return Result(value=best, text=best, confidence=probs[best], scores=probs, **common)
        if isinstance(output, JsonOutput):
            return Result(value=_parse_json(self.name, raw.text, output), text=raw.text, **common)
        return Result(value=raw.text.strip(), text=raw.text, **common)


def row_error(program: str, index: int, total: int, result: Result) -> BackendError:
    """The typed error of a failed row (context overflow → ContextLengthError, for servers' 400s)."""
    where = f"program {program!r}" + (f", input {index + 1} of {total}" if total > 1 else "")
    message = f"{where}: {result.error}"
    hint = "shorten the input, pass truncate=True, or raise PAWFLOW_N_CTX"
    if result.error_code == ContextLengthError.code:
        return ContextLengthError(message, hint=hint)
    return BackendError(message)


def _parse_json(name: str, text: str, output: JsonOutput) -> Any:
    import jsonschema

    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise OutputValidationError(
            f"program {name!r} produced invalid JSON ({exc.msg}): {text[:200]!r}",
            hint="raise generation.max_tokens if the output was cut off",
        ) from exc
    try:
        jsonschema.validate(value, output.json_schema)
    except jsonschema.ValidationError as exc:
        raise OutputValidationError(f"program {name!r} output does not match its schema: {exc.message}") from exc
    return value


def load(
    ref: str | Path,
    *,
    interpreter: Interpreter | None = None,
    settings: Settings | None = None,
) -> Function:
    """Load a program by path or name (see :mod:`pawflow.resolve`) and check it fits the base.

    Raises ProgramNotFoundError, ProgramFormatError / IntegrityError, or BaseMismatchError.
    """
    settings = settings or (interpreter.settings if interpreter else load_settings())
    path = resolve_program(ref, settings)
    program = Program.read(path)
    base_info = interpreter.base_info if interpreter else inspect_base(settings.base_path())
    program.check_base(base_info, allow_mismatch=settings.allow_base_mismatch)
    return Function(program, interpreter, settings)

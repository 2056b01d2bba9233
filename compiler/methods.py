"""Compile methods: how a source becomes a program's pseudo-program and (maybe) adapter.

A method is a class with a name, a pydantic ``Options`` model (its keys under ``compile.options`` in
the source, and the flags that override them) and ``run``. The driver only talks to this registry, so
adding a method — the paper's hypernetwork compiler, say — means registering one more class here;
nothing in the driver, CLI or benchmark changes. Only methods that exist are registered.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from pawflow.base import BaseModelInfo
from pawflow.cli.registry import require
from pawflow.errors import CompileError
from pawflow.program import GenerationSettings, OutputSpec
from pawflow.source import Example, LoadedSource

Quant = Literal["f16", "q8_0", "q4_0"]
COMPILE_EXTRA_MODULES = ("torch", "transformers", "peft", "safetensors")  # pyproject's `compile` extra


class CompileRequest(BaseModel):
    """Everything a method may use, independent of where it came from (a YAML source, a BIG-bench task).

    ``train`` is fitted on; ``heldout`` only early-stops and scores. ``examples`` are the user's
    hand-written ones: they go into the pseudo-program and are fitted on too.
    """

    model_config = ConfigDict(frozen=True)
    name: str
    version: str = "0.1.0"
    spec: str
    output: OutputSpec
    examples: list[Example] = Field(default_factory=list)
    train: list[Example] = Field(default_factory=list)
    heldout: list[Example] = Field(default_factory=list)
    generation: GenerationSettings = Field(default_factory=GenerationSettings)
    source_sha256: str | None = None
    origin: str = ""

    @classmethod
    def from_source(cls, loaded: LoadedSource) -> "CompileRequest":
        src = loaded.source
        return cls(
            name=src.name,
            version=src.version,
            spec=src.spec,
            output=src.output,
            examples=src.examples,
            train=loaded.rows("train"),
            heldout=loaded.rows("heldout"),
            generation=src.generation,
            source_sha256=loaded.sha256,
            origin=str(loaded.path),
        )


class BaseSpec(BaseModel):
    """The interpreter base a program is compiled for."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)
    path: Path
    info: BaseModelInfo


class MethodOutcome(BaseModel):
    """What a method produced; the driver wraps it into a .paw.

    ``output`` replaces the request's output spec when the method chose something about it (``auto``
    ships a calibrated decision bias in ``LabelsOutput.bias``); None keeps the request's.
    """

    pseudo_program: str
    prompt_template: str
    adapter: bytes | None = None
    output: OutputSpec | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class ProgressFn(Protocol):
    """Progress of one stage: ``total=None`` for work of unknown length; ``note`` is a live detail (loss)."""

    def __call__(self, stage: str, completed: float, total: float | None, note: str = "") -> None: ...


def _no_progress(stage: str, completed: float, total: float | None, note: str = "") -> None:
    return None


class CompileMethod(ABC):
    name: ClassVar[str]
    summary: ClassVar[str]
    Options: ClassVar[type[BaseModel]]

    @abstractmethod
    def run(self, request: CompileRequest, options: BaseModel, base: BaseSpec, progress: ProgressFn) -> MethodOutcome:
        """Compile ``request`` for ``base``. Must not write files: the driver writes the result atomically."""


_REGISTRY: dict[str, type[CompileMethod]] = {}


def register_method(cls: type[CompileMethod]) -> type[CompileMethod]:
    """Class decorator: make a method available to ``pawflow compile --method NAME``."""
    if cls.name in _REGISTRY:
        raise ValueError(f"compile method {cls.name!r} is already registered")
    _REGISTRY[cls.name] = cls
    return cls


def method_names() -> list[str]:
    return sorted(_REGISTRY)


def get_method(name: str) -> CompileMethod:
    try:
        return _REGISTRY[name]()
    except KeyError:
        raise CompileError(f"unknown compile method {name!r}; available: {', '.join(method_names())}") from None


# --------------------------------------------------------------------------- shared pieces


class CommonOptions(BaseModel):
    """Options every method has: the pseudo-compiler's and whether to score the result."""

    model_config = ConfigDict(extra="forbid")
    pseudo_lm: bool = Field(
        default=True, description="ask the LM to write the pseudo-program (false: always the deterministic one)"
    )
    pseudo_max_tokens: int = Field(default=256, ge=32, le=2048)
    evaluate: bool = Field(default=True, description="score the built program on the held-out rows through llama.cpp")


def _pseudo_program(request: CompileRequest, options: CommonOptions, base: BaseSpec, progress: ProgressFn) -> tuple[str, dict[str, Any]]:
    from compiler.pseudo import lm_complete, pseudo_compile

    progress("pseudo-compiling", 0, None)
    complete = lm_complete(options.pseudo_max_tokens, interpreter=shared_interpreter(base)) if options.pseudo_lm else None
    result = pseudo_compile(request.spec, request.examples, request.output, complete=complete, use_lm=options.pseudo_lm)
    progress("pseudo-compiling", 1, 1)
    return result.pseudo_program, result.details()


def shared_interpreter(base: BaseSpec):
    """The process's llama.cpp interpreter, on the base being compiled for."""
    from pawflow.config import load_settings
    from pawflow.interpreter import Interpreter

    return Interpreter.shared(load_settings(base=base.path))


def _template(base: BaseSpec, pseudo_program: str) -> str:
    from pawflow.prompting import render_template

    return render_template(base.info, pseudo_program, base_path=base.path)


# --------------------------------------------------------------------------- prompt


class PromptOptions(CommonOptions):
    """The ``prompt`` method has only the pseudo-compiler's options."""


@register_method
class PromptMethod(CompileMethod):
    """Pseudo-program only: the frozen base follows it in-context. Seconds to compile, no adapter."""

    name = "prompt"
    summary = "pseudo-program only (no adapter)"
    Options = PromptOptions

    def run(self, request: CompileRequest, options: BaseModel, base: BaseSpec, progress: ProgressFn) -> MethodOutcome:
        assert isinstance(options, PromptOptions)
        pseudo, details = _pseudo_program(request, options, base, progress)
        return MethodOutcome(pseudo_program=pseudo, prompt_template=_template(base, pseudo), details=details)


# --------------------------------------------------------------------------- fit


class FitOptions(CommonOptions):
    """LoRA fitting. Defaults are sized for a 135M base on a 2-core CPU: a few minutes per program."""

    steps: int = Field(default=150, ge=1, le=100_000)
    lr: float = Field(default=2e-3, gt=0, le=1.0)
    rank: int = Field(default=8, ge=1, le=256)
    alpha: float = Field(default=16.0, gt=0)
    targets: list[Literal["q", "k", "v", "o", "gate", "up", "down"]] = Field(default_factory=lambda: ["q", "k", "v", "o"])
    batch_size: int = Field(default=8, ge=1, le=512)
    patience: int = Field(default=3, ge=1, description="held-out evaluations without improvement before stopping")
    early_stop_split: Literal["heldout", "train"] = Field(
        default="heldout",
        description="where the checkpoint-picking rows come from: the first rows of data.heldout, or the last "
        "rows of the train data, held back from fitting (then data.heldout stays untouched for scoring)",
    )
    early_stop_rows: int = Field(
        default=48, ge=1,
        description="how many rows pick the checkpoint and measure agreement; the fit evaluates them every "
        "few steps, so a whole large held-out file would cost as much as the training",
    )
    seed: int = 0
    quant: Quant = Field(default="q8_0", description="precision of the adapter stored in the .paw")
    check_agreement: bool = Field(default=True, description="replay held-out rows in llama.cpp and compare with torch")


@register_method
class FitMethod(CompileMethod):
    """Pseudo-program + a LoRA adapter fitted on the examples and train data, early-stopped on held-out."""

    name = "fit"
    summary = "pseudo-program + LoRA fitted on train data"
    Options = FitOptions

    def run(self, request: CompileRequest, options: BaseModel, base: BaseSpec, progress: ProgressFn) -> MethodOutcome:
        # torch & co. are the `compile` extra: without them, say which pip line adds them (prompt needs none)
        require("compile", *COMPILE_EXTRA_MODULES, command="compile --method fit")
        assert isinstance(options, FitOptions)
        from compiler.fit import StepInfo, fit_lora
        from pawflow.config import load_settings
        from pawflow.prompting import format_output

        pseudo, details = _pseudo_program(request, options, base, progress)
        template = _template(base, pseudo)
        train = [(row.input, format_output(row.output)) for row in [*request.examples, *request.train]]
        if options.early_stop_split == "train":
            if len(request.train) <= options.early_stop_rows:
                raise CompileError(
                    f"{request.origin or request.name}: early_stop_split 'train' needs more than "
                    f"{options.early_stop_rows} train rows, there are {len(request.train)}"
                )
            train, heldout = train[: -options.early_stop_rows], train[-options.early_stop_rows :]
        else:
            heldout = [(row.input, format_output(row.output)) for row in request.heldout[: options.early_stop_rows]]
        if not train:
            raise CompileError(
                f"{request.origin or request.name}: the fit method needs training rows; "
                "add examples or a data.train file, or compile with --method prompt"
            )

        def on_step(info: StepInfo) -> None:
            if info.step == 1:
                progress("loading torch base", 1, 1)
            note = f"loss {info.loss:.3f}"
            # Only rows the adapter never fitted are called held-out; with none, no accuracy is shown
            # (an accuracy on fitted rows says nothing about new inputs).
            if info.eval_split == "heldout" and info.heldout_exact is not None:
                note += f"  held-out acc {info.heldout_exact:.0%}"
            elif info.eval_split == "heldout" and info.heldout_loss is not None:
                note += f"  held-out loss {info.heldout_loss:.3f}"
            elif info.eval_split == "train":
                note += "  (no held-out rows: no accuracy estimate; --method auto cross-validates)"
            progress("fitting LoRA", info.step, info.steps, note)

        progress("loading torch base", 0, None)
        result = fit_lora(
            base_path=base.path,
            prompt_template=template,
            train=train,
            heldout=heldout,
            output_type=request.output,
            rank=options.rank,
            alpha=options.alpha,
            targets=tuple(options.targets),
            steps=options.steps,
            lr=options.lr,
            batch_size=options.batch_size,
            seed=options.seed,
            patience=options.patience,
            generation=request.generation,
            quant=options.quant,
            progress=False,  # one live display at a time: the driver's bars show the fit
            check=options.check_agreement and bool(heldout),
            callback=on_step,
            threads=load_settings().threads,  # PAWFLOW_THREADS / --threads: 1 is far faster on a busy CPU
        )
        details.update(result.details())
        details["rows_fitted"] = len(train)
        details["early_stop_split"] = options.early_stop_split if heldout else "none"
        if not heldout:
            details["estimate"] = None
            details["estimate_note"] = (
                "no held-out rows: nothing estimates this program's accuracy on new inputs; "
                "compile with --method auto for a cross-validated estimate, or add data.heldout"
            )
        return MethodOutcome(pseudo_program=pseudo, prompt_template=template, adapter=result.adapter, details=details)


# --------------------------------------------------------------------------- more methods
# Methods defined in their own modules register on import (they import this module's API).
import compiler.auto  # noqa: E402,F401  (registers "auto")
import compiler.channel  # noqa: E402,F401  (registers "channel")
import compiler.hypernet.method  # noqa: E402,F401  (registers "hypernet")

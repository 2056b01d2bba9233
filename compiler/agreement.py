"""Does llama.cpp, with the exported adapter, give the answers the torch model gave?

The fit trains in torch on dequantized weights; users run llama.cpp on the quantized base with a
(possibly quantized) GGUF adapter. Replaying rows through pawflow's real runtime checks the export
(names, orientation, scale, RoPE permutation, quantization) and the runtime's tokenization and
decoding in one number.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from compiler.vocab import OutputType
from pawflow.errors import CompileError
from pawflow.program import GenerationSettings


class Mismatch(BaseModel):
    model_config = ConfigDict(frozen=True)
    input: str
    torch: str
    llama_cpp: str


class AgreementReport(BaseModel):
    """How often llama.cpp with the exported adapter gives the answer the torch model gave."""

    model_config = ConfigDict(frozen=True)
    rate: float
    n: int
    agree: int
    quant: str
    split: str
    mismatches: list[Mismatch] = Field(default_factory=list)  # the first few, for diagnosis
    seconds: float



def check_agreement(
    *,
    base_path: str | Path,
    prompt_template: str,
    output_type: OutputType,
    adapter: bytes,
    inputs: Sequence[str],
    torch_answers: Sequence[str],
    generation: GenerationSettings | None = None,
    quant: str = "?",
    split: str = "heldout",
    threads: int = 2,
    interpreter=None,
    max_mismatches: int = 10,
) -> AgreementReport:
    """Run ``inputs`` through pawflow's llama.cpp runtime with ``adapter`` and compare with torch.

    This goes through the same Program + Interpreter path ``pawflow.load(...)`` uses, so it checks
    the export (names, orientation, scale, RoPE permutation, quantization) and the runtime's
    tokenization and decoding in one number. Text answers are compared after ``strip()``, as the
    runtime returns them; JSON programs decode under a grammar at runtime but not in torch, so their
    agreement also counts grammar effects.
    """
    from pawflow.base import inspect_base
    from pawflow.config import load_settings
    from pawflow.interpreter import Interpreter
    from pawflow.program import CompileInfo, Program

    if len(inputs) != len(torch_answers):
        raise CompileError(f"{len(inputs)} inputs but {len(torch_answers)} torch answers")
    started = time.perf_counter()
    base_path = Path(base_path)
    program = Program.build(
        name="fit-agreement-check",
        base=inspect_base(base_path),
        prompt_template=prompt_template,
        adapter=adapter,
        output=output_type,
        generation=generation or GenerationSettings(),
        compile=CompileInfo(method="fit"),
    )
    own = interpreter is None
    if own:
        interpreter = Interpreter(load_settings(base=base_path, threads=threads))
    try:
        raws = interpreter.run(program, list(inputs)) if inputs else []
    finally:
        if own:
            interpreter.close()
    agree = 0
    mismatches: list[Mismatch] = []
    for text, expected, raw in zip(inputs, torch_answers, raws):
        got = raw.text.strip()
        if got == expected.strip():
            agree += 1
        elif len(mismatches) < max_mismatches:
            mismatches.append(Mismatch(input=text, torch=expected, llama_cpp=got))
    n = len(inputs)
    return AgreementReport(
        rate=agree / n if n else 1.0,
        n=n,
        agree=agree,
        quant=quant,
        split=split,
        mismatches=mismatches,
        seconds=time.perf_counter() - started,
    )

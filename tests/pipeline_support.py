"""Helpers for the pipeline tests and bench: prompt-only compilation of program sources.

This is the lead's documented recipe (pseudo-program from spec + examples, rendered with the base's
chat template), not a mock: the resulting .paw files run on the real interpreter. ``adapter_seed``
adds a real, seeded random GGUF LoRA adapter so swap counting can be measured (outputs are then
meaningless but still typed).
"""

from __future__ import annotations

from pathlib import Path

from pawflow.base import inspect_base
from pawflow.config import embedded_base_path
from pawflow.program import CompileInfo, Program
from pawflow.prompting import default_pseudo_program, render_template
from pawflow.source import load_source

REPO = Path(__file__).resolve().parent.parent
SITE_PROGRAMS = ("site-intent", "site-page-router", "site-answer-needed", "site-extract", "site-format")


def compile_prompt_only(source: Path, out_dir: Path, *, adapter_seed: int | None = None) -> Path:
    loaded = load_source(source).source
    base_path = embedded_base_path()
    base = inspect_base(base_path)
    pseudo = default_pseudo_program(loaded.spec, loaded.examples, loaded.output)
    adapter = None
    if adapter_seed is not None:
        from compiler.synthetic import random_lora_adapter

        adapter = random_lora_adapter(base, adapter_seed, scale=0.02)
    program = Program.build(
        name=loaded.name,
        base=base,
        spec=loaded.spec,
        prompt_template=render_template(base, pseudo, base_path=base_path),
        pseudo_program=pseudo,
        adapter=adapter,
        output=loaded.output,
        generation=loaded.generation,
        compile=CompileInfo(method="prompt" if adapter is None else "test-random-lora"),
    )
    return program.write(out_dir / f"{loaded.name}.paw")


def compile_site_programs(out_dir: Path, *, adapters: bool = False) -> list[Path]:
    return [
        compile_prompt_only(REPO / "programs" / f"{name}.yaml", out_dir, adapter_seed=(index + 1) if adapters else None)
        for index, name in enumerate(SITE_PROGRAMS)
    ]

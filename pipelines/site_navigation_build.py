"""Build the programs ``site-navigation.yaml`` calls, quickly and deterministically, into a folder.

The pipeline benchmark (``bench/pipeline.py``) and the model tests (``tests/test_pipeline_model.py``)
both need the five site programs compiled, in seconds and the same way every time, so neither waits
on the LM pseudo-compiler nor on training. This is that recipe, kept next to the pipeline it serves
(benchmarks never import tests):

* the deterministic pseudo-program from each source's spec and examples, rendered with the base's
  chat template (what ``pawflow compile --method prompt --no-lm`` writes, without the held-out
  scoring), on the embedded base;
* with ``adapters=True``, each program also gets a real, seeded random GGUF LoRA adapter
  (``compiler.synthetic``), so adapter swaps can be counted; outputs are then meaningless but typed.

Import it the way the pipeline imports its steps::

    from pawflow.pipeline.python_steps import import_module
    build = import_module("site_navigation_build", Path("pipelines"))
    build.compile_site_programs(Path("programs/build"))
"""

from __future__ import annotations

from pathlib import Path

from pawflow.base import inspect_base
from pawflow.config import embedded_base_path
from pawflow.program import CompileInfo, Program
from pawflow.prompting import default_pseudo_program, render_template
from pawflow.source import load_source

PIPELINE = Path(__file__).resolve().parent / "site-navigation.yaml"
REPO = PIPELINE.parent.parent
SITE_PROGRAMS = ("site-intent", "site-page-router", "site-answer-needed", "site-extract", "site-format")


def compile_prompt_only(source: Path, out_dir: Path, *, adapter_seed: int | None = None) -> Path:
    """``source`` (a program YAML) as a prompt-only .paw in ``out_dir``; a seeded random adapter if asked."""
    loaded = load_source(source).source
    base_path = embedded_base_path()
    base = inspect_base(base_path)
    pseudo = default_pseudo_program(loaded.spec, loaded.examples, loaded.output)
    adapter = None
    if adapter_seed is not None:
        from compiler.synthetic import random_lora_adapter  # the compile extra: only for swap counting

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
    """All five site programs into ``out_dir`` (seeds 1..5 for the adapters)."""
    return [
        compile_prompt_only(REPO / "programs" / f"{name}.yaml", out_dir, adapter_seed=(index + 1) if adapters else None)
        for index, name in enumerate(SITE_PROGRAMS)
    ]

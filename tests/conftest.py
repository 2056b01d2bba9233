"""Shared fixtures: the embedded base, program builders, real random LoRA adapters.

Everything here is real: programs are written as .paw files and run on llama.cpp with the embedded
SmolLM2-135M; adapters are real GGUF LoRA files from pawflow's own exporter (random, seeded).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pawflow.base import BaseModelInfo, inspect_base
from pawflow.config import embedded_base_path
from pawflow.program import CompileInfo, GenerationSettings, LabelsOutput, Program, TextOutput
from pawflow.prompting import default_pseudo_program, render_template


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory) -> None:
    """Keep adapter/hash caches of the test run out of the user's ~/.cache."""
    import os

    os.environ.setdefault("PAWFLOW_CACHE", str(tmp_path_factory.mktemp("pawflow-cache")))


@pytest.fixture(scope="session")
def base_path() -> Path:
    return embedded_base_path()


@pytest.fixture(scope="session")
def base_info(base_path: Path) -> BaseModelInfo:
    return inspect_base(base_path)


def random_adapter(base: BaseModelInfo, seed: int, **kwargs) -> bytes:
    from compiler.synthetic import random_lora_adapter

    return random_lora_adapter(base, seed, **kwargs)


LOG_EXAMPLES = [
    {"input": "epoch 2 step 400 loss 0.412 lr 3e-4", "output": "QUIET"},
    {"input": "Traceback (most recent call last):", "output": "ALERT"},
    {"input": "Saved checkpoint to /ckpt/step_400.pt", "output": "QUIET"},
    {"input": "loss is nan, stopping training", "output": "ALERT"},
]


def build_program(
    base: BaseModelInfo,
    base_path: Path,
    *,
    name: str = "demo",
    spec: str = "Decide whether a line of an ML training log needs a human's attention.",
    output=None,
    examples=LOG_EXAMPLES,
    adapter: bytes | None = None,
    max_tokens: int = 16,
) -> Program:
    output = output or LabelsOutput(labels=["ALERT", "QUIET"])
    pseudo = default_pseudo_program(spec, examples if not isinstance(output, TextOutput) else [], output)
    return Program.build(
        name=name,
        base=base,
        spec=spec,
        prompt_template=render_template(base, pseudo, base_path=base_path),
        pseudo_program=pseudo,
        adapter=adapter,
        output=output,
        generation=GenerationSettings(max_tokens=max_tokens),
        compile=CompileInfo(method="prompt" if adapter is None else "test-random-lora"),
    )


@pytest.fixture
def make_program(base_info: BaseModelInfo, base_path: Path, tmp_path: Path):
    """Build and write a program; returns its path."""

    def make(name: str = "demo", **kwargs) -> Path:
        program = build_program(base_info, base_path, name=name, **kwargs)
        return program.write(tmp_path / f"{name}.paw")

    return make

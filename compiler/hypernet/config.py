"""Every knob of the hypernetwork compiler, with presets sized for where it runs.

Why these CPU defaults (paper: rank r = N bases = 64, a 0.6B-4B compiler, many GPU-hours):

* ``rank=8, n_bases=16``: the bases are shared by all 30 interpreter layers per module type, so the
  generated LoRA of one layer is a 16-dimensional choice inside a fixed rank-8 family. On 2 shared CPU
  cores an hour buys ~500 spec-steps; a mapper head of 30 x 7 x 16 x 2 = 6,720 outputs and ~3 M basis
  values is what that many steps can fit without memorising the training specs (r = N = 64 would be
  ~60 M values). rank 8 also keeps the exported adapter small (~1 MB at q8_0 on SmolLM2).
* ``n_prefix_tokens=8``: the tau tokens are the compiler's only trainable part by default
  (``compiler_train="prefix"``). The compiler's weights stay frozen, so autograd tracks only the
  T prefix positions: the backward through the compiler costs T tokens, not the whole spec.
* ``targets``: all seven projections (q,k,v,o,gate,up,down), as in the paper.
* ``examples_per_spec=6``, ``specs_per_step=1``, ``max_compiler_tokens=192``: one compiler pass and one
  pseudo-program prefix pass are shared by the examples of a spec (the prefix KV is computed once and
  repeated). With ~7 colleagues training on the same 2 cores this process gets ~15 % of one core, about
  one optimizer step a minute; these sizes trade gradient noise for as many steps as the hour allows.
* fp32 everywhere on CPU: measured on this Xeon, bf16 halves the forward but makes the backward slower
  (3.0 s vs 2.6 s for 8x40 tokens, 1 thread); on CUDA with bf16 support the interpreter and compiler
  run under bf16 autocast, the mapper always in fp32.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Peft = Literal["lora", "prefix"]
CompilerTrain = Literal["prefix", "lora", "full"]
Target = Literal["q", "k", "v", "o", "gate", "up", "down"]
ALL_TARGETS: tuple[str, ...] = ("q", "k", "v", "o", "gate", "up", "down")


class ArchitectureConfig(BaseModel):
    """What the hypernetwork *is*: stored in every checkpoint and needed to rebuild it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    peft: Peft = "lora"
    compiler_base: str | None = Field(
        default=None, description="GGUF file or transformers model directory of the compiler LM; None = the embedded SmolLM2"
    )
    compiler_train: CompilerTrain = Field(
        default="prefix", description="what of the compiler LM trains: the tau tokens only, tau + a LoRA, or everything"
    )
    compiler_lora_rank: int = Field(default=8, ge=1, le=256)
    n_prefix_tokens: int = Field(default=8, ge=1, le=256, description="T learned prefix tokens tau_1..tau_T")
    n_read_layers: int | None = Field(
        default=None, ge=1, description="L compiler layers read, spaced by depth ratio; None = one per interpreter layer"
    )
    mapper_hidden: int = Field(default=256, ge=8)
    mapper_blocks: int = Field(default=2, ge=0, le=16)
    rank: int = Field(default=8, ge=1, le=256)
    n_bases: int = Field(default=16, ge=1, le=512)
    targets: tuple[Target, ...] = ALL_TARGETS
    prefix_length: int = Field(default=8, ge=1, le=256, description="virtual tokens per layer (peft='prefix')")
    max_compiler_tokens: int = Field(default=192, ge=16, description="compiler input kept: the spec and the start of the pseudo-program")


class TrainConfig(BaseModel):
    """How it is trained: not needed to use a checkpoint, but recorded in it."""

    model_config = ConfigDict(extra="forbid")
    steps: int = Field(default=100_000, ge=1, description="optimizer steps (training also stops at max_minutes)")
    max_minutes: float | None = Field(default=None, gt=0)
    specs_per_step: int = Field(default=1, ge=1, description="gradient accumulation: specs per optimizer step")
    examples_per_spec: int = Field(default=6, ge=1)
    lr: float = Field(default=1e-3, gt=0)
    compiler_lr: float = Field(default=3e-4, gt=0)
    weight_decay: float = Field(default=0.01, ge=0)
    warmup_steps: int = Field(default=20, ge=0)
    grad_clip: float = Field(default=1.0, gt=0)
    eval_every: int = Field(default=30, ge=1)
    eval_specs: int = Field(default=8, ge=1, description="validation specs scored (mean NLL) at each evaluation")
    save_every: int = Field(default=30, ge=1)
    seed: int = 0
    threads: int = Field(default=1, ge=1, description="torch threads; 1 is fastest on a busy shared CPU")
    device: str = "cpu"
    dtype: Literal["auto", "fp32", "bf16"] = Field(default="auto", description="auto: bf16 autocast on CUDA that has it, else fp32")
    max_row_tokens: int = Field(default=96, ge=8, description="input+output tokens kept per example")


class HypernetConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    arch: ArchitectureConfig = Field(default_factory=ArchitectureConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    interpreter_base: Path | None = Field(default=None, description="the interpreter GGUF; None = the embedded base")


def preset(name: str) -> HypernetConfig:
    """``tiny`` (tests: seconds), ``cpu`` (this machine, ~1 hour), ``gpu`` (one GPU, larger)."""
    if name == "tiny":
        return HypernetConfig(
            arch=ArchitectureConfig(n_prefix_tokens=2, n_read_layers=2, mapper_hidden=16, mapper_blocks=1, rank=2, n_bases=2,
                                    targets=("q", "v"), prefix_length=2, max_compiler_tokens=96),
            train=TrainConfig(specs_per_step=1, examples_per_spec=2, warmup_steps=0, eval_every=1000, save_every=1000,
                              lr=1e-2, max_row_tokens=48),
        )
    if name == "cpu":
        return HypernetConfig()
    if name == "gpu":
        return HypernetConfig(
            arch=ArchitectureConfig(compiler_train="lora", n_prefix_tokens=32, mapper_hidden=1024, mapper_blocks=3, rank=32,
                                    n_bases=64, max_compiler_tokens=1024),
            train=TrainConfig(specs_per_step=16, examples_per_spec=16, lr=5e-4, compiler_lr=1e-4, warmup_steps=100,
                              eval_every=200, save_every=200, eval_specs=64, device="cuda", threads=8, max_row_tokens=160),
        )
    raise ValueError(f"unknown preset {name!r}; choose tiny, cpu or gpu")

"""The hypernetwork as one module: compiler encoder + mapper, built for a given interpreter base.

:func:`build_hypernet` wires the pieces from an :class:`~.config.ArchitectureConfig`; the same call
rebuilds a checkpoint's network before its weights are loaded (:mod:`.checkpoint`). The mapper is
sized from the interpreter's facts (layers, projection shapes), the encoder's width from the compiler.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from compiler.hypernet.config import ArchitectureConfig
from compiler.hypernet.encoder import CompilerEncoder, load_causal_lm
from compiler.hypernet.mapper import LoraMapper, PrefixMapper
from compiler.torch_base import TorchBase, check_targets


class Hypernet(nn.Module):
    def __init__(self, encoder: CompilerEncoder, mapper: nn.Module, arch: ArchitectureConfig, shares_interpreter: bool) -> None:
        super().__init__()
        self.encoder = encoder
        self.mapper = mapper
        self.arch = arch
        self.shares_interpreter = shares_interpreter  # compiler LM is the interpreter's torch copy

    def forward(self, texts: list[tuple[str, str]], *, autocast_dtype: torch.dtype | None = None):
        """(spec, pseudo-program) pairs -> LoRA dict (peft='lora') or virtual KV (peft='prefix')."""
        pooled = self.encoder(texts, autocast_dtype=autocast_dtype)
        with torch.autocast(pooled.device.type, enabled=False):  # the mapper always runs in fp32
            return self.mapper(pooled.float())

    def trainable_state(self) -> dict[str, torch.Tensor]:
        """What a checkpoint stores: tau, the mapper, and the compiler weights that train (if any)."""
        state = {f"mapper.{k}": v.detach().cpu() for k, v in self.mapper.state_dict().items()}
        state["encoder.tau"] = self.encoder.tau.detach().cpu()
        for key, value in self.encoder.trainable_lm_state().items():
            state[f"encoder.lm.{key}"] = value
        return state

    def load_trainable_state(self, state: dict[str, torch.Tensor]) -> None:
        mapper = {k[len("mapper."):]: v for k, v in state.items() if k.startswith("mapper.")}
        self.mapper.load_state_dict(mapper)
        with torch.no_grad():
            self.encoder.tau.copy_(state["encoder.tau"])
            lm_state = {k[len("encoder.lm."):]: v for k, v in state.items() if k.startswith("encoder.lm.")}
            if lm_state:
                params = dict(self.encoder.lm.named_parameters())
                for key, value in lm_state.items():
                    params[key].copy_(value)


@dataclass(frozen=True)
class CompilerLM:
    """A compiler LM someone already loaded (tests pass tiny ones); ``path`` identifies it."""

    model: nn.Module
    tokenizer: object
    path: str


def compiler_path(arch: ArchitectureConfig, interpreter: TorchBase) -> Path:
    return Path(arch.compiler_base).expanduser() if arch.compiler_base else interpreter.path


def build_hypernet(arch: ArchitectureConfig, interpreter: TorchBase, *, compiler: CompilerLM | None = None, seed: int = 0) -> Hypernet:
    """A fresh hypernetwork for ``interpreter`` (weights seeded). Loads the compiler LM unless given."""
    targets = check_targets(interpreter.facts, tuple(arch.targets))
    shares = False
    if compiler is not None:
        lm, tokenizer = compiler.model, compiler.tokenizer
    else:
        path = compiler_path(arch, interpreter)
        if arch.compiler_train == "prefix" and path.resolve() == interpreter.path.resolve():
            from compiler.hypernet.encoder import load_tokenizer

            lm, shares = interpreter.model, True
            tokenizer = load_tokenizer(path)
        else:
            lm, tokenizer = load_causal_lm(path)
    n_read = arch.n_read_layers or interpreter.facts.n_layer
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        encoder = CompilerEncoder(lm, tokenizer, n_prefix_tokens=arch.n_prefix_tokens, n_read_layers=n_read,
                                  train=arch.compiler_train, lora_rank=arch.compiler_lora_rank,
                                  max_tokens=arch.max_compiler_tokens, seed=seed)
        if arch.peft == "lora":
            mapper: nn.Module = LoraMapper(encoder.d_model, interpreter.facts, targets, rank=arch.rank, n_bases=arch.n_bases,
                                           hidden=arch.mapper_hidden, blocks=arch.mapper_blocks)
        else:
            mapper = PrefixMapper(encoder.d_model, interpreter.facts, prefix_length=arch.prefix_length, n_bases=arch.n_bases,
                                  hidden=arch.mapper_hidden, blocks=arch.mapper_blocks)
    return Hypernet(encoder, mapper, arch, shares)

"""Seeded random LoRA adapters: real GGUF files with no training, for tests and benchmarks.

They exercise exactly the runtime path a fitted adapter takes (export, permutation, llama.cpp
loading, hot-swapping) while costing milliseconds, so swap and memory figures don't wait on training.
"""

from __future__ import annotations

import numpy as np

from pawflow.base import BaseModelInfo


def random_lora_adapter(
    base: BaseModelInfo,
    seed: int,
    *,
    rank: int = 4,
    scale: float = 0.08,
    targets: tuple[str, ...] = ("q", "v"),
    quant: str = "f16",
) -> bytes:
    """A GGUF LoRA adapter for ``base`` with N(0, scale) factors: strong enough to change outputs."""
    from compiler.lora_gguf import LoraPair, export_lora_gguf
    from compiler.torch_base import ROPE_PERMUTED_ARCHITECTURES

    rng = np.random.default_rng(seed)
    head_dim = base.head_dim or base.n_embd // base.n_head
    q_dim, kv_dim = base.n_head * head_dim, base.n_head_kv * head_dim
    out_dims = {"q": q_dim, "k": kv_dim, "v": kv_dim, "o": base.n_embd}
    in_dims = {"q": base.n_embd, "k": base.n_embd, "v": base.n_embd, "o": q_dim}
    pairs = {
        (layer, target): LoraPair(
            a=rng.normal(0, scale, (rank, in_dims[target])).astype(np.float32),
            b=rng.normal(0, scale, (out_dims[target], rank)).astype(np.float32),
        )
        for layer in range(base.n_layer)
        for target in targets
    }
    data, _ = export_lora_gguf(
        pairs,
        architecture=base.architecture,
        alpha=float(rank),
        n_head=base.n_head,
        n_head_kv=base.n_head_kv,
        permute_rope=base.architecture in ROPE_PERMUTED_ARCHITECTURES,
        quant=quant,
    )
    return data

"""The mapper: one pooled compiler vector -> a LoRA (or a KV prefix) for every interpreter layer.

Architecture (the paper's §3.2, sizes from :mod:`.config`), always in fp32:

    pooled (d) -> LayerNorm -> Linear(d, H) -> [x + MLP(LN(x))] * blocks -> LayerNorm
               -> one Linear head -> alpha[A|B, layer, module, basis]
    A[layer, m] = sum_n alpha_A[layer, m, n] * BasisA_m[n] / sqrt(N * in_m)     (rank x in_m)
    B[layer, m] = sum_n alpha_B[layer, m, n] * BasisB_m[n] / sqrt(N * out_m)    (out_m x rank)

The bases are shared by all layers of one module type (q, k, v, o, gate, up, down) and learned with
the mapper; a layer's adapter is a point in that N-dimensional family chosen per spec. Initialisation
mirrors LoRA's: A starts as a random projection, B starts near zero (small, not zero, so gradients reach
the trunk and the compiler from the first step), so an untrained mapper barely changes the interpreter.

The prefix variant (§3.3) uses the same trunk; its head mixes N shared bases of
``(2, prefix_length, kv_heads * head_dim)`` virtual keys/values per layer.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from compiler.torch_base import BaseFacts


class _Block(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 2 * width), nn.GELU(), nn.Linear(2 * width, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.mlp(self.norm(x))


class Trunk(nn.Module):
    def __init__(self, d_in: int, hidden: int, blocks: int) -> None:
        super().__init__()
        self.inp = nn.Sequential(nn.LayerNorm(d_in), nn.Linear(d_in, hidden))
        self.blocks = nn.Sequential(*[_Block(hidden) for _ in range(blocks)])
        self.out = nn.LayerNorm(hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.blocks(self.inp(x.float())))


class LoraMapper(nn.Module):
    """Pooled vectors (batch, d) -> ``{(layer, target): (A (batch, r, in), B (batch, out, r))}``."""

    def __init__(self, d_in: int, facts: "BaseFacts", targets: tuple[str, ...], *, rank: int, n_bases: int,
                 hidden: int, blocks: int) -> None:
        super().__init__()
        self.targets = tuple(targets)
        self.n_layers = facts.n_layer
        self.rank, self.n_bases = rank, n_bases
        self.trunk = Trunk(d_in, hidden, blocks)
        n_out = 2 * self.n_layers * len(self.targets) * n_bases
        self.head = nn.Linear(hidden, n_out)
        with torch.no_grad():
            weight = self.head.weight.view(2, -1, hidden)
            bias = self.head.bias.view(2, -1)
            weight[0].normal_(0.0, 0.02)
            bias[0].normal_(0.0, 1.0)  # A: a random projection from the start
            weight[1].normal_(0.0, 1e-3)
            bias[1].zero_()  # B: near zero, as LoRA starts
        # Unit-variance bases with fixed fan-in / fan-out factors applied in forward: Adam moves every
        # parameter by ~lr per step, so parameters stored at scale 1/sqrt(1536) would change by a large
        # fraction per step (measured: loss spikes to 5-9 at lr 2e-3); at unit scale lr is a relative step.
        self.bases_a = nn.ParameterDict()
        self.bases_b = nn.ParameterDict()
        self.scale_a: dict[str, float] = {}
        self.scale_b: dict[str, float] = {}
        for target in self.targets:
            out_f, in_f = facts.module_shapes[target]
            self.bases_a[target] = nn.Parameter(torch.randn(n_bases, rank, in_f))
            self.bases_b[target] = nn.Parameter(torch.randn(n_bases, out_f, rank))
            self.scale_a[target] = 1.0 / math.sqrt(in_f)
            self.scale_b[target] = 1.0 / math.sqrt(out_f)

    def coefficients(self, pooled: torch.Tensor) -> torch.Tensor:
        """alpha: (batch, 2, layers, targets, bases)."""
        h = self.trunk(pooled)
        return self.head(h).view(h.shape[0], 2, self.n_layers, len(self.targets), self.n_bases)

    def forward(self, pooled: torch.Tensor) -> dict[tuple[int, str], tuple[torch.Tensor, torch.Tensor]]:
        alpha = self.coefficients(pooled) / math.sqrt(self.n_bases)
        out = {}
        for t, target in enumerate(self.targets):
            # (batch, layers, N) x (N, r, in) -> (batch, layers, r, in)
            a_all = torch.einsum("bln,nri->blri", alpha[:, 0, :, t], self.bases_a[target]) * self.scale_a[target]
            b_all = torch.einsum("bln,nor->blor", alpha[:, 1, :, t], self.bases_b[target]) * self.scale_b[target]
            for layer in range(self.n_layers):
                out[(layer, target)] = (a_all[:, layer], b_all[:, layer])
        return out


class PrefixMapper(nn.Module):
    """Pooled vectors (batch, d) -> virtual KV (layers, 2, batch, kv_heads, P, head_dim)."""

    def __init__(self, d_in: int, facts: "BaseFacts", *, prefix_length: int, n_bases: int, hidden: int, blocks: int) -> None:
        super().__init__()
        self.n_layers, self.n_bases = facts.n_layer, n_bases
        self.kv_heads, self.head_dim, self.length = facts.n_head_kv, facts.head_dim, prefix_length
        self.trunk = Trunk(d_in, hidden, blocks)
        self.head = nn.Linear(hidden, self.n_layers * n_bases)
        with torch.no_grad():
            self.head.weight.normal_(0.0, 0.02)
            self.head.bias.normal_(0.0, 1.0)
        self.bases = nn.Parameter(torch.randn(n_bases, 2, prefix_length, self.kv_heads * self.head_dim) * 0.1)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        h = self.trunk(pooled)
        alpha = self.head(h).view(h.shape[0], self.n_layers, self.n_bases) / math.sqrt(self.n_bases)
        kv = torch.einsum("bln,nkpd->lkbpd", alpha, self.bases)  # (layers, 2, batch, P, kv*hd)
        L, _, B, P, _ = kv.shape
        return kv.view(L, 2, B, P, self.kv_heads, self.head_dim).transpose(3, 4)

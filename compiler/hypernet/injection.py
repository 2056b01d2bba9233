"""Differentiable injection of generated adapters into the frozen torch interpreter.

The interpreter is one shared, frozen transformers model (``compiler.torch_base``). Training needs the
adapter to be a *function of the hypernetwork's output*, per example, inside the forward pass, so peft
(one adapter, weights as parameters) does not fit. Instead each adapted ``nn.Linear`` is wrapped by a
:class:`HyperLoraLinear` that adds ``x @ A^T @ B^T`` with ``A``/``B`` set per call — shape ``(r, in)``
for one adapter on the whole batch or ``(batch, r, in)`` for one per example. Gradients flow to ``A``/``B``
(and so to the mapper and compiler); the wrapped weights keep ``requires_grad=False`` and never get one.

The wrappers are installed for the duration of a ``with`` block and the original modules put back on
exit (also on errors), because the torch base is cached per process and shared with ``fit``.

For the prefix-tuning variant, :func:`prefix_cache` builds a KV cache whose first entries are the
generated per-layer keys/values; the real tokens attend to them like to earlier tokens.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from compiler.torch_base import TARGET_MODULES, decoder_layers

if TYPE_CHECKING:
    import torch

_LOCK = threading.Lock()


def _linear_wrapper_class():
    import torch
    from torch import nn

    class HyperLoraLinear(nn.Module):
        """``base(x) + (x A^T) B^T`` with ``A``, ``B`` supplied per forward (None: the bare base)."""

        def __init__(self, base: nn.Linear) -> None:
            super().__init__()
            self.base = base
            self.a: torch.Tensor | None = None
            self.b: torch.Tensor | None = None

        @property
        def weight(self) -> torch.Tensor:  # transformers reads .weight (dtype/device checks)
            return self.base.weight

        @property
        def bias(self):
            return self.base.bias

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.base(x)
            if self.a is None or self.b is None:
                return y
            a, b = self.a.to(x.dtype), self.b.to(x.dtype)
            if a.dim() == 2:
                return y + (x @ a.transpose(0, 1)) @ b.transpose(0, 1)
            # per example: x (B, S, in), a (B, r, in), b (B, out, r); a batch of 1 broadcasts
            h = torch.matmul(x, a.transpose(-1, -2))
            return y + torch.matmul(h, b.transpose(-1, -2))

    return HyperLoraLinear


class Injector:
    """Handles to the installed wrappers: set a generated adapter, or clear it."""

    def __init__(self, wrappers: dict[tuple[int, str], "torch.nn.Module"]) -> None:
        self.wrappers = wrappers

    def set(self, lora: Mapping[tuple[int, str], tuple["torch.Tensor", "torch.Tensor"]]) -> None:
        self.clear()
        for key, (a, b) in lora.items():
            wrapper = self.wrappers[key]
            wrapper.a, wrapper.b = a, b

    def clear(self) -> None:
        for wrapper in self.wrappers.values():
            wrapper.a = wrapper.b = None

    @contextlib.contextmanager
    def suspended(self) -> Iterator[None]:
        """Run the bare base inside the block (e.g. the compiler LM when it shares weights)."""
        saved = {k: (w.a, w.b) for k, w in self.wrappers.items()}
        self.clear()
        try:
            yield
        finally:
            for key, (a, b) in saved.items():
                self.wrappers[key].a, self.wrappers[key].b = a, b


@contextlib.contextmanager
def injected(model: "torch.nn.Module", targets: tuple[str, ...]) -> Iterator[Injector]:
    """Wrap ``targets`` of every decoder layer for the block; the original modules come back on exit."""
    wrapper_class = _linear_wrapper_class()
    installed: list[tuple["torch.nn.Module", str, "torch.nn.Module"]] = []
    wrappers: dict[tuple[int, str], torch.nn.Module] = {}
    with _LOCK:
        try:
            for index, layer in enumerate(decoder_layers(model)):
                for target in targets:
                    *parents, leaf = TARGET_MODULES[target][0].split(".")
                    parent = layer
                    for part in parents:
                        parent = getattr(parent, part)
                    original = getattr(parent, leaf)
                    wrapper = wrapper_class(original)
                    setattr(parent, leaf, wrapper)
                    installed.append((parent, leaf, original))
                    wrappers[(index, target)] = wrapper
            yield Injector(wrappers)
        finally:
            for parent, leaf, original in reversed(installed):
                setattr(parent, leaf, original)


def prefix_cache(model: "torch.nn.Module", kv: "torch.Tensor"):
    """A DynamicCache holding generated virtual tokens: ``kv`` is (layers, 2, batch, kv_heads, P, head_dim)."""
    from transformers import DynamicCache

    cache = DynamicCache(config=model.config)
    for layer in range(kv.shape[0]):
        cache.update(kv[layer, 0], kv[layer, 1], layer)
    return cache

"""Backends by name. A backend is any class implementing :class:`pawflow.backends.base.Backend`.

Only llama.cpp ships today. The registry is the seam for a transformers backend (training parity:
same weights, torch forward) and an OpenAI-compatible multi-LoRA backend (vLLM serving many adapters
on a GPU, for scale-out): each registers a ``module:Class`` here and is chosen with ``backend =`` in
pawflow.toml or ``PAWFLOW_BACKEND``; its import stays lazy so ``import pawflow`` stays light.
"""

from __future__ import annotations

import importlib

from pawflow.errors import ConfigError

BACKENDS: dict[str, str] = {
    "llama.cpp": "pawflow.backends.llamacpp:LlamaCppBackend",
    "openai-lora": "pawflow.backends.openai_lora:OpenAILoraBackend",
}


def backend_class(name: str) -> type:
    """Resolve a backend name to its class, importing it only now."""
    try:
        target = BACKENDS[name]
    except KeyError:
        raise ConfigError(f"unknown backend {name!r}; available: {', '.join(sorted(BACKENDS))}") from None
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)

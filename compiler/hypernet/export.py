"""A trained checkpoint -> for any spec, a GGUF LoRA adapter + pseudo-program, in one forward pass.

This is the paper's compile step: the compiler LM reads the spec and pseudo-program, the mapper emits
the adapter, and it is written in llama.cpp's adapter format by the same exporter ``fit`` uses
(``compiler.lora_gguf``: tensor names, A/B orientation, q/k RoPE row permutation, quantization). The
mapper's A/B already include LoRA's scale, so the file's ``alpha`` equals its rank (scale 1).

Loaded hypernetworks are cached per process (checkpoint path + mtime), so compiling many specs pays
the model load once.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from compiler.lora_gguf import AdapterQuant, LoraPair, export_lora_gguf
from pawflow.errors import CompileError

_CACHE: dict[tuple[str, int, str], tuple[object, object]] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class CompiledAdapter:
    adapter: bytes
    pairs: dict
    seconds: float  # the forward pass + export, without loading the model


def loaded(checkpoint: str | Path, base_path: Path):
    """(hypernet, CheckpointInfo) for ``checkpoint`` on the interpreter ``base_path`` (cached per process)."""
    from compiler.hypernet.checkpoint import CONFIG, MODEL, load_hypernet
    from compiler.torch_base import load_torch_base

    directory = Path(checkpoint).expanduser()
    if not (directory / CONFIG).is_file():
        raise CompileError(f"{directory}: not a hypernet checkpoint (no {CONFIG})",
                           hint="train one with `python bench/train_hypernet.py`, then pass --checkpoint DIR")
    key = (str(directory.resolve()), (directory / MODEL).stat().st_mtime_ns if (directory / MODEL).is_file() else 0, str(base_path))
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = load_hypernet(directory, load_torch_base(base_path))
        return _CACHE[key]


def generate_pairs(hyper, spec: str, pseudo_program: str) -> dict[tuple[int, str], LoraPair]:
    """The adapter for one spec as numpy pairs in torch's row order."""
    import torch

    if hyper.arch.peft != "lora":
        raise CompileError(
            "this checkpoint generates KV prefixes (peft='prefix'), which llama.cpp programs cannot carry",
            hint="prefix checkpoints are for the §3.3 comparison in torch; train with --peft lora to compile programs",
        )
    with torch.no_grad():
        lora = hyper([(spec, pseudo_program)])
    return {
        key: LoraPair(a=a[0].float().cpu().numpy().copy(), b=b[0].float().cpu().numpy().copy())
        for key, (a, b) in lora.items()
    }


def compile_adapter(hyper, facts, spec: str, pseudo_program: str, *, quant: AdapterQuant = "q8_0", name: str = "pawflow-hypernet") -> CompiledAdapter:
    started = time.perf_counter()
    pairs = generate_pairs(hyper, spec, pseudo_program)
    rank = hyper.arch.rank
    data, _ = export_lora_gguf(
        pairs, architecture=facts.architecture, alpha=float(rank), n_head=facts.n_head, n_head_kv=facts.n_head_kv,
        permute_rope=facts.rope_permuted, quant=quant, name=name,
    )
    return CompiledAdapter(adapter=data, pairs=pairs, seconds=time.perf_counter() - started)

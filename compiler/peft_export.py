"""A program's LoRA adapter as a PEFT folder: what vLLM (``--enable-lora``) and ``peft`` load.

A ``.paw`` stores its adapter the way llama.cpp wants it (GGUF, ``blk.N.attn_q.weight.lora_a`` names,
q/k ``lora_b`` rows in llama.cpp's interleaved RoPE order). A GPU server hosting the original Hugging
Face weights wants the same numbers the way peft saves them:

* ``adapter_model.safetensors`` with peft's names
  (``base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight`` ``(rank, in)``, ``lora_B``
  ``(out, rank)``) — the orientation is the same as GGUF's in numpy order, only the names change;
* the q/k ``lora_B`` rows put back in Hugging Face's rotate-half order
  (:func:`compiler.lora_gguf.rope_unpermute_rows`) for llama-family bases, whose GGUF conversion
  permuted them — skipping this gives an adapter that loads fine and does the wrong thing to q/k;
* ``adapter_config.json`` with ``r``, ``lora_alpha`` (peft's scale ``lora_alpha / r`` is the same as
  llama.cpp's ``adapter.lora.alpha / rank``), ``target_modules`` and ``base_model_name_or_path``.

The export is checked numerically in tests/integrations/scale/test_peft_export.py: peft applying the
exported folder to the torch model changes the next-token logits like llama.cpp applying the ``.paw``.
Reading the adapter needs only ``gguf`` and numpy, writing it ``safetensors``: no torch.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict

from pawflow.errors import CompileError, ConfigError
from pawflow.program import Program

CONFIG_FILE = "adapter_config.json"
WEIGHTS_FILE = "adapter_model.safetensors"
MARKER_FILE = "pawflow_export.json"  # says which program a folder came from (and that it may be replaced)

# Where a base model's original weights live on the Hugging Face hub, for the bases pawflow ships or
# documents; any other base needs --base-model-id. Matched against the GGUF file name and model name.
KNOWN_BASE_IDS: tuple[tuple[str, str], ...] = (
    (r"smollm2[-_ ]?135m", "HuggingFaceTB/SmolLM2-135M-Instruct"),
    (r"gemma[-_ ]?3[-_ ]?270m", "google/gemma-3-270m-it"),
    (r"qwen3[-_ ]?0\.6b", "Qwen/Qwen3-0.6B"),
)


class PeftExport(BaseModel):
    """What :func:`export_peft` wrote."""

    model_config = ConfigDict(frozen=True)
    directory: str
    program: str
    adapter_name: str  # the name pawflow's openai-lora backend asks a server for
    base_model_id: str
    rank: int
    alpha: float
    target_modules: list[str]
    layers: int
    rope_unpermuted: bool
    tensors: int


def guess_base_model_id(program: Program) -> str | None:
    """The hub id of the base a program was compiled for, when it is one pawflow knows."""
    base = program.meta.pawflow.base if program.meta.pawflow else None
    haystack = " ".join(filter(None, [base.file if base else "", base.name if base else "", program.meta.interpreter])).lower()
    for pattern, model_id in KNOWN_BASE_IDS:
        if re.search(pattern, haystack):
            return model_id
    return None


def peft_tensors(program: Program, *, unpermute_rope: bool | None = None) -> tuple[dict[str, np.ndarray], dict]:
    """The adapter's tensors under peft's names, and the facts adapter_config.json needs.

    ``unpermute_rope=None`` decides from the base's architecture (llama family: yes); passing False
    exists only so a test can show what skipping it breaks.
    """
    from compiler.lora_gguf import load_lora_pairs, read_lora_gguf
    from compiler.torch_base import ROPE_PERMUTED_ARCHITECTURES, TARGET_MODULES

    if program.adapter is None:
        raise CompileError(
            f"program {program.name!r} is prompt-only: it has no adapter to export",
            hint="a server runs it on the bare base model (the openai-lora backend sends it to the base model name)",
        )
    base = program.meta.pawflow.base if program.meta.pawflow else None
    header = read_lora_gguf(program.adapter)
    if base is None:
        raise CompileError(f"program {program.name!r} has no pawflow metadata: its base's head counts are unknown",
                           hint="recompile it with pawflow, or export from the SDK's own tools")
    if unpermute_rope is None:
        unpermute_rope = base.architecture in ROPE_PERMUTED_ARCHITECTURES
    pairs = load_lora_pairs(program.adapter, n_head=base.n_head, n_head_kv=base.n_head_kv, unpermute_rope=unpermute_rope)
    ranks = {pair.rank for pair in pairs.values()}
    if len(ranks) != 1:
        raise CompileError(f"adapter of {program.name!r} mixes ranks {sorted(ranks)}; peft needs one rank per adapter")
    tensors: dict[str, np.ndarray] = {}
    for (layer, target), pair in sorted(pairs.items()):
        module = f"base_model.model.model.layers.{layer}.{TARGET_MODULES[target][0]}"
        tensors[f"{module}.lora_A.weight"] = np.ascontiguousarray(pair.a, dtype=np.float32)
        tensors[f"{module}.lora_B.weight"] = np.ascontiguousarray(pair.b, dtype=np.float32)
    layers = sorted({layer for layer, _ in pairs})
    facts = {
        "rank": ranks.pop(),
        "alpha": float(header.alpha),
        "target_modules": sorted({TARGET_MODULES[target][0].rsplit(".", 1)[-1] for _, target in pairs}),
        "layers": layers,
        "all_layers": layers == list(range(base.n_layer)),
        "rope_unpermuted": bool(unpermute_rope),
    }
    return tensors, facts


def adapter_config(facts: dict, base_model_id: str) -> dict:
    """peft's LoraConfig for these tensors, as the JSON ``PeftModel.from_pretrained`` and vLLM read."""
    return {
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "base_model_name_or_path": base_model_id,
        "r": facts["rank"],
        "lora_alpha": facts["alpha"],
        "lora_dropout": 0.0,
        "target_modules": facts["target_modules"],
        "layers_to_transform": None if facts["all_layers"] else facts["layers"],
        "bias": "none",
        "fan_in_fan_out": False,
        "use_rslora": False,
        "use_dora": False,
        "modules_to_save": None,
        "inference_mode": True,
    }


def export_peft(
    program: Program | str | Path,
    directory: str | Path,
    *,
    base_model_id: str | None = None,
    unpermute_rope: bool | None = None,
) -> PeftExport:
    """Write ``directory/`` (adapter_config.json + adapter_model.safetensors) for ``program``.

    Atomic as a folder: everything is written to a sibling temporary folder, fsynced and renamed in
    place, so a crash leaves the previous export or none. An existing folder is replaced only when it
    is an earlier pawflow export (it holds ``pawflow_export.json``) or empty; anything else is refused.
    """
    from safetensors.numpy import save_file

    from pawflow.backends.openai_lora import remote_model_name

    if not isinstance(program, Program):
        program = Program.read(program)
    model_id = base_model_id or guess_base_model_id(program)
    if not model_id:
        base = program.meta.pawflow.base if program.meta.pawflow else None
        raise ConfigError(
            f"cannot tell which Hugging Face model {program.name!r}'s base ({base.file if base else program.meta.interpreter}) is",
            hint="pass --base-model-id ORG/NAME: the model the GPU server runs, e.g. HuggingFaceTB/SmolLM2-135M-Instruct",
        )
    tensors, facts = peft_tensors(program, unpermute_rope=unpermute_rope)
    target = Path(directory)
    if target.exists():
        if not target.is_dir():
            raise ConfigError(f"{target} exists and is not a folder")
        if any(target.iterdir()) and not (target / MARKER_FILE).is_file():
            raise ConfigError(f"{target} is not empty and is not a pawflow export; refusing to replace it",
                              hint="choose a new folder, e.g. adapters/" + remote_model_name(program))
    target.parent.mkdir(parents=True, exist_ok=True)
    name = remote_model_name(program)
    marker = {
        "program": program.name,
        "program_id": program.meta.program_id,
        "adapter_sha256": program.adapter_sha256,
        "adapter_name": name,
        "base_model_id": model_id,
        "rope_unpermuted": facts["rope_unpermuted"],
    }
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        save_file(tensors, str(staging / WEIGHTS_FILE), metadata={"format": "pt"})
        (staging / CONFIG_FILE).write_text(json.dumps(adapter_config(facts, model_id), indent=2) + "\n", encoding="utf-8")
        (staging / MARKER_FILE).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        for member in staging.iterdir():
            with open(member, "rb") as handle:
                os.fsync(handle.fileno())
        os.chmod(staging, 0o755)
        if target.exists():
            old = target.with_name(f".{target.name}.old.{os.getpid()}")
            os.replace(target, old)
            os.replace(staging, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return PeftExport(
        directory=str(target),
        program=program.name,
        adapter_name=name,
        base_model_id=model_id,
        rank=facts["rank"],
        alpha=facts["alpha"],
        target_modules=facts["target_modules"],
        layers=len(facts["layers"]),
        rope_unpermuted=facts["rope_unpermuted"],
        tensors=len(tensors),
    )

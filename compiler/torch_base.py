"""The interpreter's base model as a torch module, loaded from the very GGUF llama.cpp runs.

Training a LoRA against the original fp16/bf16 checkpoint and running it on a 4-bit GGUF would fit
the adapter to weights the runtime never sees. transformers can dequantize a GGUF into fp32 torch
weights, so the adapter is fitted to exactly the (dequantized) numbers llama.cpp multiplies by.

Dequantizing takes ~15 s of CPU for SmolLM2-135M (over a minute of wall time on a busy machine), so
the pristine model is cached per process, keyed by the file's resolved path, size and mtime, and its
dequantized tensors are cached on disk (``<cache>/torch-base/<base sha256>.safetensors``): a later
process builds the model from the GGUF's config and loads those tensors instead of dequantizing again.
The file is keyed by the base's content hash and written atomically, so a changed base never reuses
stale tensors and an interrupted write leaves nothing behind. ``PAWFLOW_TORCH_BASE_CACHE=0`` turns it off. Callers must not leave modifications on it: :func:`fit_lora`
wraps it with peft and unloads the LoRA layers again in a ``finally``.
"""

from __future__ import annotations

import contextlib
import io
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from pawflow.base import BaseModelInfo, inspect_base
from pawflow.errors import BaseModelError

if TYPE_CHECKING:  # torch is heavy; import it only where a model is actually loaded
    import torch

LoraTarget = Literal["q", "k", "v", "o", "gate", "up", "down"]

# Short target name -> (module path inside one decoder layer in transformers, GGUF tensor stem).
# The same names hold for every decoder-only family pawflow supports (Llama/SmolLM2, Gemma 3, Qwen3).
TARGET_MODULES: dict[str, tuple[str, str]] = {
    "q": ("self_attn.q_proj", "attn_q"),
    "k": ("self_attn.k_proj", "attn_k"),
    "v": ("self_attn.v_proj", "attn_v"),
    "o": ("self_attn.o_proj", "attn_output"),
    "gate": ("mlp.gate_proj", "ffn_gate"),
    "up": ("mlp.up_proj", "ffn_up"),
    "down": ("mlp.down_proj", "ffn_down"),
}

# Architectures whose HF->GGUF conversion reorders q/k rows for llama.cpp's interleaved RoPE.
# transformers undoes the reorder on load, so a LoRA fitted in torch lives in the un-permuted
# layout and its q/k ``lora_b`` rows must be permuted again on export (see lora_gguf.rope_permute_rows).
ROPE_PERMUTED_ARCHITECTURES = frozenset({"llama"})


class BaseFacts(BaseModel):
    """What the exporter and the trainer need to know about a base, independent of torch."""

    model_config = ConfigDict(frozen=True)

    architecture: str
    n_layer: int
    n_embd: int
    n_head: int
    n_head_kv: int
    head_dim: int
    # target -> (out_features, in_features) of that projection, identical in every layer
    module_shapes: dict[str, tuple[int, int]]
    rope_permuted: bool

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(self.module_shapes)


@dataclass(frozen=True)
class TorchBase:
    """A loaded base: the fp32 torch model (eval mode, frozen) with its identity and facts."""

    path: Path
    info: BaseModelInfo
    facts: BaseFacts
    model: "torch.nn.Module"

    def layers(self) -> list["torch.nn.Module"]:
        return list(decoder_layers(self.model))


def decoder_layers(model: "torch.nn.Module") -> "torch.nn.ModuleList":
    """The decoder blocks of a causal LM, whatever wrapper (peft, ForCausalLM) sits around them."""
    inner = model
    for attr in ("base_model", "model"):
        # PeftModel.base_model -> LoraModel.model -> XForCausalLM.model -> XModel.layers
        while hasattr(inner, attr) and not hasattr(inner, "layers"):
            inner = getattr(inner, attr)
    layers = getattr(inner, "layers", None)
    if layers is None:
        raise BaseModelError(f"{type(model).__name__} has no decoder layers where pawflow expects them")
    return layers


_CACHE: dict[tuple[str, int, int], TorchBase] = {}
_LOCK = threading.Lock()
_TRAIN_LOCK = threading.Lock()


@contextlib.contextmanager
def _quiet_loading():
    """transformers draws two tqdm bars per GGUF load; pawflow shows its own progress instead.

    The GGUF loader calls tqdm directly (no transformers switch turns it off) and tqdm reads
    TQDM_DISABLE only at import, so stderr is captured for the few seconds of the load. Errors still
    surface as exceptions; the cost is that another thread's stderr output in that window is lost.
    """
    with contextlib.redirect_stderr(io.StringIO()):
        yield


def _facts(model: "torch.nn.Module", info: BaseModelInfo) -> BaseFacts:
    layer0 = decoder_layers(model)[0]
    shapes: dict[str, tuple[int, int]] = {}
    for target, (module_path, _) in TARGET_MODULES.items():
        module = layer0
        for part in module_path.split("."):
            module = getattr(module, part, None)
            if module is None:
                break
        weight = getattr(module, "weight", None)
        if weight is not None and weight.dim() == 2:
            shapes[target] = (int(weight.shape[0]), int(weight.shape[1]))
    config = model.config
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    return BaseFacts(
        architecture=info.architecture,
        n_layer=info.n_layer,
        n_embd=info.n_embd,
        n_head=info.n_head,
        n_head_kv=info.n_head_kv,
        head_dim=int(head_dim),
        module_shapes=shapes,
        rope_permuted=info.architecture in ROPE_PERMUTED_ARCHITECTURES,
    )


def load_torch_base(path: str | Path) -> TorchBase:
    """Load (or reuse) a base GGUF as an fp32 transformers model with all weights frozen."""
    path = Path(path)
    info = inspect_base(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            return cached
        import torch
        from transformers import AutoModelForCausalLM
        from transformers.utils import logging as hf_logging

        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()
        try:
            with _quiet_loading():
                model = _from_tensor_cache(path, info)
                if model is None:
                    model = AutoModelForCausalLM.from_pretrained(
                        str(path.parent), gguf_file=path.name, dtype=torch.float32
                    )
                    _write_tensor_cache(model, info)
        except Exception as exc:  # transformers raises ValueError/KeyError/RuntimeError for unsupported files
            raise BaseModelError(
                f"{path}: transformers cannot load this GGUF for training ({type(exc).__name__}: {exc})",
                hint="LoRA compiling needs an architecture transformers' GGUF loader supports "
                "(llama, gemma3, qwen3, ...); prompt-only programs work on any base",
            ) from exc
        finally:
            hf_logging.set_verbosity(verbosity)
        model.eval()
        for parameter in model.parameters():
            parameter.requires_grad_(False)
        base = TorchBase(path=path, info=info, facts=_facts(model, info), model=model)
        _CACHE[key] = base
        return base


def tensor_cache_path(info: BaseModelInfo) -> Path | None:
    """Where the dequantized tensors of this base are cached on disk (None: caching is off)."""
    import os

    from pawflow.config import cache_root

    if os.environ.get("PAWFLOW_TORCH_BASE_CACHE", "1") == "0" or not info.sha256:
        return None
    return cache_root() / "torch-base" / f"{info.sha256}.safetensors"


def _from_tensor_cache(path: Path, info: BaseModelInfo):
    """The model built from the GGUF's config with cached tensors, or None when there is no usable cache."""
    cached = tensor_cache_path(info)
    if cached is None or not cached.is_file():
        return None
    import torch
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModelForCausalLM

    try:
        config_file = cached.with_suffix(".config.json")
        if config_file.is_file():  # parsing the GGUF's metadata again costs seconds
            config = AutoConfig.from_pretrained(str(config_file))
        else:
            config = AutoConfig.from_pretrained(str(path.parent), gguf_file=path.name)
        try:  # skip the random initialisation the cached tensors overwrite anyway
            from transformers.initialization import no_init_weights
        except ImportError:  # pragma: no cover - older transformers layout
            from transformers.modeling_utils import no_init_weights
        # Not on the meta device: non-persistent buffers (RoPE frequencies) are computed at construction.
        with no_init_weights():
            model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        state = load_file(str(cached))
        missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
        model.tie_weights()
        still_meta = [name for name, p in model.named_parameters() if p.device.type == "meta"]
        if unexpected or still_meta:
            return None  # a cache written by another transformers layout: dequantize again
        for name, buffer in model.named_buffers():
            if buffer.device.type == "meta":
                return None
        return model
    except Exception:  # an unreadable or partial cache file is only a missed shortcut
        return None


def _write_tensor_cache(model, info: BaseModelInfo) -> None:
    cached = tensor_cache_path(info)
    if cached is None:
        return
    from safetensors.torch import save_file

    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        state = {name: tensor.contiguous() for name, tensor in model.state_dict().items()}
        # tied weights share storage; safetensors refuses shared tensors, so keep one name per storage
        seen: set[int] = set()
        unique = {}
        for name, tensor in state.items():
            key = tensor.data_ptr()
            if key in seen:
                continue
            seen.add(key)
            unique[name] = tensor
        import os
        import tempfile

        # safetensors writes by path: write a temporary file in the same folder, then rename (atomic).
        fd, tmp_name = tempfile.mkstemp(dir=cached.parent, prefix=f".{cached.name}.", suffix=".tmp")
        os.close(fd)
        try:
            save_file(unique, tmp_name)
            os.replace(tmp_name, cached)
            from pawflow.storage import atomic_write_text

            atomic_write_text(cached.with_suffix(".config.json"), model.config.to_json_string())
        finally:
            Path(tmp_name).unlink(missing_ok=True)
    except OSError:
        return  # a read-only or full cache directory only costs the next process a dequantization


def clear_cache(path: str | Path | None = None) -> None:
    """Drop one cached model (``path``) or all of them (tests; a long-lived process switching bases)."""
    with _LOCK:
        if path is None:
            _CACHE.clear()
            return
        resolved = str(Path(path).resolve())
        for key in [k for k in _CACHE if k[0] == resolved]:
            del _CACHE[key]


# --------------------------------------------------------------------------- LoRA on the torch side


def _module_at(root: "torch.nn.Module", dotted: str) -> "torch.nn.Module":
    module = root
    for part in dotted.split("."):
        module = getattr(module, part)
    return module


def check_targets(facts: BaseFacts, targets: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Validate LoRA targets against what this base has, keeping pawflow's canonical order."""
    unknown = [t for t in targets if t not in TARGET_MODULES]
    if unknown:
        raise BaseModelError(f"unknown LoRA target(s) {unknown}; choose from {', '.join(TARGET_MODULES)}")
    missing = [t for t in targets if t not in facts.module_shapes]
    if missing:
        raise BaseModelError(f"base ({facts.architecture}) has no {missing} projection(s) to adapt")
    if not targets:
        raise BaseModelError("at least one LoRA target is needed")
    return tuple(t for t in TARGET_MODULES if t in targets)


@contextlib.contextmanager
def attached_lora(base: TorchBase, *, rank: int, alpha: float, targets: tuple[str, ...], seed: int):
    """Wrap the cached base with fresh peft LoRA layers for the duration of the block.

    peft edits the module tree in place, and the base is shared per process, so the LoRA layers are
    always unloaded again on exit (also on Ctrl-C), leaving the cached model as it was loaded.
    Initialization (peft: kaiming-uniform A, zero B) draws from a forked, seeded RNG so the same
    seed gives the same adapter without disturbing the caller's global RNG state.
    """
    import torch
    from peft import LoraConfig, get_peft_model

    targets = check_targets(base.facts, targets)
    module_names = sorted({TARGET_MODULES[t][0].split(".")[-1] for t in targets})
    config = LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=0.0, target_modules=module_names, bias="none")
    # One LoRA at a time per cached model: a second fit in another thread waits instead of
    # wrapping the already-wrapped modules.
    with _TRAIN_LOCK:
        with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
            # peft calls a transformers method deprecated in 5.x; nothing the user can act on.
            warnings.simplefilter("ignore", FutureWarning)
            torch.manual_seed(seed)
            peft_model = get_peft_model(base.model, config)
        try:
            yield peft_model
        finally:
            peft_model.unload()
            for parameter in base.model.parameters():
                parameter.requires_grad_(False)


def lora_modules(peft_model: "torch.nn.Module", targets: tuple[str, ...]) -> dict[tuple[int, str], "torch.nn.Module"]:
    """``{(layer, target): peft LoRA layer}`` for every adapted projection."""
    found: dict[tuple[int, str], torch.nn.Module] = {}
    for index, layer in enumerate(decoder_layers(peft_model)):
        for target in targets:
            module = _module_at(layer, TARGET_MODULES[target][0])
            if not hasattr(module, "lora_A"):
                raise BaseModelError(f"layer {index} {target}: peft did not wrap this projection")
            found[(index, target)] = module
    return found


def lora_state(peft_model: "torch.nn.Module", targets: tuple[str, ...]):
    """The LoRA weights as exportable numpy pairs (a: rank x in, b: out x rank), HF row order."""
    from compiler.lora_gguf import LoraPair

    pairs = {}
    for key, module in lora_modules(peft_model, targets).items():
        a = module.lora_A["default"].weight.detach().to("cpu").float().numpy().copy()
        b = module.lora_B["default"].weight.detach().to("cpu").float().numpy().copy()
        pairs[key] = LoraPair(a=a, b=b)
    return pairs


def set_lora_state(peft_model: "torch.nn.Module", pairs) -> None:
    """Load numpy pairs into the peft LoRA layers (e.g. a seeded random adapter, or a checkpoint)."""
    import torch

    targets = tuple(sorted({target for _, target in pairs}, key=list(TARGET_MODULES).index))
    modules = lora_modules(peft_model, targets)
    with torch.no_grad():
        for key, pair in pairs.items():
            modules[key].lora_A["default"].weight.copy_(torch.from_numpy(pair.a))
            modules[key].lora_B["default"].weight.copy_(torch.from_numpy(pair.b))

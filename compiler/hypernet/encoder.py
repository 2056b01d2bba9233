"""The compiler LM: reads ``[spec | pseudo-program | EOS | tau_1..tau_T]`` and returns one pooled vector.

Any causal LM transformers can load works: a GGUF file (through ``gguf_file=``, dequantized to fp32)
or a model directory; the default is the embedded SmolLM2-135M the interpreter runs. The T prefix
tokens tau are learned embeddings appended after the EOS; their hidden states, read from L layers
spaced by depth ratio (layer ``round((i + 1) * n / L)`` for i < L), are mean-pooled over layers and
positions into the vector the mapper reads.

What trains (``compiler_train``):

* ``prefix`` (CPU default): only tau. The LM stays frozen, so autograd follows only the T prefix
  positions (the spec's tokens need no graph) and the backward through the compiler costs T tokens.
  When the compiler and the interpreter are the same file, one torch copy serves both (the injector
  is suspended while the compiler runs): 540 MB instead of 1 GB.
* ``lora``: tau + a peft LoRA on the compiler's attention (its own copy of the LM).
* ``full``: tau + every compiler weight (its own copy; GPU).
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import torch
from torch import nn

from pawflow.errors import BaseModelError


def load_tokenizer(path: Path):
    """The HF tokenizer of a GGUF file or model directory; a GGUF's is cached on disk once converted.

    Converting a GGUF's vocabulary into a transformers tokenizer takes 20-70 s on a busy 2-core machine;
    the converted tokenizer is saved under ``<cache>/hypernet/tokenizers/<sha256>`` and reloads in about a
    second. Keyed by the file's content hash, written to a temporary directory and renamed into place.
    """
    import os
    import shutil
    import tempfile

    from transformers import AutoTokenizer

    if not path.is_file():
        return AutoTokenizer.from_pretrained(str(path))
    from pawflow.base import cached_sha256
    from pawflow.config import cache_root

    cached = cache_root() / "hypernet" / "tokenizers" / cached_sha256(path)
    if (cached / "tokenizer_config.json").is_file():
        try:
            return AutoTokenizer.from_pretrained(str(cached))
        except Exception:  # an unreadable cache is only a missed shortcut
            pass
    with contextlib.redirect_stderr(io.StringIO()):
        tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".tok-", dir=cached.parent))
        tokenizer.save_pretrained(str(staging))
        try:
            os.replace(staging, cached)
        except OSError:  # another process won the race: keep theirs
            shutil.rmtree(staging, ignore_errors=True)
    except OSError:
        pass
    return tokenizer


def load_causal_lm(path: Path):
    """(model, tokenizer) for a GGUF file or a transformers model directory, fp32, eval mode, frozen."""
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # transformers' GGUF loader draws tqdm bars
            if path.is_file():
                model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
            else:
                model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32)
        tokenizer = load_tokenizer(path)
    except Exception as exc:  # transformers raises many types for files it cannot read
        raise BaseModelError(f"{path}: transformers cannot load this compiler LM ({type(exc).__name__}: {exc})") from exc
    finally:
        hf_logging.set_verbosity(verbosity)
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model, tokenizer


def read_layers(n_compiler_layers: int, n_read: int) -> list[int]:
    """Indices into ``hidden_states`` (0 = embeddings) of ``n_read`` layers spaced by depth ratio."""
    n_read = max(1, min(n_read, n_compiler_layers))
    return sorted({max(1, round((i + 1) * n_compiler_layers / n_read)) for i in range(n_read)})


class CompilerEncoder(nn.Module):
    """Compiler LM + learned prefix tokens -> pooled hidden state (batch, d)."""

    def __init__(self, lm: nn.Module, tokenizer, *, n_prefix_tokens: int, n_read_layers: int, train: str,
                 lora_rank: int = 8, max_tokens: int = 512, seed: int = 0) -> None:
        super().__init__()
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.train_mode = train
        config = lm.config
        self.d_model = int(config.hidden_size)
        self.layers = read_layers(int(config.num_hidden_layers), n_read_layers)
        if train == "lora":
            from peft import LoraConfig, get_peft_model

            lm = get_peft_model(lm, LoraConfig(r=lora_rank, lora_alpha=2 * lora_rank, target_modules=["q_proj", "v_proj"], lora_dropout=0.0))
        elif train == "full":
            for parameter in lm.parameters():
                parameter.requires_grad_(True)
        # the LM is registered as a submodule only when some of it trains (its weights then go in checkpoints)
        if train == "prefix":
            self.__dict__["lm"] = lm
        else:
            self.lm = lm
        embeddings = lm.get_input_embeddings().weight.detach()
        generator = torch.Generator().manual_seed(seed)
        picks = torch.randint(0, embeddings.shape[0], (n_prefix_tokens,), generator=generator)
        self.tau = nn.Parameter(embeddings[picks].clone().float())
        eos = tokenizer.eos_token_id
        if eos is None:
            raise BaseModelError("the compiler LM's tokenizer has no EOS token")
        self.eos = int(eos)

    def trainable_lm_state(self) -> dict[str, torch.Tensor]:
        """The compiler-LM weights that train (LoRA or all), for checkpoints; empty for ``prefix``."""
        if self.train_mode == "prefix":
            return {}
        return {k: v.detach().cpu() for k, v in self.lm.named_parameters() if v.requires_grad}

    def token_ids(self, spec: str, pseudo_program: str) -> list[int]:
        ids = self.tokenizer(f"{spec.strip()}\n\n{pseudo_program.strip()}", add_special_tokens=False)["input_ids"]
        return list(ids)[: self.max_tokens - len(self.tau) - 1] + [self.eos]

    def forward(self, texts: list[tuple[str, str]], *, autocast_dtype: torch.dtype | None = None) -> torch.Tensor:
        """``texts``: (spec, pseudo-program) pairs -> (batch, d) in fp32. One LM pass per text (no padding)."""
        lm = self.lm
        embed = lm.get_input_embeddings()
        device = self.tau.device
        pooled = []
        for spec, pseudo in texts:
            ids = torch.tensor([self.token_ids(spec, pseudo)], dtype=torch.long, device=device)
            with torch.autocast(device.type, dtype=autocast_dtype or torch.float32, enabled=autocast_dtype is not None):
                inputs = torch.cat([embed(ids), self.tau.to(embed.weight.dtype)[None]], dim=1)
                # the decoder alone: the compiler's logits are never needed
                out = lm.get_decoder()(inputs_embeds=inputs, output_hidden_states=True, use_cache=False)
            T = self.tau.shape[0]
            states = torch.stack([out.hidden_states[i][0, -T:].float() for i in self.layers])  # (L, T, d)
            pooled.append(states.mean(dim=(0, 1)))
        return torch.stack(pooled)

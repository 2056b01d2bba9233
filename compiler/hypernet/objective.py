"""Eq. 4: mean-token NLL of the target output given pseudo-program + input, under the generated adapter.

One spec at a time: the compiler runs once, the mapper turns its vector into an adapter, the adapter
is injected, the spec's prompt prefix (chat preamble + pseudo-program) runs once and its KV is
repeated across the spec's examples, and only the examples' tokens run per example. Logits are
computed only where a target token is predicted. For ``peft='lora'`` the prefix pass has no gradient
(the forward is exact — the adapter applies to it, as in llama.cpp — but the adapter's effect through
the prefix's keys/values is not trained, as in ``compiler.fit``); for ``peft='prefix'`` the generated
virtual tokens sit before the prefix and it runs with gradient, since that is their only way in.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from compiler.hypernet.injection import Injector, prefix_cache
from compiler.hypernet.model import Hypernet
from compiler.hypernet.rows import EncodedProgram, EncodedRow


@dataclass
class Interp:
    """The frozen interpreter's pieces the objective needs."""

    causal: torch.nn.Module  # XForCausalLM
    injector: Injector | None  # None for peft='prefix'
    pad: int

    @property
    def decoder(self) -> torch.nn.Module:
        return self.causal.get_decoder()

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        logits = self.causal.get_output_embeddings()(hidden).float()
        softcap = getattr(self.causal.config, "final_logit_softcapping", None)
        return torch.tanh(logits / softcap) * softcap if softcap else logits


def _new_cache(causal: torch.nn.Module):
    from transformers import DynamicCache

    return DynamicCache(config=causal.config)


def spec_nll(
    hyper: Hypernet,
    interp: Interp,
    spec: str,
    pseudo_program: str,
    program: EncodedProgram,
    rows: Sequence[EncodedRow],
    *,
    autocast_dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Mean NLL over the target tokens of ``rows`` (a scalar with gradient when grad is enabled)."""
    device = next(hyper.mapper.parameters()).device
    suspend = interp.injector.suspended() if (hyper.shares_interpreter and interp.injector) else contextlib.nullcontext()
    with suspend:
        generated = hyper([(spec, pseudo_program)], autocast_dtype=autocast_dtype)
    auto = torch.autocast(device.type, dtype=autocast_dtype or torch.float32, enabled=autocast_dtype is not None)
    prefix = torch.tensor([program.prefix], dtype=torch.long, device=device)
    n_prefix = len(program.prefix)
    try:
        with auto:
            if hyper.arch.peft == "lora":
                assert interp.injector is not None
                interp.injector.set(generated)
                cache = _new_cache(interp.causal)
                with torch.no_grad():
                    interp.decoder(input_ids=prefix, cache=cache, use_cache=True)
            else:
                cache = prefix_cache(interp.causal, generated)
                positions = torch.arange(n_prefix, device=device)[None]  # virtual tokens carry no position
                interp.decoder(input_ids=prefix, cache=cache, position_ids=positions, use_cache=True)
            B = len(rows)
            cache.batch_repeat_interleave(B)
            seqs = [row.body + row.target[:-1] for row in rows]
            width = max(len(s) for s in seqs)
            ids = torch.full((B, width), interp.pad, dtype=torch.long, device=device)
            for b, seq in enumerate(seqs):
                ids[b, : len(seq)] = torch.tensor(seq, dtype=torch.long)
            positions = (n_prefix + torch.arange(width, device=device))[None].expand(B, -1)
            # right padding: pads come after every real token, so causal attention never lets a real token see one
            hidden = interp.decoder(input_ids=ids, cache=cache, position_ids=positions, use_cache=True).last_hidden_state
            row_index, pos_index, gold = [], [], []
            for b, row in enumerate(rows):
                start = len(row.body) - 1  # the body's last token predicts target[0]
                for j, token in enumerate(row.target):
                    row_index.append(b)
                    pos_index.append(start + j)
                    gold.append(token)
            picked = hidden[torch.tensor(row_index, device=device), torch.tensor(pos_index, device=device)]
            logits = interp.logits(picked)
        return torch.nn.functional.cross_entropy(logits.float(), torch.tensor(gold, device=device))
    finally:
        if interp.injector is not None:
            interp.injector.clear()

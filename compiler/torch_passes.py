"""Forward passes of a LoRA-wrapped base over rows that share one prompt prefix, and their scoring.

Why it is built this way:

* **The prefix is computed once.** The prompt prefix (chat preamble + pseudo-program) is the same for
  every row and often longer than the row itself. It runs once at batch size 1 under the current LoRA
  weights, its KV cache is repeated across the batch, and only the per-row tokens run on top:
  ``P + B*L`` token-passes instead of ``B*(P+L)``. Logits are computed only where a loss is.
* **K labels cost one body pass.** Each label is a segment that sees the prefix and the row's body but
  not the other labels (a custom attention mask), so all labels are scored in one forward.
* **Decide like the runtime.** Labels: total log-probability of each label's token sequence, argmax
  wins; text: greedy until an end-of-generation token or a stop string.
* **Sliding-window layers (Gemma 3) get their own mask.** A custom 4-D mask is used as-is by every
  layer, so for a base whose config has ``sliding_attention`` layers the window (query position minus
  key position < ``sliding_window``, llama.cpp's rule) is applied in a second mask passed per layer
  type, and the prefix cache keeps every prefix key (transformers' sliding cache layers would crop the
  prefix to the window and no longer line up with the mask).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from compiler.vocab import EncodedRow, Vocab, label_sequences

if TYPE_CHECKING:
    import torch


class PrefixRunner:
    """Forward passes over rows on top of a shared prefix, on a peft-wrapped model."""

    def __init__(self, peft_model: "torch.nn.Module", prefix: list[int], pad: int) -> None:
        import torch

        self.torch = torch
        self.causal = peft_model.get_base_model()  # XForCausalLM with LoRA layers injected
        self.decoder = self.causal.model
        self.lm_head = self.causal.get_output_embeddings()
        self.softcap = getattr(self.causal.config, "final_logit_softcapping", None)
        self.prefix = torch.tensor([prefix], dtype=torch.long)
        self.n_prefix = len(prefix)
        self.pad = pad
        config = self.causal.config
        layer_types = getattr(config, "layer_types", None) or []
        window = getattr(config, "sliding_window", None)
        self.sliding_window: int | None = int(window) if window and "sliding_attention" in layer_types else None

    def _new_cache(self):
        from transformers import DynamicCache

        if self.sliding_window is not None:
            # full-length layers: the per-layer-type masks below apply the window on the whole prefix
            return DynamicCache()
        return DynamicCache(config=self.causal.config)

    def prefix_cache(self, *, grad: bool = False):
        """KV of the prefix (batch 1) under the current LoRA weights; None for an empty prefix.

        Without ``grad`` the forward is exact but the LoRA's effect on the prefix's keys/values gets
        no gradient (the examples' tokens still train the same weights); it saves the prefix's backward.
        """
        if self.n_prefix == 0:
            return None
        cache = self._new_cache()
        with self.torch.set_grad_enabled(grad and self.torch.is_grad_enabled()):
            self.decoder(input_ids=self.prefix, cache=cache, use_cache=True)
        return cache

    def _cache_for(self, cache, batch: int, *, copy_first: bool):
        if cache is None:
            return None
        cache = copy.deepcopy(cache) if copy_first else cache
        if batch > 1:
            cache.batch_repeat_interleave(batch)
        return cache

    def _logits(self, hidden: "torch.Tensor") -> "torch.Tensor":
        logits = self.lm_head(hidden).float()
        if self.softcap:
            logits = self.torch.tanh(logits / self.softcap) * self.softcap
        return logits

    def segment_logprobs(self, rows: Sequence[EncodedRow], cache, *, copy_cache: bool) -> list[list["torch.Tensor"]]:
        """Log-probability of every target token: ``out[row][segment]`` is a 1-D tensor.

        A row is laid out as ``body, seg_1[:-1], seg_2[:-1], ...`` with a custom attention mask: the
        body is causal, each segment sees the prefix, the whole body and its own earlier tokens, and
        restarts its positions where the body ends. So K labels cost one body pass plus K short
        continuations instead of K full rows, and each segment is scored exactly as if it were alone.
        """
        torch = self.torch
        P = self.n_prefix
        layouts = []
        for row in rows:
            ids, pos, seg = list(row.body), list(range(len(row.body))), [0] * len(row.body)
            for k, target in enumerate(row.targets, start=1):
                fed = target[:-1]  # the last target token is predicted, never fed
                ids += fed
                pos += range(len(row.body), len(row.body) + len(fed))
                seg += [k] * len(fed)
            layouts.append((ids, pos, seg))
        width = max(len(ids) for ids, _, _ in layouts)
        B = len(rows)
        input_ids = np.full((B, width), self.pad, dtype=np.int64)
        positions = np.zeros((B, width), dtype=np.int64)
        allowed = np.zeros((B, width, P + width), dtype=bool)
        allowed[:, :, :P] = True  # everything sees the prefix
        for b, (ids, pos, seg) in enumerate(layouts):
            n = len(ids)
            input_ids[b, :n] = ids
            positions[b, :n] = pos
            positions[b, n:] = np.arange(n, width)
            seg_arr = np.array(seg)
            q = np.arange(n)[:, None]
            k = np.arange(n)[None, :]
            same_or_body = (seg_arr[None, :] == 0) | (seg_arr[None, :] == seg_arr[:, None])
            allowed[b, :n, P : P + n] = (k <= q) & same_or_body
            allowed[b, np.arange(n, width), P + np.arange(n, width)] = True  # pads see themselves only
        mask: Any = torch.zeros((B, 1, width, P + width), dtype=torch.float32)
        mask.masked_fill_(~torch.from_numpy(allowed)[:, None], torch.finfo(torch.float32).min)
        if self.sliding_window is not None:
            # key positions: the prefix at 0..P-1, a row's tokens at P + their position
            key_pos = np.concatenate([np.broadcast_to(np.arange(P), (B, P)), positions + P], axis=1)
            in_window = (positions + P)[:, :, None] - key_pos[:, None, :] < self.sliding_window
            sliding = torch.zeros_like(mask)
            sliding.masked_fill_(~torch.from_numpy(allowed & in_window)[:, None], torch.finfo(torch.float32).min)
            mask = {"full_attention": mask, "sliding_attention": sliding}
        past = self._cache_for(cache, B, copy_first=copy_cache)
        hidden = self.decoder(
            input_ids=torch.from_numpy(input_ids),
            position_ids=torch.from_numpy(positions + P),
            attention_mask=mask,
            cache=past,
            use_cache=past is not None,
        ).last_hidden_state

        row_index, pos_index, token_index, sizes = [], [], [], []
        for b, row in enumerate(rows):
            offset = len(row.body)
            for target in row.targets:
                # target[0] is predicted at the body's last token, target[j] at the segment's (j-1)th.
                for j, token in enumerate(target):
                    row_index.append(b)
                    pos_index.append(len(row.body) - 1 if j == 0 else offset + j - 1)
                    token_index.append(token)
                offset += len(target) - 1
                sizes.append(len(target))
        picked = hidden[torch.tensor(row_index), torch.tensor(pos_index)]
        logprobs = torch.log_softmax(self._logits(picked), dim=-1)
        values = logprobs[torch.arange(len(token_index)), torch.tensor(token_index)]
        flat = list(torch.split(values, sizes))
        out, at = [], 0
        for row in rows:
            out.append(flat[at : at + len(row.targets)])
            at += len(row.targets)
        return out

    def greedy(self, body: list[int], cache, vocab: Vocab, max_tokens: int, stop: Sequence[str]) -> str:
        """Greedy decoding as the runtime does it: argmax until end-of-generation, a stop string or the cap."""
        torch = self.torch
        past = self._cache_for(cache, 1, copy_first=True)
        if past is None:
            past = self._new_cache()
        out: list[int] = []
        text = ""
        step_ids = torch.tensor([body], dtype=torch.long)
        for _ in range(max_tokens):
            result = self.decoder(input_ids=step_ids, cache=past, use_cache=True)
            token = int(torch.argmax(self._logits(result.last_hidden_state[0, -1])))
            if vocab.is_eog(token):
                break
            out.append(token)
            text = vocab.detokenize(out)
            hit = next((s for s in stop if s and s in text), None)
            if hit is not None:
                text = text[: text.index(hit)]
                break
            step_ids = torch.tensor([[token]], dtype=torch.long)
        return text


def chunks(items: Sequence[Any], size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class Evaluation:
    loss: float  # mean NLL per target token of the gold output (+ end-of-turn)
    exact: float | None  # labels: accuracy of the runtime's decision rule
    answers: list[str] | None  # labels: the decided label per row


class Evaluator:
    """Scores an evaluation split the way the runtime would decide it."""

    def __init__(self, runner: PrefixRunner, rows: list[EncodedRow], gold: list[str], labels, vocab: Vocab, chunk: int) -> None:
        self.runner = runner
        self.gold = gold
        self.labels = labels
        self.chunk = chunk
        self.rows = rows
        if labels is not None:
            seqs = label_sequences(labels, vocab)
            self.score_len = [len(seqs[label]) for label in labels]
            targets = tuple(vocab.tokenize(label, special=False) + [vocab.eot] for label in labels)
            self.gold_index = [labels.index(g) for g in gold]
            # one row per example, one segment per label: every label scored on one body pass
            self.rows = [EncodedRow(body=row.body, targets=targets) for row in rows]

    def _segments(self, limit: int | None) -> list[list]:
        rows = self.rows[:limit] if limit else self.rows
        cache = self.runner.prefix_cache()
        segments: list[list] = []
        for chunk in chunks(rows, self.chunk):
            segments.extend(self.runner.segment_logprobs(chunk, cache, copy_cache=True))
        return segments

    def label_logprobs(self) -> list[dict[str, float]]:
        """Per row, each label's log-probability normalised over the labels (the runtime's ``scores``)."""
        if self.labels is None:
            raise ValueError("label_logprobs needs a labels program")
        out = []
        for segs in self._segments(None):
            raw = np.array([float(lp[:n].sum()) for lp, n in zip(segs, self.score_len)])
            norm = float(np.logaddexp.reduce(raw))
            out.append({label: float(value - norm) for label, value in zip(self.labels, raw)})
        return out

    def __call__(self, limit: int | None = None) -> Evaluation:
        segments = self._segments(limit)
        if self.labels is None:
            total = sum(-float(seg[0].sum()) for seg in segments)
            count = sum(len(seg[0]) for seg in segments)
            return Evaluation(loss=total / max(1, count), exact=None, answers=None)
        losses, answers = [], []
        for index, segs in enumerate(segments):
            scores = [float(lp[:n].sum()) for lp, n in zip(segs, self.score_len)]
            answers.append(self.labels[int(np.argmax(scores))])
            losses.append(-float(segs[self.gold_index[index]].mean()))
        exact = sum(a == g for a, g in zip(answers, self.gold)) / len(answers)
        return Evaluation(loss=float(np.mean(losses)), exact=exact, answers=answers)

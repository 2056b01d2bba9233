"""The ``fit`` compile method: train a LoRA for a program on the frozen interpreter, export it as GGUF.

Why it is built this way:

* **Train on what runs.** The base is the GGUF llama.cpp runs, dequantized into torch
  (compiler.torch_base), and every example is tokenized by llama.cpp's own tokenizer exactly as the
  runtime does it: ``prefix`` (special tokens parsed) + ``input`` (special tokens *not* parsed, so an
  input can't inject turn markers) + ``suffix`` (special), then the output and the end-of-turn token.
  The loss covers only the output and end-of-turn tokens.
* **The prefix is computed once per step.** The prompt prefix (chat preamble + pseudo-program) is the
  same for every example and often longer than the example itself. Each step runs it once at batch
  size 1 under the current LoRA weights, repeats its KV cache across the batch and runs only the
  per-example tokens on top: ``P + B*L`` token-passes per step instead of ``B*(P+L)``. By default that
  prefix pass has no gradient: the forward is exact (the runtime applies the adapter to the prefix
  too), but the LoRA's effect through the prefix's keys/values is not trained directly.
  ``prefix_grad=True`` backpropagates through it as well (measured: 30-50% more backward time at
  200-400 prefix tokens on SmolLM2-135M). Logits are computed only where a loss is.
* **Evaluate like the runtime decides.** Labels are scored by the total log-probability of each
  label's token sequence (end-of-turn appended only to a label that is a prefix of another, the
  runtime's rule) and the argmax wins; text is decoded greedily until an end-of-generation token.
* **Early stopping** keeps the best held-out checkpoint (labels: accuracy, then loss; text: loss)
  and stops after ``patience`` evaluations without improvement.
* **Deterministic.** peft's initialization draws from a forked, seeded torch RNG and batches come
  from a seeded numpy generator; with the same seed and thread count the adapter bytes are equal.
* **Nothing is written.** The result carries the adapter bytes; the caller writes the .paw atomically.
  Ctrl-C or an error leaves no file and leaves the cached base model without LoRA layers.
* **Checked after export.** :func:`check_agreement` replays the evaluation split through pawflow's
  real llama.cpp runtime with the exported adapter and reports how often it gives the torch answer.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from compiler.lora_gguf import ADAPTER_QUANTS, AdapterQuant, export_lora_gguf
from pawflow.errors import CompileError, ProgramFormatError
from pawflow.program import GenerationSettings, JsonOutput, LabelsOutput, TextOutput, split_template

if TYPE_CHECKING:
    import torch

OutputType = LabelsOutput | TextOutput | JsonOutput
TrainPair = tuple[str, str]  # (input, output text exactly as the program should emit it)

# When there is no held-out split, early stopping is off and the answers/agreement are reported on
# the first rows of the training split (flagged as such) instead of on nothing.
_FALLBACK_EVAL_ROWS = 32


# --------------------------------------------------------------------------- results


class CurvePoint(BaseModel):
    model_config = ConfigDict(frozen=True)
    step: int  # 0 = before any update: the prompt-only model with this template
    train_loss: float | None  # mean over the steps since the previous point (None at step 0)
    lr: float
    heldout_loss: float | None = None
    heldout_exact: float | None = None  # labels only during training; text gets it once, at the end


class Mismatch(BaseModel):
    model_config = ConfigDict(frozen=True)
    input: str
    torch: str
    llama_cpp: str


class AgreementReport(BaseModel):
    """How often llama.cpp with the exported adapter gives the answer the torch model gave."""

    model_config = ConfigDict(frozen=True)
    rate: float
    n: int
    agree: int
    quant: str
    split: str
    mismatches: list[Mismatch] = Field(default_factory=list)  # the first few, for diagnosis
    seconds: float


class FitResult(BaseModel):
    """Everything a ``fit`` compile produced. ``adapter`` is the bytes to put in the .paw."""

    model_config = ConfigDict(frozen=True, ser_json_bytes="base64", val_json_bytes="base64")

    adapters: dict[str, bytes]  # every quantization, so a caller can pick or report sizes
    quant: AdapterQuant
    adapter_sizes: dict[str, int]
    tensor_types: dict[str, int]  # in the chosen quant: GGML type -> tensor count
    rank: int
    alpha: float
    targets: list[str]
    rope_permuted: bool
    seed: int
    lr: float
    batch_size: int
    steps_planned: int
    steps_run: int
    best_step: int
    stopped_early: bool
    curve: list[CurvePoint]
    eval_split: str  # "heldout", or "train" when no held-out rows were given
    curve_eval_rows: int  # how many eval rows the curve's (periodic) held-out numbers use
    eval_exact_match: float | None
    eval_loss: float | None
    eval_answers: list[str]  # torch answers of the kept checkpoint on the eval split, in order
    n_train: int
    n_eval: int
    prefix_tokens: int
    mean_example_tokens: float
    threads: int
    seconds: float
    agreement: AgreementReport | None = None

    @property
    def adapter(self) -> bytes:
        return self.adapters[self.quant]

    def details(self) -> dict[str, Any]:
        """JSON-friendly facts for ``CompileInfo.details`` in the program's meta.json."""
        trained = [p for p in self.curve if p.train_loss is not None]
        first = trained[0].train_loss if trained else None
        last = trained[-1].train_loss if trained else None
        before = self.curve[0] if self.curve and self.curve[0].step == 0 else None
        out: dict[str, Any] = {
            "rank": self.rank,
            "alpha": self.alpha,
            "targets": self.targets,
            "quant": self.quant,
            "adapter_bytes": self.adapter_sizes,
            "seed": self.seed,
            "lr": self.lr,
            "batch_size": self.batch_size,
            "steps": self.steps_run,
            "best_step": self.best_step,
            "stopped_early": self.stopped_early,
            "train_loss_first": _round(first),
            "train_loss_last": _round(last),
            "eval_split": self.eval_split,
            "curve_eval_rows": self.curve_eval_rows,
            "eval_loss_before": _round(before.heldout_loss) if before else None,
            "eval_exact_before": _round(before.heldout_exact) if before and before.heldout_exact is not None else None,
            "eval_exact_match_torch": _round(self.eval_exact_match),
            "eval_loss": _round(self.eval_loss),
            "n_train": self.n_train,
            "n_eval": self.n_eval,
            "seconds": round(self.seconds, 1),
        }
        if self.agreement is not None:
            out["llama_cpp_agreement"] = round(self.agreement.rate, 4)
            out["agreement_n"] = self.agreement.n
        return out


class StepInfo(BaseModel):
    """Passed to ``callback`` after every optimizer step (progress displays, cancellation)."""

    model_config = ConfigDict(frozen=True)
    step: int
    steps: int
    loss: float
    heldout_loss: float | None = None
    heldout_exact: float | None = None


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


# --------------------------------------------------------------------------- tokenization


class Vocab:
    """llama.cpp's tokenizer for a base (weights not loaded), used exactly as the runtime uses it."""

    def __init__(self, base_path: Path) -> None:
        import llama_cpp

        self._lib = llama_cpp
        from pawflow.backends.llamacpp import close_at_exit

        self.llm = close_at_exit(llama_cpp.Llama(model_path=str(base_path), vocab_only=True, verbose=False))
        self._vocab = llama_cpp.llama_model_get_vocab(self.llm.model)
        eot = llama_cpp.llama_vocab_eot(self._vocab)
        self.eot = int(eot) if eot >= 0 else int(llama_cpp.llama_vocab_eos(self._vocab))

    def tokenize(self, text: str, *, special: bool) -> list[int]:
        if not text:
            return []
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=special)

    def is_eog(self, token: int) -> bool:
        return bool(self._lib.llama_vocab_is_eog(self._vocab, token))

    def detokenize(self, tokens: Sequence[int]) -> str:
        return self.llm.detokenize(list(tokens)).decode("utf-8", errors="ignore")


@lru_cache(maxsize=4)
def _vocab(path_str: str, mtime_ns: int) -> Vocab:
    return Vocab(Path(path_str))


def get_vocab(base_path: Path) -> Vocab:
    return _vocab(str(Path(base_path).resolve()), Path(base_path).stat().st_mtime_ns)


def label_sequences(labels: Sequence[str], vocab: Vocab) -> dict[str, list[int]]:
    """Token sequences the runtime scores per label: end-of-turn only where one label prefixes another."""
    seqs = {label: vocab.tokenize(label, special=False) for label in labels}
    for label, seq in list(seqs.items()):
        if not seq:
            raise CompileError(f"label {label!r} tokenizes to nothing")
        if any(other != label and seqs[other][: len(seq)] == seq for other in labels):
            seqs[label] = seq + [vocab.eot]
    return seqs


@dataclass(frozen=True)
class _Row:
    """One example after the shared prefix: its body and one or more target segments.

    Training rows have one segment (output + end-of-turn). Label-scoring rows carry one segment per
    label; the segments share the body's computation and never see each other (see _Runner).
    """

    body: list[int]  # input + suffix tokens
    targets: tuple[list[int], ...]  # the only tokens with a loss / a score


# --------------------------------------------------------------------------- the model passes


class _Runner:
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

    def _new_cache(self):
        from transformers import DynamicCache

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

    def segment_logprobs(self, rows: Sequence[_Row], cache, *, copy_cache: bool) -> list[list["torch.Tensor"]]:
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
        mask = torch.zeros((B, 1, width, P + width), dtype=torch.float32)
        mask.masked_fill_(~torch.from_numpy(allowed)[:, None], torch.finfo(torch.float32).min)
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


# --------------------------------------------------------------------------- fit


def _encode_rows(
    pairs: Sequence[TrainPair], vocab: Vocab, suffix: str, split: str, max_tokens: int, prefix_len: int
) -> list[_Row]:
    suffix_tokens = vocab.tokenize(suffix, special=True)
    rows = []
    for index, (text, output) in enumerate(pairs):
        if not isinstance(text, str) or not isinstance(output, str):
            raise CompileError(f"{split} row {index}: input and output must be strings (format JSON outputs first)")
        body = vocab.tokenize(text, special=False) + suffix_tokens
        if not body:
            raise CompileError("the prompt template has nothing after {INPUT_PLACEHOLDER} and the input is empty")
        target = vocab.tokenize(output, special=False) + [vocab.eot]
        total = prefix_len + len(body) + len(target)
        if total > max_tokens:
            raise CompileError(
                f"{split} row {index} needs {total} tokens (prefix {prefix_len}), over max_seq_tokens={max_tokens}",
                hint="shorten the pseudo-program or the example, or raise max_seq_tokens",
            )
        rows.append(_Row(body=body, targets=(target,)))
    return rows


def _check_outputs(output_type: OutputType, pairs: Sequence[TrainPair], split: str) -> None:
    if isinstance(output_type, LabelsOutput):
        allowed = set(output_type.labels)
        for index, (_, output) in enumerate(pairs):
            if output not in allowed:
                raise CompileError(f"{split} row {index}: output {output!r} is not one of the labels {output_type.labels}")


def _chunks(items: Sequence[Any], size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class _Evaluation:
    loss: float  # mean NLL per target token of the gold output (+ end-of-turn)
    exact: float | None  # labels: accuracy of the runtime's decision rule
    answers: list[str] | None  # labels: the decided label per row


class _Evaluator:
    """Scores an evaluation split the way the runtime would decide it."""

    def __init__(self, runner: _Runner, rows: list[_Row], gold: list[str], labels, vocab: Vocab, chunk: int) -> None:
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
            self.rows = [_Row(body=row.body, targets=targets) for row in rows]

    def __call__(self, limit: int | None = None) -> _Evaluation:
        rows = self.rows[:limit] if limit else self.rows
        cache = self.runner.prefix_cache()
        segments: list[list] = []
        for chunk in _chunks(rows, self.chunk):
            segments.extend(self.runner.segment_logprobs(chunk, cache, copy_cache=True))
        if self.labels is None:
            total = sum(-float(seg[0].sum()) for seg in segments)
            count = sum(len(seg[0]) for seg in segments)
            return _Evaluation(loss=total / max(1, count), exact=None, answers=None)
        losses, answers = [], []
        for index, segs in enumerate(segments):
            scores = [float(lp[:n].sum()) for lp, n in zip(segs, self.score_len)]
            answers.append(self.labels[int(np.argmax(scores))])
            losses.append(-float(segs[self.gold_index[index]].mean()))
        exact = sum(a == g for a, g in zip(answers, self.gold)) / len(answers)
        return _Evaluation(loss=float(np.mean(losses)), exact=exact, answers=answers)


def fit_lora(
    *,
    base_path: str | Path,
    prompt_template: str,
    train: Sequence[TrainPair],
    heldout: Sequence[TrainPair] = (),
    output_type: OutputType,
    rank: int = 8,
    alpha: float = 16.0,
    targets: Sequence[str] = ("q", "k", "v", "o"),
    steps: int = 150,
    lr: float = 2e-3,
    batch_size: int = 8,
    seed: int = 0,
    eval_every: int | None = None,
    eval_rows: int = 64,
    patience: int = 3,
    prefix_grad: bool = False,
    generation: GenerationSettings | None = None,
    quant: AdapterQuant = "q8_0",
    threads: int = 2,
    max_seq_tokens: int = 2048,
    progress: bool = True,
    check: bool = True,
    callback: Callable[[StepInfo], None] | None = None,
) -> FitResult:
    """Fit a LoRA so that ``prompt_template`` + adapter maps each train input to its output.

    ``train``/``heldout`` are ``(input, output_text)`` pairs; for labels programs the output text is
    the label, for JSON programs the serialized JSON (``pawflow.prompting.format_output``).
    ``heldout`` is never trained on: it picks the checkpoint, stops early and is what the exact match
    and the llama.cpp agreement (``check=True``) are measured on. Periodic evaluations use its first
    ``eval_rows`` rows (CPU time); the final answers, exact match and agreement use all of it.
    ``prefix_grad=True`` also backpropagates through the shared prefix (exact gradient, slower).
    """
    import torch

    from compiler.torch_base import attached_lora, check_targets, load_torch_base, lora_state, set_lora_state

    started = time.perf_counter()
    base_path = Path(base_path)
    if quant not in ADAPTER_QUANTS:
        raise CompileError(f"unknown adapter quantization {quant!r}; expected one of {', '.join(ADAPTER_QUANTS)}")
    if not train:
        raise CompileError("fit needs training examples (data.train or examples in the source)")
    for name, value in (("rank", rank), ("steps", steps), ("batch_size", batch_size), ("patience", patience), ("eval_rows", eval_rows), ("threads", threads)):
        if value < 1:
            raise CompileError(f"{name} must be >= 1, got {value}")
    if not (lr > 0 and math.isfinite(lr)):
        raise CompileError(f"lr must be a positive number, got {lr}")
    _check_outputs(output_type, train, "train")
    _check_outputs(output_type, heldout, "heldout")
    generation = generation or GenerationSettings()
    try:
        prefix_text, suffix_text = split_template(prompt_template, "prompt template")
    except ProgramFormatError as exc:
        raise CompileError(exc.message) from exc

    vocab = get_vocab(base_path)
    prefix = vocab.tokenize(prefix_text, special=True)
    train_rows = _encode_rows(train, vocab, suffix_text, "train", max_seq_tokens, len(prefix))
    eval_split = "heldout" if heldout else "train"
    eval_pairs = list(heldout) if heldout else list(train)[:_FALLBACK_EVAL_ROWS]
    eval_encoded = _encode_rows(eval_pairs, vocab, suffix_text, eval_split, max_seq_tokens, len(prefix))
    early_stopping = bool(heldout)
    eval_every = eval_every or max(10, steps // 5)
    labels = list(output_type.labels) if isinstance(output_type, LabelsOutput) else None

    base = load_torch_base(base_path)
    targets = check_targets(base.facts, tuple(targets))
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    rng = np.random.default_rng(seed)
    curve: list[CurvePoint] = []
    try:
        with attached_lora(base, rank=rank, alpha=alpha, targets=targets, seed=seed) as peft_model:
            runner = _Runner(peft_model, prefix, pad=vocab.eot)
            evaluate = _Evaluator(runner, eval_encoded, [g for _, g in eval_pairs], labels, vocab, chunk=batch_size * 2)
            params = [p for p in peft_model.parameters() if p.requires_grad]
            optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
            warmup = max(1, min(10, steps // 10))
            schedule = torch.optim.lr_scheduler.LambdaLR(
                optimizer, lambda s: min(1.0, (s + 1) / warmup) * max(0.1, 1.0 - s / steps)
            )
            order: list[int] = []
            since_best = 0
            # Step 0 is the untrained adapter (peft starts B at zero): the prompt-only baseline, and
            # the checkpoint to keep if training never beats it.
            peft_model.eval()
            with torch.no_grad():
                point = evaluate(limit=eval_rows)
            curve.append(CurvePoint(step=0, train_loss=None, lr=0.0, heldout_loss=point.loss, heldout_exact=point.exact))
            best_key = (point.exact if point.exact is not None else 0.0, -point.loss)
            best_step, best_state = 0, lora_state(peft_model, targets)
            window: list[float] = []
            steps_run = 0
            stopped_early = False
            with _progress_bar(progress, steps) as bar:
                for step in range(1, steps + 1):
                    peft_model.train()
                    if len(order) < batch_size:
                        order += rng.permutation(len(train_rows)).tolist()
                    batch = [train_rows[i] for i in order[:batch_size]]
                    del order[:batch_size]
                    cache = runner.prefix_cache(grad=prefix_grad)
                    segments = runner.segment_logprobs(batch, cache, copy_cache=False)
                    loss = -torch.cat([seg[0] for seg in segments]).mean()
                    step_loss = float(loss.detach())
                    if not math.isfinite(step_loss):
                        raise CompileError(f"training diverged at step {step} (loss {step_loss})", hint="lower lr")
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(params, 1.0)
                    optimizer.step()
                    schedule.step()
                    optimizer.zero_grad(set_to_none=True)
                    steps_run = step
                    window.append(step_loss)
                    point = None
                    if step % eval_every == 0 or step == steps:
                        peft_model.eval()
                        with torch.no_grad():
                            point = evaluate(limit=eval_rows)
                        curve.append(
                            CurvePoint(
                                step=step,
                                train_loss=float(np.mean(window)),
                                lr=float(schedule.get_last_lr()[0]),
                                heldout_loss=point.loss,
                                heldout_exact=point.exact,
                            )
                        )
                        window = []
                        key = (point.exact if point.exact is not None else 0.0, -point.loss)
                        if key > best_key:
                            best_key, best_step, best_state = key, step, lora_state(peft_model, targets)
                            since_best = 0
                        else:
                            since_best += 1
                    bar.update(step, step_loss, point)
                    if callback is not None:
                        callback(
                            StepInfo(
                                step=step,
                                steps=steps,
                                loss=step_loss,
                                heldout_loss=point.loss if point else None,
                                heldout_exact=point.exact if point else None,
                            )
                        )
                    if early_stopping and since_best >= patience:
                        stopped_early = True
                        break

            if early_stopping:
                set_lora_state(peft_model, best_state)
            else:
                best_step = steps_run
            pairs = lora_state(peft_model, targets)

            # Final answers of the kept checkpoint on the whole eval split, decided like the runtime.
            peft_model.eval()
            with torch.no_grad():
                final = evaluate()
                if labels is not None:
                    answers = final.answers or []
                else:
                    cache = runner.prefix_cache()
                    answers = [
                        runner.greedy(row.body, cache, vocab, generation.max_tokens, generation.stop).strip()
                        for row in eval_encoded
                    ]
            exact = sum(a == gold.strip() for a, (_, gold) in zip(answers, eval_pairs)) / len(eval_pairs)
    finally:
        torch.set_num_threads(previous_threads)

    adapters: dict[str, bytes] = {}
    type_counts: dict[str, int] = {}
    for q in ADAPTER_QUANTS:
        data, report = export_lora_gguf(
            pairs,
            architecture=base.facts.architecture,
            alpha=alpha,
            n_head=base.facts.n_head,
            n_head_kv=base.facts.n_head_kv,
            permute_rope=base.facts.rope_permuted,
            quant=q,
            name="pawflow-fit",
        )
        adapters[q] = data
        if q == quant:
            for entry in report.tensors:
                type_counts[entry.type] = type_counts.get(entry.type, 0) + 1

    agreement = None
    if check:
        agreement = check_agreement(
            base_path=base_path,
            prompt_template=prompt_template,
            output_type=output_type,
            adapter=adapters[quant],
            inputs=[text for text, _ in eval_pairs],
            torch_answers=answers,
            generation=generation,
            quant=quant,
            split=eval_split,
            threads=threads,
        )

    return FitResult(
        adapters=adapters,
        quant=quant,
        adapter_sizes={q: len(b) for q, b in adapters.items()},
        tensor_types=type_counts,
        rank=rank,
        alpha=alpha,
        targets=list(targets),
        rope_permuted=base.facts.rope_permuted,
        seed=seed,
        lr=lr,
        batch_size=batch_size,
        steps_planned=steps,
        steps_run=steps_run,
        best_step=best_step,
        stopped_early=stopped_early,
        curve=curve,
        eval_split=eval_split,
        curve_eval_rows=min(eval_rows, len(eval_encoded)),
        eval_exact_match=exact,
        eval_loss=final.loss,
        eval_answers=answers,
        n_train=len(train_rows),
        n_eval=len(eval_encoded),
        prefix_tokens=len(prefix),
        mean_example_tokens=float(np.mean([len(r.body) + len(r.targets[0]) for r in train_rows])),
        threads=threads,
        seconds=time.perf_counter() - started,
        agreement=agreement,
    )


class _progress_bar:
    """A rich progress bar showing step, training loss and the latest held-out metric."""

    def __init__(self, enabled: bool, steps: int) -> None:
        self.enabled = enabled
        self.steps = steps
        self.metric = "held-out: -"

    def __enter__(self) -> "_progress_bar":
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(
                TextColumn("[bold]fit[/bold]"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]}"),
                TextColumn("{task.fields[metric]}"),
                TimeElapsedColumn(),
            )
            self.progress.__enter__()
            self.task = self.progress.add_task("fit", total=self.steps, loss="-", metric=self.metric)
        return self

    def update(self, step: int, loss: float, point: "_Evaluation | None") -> None:
        if not self.enabled:
            return
        if point is not None:
            self.metric = f"held-out loss {point.loss:.3f}"
            if point.exact is not None:
                self.metric += f" acc {point.exact:.1%}"
        self.progress.update(self.task, completed=step, loss=f"{loss:.3f}", metric=self.metric)

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self.progress.__exit__(*exc)


# --------------------------------------------------------------------------- agreement


def check_agreement(
    *,
    base_path: str | Path,
    prompt_template: str,
    output_type: OutputType,
    adapter: bytes,
    inputs: Sequence[str],
    torch_answers: Sequence[str],
    generation: GenerationSettings | None = None,
    quant: str = "?",
    split: str = "heldout",
    threads: int = 2,
    interpreter=None,
    max_mismatches: int = 10,
) -> AgreementReport:
    """Run ``inputs`` through pawflow's llama.cpp runtime with ``adapter`` and compare with torch.

    This goes through the same Program + Interpreter path ``pawflow.load(...)`` uses, so it checks
    the export (names, orientation, scale, RoPE permutation, quantization) and the runtime's
    tokenization and decoding in one number. Text answers are compared after ``strip()``, as the
    runtime returns them; JSON programs decode under a grammar at runtime but not in torch, so their
    agreement also counts grammar effects.
    """
    from pawflow.base import inspect_base
    from pawflow.config import load_settings
    from pawflow.interpreter import Interpreter
    from pawflow.program import CompileInfo, Program

    if len(inputs) != len(torch_answers):
        raise CompileError(f"{len(inputs)} inputs but {len(torch_answers)} torch answers")
    started = time.perf_counter()
    base_path = Path(base_path)
    program = Program.build(
        name="fit-agreement-check",
        base=inspect_base(base_path),
        prompt_template=prompt_template,
        adapter=adapter,
        output=output_type,
        generation=generation or GenerationSettings(),
        compile=CompileInfo(method="fit"),
    )
    own = interpreter is None
    if own:
        interpreter = Interpreter(load_settings(base=base_path, threads=threads))
    try:
        raws = interpreter.run(program, list(inputs)) if inputs else []
    finally:
        if own:
            interpreter.close()
    agree = 0
    mismatches: list[Mismatch] = []
    for text, expected, raw in zip(inputs, torch_answers, raws):
        got = raw.text.strip()
        if got == expected.strip():
            agree += 1
        elif len(mismatches) < max_mismatches:
            mismatches.append(Mismatch(input=text, torch=expected, llama_cpp=got))
    n = len(inputs)
    return AgreementReport(
        rate=agree / n if n else 1.0,
        n=n,
        agree=agree,
        quant=quant,
        split=split,
        mismatches=mismatches,
        seconds=time.perf_counter() - started,
    )

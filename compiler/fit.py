"""The ``fit`` compile method's trainer: fit a LoRA for a program on the frozen interpreter, export it as GGUF.

Why it is built this way:

* **Train on what runs.** The base is the GGUF llama.cpp runs, dequantized into torch
  (compiler.torch_base), and every row is tokenized by llama.cpp's own tokenizer exactly as the
  runtime does it (compiler.vocab). The loss covers only the output and end-of-turn tokens.
* **The prefix is computed once per step** (compiler.torch_passes): the shared prompt prefix runs at
  batch size 1 under the current LoRA weights and only the per-row tokens run on top. By default that
  prefix pass has no gradient: the forward is exact (the runtime applies the adapter to the prefix
  too), but the LoRA's effect through the prefix's keys/values is not trained directly.
  ``prefix_grad=True`` backpropagates through it as well (measured: 30-50% more backward time at
  200-400 prefix tokens on SmolLM2-135M). ``prefix_refresh=N`` recomputes the prefix only every N
  steps (a few steps stale; the cheap recipe for few-example compiles, where the prefix holding the
  examples is longer than all the rows together). Evaluations always use a fresh prefix.
* **Evaluate like the runtime decides** (compiler.torch_passes.Evaluator).
* **Early stopping** keeps the best held-out checkpoint (labels: accuracy, then loss; text: loss)
  and stops after ``patience`` evaluations without improvement. With no held-out rows there is no
  early stopping and nothing is called held-out: the answers are measured on the first fitted rows
  and reported as ``eval_split="train"`` (fitted rows, not an estimate of anything).
* **Few-example regularisation**: ``weight_decay`` (AdamW, decoupled) and ``balance_labels`` (every
  label equally often in the batches, so a 6:2 example set does not teach the majority label).
  ``objective="labels"`` (labels programs) trains what the runtime decides with: cross-entropy over
  the labels' log-probabilities (every label scored on the row, normalised over the labels) instead
  of the gold label's tokens against the whole vocabulary — a margin, not a token likelihood.
* **Deterministic.** peft's initialization draws from a forked, seeded torch RNG and batches come
  from a seeded numpy generator; with the same seed and thread count the adapter bytes are equal.
* **Nothing is written.** The result carries the adapter bytes; the caller writes the .paw atomically.
  Ctrl-C or an error leaves no file and leaves the cached base model without LoRA layers.
* **Checked after export.** :func:`compiler.agreement.check_agreement` replays the evaluation split
  through pawflow's real llama.cpp runtime with the exported adapter and reports how often it gives
  the torch answer.

The pieces live in their own modules (tokenization, passes, agreement, progress); the names tests and
callers used from here are re-exported.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from compiler.agreement import AgreementReport, Mismatch, check_agreement
from compiler.fit_progress import FitProgressBar
from compiler.lora_gguf import ADAPTER_QUANTS, AdapterQuant, export_lora_gguf
from compiler.torch_passes import Evaluation, Evaluator, PrefixRunner
from compiler.vocab import (
    EncodedRow,
    OutputType,
    TrainPair,
    Vocab,
    check_outputs,
    encode_rows,
    get_vocab,
    label_sequences,
)
from pawflow.errors import CompileError, ProgramFormatError
from pawflow.program import GenerationSettings, LabelsOutput, split_template

# Names this module had before it was split; tests and callers import them from here.
_Row = EncodedRow
_Runner = PrefixRunner
_Evaluator = Evaluator
_Evaluation = Evaluation
_encode_rows = encode_rows
_check_outputs = check_outputs

__all__ = [
    "AgreementReport", "CurvePoint", "FitResult", "Mismatch", "StepInfo", "TrainPair", "Vocab",
    "check_agreement", "fit_lora", "get_vocab", "label_sequences",
]

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



class FitResult(BaseModel):
    """Everything a ``fit`` compile produced. ``adapter`` is the bytes to put in the .paw."""

    model_config = ConfigDict(frozen=True, ser_json_bytes="base64", val_json_bytes="base64")

    adapters: dict[str, bytes]  # every quantization (empty with export=False: a cross-validation fold)
    quant: AdapterQuant
    adapter_sizes: dict[str, int]
    tensor_types: dict[str, int]  # in the chosen quant: GGML type -> tensor count
    rank: int
    alpha: float
    targets: list[str]
    rope_permuted: bool
    seed: int
    lr: float
    weight_decay: float = 0.0
    balance_labels: bool = False
    objective: str = "tokens"
    prefix_refresh: int = 1
    batch_size: int
    steps_planned: int
    steps_run: int
    best_step: int
    stopped_early: bool
    curve: list[CurvePoint]
    # "heldout"; "train" when no held-out rows were given (fitted rows: NOT an estimate); "none" when
    # nothing was evaluated (a cross-validation fold scores its own held-out rows through ``scores``).
    eval_split: str
    curve_eval_rows: int  # how many eval rows the curve's (periodic) numbers use
    eval_exact_match: float | None
    eval_loss: float | None
    eval_answers: list[str]  # torch answers of the kept checkpoint on the eval split, in order
    scores: list[dict[str, float]] = []  # label -> log-probability (normalised over labels) per scored input
    n_train: int
    n_eval: int
    prefix_tokens: int
    mean_example_tokens: float
    threads: int
    seconds: float
    agreement: AgreementReport | None = None

    @property
    def adapter(self) -> bytes:
        if self.quant not in self.adapters:
            raise CompileError("this fit was run with export=False and has no adapter")
        return self.adapters[self.quant]

    def details(self) -> dict[str, Any]:
        """JSON-friendly facts for ``CompileInfo.details`` in the program's meta.json.

        Numbers measured on fitted rows are named as such (``fitted_rows_*``), never ``eval``/held-out.
        """
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
            "weight_decay": self.weight_decay,
            "balance_labels": self.balance_labels,
            "objective": self.objective,
            "prefix_refresh": self.prefix_refresh,
            "batch_size": self.batch_size,
            "steps": self.steps_run,
            "best_step": self.best_step,
            "stopped_early": self.stopped_early,
            "train_loss_first": _round(first),
            "train_loss_last": _round(last),
            "eval_split": self.eval_split,
            "n_train": self.n_train,
            "seconds": round(self.seconds, 1),
        }
        if self.eval_split == "heldout":
            out.update(
                curve_eval_rows=self.curve_eval_rows,
                eval_loss_before=_round(before.heldout_loss) if before else None,
                eval_exact_before=_round(before.heldout_exact) if before and before.heldout_exact is not None else None,
                eval_exact_match_torch=_round(self.eval_exact_match),
                eval_loss=_round(self.eval_loss),
                n_eval=self.n_eval,
            )
        elif self.eval_split == "train":
            out.update(
                fitted_rows_exact_match_torch=_round(self.eval_exact_match),
                fitted_rows_n=self.n_eval,
                fitted_rows_note="measured on rows the adapter was fitted on: not an estimate of accuracy",
            )
        if self.agreement is not None:
            out["llama_cpp_agreement"] = round(self.agreement.rate, 4)
            out["agreement_n"] = self.agreement.n
            out["agreement_split"] = self.agreement.split
        return out


class StepInfo(BaseModel):
    """Passed to ``callback`` after every optimizer step (progress displays, cancellation).

    ``eval_split`` says what ``heldout_loss``/``heldout_exact`` were measured on: "heldout", or
    "train" (fitted rows) when the fit has no held-out data; a display must not call the latter held-out.
    """

    model_config = ConfigDict(frozen=True)
    step: int
    steps: int
    loss: float
    heldout_loss: float | None = None
    heldout_exact: float | None = None
    eval_split: str = "heldout"


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def _batch_order(rows: Sequence[EncodedRow], gold: Sequence[str], rng: np.random.Generator, balance: bool) -> list[int]:
    """One epoch of row indices. With ``balance``, every label appears equally often (minorities repeated)."""
    if not balance:
        return rng.permutation(len(rows)).tolist()
    by_label: dict[str, list[int]] = {}
    for index, label in enumerate(gold):
        by_label.setdefault(label, []).append(index)
    widest = max(len(v) for v in by_label.values())
    epoch: list[int] = []
    for label in sorted(by_label):
        members = by_label[label]
        repeats = rng.permutation(np.resize(np.array(members), widest)).tolist()
        epoch += repeats
    return rng.permutation(np.array(epoch)).tolist()


# --------------------------------------------------------------------------- fit


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
    weight_decay: float = 0.0,
    balance_labels: bool = False,
    objective: str = "tokens",
    batch_size: int = 8,
    seed: int = 0,
    eval_every: int | None = None,
    eval_rows: int = 64,
    patience: int = 3,
    prefix_grad: bool = False,
    prefix_refresh: int = 1,
    evaluate_fitted_rows: bool | int = True,
    score_inputs: Sequence[str] = (),
    export: bool = True,
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

    Without ``heldout`` there is no early stopping; with ``evaluate_fitted_rows`` the answers and the
    agreement are measured on the first fitted rows (``eval_split="train"``), otherwise nothing is
    evaluated (``eval_split="none"``). ``score_inputs`` (labels programs) are scored by the final
    checkpoint: their label log-probabilities come back in ``scores`` — how a cross-validation fold
    scores its held-out rows. ``export=False`` skips the GGUF export (nothing to ship from a fold).
    ``prefix_grad=True`` also backpropagates through the shared prefix (exact gradient, slower);
    ``prefix_refresh=N`` recomputes the training prefix every N steps only (cheaper, slightly stale).
    """
    import torch

    from compiler.torch_base import attached_lora, check_targets, load_torch_base, lora_state, set_lora_state

    started = time.perf_counter()
    base_path = Path(base_path)
    if quant not in ADAPTER_QUANTS:
        raise CompileError(f"unknown adapter quantization {quant!r}; expected one of {', '.join(ADAPTER_QUANTS)}")
    if not train:
        raise CompileError("fit needs training examples (data.train or examples in the source)")
    for name, value in (
        ("rank", rank), ("steps", steps), ("batch_size", batch_size), ("patience", patience),
        ("eval_rows", eval_rows), ("threads", threads), ("prefix_refresh", prefix_refresh),
    ):
        if value < 1:
            raise CompileError(f"{name} must be >= 1, got {value}")
    if not (lr > 0 and math.isfinite(lr)):
        raise CompileError(f"lr must be a positive number, got {lr}")
    if not (weight_decay >= 0 and math.isfinite(weight_decay)):
        raise CompileError(f"weight_decay must be a non-negative number, got {weight_decay}")
    if objective not in ("tokens", "labels"):
        raise CompileError(f"objective must be 'tokens' or 'labels', got {objective!r}")
    if objective == "labels" and not isinstance(output_type, LabelsOutput):
        raise CompileError("objective 'labels' needs a labels program")
    check_outputs(output_type, train, "train")
    check_outputs(output_type, heldout, "heldout")
    labels = list(output_type.labels) if isinstance(output_type, LabelsOutput) else None
    if score_inputs and labels is None:
        raise CompileError("score_inputs needs a labels program")
    generation = generation or GenerationSettings()
    try:
        prefix_text, suffix_text = split_template(prompt_template, "prompt template")
    except ProgramFormatError as exc:
        raise CompileError(exc.message) from exc

    vocab = get_vocab(base_path)
    prefix = vocab.tokenize(prefix_text, special=True)
    train_rows = encode_rows(train, vocab, suffix_text, "train", max_seq_tokens, len(prefix))
    if heldout:
        eval_split, eval_pairs = "heldout", list(heldout)
    elif evaluate_fitted_rows:
        # True: the first 32 fitted rows; a number: that many (the agreement replay costs CPU time per row)
        count = _FALLBACK_EVAL_ROWS if evaluate_fitted_rows is True else int(evaluate_fitted_rows)
        eval_split, eval_pairs = "train", list(train)[:count]
    else:
        eval_split, eval_pairs = "none", []
    eval_encoded = encode_rows(eval_pairs, vocab, suffix_text, eval_split, max_seq_tokens, len(prefix))
    scored_rows = encode_rows([(text, labels[0]) for text in score_inputs] if labels else [], vocab, suffix_text, "scored", max_seq_tokens, len(prefix))
    early_stopping = bool(heldout)
    evaluating = bool(eval_pairs)
    eval_every = eval_every or max(10, steps // 5)
    gold_train = [output for _, output in train]
    label_targets: tuple[list[int], ...] = ()
    if objective == "labels" and labels is not None:
        # every label as a segment of each training row, scored like the runtime scores it
        seqs = label_sequences(labels, vocab)
        label_len = [len(seqs[label]) for label in labels]
        label_targets = tuple(vocab.tokenize(label, special=False) + [vocab.eot] for label in labels)
        gold_index = [labels.index(output) for output in gold_train]

    base = load_torch_base(base_path)
    targets = check_targets(base.facts, tuple(targets))
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    rng = np.random.default_rng(seed)
    curve: list[CurvePoint] = []
    final: Evaluation | None = None
    answers: list[str] = []
    scores: list[dict[str, float]] = []
    try:
        with attached_lora(base, rank=rank, alpha=alpha, targets=targets, seed=seed) as peft_model:
            runner = PrefixRunner(peft_model, prefix, pad=vocab.eot)
            evaluate = Evaluator(runner, eval_encoded, [g for _, g in eval_pairs], labels, vocab, chunk=batch_size * 2)
            params = [p for p in peft_model.parameters() if p.requires_grad]
            optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
            warmup = max(1, min(10, steps // 10))
            schedule = torch.optim.lr_scheduler.LambdaLR(
                optimizer, lambda s: min(1.0, (s + 1) / warmup) * max(0.1, 1.0 - s / steps)
            )
            order: list[int] = []
            since_best = 0
            best_key: tuple[float, float] = (-math.inf, -math.inf)
            best_step, best_state = 0, None
            if evaluating:
                # Step 0 is the untrained adapter (peft starts B at zero): the prompt-only baseline, and
                # the checkpoint to keep if training never beats it.
                peft_model.eval()
                with torch.no_grad():
                    point = evaluate(limit=eval_rows)
                curve.append(CurvePoint(step=0, train_loss=None, lr=0.0, heldout_loss=point.loss, heldout_exact=point.exact))
                best_key = (point.exact if point.exact is not None else 0.0, -point.loss)
                best_state = lora_state(peft_model, targets)
            window: list[float] = []
            steps_run = 0
            stopped_early = False
            cache = None
            bar_split = "held-out" if eval_split == "heldout" else "fitted rows"
            with FitProgressBar(progress, steps, bar_split) as bar:
                for step in range(1, steps + 1):
                    peft_model.train()
                    if len(order) < batch_size:
                        order += _batch_order(train_rows, gold_train, rng, balance_labels and labels is not None)
                    picked = order[:batch_size]
                    batch = [train_rows[i] for i in picked]
                    del order[:batch_size]
                    if prefix_grad or cache is None or (step - 1) % prefix_refresh == 0:
                        cache = runner.prefix_cache(grad=prefix_grad)
                    copy_cache = not prefix_grad and prefix_refresh > 1
                    if label_targets:
                        rows_all = [EncodedRow(body=row.body, targets=label_targets) for row in batch]
                        segments = runner.segment_logprobs(rows_all, cache, copy_cache=copy_cache)
                        label_scores = torch.stack(
                            [torch.stack([seg[:n].sum() for seg, n in zip(segs, label_len)]) for segs in segments]
                        )
                        loss = torch.nn.functional.cross_entropy(label_scores, torch.tensor([gold_index[i] for i in picked]))
                    else:
                        segments = runner.segment_logprobs(batch, cache, copy_cache=copy_cache)
                        loss = -torch.cat([seg[0] for seg in segments]).mean()
                    step_loss = float(loss.detach())
                    if not math.isfinite(step_loss):
                        raise CompileError(f"training diverged at step {step} (loss {step_loss})", hint="lower lr")
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(params, 1.0)
                    optimizer.step()
                    schedule.step()
                    optimizer.zero_grad(set_to_none=True)
                    if prefix_grad:
                        cache = None
                    steps_run = step
                    window.append(step_loss)
                    point = None
                    if evaluating and (step % eval_every == 0 or step == steps):
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
                    elif not evaluating and step == steps:
                        curve.append(CurvePoint(step=step, train_loss=float(np.mean(window)), lr=float(schedule.get_last_lr()[0])))
                    bar.update(step, step_loss, point)
                    if callback is not None:
                        callback(
                            StepInfo(
                                step=step,
                                steps=steps,
                                loss=step_loss,
                                heldout_loss=point.loss if point else None,
                                heldout_exact=point.exact if point else None,
                                eval_split=eval_split,
                            )
                        )
                    if early_stopping and since_best >= patience:
                        stopped_early = True
                        break

            if early_stopping and best_state is not None:
                set_lora_state(peft_model, best_state)
            else:
                best_step = steps_run
            pairs = lora_state(peft_model, targets)

            # Final answers of the kept checkpoint on the whole eval split, decided like the runtime.
            peft_model.eval()
            with torch.no_grad():
                if evaluating:
                    final = evaluate()
                    if labels is not None:
                        answers = final.answers or []
                    else:
                        prefix_kv = runner.prefix_cache()
                        answers = [
                            runner.greedy(row.body, prefix_kv, vocab, generation.max_tokens, generation.stop).strip()
                            for row in eval_encoded
                        ]
                if scored_rows:
                    scores = Evaluator(runner, scored_rows, [labels[0]] * len(scored_rows), labels, vocab, chunk=batch_size * 2).label_logprobs()
    finally:
        torch.set_num_threads(previous_threads)
    exact = (
        sum(a == gold.strip() for a, (_, gold) in zip(answers, eval_pairs)) / len(eval_pairs) if evaluating else None
    )

    adapters: dict[str, bytes] = {}
    type_counts: dict[str, int] = {}
    for q in ADAPTER_QUANTS if export else ():
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
    if check and export and evaluating:
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
        weight_decay=weight_decay,
        balance_labels=balance_labels,
        objective=objective,
        prefix_refresh=prefix_refresh,
        batch_size=batch_size,
        steps_planned=steps,
        steps_run=steps_run,
        best_step=best_step,
        stopped_early=stopped_early,
        curve=curve,
        eval_split=eval_split,
        curve_eval_rows=min(eval_rows, len(eval_encoded)),
        eval_exact_match=exact,
        eval_loss=final.loss if final is not None else None,
        eval_answers=answers,
        scores=scores,
        n_train=len(train_rows),
        n_eval=len(eval_encoded),
        prefix_tokens=len(prefix),
        mean_example_tokens=float(np.mean([len(r.body) + len(r.targets[0]) for r in train_rows])),
        threads=threads,
        seconds=time.perf_counter() - started,
        agreement=agreement,
    )

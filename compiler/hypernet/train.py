"""Training the hypernetwork: specs -> adapters -> eq. 4 loss through the frozen interpreter.

* **What trains**: tau (+ compiler LoRA / weights, per config) and the mapper. The interpreter is the
  torch copy of the GGUF llama.cpp runs (``compiler.torch_base``), frozen: its parameters keep
  ``requires_grad=False`` and never get a ``.grad``.
* **Step** = ``specs_per_step`` specs (gradient accumulation), each with ``examples_per_spec`` rows drawn
  from its training rows (the first ``n_shown`` rows are the pseudo-program's examples and are not
  trained on). AdamW (mapper ``lr``, compiler ``compiler_lr``), linear warm-up then cosine decay,
  gradient clipping.
* **Validation**: mean NLL on a fixed set of validation specs/rows every ``eval_every`` steps; the
  best is saved as ``model.pt`` (validation specs are never trained on; test specs are never read here).
* **Budget**: stops at ``steps`` or ``max_minutes`` of wall time, whichever first, then validates and
  saves. ``last.pt`` (every ``save_every`` steps) resumes exactly: weights, optimizer, schedule, RNG.
* **Scale-out**: under ``torchrun`` (``WORLD_SIZE`` > 1) each rank draws its own specs from the same
  seeded stream, gradients are averaged across ranks once per optimizer step (NCCL on CUDA, gloo on
  CPU) — DDP's all-reduce, done after the accumulation because one spec's forward is a loop, not one
  module call — and rank 0 validates, logs and saves. The same script runs unchanged.
* **Precision**: bf16 autocast for the compiler and interpreter on CUDA that supports it; fp32 on CPU
  (measured faster here) and always for the mapper.
"""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from compiler.hypernet import checkpoint as ckpt
from compiler.hypernet.config import HypernetConfig
from compiler.hypernet.data import FuzzyTask
from compiler.hypernet.model import CompilerLM, Hypernet, build_hypernet
from compiler.hypernet.objective import Interp, spec_nll
from compiler.hypernet.pseudo_cache import PseudoEntry, pseudo_key
from compiler.hypernet.rows import EncodedProgram, encode_program, interpreter_vocab
from pawflow.errors import CompileError

N_SHOWN = 3  # rows of a spec shown as examples in its pseudo-program


@dataclass
class SpecItem:
    """A spec ready for training: its pseudo-program, rendered template and tokenized rows."""

    task: FuzzyTask
    pseudo_program: str
    template: str
    program: EncodedProgram

    @property
    def trainable(self) -> list[int]:
        return list(range(N_SHOWN, len(self.program.rows)))


def shown_examples(task: FuzzyTask):
    return task.rows[:N_SHOWN]


def prepare_specs(tasks: Sequence[FuzzyTask], pseudo: dict[str, PseudoEntry], base_path: Path, *, max_row_tokens: int) -> list[SpecItem]:
    from pawflow.base import inspect_base
    from pawflow.prompting import render_template

    info = inspect_base(base_path)
    vocab = interpreter_vocab(base_path)
    items = []
    for task in tasks:
        entry = pseudo.get(pseudo_key(task.spec, shown_examples(task), task.output))
        if entry is None:
            raise CompileError(f"no pseudo-program for spec {task.spec[:60]!r}", hint="run pregenerate() first")
        template = render_template(info, entry.pseudo_program, base_path=base_path)
        program = encode_program(template, task.rows, vocab, max_row_tokens=max_row_tokens)
        items.append(SpecItem(task=task, pseudo_program=entry.pseudo_program, template=template, program=program))
    return items


@dataclass
class TrainResult:
    directory: Path
    steps: int
    best_step: int | None
    best_val_loss: float | None
    first_val_loss: float | None
    train_seconds: float
    cpu_seconds: float
    losses: list[float] = field(default_factory=list)
    val_curve: list[tuple[int, float]] = field(default_factory=list)


def init_distributed() -> tuple[int, int]:
    """(world size, rank): joins the ``torchrun`` process group when there is one, else (1, 0)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank = torch.distributed.get_rank() if world > 1 else 0
    return world, rank


def _autocast_dtype(config: HypernetConfig, device: torch.device) -> torch.dtype | None:
    if config.train.dtype == "fp32":
        return None
    if config.train.dtype == "bf16":
        return torch.bfloat16
    return torch.bfloat16 if device.type == "cuda" and torch.cuda.is_bf16_supported() else None


def _schedule(step: int, warmup: int, total: int) -> float:
    if step < warmup:
        return (step + 1) / max(1, warmup)
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress))


def validate(hyper: Hypernet, interp: Interp, items: Sequence[SpecItem], k: int, autocast_dtype=None) -> float:
    """Mean NLL over fixed rows (the first k trainable rows) of each validation spec."""
    hyper.eval()
    losses = []
    with torch.no_grad():
        for item in items:
            rows = [item.program.rows[i] for i in item.trainable[:k]]
            losses.append(float(spec_nll(hyper, interp, item.task.spec, item.pseudo_program, item.program, rows,
                                         autocast_dtype=autocast_dtype)))
    hyper.train()
    return float(sum(losses) / max(1, len(losses)))


def train_hypernet(
    config: HypernetConfig,
    train_items: Sequence[SpecItem],
    val_items: Sequence[SpecItem],
    out_dir: str | Path,
    *,
    resume: bool = True,
    compiler: CompilerLM | None = None,
    on_step: Callable[[dict], None] | None = None,
) -> TrainResult:
    """Train (or resume) into ``out_dir``; returns the facts the benchmark reports."""
    from compiler.torch_base import load_torch_base
    from compiler.hypernet.injection import injected
    from pawflow.base import inspect_base, cached_sha256
    from pawflow.config import embedded_base_path

    if not train_items:
        raise CompileError("no training specs")
    out_dir = Path(out_dir)
    tc = config.train
    if tc.device.startswith("cuda") and not torch.cuda.is_available():
        raise CompileError("--device cuda, but torch sees no CUDA device", hint="install a CUDA build of torch, or train with --device cpu")
    world, rank = init_distributed()
    torch.set_num_threads(tc.threads)
    device = torch.device(tc.device if tc.device != "cuda" or world == 1 else f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}")
    base_path = Path(config.interpreter_base) if config.interpreter_base else embedded_base_path()
    interpreter = load_torch_base(base_path)
    if device.type != "cpu":
        interpreter.model.to(device)
    hyper = build_hypernet(config.arch, interpreter, compiler=compiler, seed=tc.seed).to(device)
    if hyper.shares_interpreter is False and compiler is None and device.type != "cpu":
        hyper.encoder.lm.to(device)
    hyper.train()
    autocast_dtype = _autocast_dtype(config, device)

    mapper_params = [p for p in hyper.mapper.parameters() if p.requires_grad]
    compiler_params = [hyper.encoder.tau] + [p for n, p in hyper.encoder.named_parameters() if p.requires_grad and n != "tau"]
    optimizer = torch.optim.AdamW(
        [{"params": mapper_params, "lr": tc.lr}, {"params": compiler_params, "lr": tc.compiler_lr}],
        weight_decay=tc.weight_decay,
    )
    base_lrs = [tc.lr, tc.compiler_lr]

    info = ckpt.CheckpointInfo(config=config, interpreter_sha256=inspect_base(base_path).sha256, interpreter_name=base_path.name)
    if config.arch.compiler_base and Path(config.arch.compiler_base).is_file():
        info.compiler_sha256 = cached_sha256(Path(config.arch.compiler_base))
    rng = random.Random(tc.seed)
    step, losses, val_curve = 0, [], []
    spent_before, cpu_before = 0.0, 0.0
    if resume and (out_dir / ckpt.LAST).is_file():
        last = ckpt.read_state(out_dir, ckpt.LAST)
        hyper.load_trainable_state(last["model"])
        optimizer.load_state_dict(last["optimizer"])
        rng.setstate(last["rng"])
        torch.set_rng_state(last["torch_rng"])
        step, losses, val_curve = last["step"], last["losses"], [tuple(v) for v in last["val_curve"]]
        info = ckpt.CheckpointInfo.model_validate(last["info"])
        spent_before, cpu_before = info.train_seconds, info.cpu_seconds

    started, cpu_started = time.perf_counter(), time.process_time()
    budget = tc.max_minutes * 60 if tc.max_minutes else None

    def elapsed() -> float:
        return spent_before + time.perf_counter() - started

    def save(final: bool = False) -> None:
        if rank != 0:
            return
        info.step = step
        info.train_seconds = elapsed()
        info.cpu_seconds = cpu_before + time.process_time() - cpu_started
        ckpt.save_last(out_dir, {
            "model": hyper.trainable_state(), "optimizer": optimizer.state_dict(), "rng": rng.getstate(),
            "torch_rng": torch.get_rng_state(), "step": step, "losses": losses, "val_curve": val_curve,
            "info": info.model_dump(mode="json"),
        })
        if not val_items or not (out_dir / ckpt.MODEL).is_file():
            ckpt.save_model(out_dir, info, hyper.trainable_state())
        else:
            ckpt.write_info(out_dir, info)

    def evaluate() -> None:
        if rank != 0 or not val_items:
            return
        loss = validate(hyper, interp, val_items[: tc.eval_specs], tc.examples_per_spec, autocast_dtype)
        val_curve.append((step, loss))
        if info.best_val_loss is None or loss < info.best_val_loss:
            info.best_val_loss, info.best_step = loss, step
            info.step, info.train_seconds = step, elapsed()
            ckpt.save_model(out_dir, info, hyper.trainable_state())
        ckpt.append_log(out_dir, {"step": step, "val_loss": round(loss, 4), "seconds": round(elapsed(), 1)})

    targets = tuple(config.arch.targets) if config.arch.peft == "lora" else ()
    vocab = interpreter_vocab(base_path)
    import contextlib

    ctx = injected(interpreter.model, targets) if targets else contextlib.nullcontext(None)
    with ctx as injector:
        interp = Interp(causal=interpreter.model, injector=injector, pad=vocab.eot)
        if step == 0:
            evaluate()
        while step < tc.steps and (budget is None or elapsed() < budget):
            for group, base_lr in zip(optimizer.param_groups, base_lrs):
                group["lr"] = base_lr * _schedule(step, tc.warmup_steps, tc.steps if budget is None else max(tc.warmup_steps + 1, min(tc.steps, _expected_steps(step, elapsed(), budget))))
            step_loss = 0.0
            for micro in range(tc.specs_per_step):
                draws = [rng.randrange(len(train_items)) for _ in range(world)]
                item = train_items[draws[rank]]
                rows_idx = rng.sample(item.trainable, min(tc.examples_per_spec, len(item.trainable)))
                rows = [item.program.rows[i] for i in rows_idx]
                loss = spec_nll(hyper, interp, item.task.spec, item.pseudo_program, item.program, rows,
                                autocast_dtype=autocast_dtype) / tc.specs_per_step
                if not torch.isfinite(loss):
                    raise CompileError(f"training diverged at step {step} (loss {float(loss)})", hint="lower lr")
                loss.backward()
                step_loss += float(loss.detach())
            if world > 1:
                _all_reduce_grads(optimizer, world)
            torch.nn.utils.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]], tc.grad_clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            losses.append(step_loss)
            record = {"step": step, "loss": round(step_loss, 4), "lr": optimizer.param_groups[0]["lr"], "seconds": round(elapsed(), 1)}
            if rank == 0:
                ckpt.append_log(out_dir, record)
            if on_step is not None:
                on_step(record)
            if step % tc.eval_every == 0:
                evaluate()
            if step % tc.save_every == 0:
                save()
        if not val_curve or val_curve[-1][0] != step:
            evaluate()
        save(final=True)
    return TrainResult(
        directory=out_dir, steps=step, best_step=info.best_step, best_val_loss=info.best_val_loss,
        first_val_loss=val_curve[0][1] if val_curve else None, train_seconds=elapsed(),
        cpu_seconds=cpu_before + time.process_time() - cpu_started, losses=losses, val_curve=val_curve,
    )


def _all_reduce_grads(optimizer: torch.optim.Optimizer, world: int) -> None:
    """Average gradients over ranks once per optimizer step (what DDP does, after the accumulation)."""
    for group in optimizer.param_groups:
        for p in group["params"]:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
            torch.distributed.all_reduce(p.grad)
            p.grad /= world


def _expected_steps(step: int, spent: float, budget: float) -> int:
    """Steps a time budget will allow, estimated from the pace so far (the cosine schedule's length)."""
    if step < 5 or spent <= 0:
        return 10**9
    return int(step * budget / spent)

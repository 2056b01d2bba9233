"""Train the hypernetwork compiler here and compare it, on specs it never saw, with raw / prompt / fit.

The shape of the paper's Table 1/5, on this machine:

* ``raw``      — the bare interpreter with the spec alone as its pseudo-program;
* ``prompt``   — the deterministic pseudo-program (spec + output contract + 3 examples), no adapter;
* ``hypernet`` — the same pseudo-program + the LoRA the trained hypernetwork generates in one forward pass;
* ``fit``      — the same pseudo-program + a LoRA fitted by gradient descent on that spec's own rows;
* ``shuffled`` — ablation: the spec's own pseudo-program with the adapter generated for *another* test
  spec; what ``hypernet`` gains over it is what conditioning the adapter on the spec is worth.

Data: the offline synthetic generator (compiler/hypernet/synthetic.py), or ``--data`` FuzzyBench
JSONL, split by task identity 80/10/10. Training reads train specs, checkpoint selection reads val
specs, and the scores are on test specs (other parameters *and* a phrasing no training spec uses).
Per test spec: rows 0-2 are the pseudo-program's examples, rows 3-26 are what ``fit`` trains on (its
last 6 only early-stop it), and the last ``--eval-rows`` rows are scored; no method saw those rows.
Every score is an exact match through the llama.cpp runtime (``compiler.evaluate.exact_match``).
BIG-bench: the same selection rule as bench/compile.py (compiler/bigbench.py), prompt vs hypernet.

    python bench/train_hypernet.py --minutes 50                 # train (CPU, ~1 h with eval) then report
    python bench/train_hypernet.py --json                       # the same, one JSON object on stdout
    python bench/train_hypernet.py --report-only ~/.cache/pawflow/hypernet/cpu --json
    python bench/train_hypernet.py --report-only DIR --methods shuffled --no-bigbench   # one column only
    python bench/train_hypernet.py --device cuda --minutes 8    # one GPU: the larger `gpu` preset
    torchrun --nproc-per-node 4 bench/train_hypernet.py --device cuda --minutes 8 --train-only
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from statistics import mean
from typing import Any, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

err = Console(stderr=True)
FIT_ROWS = 24
EARLY_STOP_ROWS = 6


def default_out(preset: str) -> Path:
    from pawflow.config import cache_root

    return cache_root() / "hypernet" / preset


def _progress() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("{task.fields[note]}"), console=err, transient=True)


def prepare_data(out: Path, data: Optional[Path], seed: int):
    from compiler.hypernet.data import by_split, load_fuzzybench, write_fuzzybench
    from compiler.hypernet.synthetic import generate_tasks

    if data is None:
        data = out / "synthetic.jsonl"
        if not data.is_file():
            write_fuzzybench(data, generate_tasks(seed=seed))
    return data, by_split(load_fuzzybench(data))


def raw_program(request, base):
    from pawflow.program import CompileInfo, Program
    from pawflow.prompting import render_template

    return Program.build(name=request.name, base=base.info, prompt_template=render_template(base.info, request.spec, base_path=base.path),
                         pseudo_program=request.spec, spec=request.spec, output=request.output, generation=request.generation,
                         compile=CompileInfo(method="raw-spec"))


def test_request(task, index: int):
    from compiler.hypernet.train import N_SHOWN
    from compiler.methods import CompileRequest

    return CompileRequest(name=f"test-{index:02d}-{task.family}", spec=task.spec, output=task.output,
                          examples=task.rows[:N_SHOWN], train=task.rows[N_SHOWN:N_SHOWN + FIT_ROWS],
                          generation=task.generation(), origin=f"synthetic:{task.task_id}")


def shuffled_program(request, other, base, checkpoint: Path):
    """Ablation: this spec's own pseudo-program, but the adapter the hypernet generates for *another* spec.

    If ``hypernet`` only learned a generic "answer in the format" adapter, this scores like ``hypernet``;
    the gap between them is what the adapter's dependence on the spec is worth.
    """
    from compiler.hypernet.export import compile_adapter, loaded
    from compiler.torch_base import load_torch_base
    from pawflow.program import CompileInfo, Program
    from pawflow.prompting import default_pseudo_program, render_template

    hyper, _ = loaded(checkpoint, base.path)
    own = default_pseudo_program(request.spec, request.examples, request.output)
    theirs = default_pseudo_program(other.spec, other.examples, other.output)
    adapter = compile_adapter(hyper, load_torch_base(base.path).facts, other.spec, theirs).adapter
    return Program.build(name=request.name, base=base.info, prompt_template=render_template(base.info, own, base_path=base.path),
                         pseudo_program=own, adapter=adapter, spec=request.spec, output=request.output,
                         generation=request.generation, compile=CompileInfo(method="hypernet-shuffled"))


def evaluate_checkpoint(checkpoint: Path, tests, *, eval_rows: int, fit_specs: int, fit_steps: int, bigbench: bool,
                        bb_tasks: int, bb_eval_cap: int, bb_archive: Optional[Path], seed: int,
                        methods: tuple[str, ...] = ("raw", "prompt", "hypernet", "shuffled", "fit")) -> dict[str, Any]:
    from compiler.driver import compile_request, resolve_base, resolve_options
    from compiler.evaluate import exact_match
    from compiler.methods import shared_interpreter

    base = resolve_base(None)
    interpreter = shared_interpreter(base)
    rows_out: list[dict[str, Any]] = []
    hyper_options = resolve_options(None, "hypernet", {"checkpoint": checkpoint, "evaluate": False, "pseudo_lm": False})
    prompt_options = resolve_options(None, "prompt", {"evaluate": False, "pseudo_lm": False})
    fit_options = resolve_options(None, "fit", {"evaluate": False, "pseudo_lm": False, "steps": fit_steps, "early_stop_split": "train",
                                                "early_stop_rows": EARLY_STOP_ROWS, "check_agreement": False, "seed": seed})
    first_load = None

    def score(program, rows) -> float:
        return exact_match(program, rows, interpreter=interpreter).em

    with _progress() as progress:
        bar = progress.add_task("held-out specs", total=len(tests), note="")
        for index, task in enumerate(tests):
            request = test_request(task, index)
            held = task.rows[-eval_rows:]
            row: dict[str, Any] = {"spec": task.spec, "family": task.family, "task": task.task_id, "n": len(held)}
            if "raw" in methods:
                progress.update(bar, note=f"{task.family}: raw")
                row["raw_em"] = score(raw_program(request, base), held)
            if "prompt" in methods:
                progress.update(bar, note=f"{task.family}: prompt")
                program, _, _ = compile_request(request, method="prompt", options=prompt_options, base=base)
                row["prompt_em"] = score(program, held)
            if "hypernet" in methods:
                progress.update(bar, note=f"{task.family}: hypernet")
                started = time.perf_counter()
                program, _, seconds = compile_request(request, method="hypernet", options=hyper_options, base=base)
                if first_load is None:
                    first_load = time.perf_counter() - started
                row["hypernet_compile_s"] = round(seconds, 3)
                row["hypernet_generate_s"] = program.meta.pawflow.compile.details.get("generate_s")
                row["hypernet_em"] = score(program, held)
            if "shuffled" in methods and len(tests) > 1:
                progress.update(bar, note=f"{task.family}: hypernet, another spec's adapter")
                other = test_request(tests[(index + 1) % len(tests)], index + 1)
                row["shuffled_em"] = score(shuffled_program(request, other, base, checkpoint), held)
            if "fit" in methods and index < fit_specs:
                progress.update(bar, note=f"{task.family}: fit ({fit_steps} steps)")
                program, _, seconds = compile_request(request, method="fit", options=fit_options, base=base)
                row["fit_compile_s"] = round(seconds, 1)
                row["fit_em"] = score(program, held)
            rows_out.append(row)
            progress.update(bar, advance=1)
        bb = bigbench_eval(base, interpreter, hyper_options, prompt_options, bb_tasks, bb_eval_cap, bb_archive, progress) if bigbench else None
    return {"rows": rows_out, "bigbench": bb, "hypernet_first_compile_s": round(first_load or 0.0, 1)}


def bigbench_eval(base, interpreter, hyper_options, prompt_options, bb_tasks, bb_eval_cap, archive, progress) -> dict[str, Any]:
    from compiler.bigbench import SelectionRule, load_tasks, split_task
    from compiler.driver import compile_request
    from compiler.evaluate import exact_match

    rule = SelectionRule(max_tasks=bb_tasks, eval_cap=bb_eval_cap)
    tasks = load_tasks(rule, archive)
    per_task = []
    bar = progress.add_task("BIG-bench", total=len(tasks), note="")
    for task in tasks:
        split = split_task(task, rule)
        row = {"task": task.name, "n": len(split.evaluation)}
        row["raw_em"] = exact_match(raw_program(split.request, base), split.evaluation, interpreter=interpreter).em
        for method, options in (("prompt", prompt_options), ("hypernet", hyper_options)):
            program, _, _ = compile_request(split.request, method=method, options=options, base=base)
            row[f"{method}_em"] = exact_match(program, split.evaluation, interpreter=interpreter).em
        per_task.append(row)
        progress.update(bar, advance=1, note=task.name)
    return {"rule": rule.describe(), "per_task": per_task,
            **{f"{m}_em": round(mean(r[f"{m}_em"] for r in per_task), 4) for m in ("raw", "prompt", "hypernet")}}


def summarize(result: dict[str, Any], info, train_minutes: float | None, cpu_minutes: float | None, extra: dict) -> dict[str, Any]:
    rows = result["rows"]
    fitted = [r for r in rows if "fit_em" in r]
    bb = result["bigbench"] or {}
    def avg(key: str, rs: list[dict[str, Any]]) -> float | None:
        values = [r[key] for r in rs if r.get(key) is not None]
        return round(mean(values), 4) if values else None

    return {
        "heldout_specs": len(rows),
        "raw_em": avg("raw_em", rows),
        "prompt_em": avg("prompt_em", rows),
        "hypernet_em": avg("hypernet_em", rows),
        "fit_em": avg("fit_em", fitted),
        "train_minutes": round(train_minutes, 1) if train_minutes is not None else None,
        # warm: the first compile also loads the checkpoint, the torch base and the tokenizer (hypernet_first_compile_s)
        "hypernet_compile_s": avg("hypernet_compile_s", rows[1:] if len(rows) > 1 else rows),
        "fit_compile_s": avg("fit_compile_s", fitted),
        "bigbench_hypernet_em": bb.get("hypernet_em"),
        "bigbench_prompt_em": bb.get("prompt_em"),
        # context for reading the figures above
        "fit_specs": len(fitted),
        "on_fit_specs": {k: avg(k, fitted) for k in ("raw_em", "prompt_em", "hypernet_em", "shuffled_em", "fit_em")},
        "hypernet_minus_prompt": (round(avg("hypernet_em", rows) - avg("prompt_em", rows), 4)
                                  if avg("hypernet_em", rows) is not None and avg("prompt_em", rows) is not None else None),
        "hypernet_other_spec_adapter_em": avg("shuffled_em", rows),
        "train_cpu_minutes": round(cpu_minutes, 1) if cpu_minutes is not None else None,
        "hypernet_first_compile_s": result.get("hypernet_first_compile_s"),
        "bigbench_raw_em": bb.get("raw_em"),
        "bigbench_rule": bb.get("rule"),
        "bigbench_per_task": bb.get("per_task"),
        "checkpoint_step": info.step, "best_val_loss": info.best_val_loss, "best_step": info.best_step,
        "per_spec": rows,
        **extra,
    }


def print_tables(payload: dict[str, Any]) -> None:
    console = Console() if sys.stdout.isatty() else Console(width=160)

    def f(value: Any) -> str:
        return "—" if value is None else f"{value:.2f}" if isinstance(value, (int, float)) else str(value)

    table = Table(title=f"Held-out specs never seen in training: exact match through llama.cpp ({payload['heldout_specs']} specs)")
    for column in ("spec", "family", "n", "raw", "prompt", "hypernet", "other spec's adapter", "fit", "hypernet s", "fit s"):
        table.add_column(column, justify="left" if column in ("spec", "family") else "right", overflow="fold")
    for r in payload["per_spec"]:
        table.add_row(r["spec"][:60], r["family"], str(r["n"]), f(r.get("raw_em")), f(r.get("prompt_em")), f(r.get("hypernet_em")),
                      f(r.get("shuffled_em")), f(r.get("fit_em")), f(r.get("hypernet_compile_s")), f(r.get("fit_compile_s")))
    console.print(table)
    summary = Table(title="Summary (the paper's Table 1/5 shape)")
    for column in ("method", "held-out EM", f"EM on the {payload['fit_specs']} fit specs", "compile s", "BIG-bench EM"):
        summary.add_column(column, justify="right")
    sub = payload["on_fit_specs"]
    summary.add_row("raw spec", f(payload["raw_em"]), f(sub["raw_em"]), "0", f(payload.get("bigbench_raw_em")))
    summary.add_row("prompt", f(payload["prompt_em"]), f(sub["prompt_em"]), "~0", f(payload.get("bigbench_prompt_em")))
    summary.add_row("hypernet", f(payload["hypernet_em"]), f(sub["hypernet_em"]), f(payload["hypernet_compile_s"]),
                    f(payload.get("bigbench_hypernet_em")))
    summary.add_row("hypernet, another spec's adapter", f(payload.get("hypernet_other_spec_adapter_em")), f(sub.get("shuffled_em")), "", "")
    summary.add_row("fit (per task)", "—", f(payload["fit_em"]), f(payload["fit_compile_s"]), "—")
    console.print(summary)
    console.print(f"training: {payload['train_minutes']} min wall, {payload['train_cpu_minutes']} min CPU; checkpoint step "
                  f"{payload['checkpoint_step']} (best val loss {payload['best_val_loss']} at step {payload['best_step']})")
    if payload.get("bigbench_rule"):
        console.print(f"BIG-bench rule: {payload['bigbench_rule']}")


def main(
    minutes: float = typer.Option(45.0, help="Training wall-time budget (then validation, save, evaluation)."),
    device: str = typer.Option("cpu", help="cpu or cuda; cuda picks the larger `gpu` preset."),
    preset_name: Optional[str] = typer.Option(None, "--preset", help="tiny, cpu or gpu (default: from --device)."),
    out: Optional[Path] = typer.Option(None, help="Checkpoint directory (default: <cache>/hypernet/<preset>, git-ignored)."),
    report_only: Optional[Path] = typer.Option(None, "--report-only", help="Evaluate this checkpoint without training."),
    train_only: bool = typer.Option(False, "--train-only", help="Train and save, skip the evaluation (torchrun ranks)."),
    data: Optional[Path] = typer.Option(None, help="FuzzyBench JSONL (default: the synthetic generator's, written next to the checkpoint)."),
    peft: Optional[str] = typer.Option(None, help="lora or prefix (prefix trains and validates; it cannot be exported)."),
    pseudo_engine: str = typer.Option("none", help="Pseudo-program pre-generation: none (deterministic), auto, vllm or llama.cpp."),
    threads: int = typer.Option(1, help="torch and llama.cpp threads (1 is fastest on a busy CPU)."),
    eval_specs: int = typer.Option(12, help="Held-out test specs scored (the first N by spec hash, a fixed order)."),
    skip_specs: int = typer.Option(0, help="Skip the first N test specs in that order (to score the rest in another run)."),
    eval_rows: int = typer.Option(12, help="Scored rows per held-out spec."),
    fit_specs: int = typer.Option(6, help="How many of those also get a per-task `fit` (minutes each on CPU)."),
    fit_steps: int = typer.Option(40, help="Steps of each per-task fit."),
    bigbench: bool = typer.Option(True, "--bigbench/--no-bigbench"),
    bb_tasks: int = typer.Option(6, help="BIG-bench tasks (compiler/bigbench.py's rule)."),
    bb_eval_cap: int = typer.Option(16, help="BIG-bench scored rows per task."),
    bb_archive: Optional[Path] = typer.Option(None, help="bigbench sdist (default: compiler/bigbench.py downloads it)."),
    methods: str = typer.Option("raw,prompt,hypernet,shuffled,fit", help="Which held-out columns to run (shuffled: the ablation "
                                "with another spec's adapter)."),
    seed: int = typer.Option(0),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout (progress stays on stderr)."),
) -> None:
    """Train the text-to-LoRA hypernetwork and report held-out EM of raw / prompt / hypernet / fit."""
    os.environ["PAWFLOW_THREADS"] = str(threads)
    from compiler.hypernet import checkpoint as ckpt
    from compiler.hypernet.config import preset
    from compiler.hypernet.data import spec_key
    from compiler.hypernet.pseudo_cache import pregenerate
    from compiler.hypernet.train import prepare_specs, shown_examples, train_hypernet
    from pawflow.config import embedded_base_path

    name = preset_name or ("gpu" if device == "cuda" else "cpu")
    config = preset(name)
    config.train.device, config.train.threads, config.train.seed = device, threads, seed
    config.train.max_minutes = minutes
    if peft:
        config.arch = config.arch.model_copy(update={"peft": peft})
    directory = report_only or out or default_out(name)
    directory.mkdir(parents=True, exist_ok=True)
    from compiler.hypernet.train import init_distributed

    world, rank = init_distributed()  # under torchrun, rank 0 writes the data and pseudo-programs first
    if world > 1:
        import torch

        if rank == 0:
            prepare_data(directory, data, seed)
        torch.distributed.barrier()
    data_path, splits = prepare_data(directory, data, seed)
    base_path = embedded_base_path()
    train_minutes = cpu_minutes = None
    extra: dict[str, Any] = {"preset": name, "checkpoint": str(directory), "data": str(data_path),
                             "train_specs": len(splits["train"]), "val_specs": len(splits["val"]), "test_specs": len(splits["test"])}
    if report_only is None:
        everything = splits["train"] + splits["val"]
        if rank != 0:
            torch.distributed.barrier()  # wait for rank 0's pseudo-programs
        with _progress() as progress:
            bar = progress.add_task("pseudo-programs", total=len(everything), note=pseudo_engine)
            pseudo = pregenerate([(t.spec, shown_examples(t), t.output) for t in everything], directory / "pseudo.jsonl",
                                 engine=pseudo_engine, progress=lambda done, total: progress.update(bar, completed=done, total=total))
        if world > 1 and rank == 0:
            torch.distributed.barrier()
        train_items = prepare_specs(splits["train"], pseudo, base_path, max_row_tokens=config.train.max_row_tokens)
        val_items = prepare_specs(sorted(splits["val"], key=lambda t: spec_key(t.spec)), pseudo, base_path,
                                  max_row_tokens=config.train.max_row_tokens)
        with _progress() as progress:
            bar = progress.add_task("training", total=None, note="loading")

            def on_step(record: dict) -> None:
                progress.update(bar, completed=record["step"], note=f"loss {record['loss']:.3f}  {record['seconds']:.0f}s")

            result = train_hypernet(config, train_items, val_items, directory, on_step=on_step)
        train_minutes, cpu_minutes = result.train_seconds / 60, result.cpu_seconds / 60
        extra.update(train_steps=result.steps, first_val_loss=result.first_val_loss, val_curve=result.val_curve)
        err.print(f"trained {result.steps} steps in {train_minutes:.1f} min; val loss {result.first_val_loss} -> {result.best_val_loss}")
    info = ckpt.read_info(directory)
    if train_minutes is None:
        train_minutes, cpu_minutes = info.train_seconds / 60, info.cpu_seconds / 60
    if train_only or int(os.environ.get("RANK", "0")) != 0:
        return
    if info.config.arch.peft != "lora":
        err.print("prefix checkpoints cannot be exported to llama.cpp programs; validation loss only")
        sys.stdout.write(json.dumps({"best_val_loss": info.best_val_loss, "train_minutes": train_minutes}) + "\n")
        return
    tests = sorted(splits["test"], key=lambda t: spec_key(t.spec))[skip_specs : skip_specs + eval_specs]
    result = evaluate_checkpoint(directory, tests, eval_rows=eval_rows, fit_specs=fit_specs, fit_steps=fit_steps, bigbench=bigbench,
                                 bb_tasks=bb_tasks, bb_eval_cap=bb_eval_cap, bb_archive=bb_archive, seed=seed,
                                 methods=tuple(m.strip() for m in methods.split(",") if m.strip()))
    payload = summarize(result, info, train_minutes, cpu_minutes, extra)
    from pawflow.storage import atomic_write_text

    atomic_write_text(directory / "report.json", json.dumps(payload, indent=2) + "\n")
    if as_json:
        sys.stdout.write(json.dumps(payload) + "\n")
    else:
        print_tables(payload)


if __name__ == "__main__":
    typer.run(main)

"""Compile benchmark: what each compile method buys, measured on held-out data through llama.cpp.

For every shipped program source (programs/*.yaml) and for a fixed BIG-bench selection it compares:

* ``raw``    — the bare base prompted with the user's spec as the pseudo-program (no examples, no adapter);
* ``prompt`` — the ``prompt`` method: pseudo-compiled pseudo-program, no adapter;
* ``fit``    — the ``fit`` method: the same pseudo-program plus a LoRA fitted on the train split.

Splits: programs are fitted on ``examples`` + ``data.train`` minus its last 48 rows, which pick the
checkpoint (``early_stop_split=train``); the exact match is on ``data.heldout``, which no method fits on
or selects with. BIG-bench tasks keep the early-stopping rows inside their train portion too, so every
score is on rows no method has seen. Every score comes from :func:`compiler.evaluate.exact_match`, the user-facing
runtime (pawflow.Function on llama.cpp), with the adapter at the precision stored in the .paw.

    python bench/compile.py                      # tables (rich), ~20-30 min on 2 CPU cores
    python bench/compile.py --json               # one JSON object on stdout
    python bench/compile.py --no-bigbench --programs log-alert
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


class Bars:
    """Rich progress for the whole run: one line per stage, reused across programs."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, int] = {}

    def stage(self, name: str):
        def update(stage: str, completed: float, total: float | None, note: str = "") -> None:
            label = f"{name}: {stage}"
            if label not in self.tasks:
                self.tasks[label] = self.progress.add_task(label, total=total, note=note)
            self.progress.update(self.tasks[label], completed=completed, total=total, note=note)

        return update


def raw_program(request, base):
    """The base model with the spec alone as its pseudo-program: what you get without compiling."""
    from pawflow.program import CompileInfo, Program
    from pawflow.prompting import render_template

    return Program.build(
        name=request.name,
        base=base.info,
        prompt_template=render_template(base.info, request.spec, base_path=base.path),
        pseudo_program=request.spec,
        spec=request.spec,
        output=request.output,
        generation=request.generation,
        compile=CompileInfo(method="raw-spec"),
    )


def score(program, rows, bars, name: str, what: str) -> float:
    from compiler.evaluate import exact_match

    update = bars.stage(name)
    update(f"scoring {what}", 0, len(rows))
    result = exact_match(program, rows, on_progress=lambda done: update(f"scoring {what}", done, len(rows)))
    return result.em


def run_request(
    request, base, bars, *, fit_overrides: dict[str, Any], eval_rows, loaded=None, early_stop_split: str = "heldout"
) -> dict[str, Any]:
    """raw / prompt / fit on one request; returns the row of the results table."""
    from compiler.driver import compile_request, resolve_options

    name = request.name
    row: dict[str, Any] = {"name": name, "heldout_n": len(eval_rows)}
    row["raw_em"] = score(raw_program(request, base), eval_rows, bars, name, "raw")

    prompt_options = resolve_options(loaded, "prompt", {"evaluate": False, "pseudo_lm": fit_overrides.get("pseudo_lm")})
    program, _, seconds = compile_request(request, method="prompt", options=prompt_options, base=base, progress=bars.stage(name))
    row["prompt_compile_s"] = round(seconds, 1)
    row["pseudo_compiler"] = program.meta.pawflow.compile.details["pseudo_compiler"]
    row["prompt_em"] = score(program, eval_rows, bars, name, "prompt")

    fit_options = resolve_options(loaded, "fit", {**fit_overrides, "evaluate": False, "early_stop_split": early_stop_split})
    program, _, seconds = compile_request(request, method="fit", options=fit_options, base=base, progress=bars.stage(name))
    details = program.meta.pawflow.compile.details
    row["compile_s"] = round(seconds, 1)
    row["fit_steps"] = details.get("steps")
    row["quant"] = details.get("quant")
    row["agreement"] = details.get("llama_cpp_agreement")
    row["adapter_bytes"] = details.get("adapter_bytes", {})
    row["fit_em"] = score(program, eval_rows, bars, name, "fit")
    return row


def programs_table(rows: list[dict[str, Any]], title: str, *, count_label: str = "held-out n") -> Table:
    table = Table(title=title)
    for column in (
        "program", count_label, "raw EM", "prompt EM", "fit EM", "pseudo", "prompt s", "fit s", "steps",
        "agree", "adapter MB f16 / q8_0 / q4_0",
    ):
        table.add_column(column, justify="left" if column in ("program", "pseudo") else "right")
    for row in rows:
        sizes = row.get("adapter_bytes", {})
        best = max(row["raw_em"], row["prompt_em"], row["fit_em"])

        def em(value: float) -> str:
            text = f"{value:.3f}"
            return f"[bold green]{text}[/]" if value == best else text

        table.add_row(
            row["name"], str(row["heldout_n"]), em(row["raw_em"]), em(row["prompt_em"]), em(row["fit_em"]),
            str(row.get("pseudo_compiler", "")), f"{row.get('prompt_compile_s', 0):.1f}", f"{row.get('compile_s', 0):.1f}",
            str(row.get("fit_steps", "")),
            f"{row['agreement']:.2f}" if isinstance(row.get("agreement"), (int, float)) else "—",
            " / ".join(f"{sizes[q] / 1e6:.2f}" if q in sizes else "—" for q in ("f16", "q8_0", "q4_0")),
        )
    return table


def main(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout (progress stays on stderr)."),
    programs: str = typer.Option("log-alert,support-triage,deadline", help="Comma-separated sources in programs/."),
    steps: Optional[int] = typer.Option(None, help="Override every program's fit steps (default: each source's own)."),
    bigbench: bool = typer.Option(True, "--bigbench/--no-bigbench", help="Run the BIG-bench part."),
    bb_tasks: int = typer.Option(6, help="BIG-bench: number of list_functions subtasks (selection rule in compiler/bigbench.py)."),
    bb_eval_cap: int = typer.Option(16, help="BIG-bench: scored rows per task (after the train portion)."),
    bb_steps: int = typer.Option(60, help="BIG-bench: fit steps per task."),
    pseudo_lm: bool = typer.Option(True, "--pseudo-lm/--no-pseudo-lm", help="Let the LM try to write pseudo-programs."),
    threads: Optional[int] = typer.Option(None, help="CPU threads for llama.cpp and torch (default: pawflow settings)."),
    seed: int = typer.Option(0, help="Fit seed."),
    out: Optional[Path] = typer.Option(None, help="Also write the JSON object here (atomically, updated after each program)."),
    show: Optional[Path] = typer.Option(None, help="Only print the tables of a JSON file written by --out."),
) -> None:
    """Held-out exact match of raw / prompt / fit, compile time and adapter sizes."""
    if show is not None:
        print_tables(json.loads(show.read_text(encoding="utf-8")))
        return
    if threads is not None:
        os.environ["PAWFLOW_THREADS"] = str(threads)
    from compiler.bigbench import SelectionRule, load_tasks, split_task
    from compiler.driver import resolve_base
    from compiler.methods import CompileRequest
    from pawflow.source import load_source
    from pawflow.storage import atomic_write_text

    base = resolve_base(None)
    overrides: dict[str, Any] = {"seed": seed, "pseudo_lm": pseudo_lm, "steps": steps}
    started = time.perf_counter()
    program_rows: list[dict[str, Any]] = []
    bb_rows: list[dict[str, Any]] = []
    rule = SelectionRule(max_tasks=bb_tasks, eval_cap=bb_eval_cap)
    progress = Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.fields[note]}"), console=err, transient=True,
    )
    with progress:
        bars = Bars(progress)
        for name in [p.strip() for p in programs.split(",") if p.strip()]:
            loaded = load_source(ROOT / "programs" / f"{name}.yaml")
            request = CompileRequest.from_source(loaded)
            # Early stopping on the last train rows, so no method has touched the held-out rows it is scored on.
            program_rows.append(
                run_request(
                    request, base, bars, fit_overrides=overrides, eval_rows=request.heldout, loaded=loaded,
                    early_stop_split="train",
                )
            )
            if out is not None:  # partial results survive a crash or Ctrl-C later in the run
                atomic_write_text(out, json.dumps(build_payload(program_rows, bb_rows, rule, started), indent=2) + "\n")
        if bigbench:
            for task in load_tasks(rule):
                split = split_task(task, rule)
                bb_rows.append(
                    run_request(split.request, base, bars, fit_overrides={**overrides, "steps": bb_steps}, eval_rows=split.evaluation)
                )
                if out is not None:
                    atomic_write_text(out, json.dumps(build_payload(program_rows, bb_rows, rule, started), indent=2) + "\n")

    payload = build_payload(program_rows, bb_rows, rule, started)
    if out is not None:
        atomic_write_text(out, json.dumps(payload, indent=2) + "\n")
    if as_json:
        sys.stdout.write(json.dumps(payload) + "\n")
    else:
        print_tables(payload)


def print_tables(payload: dict[str, Any]) -> None:
    console = Console() if sys.stdout.isatty() else Console(width=150)
    console.print(programs_table(payload["programs"], "Programs: held-out exact match (llama.cpp runtime)"))
    bb = payload["bigbench"]
    if bb["per_task"]:
        console.print(programs_table(bb["per_task"], "BIG-bench list_functions: exact match on each task's evaluation rows", count_label="eval n"))
        console.print(
            f"BIG-bench mean over {len(bb['per_task'])} tasks: raw {bb['raw_em']:.3f}  prompt {bb['prompt_em']:.3f}  "
            f"fit {bb['fit_em']:.3f}\nrule: {bb['rule']}"
        )
    console.print(f"threads {payload.get('threads') or 'default'}, total {payload['seconds']:.0f}s")


ROW_KEYS = (
    "name", "raw_em", "prompt_em", "fit_em", "heldout_n", "compile_s", "adapter_bytes",
    "prompt_compile_s", "pseudo_compiler", "fit_steps", "quant", "agreement",
)


def build_payload(program_rows, bb_rows, rule, started: float) -> dict[str, Any]:
    return {
        "programs": [{k: row.get(k) for k in ROW_KEYS} for row in program_rows],
        "bigbench": {
            "rule": rule.describe(),
            "tasks": [row["name"] for row in bb_rows],
            "raw_em": round(mean(r["raw_em"] for r in bb_rows), 4) if bb_rows else None,
            "prompt_em": round(mean(r["prompt_em"] for r in bb_rows), 4) if bb_rows else None,
            "fit_em": round(mean(r["fit_em"] for r in bb_rows), 4) if bb_rows else None,
            "per_task": [{k: row.get(k) for k in ROW_KEYS} for row in bb_rows],
        },
        "threads": int(os.environ.get("PAWFLOW_THREADS", "0")) or None,
        "seconds": round(time.perf_counter() - started, 1),
    }


if __name__ == "__main__":
    typer.run(main)

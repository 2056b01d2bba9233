"""Scale-out benchmark: rows/s of the Ray batch engine with 1 and 2 workers, and swaps with/without grouping.

Setup: a local Ray instance on this machine's 2 cores, the embedded SmolLM2-135M, and a
two-program pipeline (two labels programs with real, seeded random LoRA adapters) over ``--rows``
log lines. Every worker runs llama.cpp with **1 thread**: llama.cpp's threads spin-wait, so two
workers asking for both cores each would fight instead of adding up.

1. **Throughput.** For 1 and then 2 workers: start the pool, load the model and warm every
   program's prefix (a warm-up batch that is not timed), then time the engine over the rows
   (``chunk`` rows per task). ``rows_per_s_2_workers / rows_per_s_1_worker`` is the speed-up; both
   runs must give identical outputs. ``--repeats`` alternates the two and keeps the median. The
   workers' own CPU seconds are read too: ``cpu_share_*`` is how many cores a run actually got
   (on a shared machine, less than it asked for) and ``rows_per_cpu_s_*`` the throughput per core
   actually used, which does not depend on what else runs.
2. **Grouping.** One worker runs the same rows row by row (``chunk=1``: every row switches
   adapters for each program) and grouped (``chunk=--chunk``: one switch per program per chunk);
   ``swaps_*`` are the workers' adapter swaps as counted by their interpreters.

    python bench/scaleout.py            # rich table
    python bench/scaleout.py --json     # exactly one JSON object on stdout

On a shared machine the figures measure its load too (the load average is reported alongside).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

LINES = [
    "loss is nan at step 300", "epoch 2 step 10 loss 0.41", "CUDA out of memory. Tried to allocate 2.00 GiB",
    "saved checkpoint to /ckpt/step_400.pt", "Traceback (most recent call last):", "lr warmup finished",
    "disk quota exceeded while writing shard 7", "eval accuracy 0.91 on 2000 examples", "killed by OOM killer",
    "step 4200 loss 0.31 lr 3e-4", "grad norm is inf, skipping update", "dataloader worker 3 exited unexpectedly",
]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def labels_program(base, base_path, *, name: str, spec: str, labels: list[str], examples: list[dict], seed: int):
    """A labels program with a real (seeded random) LoRA adapter: swaps are real adapter swaps."""
    from compiler.synthetic import random_lora_adapter
    from pawflow.program import CompileInfo, GenerationSettings, LabelsOutput, Program
    from pawflow.prompting import default_pseudo_program, render_template

    output = LabelsOutput(labels=labels)
    pseudo = default_pseudo_program(spec, examples, output)
    return Program.build(name=name, base=base, spec=spec, prompt_template=render_template(base, pseudo, base_path=base_path),
                         pseudo_program=pseudo, adapter=random_lora_adapter(base, seed, scale=0.02), output=output,
                         generation=GenerationSettings(max_tokens=4), compile=CompileInfo(method="bench-random-lora"))


def build_project(root: Path) -> Path:
    from pawflow.base import inspect_base
    from pawflow.config import embedded_base_path

    base_path = embedded_base_path()
    base = inspect_base(base_path)
    labels_program(base, base_path, name="alert", spec="Decide whether a line of an ML training log needs a human's attention.",
                   labels=["ALERT", "QUIET"], seed=11,
                   examples=[{"input": "epoch 2 step 400 loss 0.412", "output": "QUIET"},
                             {"input": "Traceback (most recent call last):", "output": "ALERT"},
                             {"input": "loss is nan, stopping training", "output": "ALERT"}]).write(root / "alert.paw")
    labels_program(base, base_path, name="mood", spec="Is the person who wrote this line calm or upset?",
                   labels=["CALM", "UPSET"], seed=12,
                   examples=[{"input": "all good, thanks", "output": "CALM"},
                             {"input": "this is broken again!!", "output": "UPSET"}]).write(root / "mood.paw")
    pipeline = root / "scale.yaml"
    pipeline.write_text(textwrap.dedent("""
        name: scale_bench
        inputs: {text: {type: str}}
        steps:
          alert: {kind: program, program: alert.paw, inputs: {text: inputs.text}}
          mood: {kind: program, program: mood.paw, inputs: {text: inputs.text}}
        outputs: {alert: steps.alert.value, mood: steps.mood.value}
    """).lstrip())
    return pipeline


def rows_for(count: int, offset: int = 0) -> list[tuple[str, dict]]:
    return [(f"r{offset + i}", {"text": f"{LINES[i % len(LINES)]} (#{offset + i})"}) for i in range(count)]


def timed_run(engine, pipeline, rows, chunk: int) -> tuple[float, float, list[dict]]:
    """(wall seconds, CPU seconds the workers used, records)."""
    cpu_before = sum(stat["cpu_s"] for stat in engine.worker_stats())
    started = time.perf_counter()
    records = [record for _, record in engine.compute(pipeline, rows, chunk=chunk, cache=None, trace=False)]
    elapsed = time.perf_counter() - started
    return elapsed, sum(stat["cpu_s"] for stat in engine.worker_stats()) - cpu_before, records


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=48)
    parser.add_argument("--chunk", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=1, help="alternate 1- and 2-worker runs this many times (median)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import ray

    from integrations.scale.ray_engine import RayEngine
    from pawflow.pipeline import Pipeline

    os.environ["PAWFLOW_THREADS"] = "1"
    # Ray's memory monitor kills workers when the *node* passes 95 % memory, counting other people's jobs
    # on a shared machine; the engine survives that (rows are recomputed), but a timed run would then
    # measure restarts. The kernel's OOM killer still protects the machine.
    os.environ.setdefault("RAY_memory_monitor_refresh_ms", "0")
    os.environ.setdefault("PAWFLOW_CACHE", tempfile.mkdtemp(prefix="pawflow-bench-cache-"))
    with tempfile.TemporaryDirectory(prefix="pawflow-scaleout-") as tmp:
        pipeline = Pipeline.load(build_project(Path(tmp)))
        # 3 scheduling slots so the idle 1-worker pool can stay loaded while the 2-worker pool runs; only one
        # pool computes at a time, so at most 2 llama.cpp threads run on the 2 cores.
        ray.init(num_cpus=3, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1",
                 object_store_memory=200 << 20)
        engines = {1: RayEngine(workers=1, threads_per_worker=1), 2: RayEngine(workers=2, threads_per_worker=1)}
        try:
            rows = rows_for(args.rows)
            warm = rows_for(2 * args.chunk, offset=10_000)
            for workers, engine in engines.items():
                log(f"starting {workers} worker(s), loading the model and warming prefixes…")
                engine.start(pipeline, warm=True)
                list(engine.compute(pipeline, warm, chunk=args.chunk, cache=None, trace=False))
            seconds: dict[int, list[float]] = {1: [], 2: []}
            cpu: dict[int, list[float]] = {1: [], 2: []}
            outputs: dict[int, list[dict]] = {}
            deaths = 0
            for repeat in range(args.repeats):
                for workers in (1, 2) if repeat % 2 == 0 else (2, 1):
                    elapsed, cpu_s, records = timed_run(engines[workers], pipeline, rows, args.chunk)
                    deaths += engines[workers].stats.worker_deaths + engines[workers].stats.memory_kills
                    seconds[workers].append(elapsed)
                    cpu[workers].append(cpu_s)
                    outputs[workers] = records
                    log(f"{workers} worker(s): {args.rows} rows in {elapsed:.1f} s wall, {cpu_s:.1f} CPU-s")
            if outputs[1] != outputs[2]:
                raise SystemExit("1-worker and 2-worker runs disagree: the engine is broken")
            engines[2].close()
            swaps: dict[str, int] = {}
            for label, chunk in (("ungrouped", 1), ("grouped", args.chunk)):
                timed_run(engines[1], pipeline, rows, chunk)
                swaps[label] = engines[1].stats.swaps
                log(f"chunk {chunk}: {swaps[label]} adapter swaps")
        finally:
            for engine in engines.values():
                engine.close()
            ray.shutdown()

    one = args.rows / statistics.median(seconds[1])
    two = args.rows / statistics.median(seconds[2])
    load = os.getloadavg()
    result = {
        "rows": args.rows,
        "chunk": args.chunk,
        "programs_per_row": 2,
        "threads_per_worker": 1,
        "repeats": args.repeats,
        "rows_per_s_1_worker": round(one, 3),
        "rows_per_s_2_workers": round(two, 3),
        "speedup_2_vs_1": round(two / one, 3),
        "rows_per_cpu_s_1_worker": round(args.rows / statistics.median(cpu[1]), 3),
        "rows_per_cpu_s_2_workers": round(args.rows / statistics.median(cpu[2]), 3),
        "cpu_share_1_worker": round(statistics.median(cpu[1]) / statistics.median(seconds[1]), 3),
        "cpu_share_2_workers": round(statistics.median(cpu[2]) / statistics.median(seconds[2]), 3),
        "swaps_grouped": swaps["grouped"],
        "swaps_ungrouped": swaps["ungrouped"],
        "worker_deaths_in_timed_runs": deaths,
        "cpu_count": os.cpu_count(),
        "load_average_1m": round(load[0], 2),
        "measured_under_load": load[0] > (os.cpu_count() or 1),
    }
    if args.json:
        print(json.dumps(result))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Ray batch engine: {args.rows} rows x 2 programs, chunk {args.chunk}, 1 llama.cpp thread per worker")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("rows/s, 1 worker", f"{one:.2f}")
    table.add_row("rows/s, 2 workers", f"{two:.2f}")
    table.add_row("speed-up", f"{two / one:.2f}x")
    table.add_row("rows per CPU-second, 1 / 2 workers", f"{result['rows_per_cpu_s_1_worker']:.2f} / {result['rows_per_cpu_s_2_workers']:.2f}")
    table.add_row("cores actually used, 1 / 2 workers", f"{result['cpu_share_1_worker']:.2f} / {result['cpu_share_2_workers']:.2f}")
    table.add_row("adapter swaps, row by row (chunk 1)", str(swaps["ungrouped"]))
    table.add_row(f"adapter swaps, grouped (chunk {args.chunk})", str(swaps["grouped"]))
    table.add_row("load average (1 min) / cores", f"{load[0]:.1f} / {os.cpu_count()}")
    Console().print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

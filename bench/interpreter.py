"""Interpreter benchmark: prefix caching, adapter swaps, cold loads, memory, parity — side by side.

    python bench/interpreter.py          # a table
    python bench/interpreter.py --json   # one JSON object (for comparing runs)

All numbers come from one process and one base load, so ratios compare like with like. The labels
program has a ~200-token pseudo-program and a real (seeded random) LoRA adapter; inputs are ~30 tokens.
Parity runs in a subprocess so torch's memory does not pollute the RSS figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from compiler.synthetic import random_lora_adapter  # noqa: E402
from pawflow.backends.llamacpp import rss_bytes  # noqa: E402
from pawflow.base import inspect_base  # noqa: E402
from pawflow.config import load_settings  # noqa: E402
from pawflow.function import Function  # noqa: E402
from pawflow.interpreter import Interpreter  # noqa: E402
from pawflow.program import CompileInfo, GenerationSettings, LabelsOutput, Program  # noqa: E402
from pawflow.prompting import default_pseudo_program, render_template  # noqa: E402

SPEC = (
    "You watch the log of a machine-learning training job, one line at a time. Decide whether the line "
    "means a human should look at the job now. Alert on crashes, Python tracebacks and exceptions, NaN or "
    "infinite losses, sudden loss spikes, CUDA or CPU out-of-memory errors, killed processes, full disks and "
    "failed checkpoint writes. Stay quiet for normal progress, metrics, checkpoints and warnings."
)
EXAMPLES = [
    ("epoch 3/10 step 1200/4000 loss=0.5312 lr=2.0e-04", "QUIET"),
    ("RuntimeError: CUDA out of memory. Tried to allocate 1.50 GiB", "ALERT"),
    ("Loss is nan at iteration 5230, aborting", "ALERT"),
    ("Saved model checkpoint to runs/exp4/checkpoint-2000", "QUIET"),
]
INPUTS = [
    "INFO trainer: epoch 7 step 5120/20000 loss=0.3817 grad_norm=1.92 lr=1.1e-04",
    "ERROR worker 3: RuntimeError: CUDA error: an illegal memory access was encountered",
    "WARNING amp: Gradient overflow detected, skipping step, loss scale reduced to 32768",
    "INFO checkpoint: wrote runs/ablation-7/ckpt-5200.safetensors (512.3 MB) in 4.1 s",
]


def _program(base, base_path, name: str, adapter: bytes | None) -> Program:
    output = LabelsOutput(labels=["ALERT", "QUIET"])
    pseudo = default_pseudo_program(SPEC, [{"input": i, "output": o} for i, o in EXAMPLES], output)
    return Program.build(
        name=name, base=base, spec=SPEC, prompt_template=render_template(base, pseudo, base_path=base_path),
        pseudo_program=pseudo, adapter=adapter, output=output, generation=GenerationSettings(max_tokens=4),
        compile=CompileInfo(method="bench-random-lora"),
    )


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


@contextlib.contextmanager
def busy_cores(n: int):
    """``n`` child processes that each keep one core 100% busy, for the duration of the block."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        time.sleep(1.0)  # let them get scheduled and show up in /proc/stat
        yield
    finally:
        for proc in procs:
            proc.kill()
        for proc in procs:
            proc.wait()


def _parity() -> dict:
    """Run compiler.parity in a child process (it imports torch); None-valued if the extra is missing."""
    code = (
        "import json; from compiler.parity import compare_rope_permutation; r = compare_rope_permutation(); "
        "print(json.dumps(r.model_dump()))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _breakdown(interp: Interpreter, fn: Function, repeats: int) -> dict[str, float]:
    """A cached call taken apart with llama.cpp's own calls, and the floor it cannot go under.

    ``limit_ms``: the program's prefix already in the KV cache, raw llama.cpp evaluates the same input
    tokens (one decode) and then one more token (one decode) — what any implementation must pay.
    ``restore_ms``: putting a saved prefix state back (paid when another program ran in between).
    ``input_eval_ms``: the input's decode alone; ``labels_in_same_decode_ms``: that decode with the
    label-trie tokens appended (how the batched backend scores labels: no further decode);
    ``label_decodes_ms``: the old way, one extra decode per trie token after the input.
    """
    backend = interp.backend
    lib = backend._lib
    program = fn.program
    fn(INPUTS[0])  # prefix resident in sequence 0
    n_prefix = len(backend._prefix_tokens)
    suffix = backend._tokenize(program.suffix, special=True)
    bodies = [backend._tokenize(t, special=False) + suffix for t in INPUTS]
    plan = backend._label_plan(program.output.labels)
    chain = plan.chains[0] if plan.chains else []
    state = backend._prefixes[program.key]
    batch = backend._batch

    def decode(tokens: list[int], start: int, outputs: str = "last") -> None:
        batch.clear()
        batch.add(tokens, start, [1], outputs)
        backend._decode(batch)

    def reset() -> None:
        lib.llama_memory_seq_rm(backend._memory, 1, -1, -1)
        lib.llama_memory_seq_cp(backend._memory, 0, 1, -1, -1)

    cycle = iter(range(10**9))
    figures: dict[str, list[float]] = {k: [] for k in ("limit", "input_eval", "labels_in_same_decode", "label_decodes", "restore")}
    for _ in range(repeats):
        body = bodies[next(cycle) % len(bodies)]
        reset()
        t0 = time.perf_counter(); decode(body, n_prefix); t1 = time.perf_counter()
        decode([chain[0] if chain else body[-1]], n_prefix + len(body)); t2 = time.perf_counter()
        figures["input_eval"].append((t1 - t0) * 1000)
        figures["limit"].append((t2 - t0) * 1000)
        reset()
        t0 = time.perf_counter(); decode(body + chain, n_prefix, "all"); t1 = time.perf_counter()
        figures["labels_in_same_decode"].append((t1 - t0) * 1000)
        reset()
        decode(body, n_prefix)
        t0 = time.perf_counter()
        for depth, token in enumerate(chain):
            decode([token], n_prefix + len(body) + depth)
        figures["label_decodes"].append((time.perf_counter() - t0) * 1000)
        lib.llama_memory_seq_rm(backend._memory, 1, -1, -1)
        t0 = time.perf_counter()
        lib.llama_memory_clear(backend._memory, True)
        lib.llama_state_seq_set_data(backend._ctx, state.blob, state.nbytes, 0)
        figures["restore"].append((time.perf_counter() - t0) * 1000)
    lib.llama_memory_seq_rm(backend._memory, 1, -1, -1)
    # The ceiling of batching on this machine: raw llama.cpp evaluating 16 inputs as 16 sequences in one
    # decode against the same 16 evaluated one decode each (prefix shared, no labels, no Python). When
    # the input tokens' own compute dominates a call, no batching can beat this ratio.
    lib.llama_memory_clear(backend._memory, True)
    lib.llama_state_seq_set_data(backend._ctx, state.blob, state.nbytes, 0)
    many = [bodies[i % len(bodies)] for i in range(16)]

    def spread() -> None:
        for seq in range(1, len(many) + 1):
            lib.llama_memory_seq_rm(backend._memory, seq, -1, -1)
            lib.llama_memory_seq_cp(backend._memory, 0, seq, -1, -1)

    raw = {"raw_one_by_one": [], "raw_batched": []}
    for _ in range(max(3, repeats // 3)):
        spread()
        t0 = time.perf_counter()
        for seq, body in enumerate(many, 1):
            batch.clear()
            batch.add(body, n_prefix, [seq], "last")
            backend._decode(batch)
        raw["raw_one_by_one"].append((time.perf_counter() - t0) * 1000)
        spread()
        t0 = time.perf_counter()
        batch.clear()
        for seq, body in enumerate(many, 1):
            batch.add(body, n_prefix, [seq], "last")
        backend._decode(batch)
        raw["raw_batched"].append((time.perf_counter() - t0) * 1000)
    for seq in range(1, len(many) + 1):
        lib.llama_memory_seq_rm(backend._memory, seq, -1, -1)
    backend._resident = program.key
    result = {f"{k}_ms": round(statistics.median(v), 2) for k, v in figures.items()}
    result.update({f"{k}_16_ms": round(statistics.median(v), 1) for k, v in raw.items()})
    result["raw_batch_speedup"] = round(result["raw_one_by_one_16_ms"] / result["raw_batched_16_ms"], 2)
    return result


def _throughput(fn: Function, texts: list[str]) -> dict[str, float]:
    """rows/s for 64 inputs of one program: batched (map), one by one, and from 8 threads at once."""
    import threading

    fn.map(texts[:4])
    started = time.perf_counter()
    fn.map(texts)
    map_s = time.perf_counter() - started
    started = time.perf_counter()
    for text in texts:
        fn(text)
    sequential_s = time.perf_counter() - started
    shares = [texts[k::8] for k in range(8)]
    barrier = threading.Barrier(8)

    def caller(share: list[str]) -> None:
        barrier.wait()
        for text in share:
            fn(text)

    threads = [threading.Thread(target=caller, args=(share,)) for share in shares]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    concurrent_s = time.perf_counter() - started
    n = len(texts)
    return {
        "map_rows_per_s": round(n / map_s, 2),
        "sequential_rows_per_s": round(n / sequential_s, 2),
        "concurrent_rows_per_s": round(n / concurrent_s, 2),
        "map_speedup": round(sequential_s / map_s, 2),
        "concurrent_speedup": round(sequential_s / concurrent_s, 2),
    }


def run(repeats: int, n_programs: int, with_parity: bool) -> dict:
    settings = load_settings(n_ctx=2048)
    base_path = settings.base_path()
    base = inspect_base(base_path)
    rss_start = rss_bytes()
    started = time.perf_counter()
    interp = Interpreter(settings)
    base_load_ms = (time.perf_counter() - started) * 1000
    base_rss_mb = (rss_bytes() - rss_start) / 2**20

    tmp = Path(tempfile.mkdtemp(prefix="pawflow-bench-"))
    adapters = [random_lora_adapter(base, seed=1000 + i) for i in range(n_programs)]
    paths = []
    for i, adapter in enumerate(adapters):
        paths.append(_program(base, base_path, f"bench-{i}", adapter).write(tmp / f"bench-{i}.paw"))

    # cold load: read + verify the .paw, load its adapter into llama.cpp, evaluate its prefix, answer
    started = time.perf_counter()
    program = Program.read(paths[0])
    program.check_base(base)
    fn = Function(program, interp)
    fn(INPUTS[0])
    cold_load_ms = (time.perf_counter() - started) * 1000
    rss_1_mb = rss_bytes() / 2**20

    prefix_tokens = len(interp.tokenize(program.prefix, special=True))
    pseudo_tokens = len(interp.tokenize(program.pseudo_program))
    input_tokens = statistics.mean(len(interp.tokenize(t)) for t in INPUTS)

    cycle = iter(range(10**9))
    naive_ms = _median_ms(lambda: fn.run_many([INPUTS[next(cycle) % 4]], cache_prefix=False), repeats)
    cached_ms = _median_ms(lambda: fn.run_many([INPUTS[next(cycle) % 4]]), repeats)
    breakdown = _breakdown(interp, fn, repeats)
    throughput = _throughput(fn, [f"{INPUTS[i % 4]} (row {i})" for i in range(64)])

    # beside busy processes (started and stopped here): the adaptive thread policy, and fixed for contrast
    backend = interp.backend
    backend.set_thread_policy("fixed")  # what the adaptive policy costs on a quiet machine
    cached_ms_quiet_fixed = _median_ms(lambda: fn.run_many([INPUTS[next(cycle) % 4]]), repeats)
    backend.set_thread_policy(settings.thread_policy)
    busy: dict[str, float] = {}
    for n_busy in (1, 2):
        with busy_cores(n_busy):
            for policy in ("adaptive", "fixed"):
                backend.set_thread_policy(policy)
                fn.run_many([INPUTS[0]])
                busy[f"{n_busy}-{policy}"] = _median_ms(lambda: fn.run_many([INPUTS[next(cycle) % 4]]), repeats)
    backend.set_thread_policy(settings.thread_policy)
    time.sleep(0.5)

    # alternating two programs: adapter swap + prefix-state restore on every call
    other = Function(Program.read(paths[1]), interp)
    pair = [fn, other]
    alternating_ms = _median_ms(lambda: pair[next(cycle) % 2].run_many([INPUTS[0]]), repeats)

    # the swap alone: llama_set_adapters_lora between two loaded adapters
    a = backend._load_adapter(program)
    b = backend._load_adapter(other.program)
    flips = 2000
    started = time.perf_counter()
    for i in range(flips):
        backend._set_adapter(a if i % 2 else b)
    swap_ms = (time.perf_counter() - started) * 1000 / flips

    # memory with many programs resident (adapters + cached prefix states)
    for path in paths[2:]:
        Function(Program.read(path), interp)(INPUTS[1])
    rss_n_mb = rss_bytes() / 2**20

    # the price of batch invariance: the same cached call on a context without flash attention
    # (Settings.batch_invariant=False), measured last so the memory figures above exclude it
    loose = Interpreter(load_settings(n_ctx=2048, batch_invariant=False))
    loose_fn = Function(program, loose)
    loose_fn(INPUTS[0])
    cached_ms_not_invariant = _median_ms(lambda: loose_fn.run_many([INPUTS[next(cycle) % 4]]), repeats)
    loose.close()
    figures = {
        "base_file_mb": round(base_path.stat().st_size / 2**20, 1),
        "base_load_ms": round(base_load_ms, 1),
        "pseudo_program_tokens": pseudo_tokens,
        "prefix_tokens": prefix_tokens,
        "input_tokens": round(input_tokens, 1),
        "naive_ms": round(naive_ms, 2),
        "cached_ms": round(cached_ms, 2),
        "speedup": round(naive_ms / cached_ms, 2),
        "cached_ms_not_invariant": round(cached_ms_not_invariant, 2),
        "cached_ms_quiet_fixed_threads": round(cached_ms_quiet_fixed, 2),
        "limit_ms": breakdown["limit_ms"],
        "cached_over_limit": round(cached_ms / breakdown["limit_ms"], 2),
        "breakdown": breakdown,
        **throughput,
        "cached_ms_busy": round(busy["1-adaptive"], 2),
        "cached_ms_busy2": round(busy["2-adaptive"], 2),
        "cached_ms_busy_fixed_threads": round(busy["1-fixed"], 2),
        "cached_ms_busy2_fixed_threads": round(busy["2-fixed"], 2),
        "busy_ratio": round(busy["1-adaptive"] / cached_ms, 2),
        "thread_policy": settings.thread_policy,
        "extra_bufts": bool(interp.backend.load_options["use_extra_bufts"]),
        "cpu_features": interp.backend.build.used_features(),
        "alternating_ms": round(alternating_ms, 2),
        "swap_ms": round(swap_ms, 4),
        "cold_load_ms": round(cold_load_ms, 1),
        "base_rss_mb": round(base_rss_mb, 1),
        "rss_1_program_mb": round(rss_1_mb, 1),
        f"rss_{n_programs}_programs_mb": round(rss_n_mb, 1),
        "rss_20_programs_mb": round(rss_n_mb, 1) if n_programs == 20 else None,
        "adapter_bytes": len(adapters[0]),
        "threads": settings.threads,
        "repeats": repeats,
        "swaps": interp.stats.swaps,
    }
    interp.close()
    if with_parity:
        parity = _parity()
        figures["parity_delta_cosine"] = parity.get("cosine_permuted", parity.get("cosine"))
        figures["parity_delta_cosine_unpermuted"] = parity.get("cosine_unpermuted")
        if "error" in parity:
            figures["parity_error"] = parity["error"]
    else:
        figures["parity_delta_cosine"] = None
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--programs", type=int, default=20)
    parser.add_argument("--no-parity", action="store_true", help="skip the torch parity measurement")
    args = parser.parse_args()
    figures = run(args.repeats, args.programs, not args.no_parity)
    if args.json:
        print(json.dumps(figures))
        return
    table = Table(title=f"pawflow interpreter ({figures['threads']} threads, median of {args.repeats})")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("note")
    n = args.programs
    rows = [
        ("prompt", f"{figures['prefix_tokens']} + {figures['input_tokens']} tok", f"prefix (pseudo-program {figures['pseudo_program_tokens']} tok + chat template) + input"),
        ("naive call (full prompt)", f"{figures['naive_ms']:.1f} ms", "prefix re-evaluated every call"),
        ("cached-prefix call", f"{figures['cached_ms']:.1f} ms", f"{figures['speedup']:.1f}x faster"),
        ("cached call, batch_invariant=false", f"{figures['cached_ms_not_invariant']:.1f} ms",
         "no flash attention: faster, batched confidences may differ by a few 1e-3"),
        ("llama.cpp limit (prefix in KV: input + 1 decode)", f"{figures['limit_ms']:.1f} ms",
         f"cached call = {figures['cached_over_limit']:.2f}x the limit"),
        ("  breakdown", f"restore {figures['breakdown']['restore_ms']:.1f} ms",
         f"input eval {figures['breakdown']['input_eval_ms']:.1f} ms; + label tokens in that decode "
         f"{figures['breakdown']['labels_in_same_decode_ms']:.1f} ms; one decode per label token after it "
         f"+{figures['breakdown']['label_decodes_ms']:.1f} ms"),
        ("raw llama.cpp, 16 inputs: one decode each / one decode", f"{figures['breakdown']['raw_one_by_one_16_ms']:.0f} / "
         f"{figures['breakdown']['raw_batched_16_ms']:.0f} ms", f"batching's ceiling here: {figures['breakdown']['raw_batch_speedup']:.2f}x"),
        ("64 rows: map / one by one / 8 threads", f"{figures['map_rows_per_s']:.1f} / {figures['sequential_rows_per_s']:.1f} / "
         f"{figures['concurrent_rows_per_s']:.1f} rows/s", f"map {figures['map_speedup']:.2f}x, threads {figures['concurrent_speedup']:.2f}x one by one"),
        ("cached call, quiet, fixed threads", f"{figures['cached_ms_quiet_fixed_threads']:.1f} ms",
         f"adaptive policy: {figures['cached_ms']:.1f} ms"),
        ("cached call, 1 core busy", f"{figures['cached_ms_busy']:.1f} ms",
         f"{figures['busy_ratio']:.2f}x quiet; fixed threads: {figures['cached_ms_busy_fixed_threads']:.1f} ms"),
        ("cached call, 2 cores busy", f"{figures['cached_ms_busy2']:.1f} ms",
         f"fixed threads: {figures['cached_ms_busy2_fixed_threads']:.1f} ms"),
        ("llama.cpp build", f"extra bufts {'on' if figures['extra_bufts'] else 'off'}", " ".join(figures['cpu_features'])),
        ("alternating 2 programs", f"{figures['alternating_ms']:.1f} ms", "swap + prefix-state restore per call"),
        ("adapter swap", f"{figures['swap_ms'] * 1000:.1f} µs", "llama_set_adapters_lora"),
        ("program cold load", f"{figures['cold_load_ms']:.1f} ms", "read+verify .paw, load adapter, eval prefix, answer"),
        ("base load", f"{figures['base_load_ms']:.1f} ms", f"{figures['base_file_mb']} MB GGUF"),
        ("RSS: base", f"{figures['base_rss_mb']:.1f} MB", "growth from loading the base"),
        ("RSS: 1 program", f"{figures['rss_1_program_mb']:.1f} MB", "whole process"),
        (f"RSS: {n} programs", f"{figures[f'rss_{n}_programs_mb']:.1f} MB", f"vs {n} bases ≈ {n * figures['base_rss_mb']:.0f} MB"),
        ("parity: logit-delta cosine", str(figures.get("parity_delta_cosine")), f"without RoPE permutation: {figures.get('parity_delta_cosine_unpermuted')}"),
    ]
    for row in rows:
        table.add_row(*row)
    Console().print(table)


if __name__ == "__main__":
    main()

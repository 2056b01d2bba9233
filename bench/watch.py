"""Benchmark ``pawflow watch``: one call per line vs the watcher (batched, uncached / cached), latency, memory.

    python bench/watch.py              # a table
    python bench/watch.py --json       # one JSON object
    python bench/watch.py --threads 1  # on a busy machine (llama.cpp threads spin-wait)

What is measured, all in one process on one interpreter (figures side by side, same lines):

* ``lines_per_s_one_by_one``: ``program.run(line)`` for every line of a real training-log slice
  (the first 24 lines of ``programs/data/logs/eval/torch-a-warnings.log`` + ``torch-b-worker-error.log``:
  tqdm bars, step lines, a warning, a traceback; 60 lines) — what a naive watcher does.
* ``lines_per_s_uncached``: the watcher over the same lines with the verdict cache off (records,
  progress-bar rules and batched ``run_many`` still apply, and a text that occurs twice in one burst
  is sent once; nothing is remembered across bursts). ``uncached_program_calls`` says how many
  inputs reached the program.
* ``lines_per_s_cached``: the watcher over a long realistic log (20,000 lines: the real healthy logs'
  lines replayed with fresh step numbers, losses and timings, so most lines repeat a shape), cache on,
  in steady state (a second such log after the first warmed the cache); ``lines_per_s_cached_cold``
  is the first pass, including the program calls for the log's first occurrence of each shape.
* ``alert_latency_ms`` / ``alert_latency_p95_ms``: a writer appends one alert line, waits until the
  watcher reported it, then writes the next (20 lines, 5 shapes: the first of each shape needs a
  program call, the rest are cache hits; both medians are reported too). Time from the write to the
  report: file event → record gap (0.1 s) → verdict.
* ``cache_hit_rate`` (of the cached run) and ``rss_mb`` (peak resident memory of this process).

Timings depend on how busy the CPU is; say "measured under load" when other jobs ran.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
LOGS = REPO / "programs" / "data" / "logs"


def real_slice(lines: int = 24) -> bytes:
    """The first ``lines`` lines of a healthy run (bars, steps, a warning) + a DataLoader crash (36 lines)."""
    healthy = re.split(rb"(?<=[\r\n])", (LOGS / "eval" / "torch-a-warnings.log").read_bytes())
    return b"".join(healthy[:lines]) + (LOGS / "eval" / "torch-b-worker-error.log").read_bytes()


def long_log(lines: int, seed: int = 0) -> bytes:
    """Real healthy-run lines replayed with new numbers: the shapes of a real run, a long run's length."""
    r = random.Random(seed)
    sources = [LOGS / "train" / "torch-a-healthy.log", LOGS / "train" / "hf-healthy.log", LOGS / "eval" / "torch-b-healthy.log"]
    templates = [t for path in sources for t in re.split(rb"(?<=[\r\n])", path.read_bytes()) if t.strip()]
    out, n = [], 0
    while n < lines:
        for t in templates:
            out.append(re.sub(rb"\d+\.\d+", lambda m: f"{r.uniform(0, 3):.4f}".encode(), t))
            n += 1
            if n >= lines:
                break
    return b"".join(out)


def measure(program_name: str, n_cached: int, n_latency: int) -> dict:
    import pawflow
    from integrations.watch.api import WatchOptions, run_watch
    from integrations.watch.lines import LineSplitter
    from integrations.watch.sources import FileSource
    from integrations.watch.verdicts import Classifier, VerdictCache

    fn = pawflow.load(program_name)
    fn.run("warm-up line: step 1 loss 2.0")  # base load and prefix evaluation are not what is measured
    results: dict = {"program": program_name}
    with tempfile.TemporaryDirectory(prefix="pawflow-bench-watch-") as tmp:
        tmp = Path(tmp)
        data = real_slice()
        sample = tmp / "slice.log"
        sample.write_bytes(data)
        splitter = LineSplitter()
        texts = [line.text for line in splitter.feed(data) + splitter.flush()]
        started = time.perf_counter()
        for text in texts:
            if text.strip():
                fn.run(text)
        one_by_one_s = time.perf_counter() - started
        results["lines_in_slice"] = len(texts)
        results["lines_per_s_one_by_one"] = round(len(texts) / one_by_one_s, 2)

        uncached = Classifier(fn, cache=VerdictCache(0))
        options = WatchOptions(program=fn, once=True, from_start=True)
        started = time.perf_counter()
        outcome = run_watch([FileSource(sample, once=True)], options, classifier=uncached)
        uncached_s = time.perf_counter() - started
        assert outcome.lines_seen == len(texts)
        results["lines_per_s_uncached"] = round(len(texts) / uncached_s, 2)
        results["uncached_program_calls"] = uncached.program_calls
        results["uncached_vs_one_by_one"] = round(one_by_one_s / uncached_s, 2)

        big = tmp / "long.log"
        big.write_bytes(long_log(n_cached))
        cached = Classifier(fn, cache=VerdictCache())
        started = time.perf_counter()
        outcome = run_watch([FileSource(big, once=True)], options, classifier=cached)
        cold_s = time.perf_counter() - started
        results["lines_in_long_log"] = outcome.lines_seen
        results["lines_per_s_cached_cold"] = round(outcome.lines_seen / cold_s, 1)
        results["cached_program_calls"] = cached.program_calls
        results["cache_hit_rate"] = round(cached.cache.hit_rate, 4)
        # Steady state of a long-running watcher: the same log's shapes are all known by now.
        second = tmp / "long2.log"
        second.write_bytes(long_log(n_cached, seed=1))
        started = time.perf_counter()
        outcome = run_watch([FileSource(second, once=True)], options, classifier=cached)
        results["lines_per_s_cached"] = round(outcome.lines_seen / (time.perf_counter() - started), 1)
        results["cache_hit_rate_warm"] = round(cached.cache.hit_rate, 4)

        results.update(latency(fn, tmp / "trickle.log", n_latency))
    results["rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return results


ALERTS = [
    "RuntimeError: CUDA out of memory. Tried to allocate {n}.00 MiB",
    "step {n} | loss nan | lr 3.0e-04",
    "/opt/run.sh: line 3: {n} Killed    python train.py",
    "OSError: [Errno 28] No space left on device: '/ckpt/step_{n}.pt'",
    "[E ProcessGroupNCCL.cpp:{n}] Watchdog caught collective operation timeout",
]


def latency(fn, path: Path, count: int) -> dict:
    """Write one alert line, wait until it is reported, write the next: write → report, one at a time."""
    from integrations.watch.api import WatchOptions, file_sources, run_watch

    path.write_text("")
    reported: dict[int, float] = {}
    written: dict[int, float] = {}
    cached: dict[int, bool] = {}
    done = threading.Event()

    def on_report(report) -> None:
        if report.alert and report.line_no not in reported:
            reported[report.line_no] = time.perf_counter()
            cached[report.line_no] = report.cached

    def write() -> None:
        time.sleep(1.0)
        for i in range(count):
            with open(path, "a") as handle:
                handle.write(ALERTS[i % len(ALERTS)].format(n=100 + i) + "\n")
            written[i + 1] = time.perf_counter()
            deadline = time.perf_counter() + 120
            while i + 1 not in reported and time.perf_counter() < deadline:
                time.sleep(0.005)
            time.sleep(0.2)
        done.set()

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    options = WatchOptions(program=fn, on_report=on_report, timeout_s=count * 130 + 10)
    run_watch(file_sources([path], options), options, stop_requested=done.is_set)
    thread.join()
    waits = {n: (reported[n] - written[n]) * 1000 for n in written if n in reported}

    def pct(values: list[float], q: float) -> float | None:
        values = sorted(values)
        return round(values[min(len(values) - 1, int(q * len(values)))], 1) if values else None

    all_waits = list(waits.values())
    return {
        "alert_latency_ms": round(statistics.median(all_waits), 1) if all_waits else None,
        "alert_latency_p95_ms": pct(all_waits, 0.95),
        "alert_latency_cached_ms": pct([w for n, w in waits.items() if cached.get(n)], 0.5),
        "alert_latency_uncached_ms": pct([w for n, w in waits.items() if not cached.get(n)], 0.5),
        "latency_alerts_reported": f"{len(waits)}/{count}",
    }


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--program", default="log-alert")
    ap.add_argument("--lines", type=int, default=20000, help="length of the long log for the cached run")
    ap.add_argument("--alerts", type=int, default=20, help="alerts written one at a time for the latency figures")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.threads:
        os.environ["PAWFLOW_THREADS"] = str(args.threads)
    results = measure(args.program, args.lines, args.alerts)
    if args.json:
        print(json.dumps(results))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="pawflow watch")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("goal (2-core machine)")
    goals = {"lines_per_s_cached": "≥ 2,000", "uncached_vs_one_by_one": "≥ 3×", "alert_latency_p95_ms": "≤ 500"}
    for key, value in results.items():
        table.add_row(key, str(value), goals.get(key, ""))
    Console().print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Pipeline engine benchmark: what the engine costs on top of the model, and what grouping saves.

1. **Overhead.** The shipped site-navigation pipeline (five programs + seven deterministic steps) is
   timed against a hand-written Python function making the same calls on the same Functions, in
   back-to-back pairs (alternating which goes first), after a warm-up that fills every program's
   prefix cache. Both sides time their model calls, and

       overhead_pct = (pipeline glue − direct glue) / model time × 100,   glue = wall − model time

   Subtracting model time on both sides matters on a shared machine: the same model call varies by
   seconds with load, the engine's cost is in milliseconds. ``wall_overhead_pct`` (median of paired
   wall-clock differences) is reported too, for what it is worth there.
2. **Grouping.** The same pipeline with programs carrying real (seeded random) LoRA adapters runs
   over ``--rows`` questions row by row (``Pipeline.run`` per row) and grouped (``run_batch``);
   ``Interpreter.shared().stats.swaps`` counts adapter swaps in each. Outputs must be identical.

    python bench/pipeline.py            # rich table
    python bench/pipeline.py --json     # exactly one JSON object on stdout
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PIPELINES = REPO / "pipelines"

QUESTIONS = [
    "how much does the team plan cost?",
    "hello! how are you doing today?",
    "what is the support email address",
    "show me the python sdk docs",
    "are you hiring backend engineers?",
    "thanks, that was helpful",
    "is there a free tier?",
    "where is your office?",
]
CANNED = "Hi! I'm the Acme Cloud site guide. Ask me about pricing, the docs, jobs or how to reach us."
FACT_LINE = re.compile(r"^\s*(?P<fact>[^\n]*\S)")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def direct_site_navigation(fns: dict, lookup, question: str) -> dict:
    """The pipeline written out by hand: the baseline the engine's overhead is measured against."""
    intent = fns["site-intent"](question)
    if intent != "site":
        return {"answer": CANNED, "intent": intent, "page": None, "url": None, "fact": ""}
    page = fns["site-page-router"](question)
    doc = lookup(page, "site-navigation.site.json")
    if fns["site-answer-needed"](question) == "answer":
        extracted = fns["site-extract"](f"Question: {question}\nPage: {doc['text']}")
        match = FACT_LINE.search(extracted)
        fact = match.group("fact") if match else None
    else:
        fact = ""
    reply = fns["site-format"](f"Question: {question}\nPage: {doc['title']} ({doc['url']})\nFact: {fact or 'none'}")
    return {"answer": reply, "intent": intent, "page": page, "url": doc["url"], "fact": fact}


def site_module(name: str):
    """A module next to site-navigation.yaml, imported exactly as the pipeline imports its steps."""
    from pawflow.pipeline.python_steps import import_module

    return import_module(name, PIPELINES)


def measure_overhead(root: Path, questions: list[str], reps: int) -> dict:
    import pawflow
    from pawflow.pipeline import Pipeline

    lookup_page = site_module("site_navigation_steps").lookup_page
    build = site_module("site_navigation_build")
    build.compile_site_programs(root / "programs" / "build")
    os.chdir(root)
    pipeline = Pipeline.load(REPO / "pipelines" / "site-navigation.yaml").check()
    fns = {name: pawflow.load(name) for name in build.SITE_PROGRAMS}
    log(f"overhead: warming up on {len(questions)} questions")
    mismatches = 0
    for question in questions:
        if pipeline.run(question=question).outputs != direct_site_navigation(fns, lookup_page, question):
            mismatches += 1
    # Time spent inside model calls on the direct path, so both sides can subtract their own model time.
    direct_model = [0.0]

    def timed(fn):
        def call(text: str):
            started = time.perf_counter()
            try:
                return fn(text)
            finally:
                direct_model[0] += time.perf_counter() - started
        return call

    timed_fns = {name: timed(fn) for name, fn in fns.items()}
    runs: list[dict[str, float]] = []
    for rep in range(reps):
        log(f"overhead: rep {rep + 1}/{reps}")
        for question in questions:
            run: dict[str, float] = {}
            for mode in (("direct", "pipeline") if rep % 2 == 0 else ("pipeline", "direct")):
                started = time.perf_counter()
                if mode == "direct":
                    direct_model[0] = 0.0
                    direct_site_navigation(timed_fns, lookup_page, question)
                    run["direct"], run["direct_model"] = time.perf_counter() - started, direct_model[0]
                else:
                    result = pipeline.run(question=question)
                    run["pipeline"], run["pipeline_model"] = time.perf_counter() - started, result.model_ms / 1000
                    run["steps"] = sum(1 for t in result.trace if t.status in ("ok", "cached"))
            runs.append(run)
    total = {key: sum(run[key] for run in runs) for key in runs[0]}
    direct_glue = total["direct"] - total["direct_model"]  # python around the model calls, hand-written
    pipeline_glue = total["pipeline"] - total["pipeline_model"]  # the engine around the same calls
    return {
        # glue time (wall minus time inside model calls) of pipeline vs direct, relative to model time:
        # model time itself fluctuates by seconds under load, so it is subtracted on both sides
        "overhead_pct": round(100 * (pipeline_glue - direct_glue) / total["pipeline_model"], 4),
        "overhead_ms_per_step": round(1000 * (pipeline_glue - direct_glue) / total["steps"], 4),
        "engine_ms_per_run": round(1000 * pipeline_glue / len(runs), 3),
        "direct_glue_ms_per_run": round(1000 * direct_glue / len(runs), 3),
        # plain wall clock, back-to-back pairs: dominated by load noise on a shared machine
        "wall_overhead_pct": round(100 * statistics.median((r["pipeline"] - r["direct"]) / r["direct"] for r in runs), 3),
        "direct_ms": round(1000 * total["direct"], 1),
        "pipeline_ms": round(1000 * total["pipeline"], 1),
        "model_ms": round(1000 * total["pipeline_model"], 1),
        "steps": len(pipeline.steps),
        "steps_run": int(total["steps"]),
        "questions": len(questions),
        "reps": reps,
        "outputs_match": mismatches == 0,
    }


def measure_grouping(root: Path, questions: list[str]) -> dict:
    from pawflow.interpreter import Interpreter
    from pawflow.pipeline import Pipeline

    site_module("site_navigation_build").compile_site_programs(root / "programs" / "build", adapters=True)
    os.chdir(root)
    pipeline = Pipeline.load(REPO / "pipelines" / "site-navigation.yaml").check()
    stats = Interpreter.shared().stats
    rows = [{"question": q} for q in questions]
    pipeline.run(rows[0])  # load the adapters and fill prefix caches before counting
    log(f"grouping: {len(rows)} rows, row by row")
    swaps, calls, started = stats.swaps, stats.calls, time.perf_counter()
    ungrouped = [pipeline.run(row).outputs for row in rows]
    swaps_ungrouped, calls_ungrouped, ungrouped_s = stats.swaps - swaps, stats.calls - calls, time.perf_counter() - started
    log(f"grouping: {len(rows)} rows, grouped")
    swaps, calls, started = stats.swaps, stats.calls, time.perf_counter()
    results = pipeline.run_batch(rows)
    swaps_grouped, calls_grouped, grouped_s = stats.swaps - swaps, stats.calls - calls, time.perf_counter() - started
    grouped = [row.result.outputs if row.result else {"error": row.error} for row in results]
    return {
        "swaps_grouped": swaps_grouped,
        "swaps_ungrouped": swaps_ungrouped,
        "calls_grouped": calls_grouped,
        "calls_ungrouped": calls_ungrouped,
        "grouped_ms": round(1000 * grouped_s, 1),
        "ungrouped_ms": round(1000 * ungrouped_s, 1),
        "rows": len(rows),
        "grouped_outputs_match": grouped == ungrouped,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    parser.add_argument("--questions", type=int, default=3, help="questions timed for overhead")
    parser.add_argument("--reps", type=int, default=2, help="timed back-to-back pairs per question")
    parser.add_argument("--rows", type=int, default=4, help="rows for the grouping comparison")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pawflow-bench-") as tmp:
        os.environ["PAWFLOW_CACHE"] = str(Path(tmp) / "cache")  # keep adapter files out of ~/.cache
        os.environ.pop("PAWFLOW_PATH", None)
        here = Path.cwd()
        try:
            report = measure_overhead(Path(tmp) / "prompt", QUESTIONS[: args.questions], args.reps)
            report.update(measure_grouping(Path(tmp) / "lora", QUESTIONS[: args.rows]))
        finally:
            os.chdir(here)
    report["load_avg_1m"] = round(os.getloadavg()[0], 2)
    report["cpu_count"] = os.cpu_count()
    if args.json:
        sys.stdout.write(json.dumps(report) + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="pawflow pipeline engine (site-navigation, embedded SmolLM2-135M)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in report.items():
        table.add_row(key, str(value))
    Console().print(table)


if __name__ == "__main__":
    main()

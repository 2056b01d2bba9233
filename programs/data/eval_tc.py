"""Held-out accuracy of the TOOLCALL-15 pipeline's programs, overall and per group, on the real runtime.

    python programs/data/eval_tc.py tc-next-tool tc-arg tc-condition [--paw-dir programs/build] [--json]

Groups: the expected label (labels programs) or the Tool/Field pair (tc-arg). tc-arg is scored twice:
the program's raw answer (exact match after trimming) and the value the pipeline would use after its
span check and rule-based fallback (``integrations.toolcall15.pipeline``), which is what the tool call
gets. tc-next-tool is scored three ways: the program alone, the pipeline's choice (program when
confident and valid, else the keyword planner) and the keyword planner alone.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))


def _rows(name: str) -> list[dict]:
    from pawflow.jsonl import iter_jsonl

    return [row for _, row in iter_jsonl(HERE / f"{name}.heldout.jsonl")]


def _pipeline_value(inp: str, raw: str) -> str:
    """What the pipeline keeps from a tc-arg answer (see steps.build_calls)."""
    from integrations.toolcall15.pipeline import text as tx

    lines = dict(line.split(": ", 1) for line in inp.split("\n") if ": " in line)
    tool, field, request = lines.get("Tool"), lines.get("Field"), lines.get("Request", "")
    found = lines.get("Found")
    value = tx.clean_value(raw)
    from integrations.toolcall15.pipeline.steps import RULE_FIRST

    if (tool, field) in RULE_FIRST:
        ruled = RULE_FIRST[(tool, field)](request)
        if ruled:
            return ruled
    if (tool, field) == ("get_contacts", "query"):
        # the pipeline also refuses a copy of the same request's file query (steps.build_calls)
        return tx.contacts_query(value, request, [tx.file_query_fallback(request) or ""])
    span_fallbacks = {
        ("get_weather", "location"): tx.location_fallback, ("search_files", "query"): tx.file_query_fallback,
        ("set_reminder", "message"): tx.reminder_fallback,
        ("create_calendar_event", "title"): tx.title_fallback, ("send_email", "body"): tx.message_fallback,
    }
    if (tool, field) in span_fallbacks:
        if not (value and tx.contains_span(request, value)):
            value = span_fallbacks[(tool, field)](request) or value
    elif (tool, field) == ("create_calendar_event", "attendees"):
        names = [n for n in tx.split_names(value) if tx.contains_span(request, n)] or tx.attendees_fallback(request)
        value = ", ".join(names) if names else "none"
    elif (tool, field) == ("web_search", "query"):
        value = tx.complete_web_query(value, request)
    elif (tool, field) == ("get_stock_price", "ticker"):
        tickers = tx.tickers_in(request)
        value = tickers[0] if tickers else (tx.normalize_ticker(value) or value.upper())
    elif (tool, field) == ("translate_text", "text"):
        value = tx.quoted_span(request) or value
    elif (tool, field) == ("calculator", "expression"):
        expr = tx.normalize_expression(value)
        if expr and found and found.replace(",", "") not in expr:
            expr = None
        value = expr or tx.expression_fallback(request, found.replace(",", "") if found else None) or value
    return value


def _same(name: str, got: str, expected: str, inp: str) -> bool:
    if name == "tc-arg" and "Field: expression" in inp:
        from integrations.toolcall15.pipeline import text as tx

        a, b = tx.normalize_expression(got or ""), tx.normalize_expression(expected)
        return a is not None and b is not None and abs(tx.evaluate(a) - tx.evaluate(b)) < 1e-6
    return (got or "").strip().lower() == str(expected).strip().lower()


def evaluate(name: str, paw_dir: Path) -> dict:
    import pawflow

    fn = pawflow.load(str(paw_dir / f"{name}.paw"))
    rows = _rows(name)
    started = time.perf_counter()
    results = fn.run_many([row["input"] for row in rows])
    seconds = time.perf_counter() - started
    groups: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    misses = []
    for row, result in zip(rows, results):
        inp, expected = row["input"], row["output"]
        key = expected if name != "tc-arg" else inp.split("\n")[0][6:] + "." + inp.split("\n")[1][7:]
        raw = result.value if isinstance(result.value, str) else json.dumps(result.value)
        ok = _same(name, raw, expected, inp) if name == "tc-arg" else raw == expected
        g = groups[key]
        g[0] += 1
        g[1] += ok
        if name == "tc-arg":
            g[2] += _same(name, _pipeline_value(inp, raw), expected, inp)
        if name == "tc-next-tool":
            from integrations.toolcall15.pipeline.keywords import keyword_next
            from integrations.toolcall15.pipeline.steps import TOOL_NAMES, choose, parse_next_tool_input

            request, done = parse_next_tool_input(inp)
            g[2] += choose(raw, result.confidence or 0.0, request, done, TOOL_NAMES)[0] == expected
            g[3] += keyword_next(request, done) == expected
        if not ok and len(misses) < 12:
            misses.append({"input": inp, "expected": expected, "got": raw})
    total = sum(g[0] for g in groups.values())
    correct = sum(g[1] for g in groups.values())
    report = {
        "program": name, "method": fn.program.meta.pawflow.compile.method if hasattr(fn, "program") else None,
        "n": total, "accuracy": round(correct / total, 4), "seconds": round(seconds, 1),
        "groups": {k: {"n": g[0], "accuracy": round(g[1] / g[0], 3),
                       **({"pipeline_accuracy": round(g[2] / g[0], 3)} if name in ("tc-arg", "tc-next-tool") else {}),
                       **({"keyword_accuracy": round(g[3] / g[0], 3)} if name == "tc-next-tool" else {})}
                   for k, g in sorted(groups.items())},
        "misses": misses,
    }
    if name in ("tc-arg", "tc-next-tool"):
        report["pipeline_accuracy"] = round(sum(g[2] for g in groups.values()) / total, 4)
    if name == "tc-next-tool":
        report["keyword_accuracy"] = round(sum(g[3] for g in groups.values()) / total, 4)
        report["policies"] = next_tool_policies(rows, results)
    return report


VALIDATION_ROWS = 48  # tc-next-tool's fit early-stops on the first 48 held-out rows: its validation split


def next_tool_policies(rows: list[dict], results: list) -> dict[str, dict[str, float]]:
    """How tc-next-tool and the cue-word planner could combine: accuracy on validation vs test rows.

    The shipped combination (``steps.choose``) was picked on the validation rows only.
    """
    from integrations.toolcall15.pipeline.keywords import keyword_next
    from integrations.toolcall15.pipeline.steps import KEYWORD_BELOW, TOOL_NAMES, choose, parse_next_tool_input, valid_for_turn

    def program_first(label, conf, request, done):  # the design before steps.choose put cue words first
        return label if valid_for_turn(label, done, TOOL_NAMES) and conf >= KEYWORD_BELOW else keyword_next(request, done)

    policies = {
        "program": lambda label, conf, request, done: label,
        "keywords": lambda label, conf, request, done: keyword_next(request, done),
        "program_first": program_first,
        "keywords_first": lambda label, conf, request, done: choose(label, conf, request, done, TOOL_NAMES)[0],
    }
    parsed = [(result.value, result.confidence or 0.0, *parse_next_tool_input(row["input"]), row["output"])
              for row, result in zip(rows, results)]
    out = {}
    for split, part in (("validation", parsed[:VALIDATION_ROWS]), ("test", parsed[VALIDATION_ROWS:])):
        out[split] = {name: round(sum(f(*p[:4]) == p[4] for p in part) / len(part), 4) for name, f in policies.items()}
        out[split]["n"] = len(part)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("programs", nargs="+")
    parser.add_argument("--paw-dir", type=Path, default=REPO / "programs" / "build")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    reports = [evaluate(name, args.paw_dir) for name in args.programs]
    if args.json:
        print(json.dumps(reports, indent=2, ensure_ascii=False))
        return
    for rep in reports:
        extra = f"  pipeline {rep['pipeline_accuracy']:.1%}" if "pipeline_accuracy" in rep else ""
        extra += f"  keywords-only {rep['keyword_accuracy']:.1%}" if "keyword_accuracy" in rep else ""
        print(f"{rep['program']} ({rep['method']}): held-out {rep['accuracy']:.1%} of {rep['n']}{extra}  [{rep['seconds']}s]")
        for key, g in rep["groups"].items():
            pipe = f"  pipeline {g['pipeline_accuracy']:.0%}" if "pipeline_accuracy" in g else ""
            pipe += f"  keywords {g['keyword_accuracy']:.0%}" if "keyword_accuracy" in g else ""
            print(f"    {key:42s} {g['accuracy']:6.0%} of {g['n']}{pipe}")
        for split, accs in rep.get("policies", {}).items():
            print(f"  policies on {split} rows: " + "  ".join(f"{k} {v:.3f}" if k != "n" else f"n={v}" for k, v in accs.items()))


if __name__ == "__main__":
    main()

"""Held-out accuracy of the TOOLCALL-15 pipeline's programs against the hand rules, on the real runtime.

    python programs/data/eval_tc.py                  # every program, a table per program
    python programs/data/eval_tc.py --json           # one JSON object (compare runs)
    python programs/data/eval_tc.py --natural        # + the hand-written natural set, end to end (slow)
    python programs/data/eval_tc.py --natural-only   # only the natural set
    python programs/data/eval_tc.py --paw-dir DIR    # programs built elsewhere (e.g. a trial fit)

Which rows: each held-out file starts with the program's validation rows (its fit early-stops on them;
``compile.options.early_stop_rows`` of ``programs/tc-*.yaml``) and continues with the test rows. Every
headline figure is on the **test rows only**; the validation rows are reported apart, because the
shipped combination of program and rules was chosen on them.

Figures (test rows):

* ``router_program``: ``tc-next-tool``'s label alone; ``router_rules``: the cue-word planner alone
  (``keywords.keyword_next``); ``router_shipped``: what the pipeline does (``routing.choose`` under
  ``routing.ROUTER_POLICY``); ``router_program_first`` and ``router_rules_first``: the two combinations.
* ``arg_program``: ``tc-arg``'s raw answer equals the expected span; ``arg_shipped``: the argument the
  tool gets after the pipeline's validators and resolvers (``arguments.resolve_value``) equals the
  expected argument (the ticker for a company name); ``arg_rules``: the rule-based extraction alone.
* ``condition_program``: the pipeline's verdict on held-out (clause, result) pairs from ``tc-condition``'s
  output (the kind of the clause, the kind of the result's weather) through the pipeline's exact
  comparison (``conditions.verdict``: kinds, temperature bands, price moves, negation); the truth of
  each row is in ``tc-condition.heldout.truth.jsonl``. ``clause_kind`` / ``weather_kind``: how often
  each named kind is right.
* ``answer_facts``: ``tc-answer``'s reply contains the expected fact, on ``tc-answer.facts.jsonl``
  (hand-written well-known facts, none of them in any program's examples);
  ``answer_smalltalk``: a friendly reply, not an echo, to 12 hand-written thanks/greetings
  (``tc-answer.smalltalk.jsonl``, validation only: a candidate below it does not meet the contract).

Every decision goes through the pipeline's own code (``integrations.toolcall15.pipeline``): the same
input layouts (:mod:`.formats`), the same router choice and the same argument resolution.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

PROGRAMS = ("tc-next-tool", "tc-arg", "tc-condition", "tc-answer")


def _rows(name: str) -> list[dict]:
    from pawflow.jsonl import iter_jsonl

    return [row for _, row in iter_jsonl(HERE / f"{name}.heldout.jsonl")]


def validation_rows(name: str) -> int:
    """How many leading held-out rows the program's fit early-stops on (its source's early_stop_rows)."""
    import yaml

    source = yaml.safe_load((REPO / "programs" / f"{name}.yaml").read_text(encoding="utf-8"))
    options = (source.get("compile") or {}).get("options") or {}
    return int(options.get("early_stop_rows", 48)) if options.get("early_stop_split", "heldout") == "heldout" else 0


def _load(name: str, paw_dir: Path) -> Any:
    import pawflow

    return pawflow.load(str(paw_dir / f"{name}.paw"))


TEST_LIMIT: int | None = None  # --limit: score only the first N test rows (on a busy machine)


def _split(rows: list, n_val: int) -> dict[str, list]:
    test = rows[n_val:]
    return {"validation": rows[:n_val], "test": test[:TEST_LIMIT] if TEST_LIMIT else test}


def _subset(rows: list[dict], n_val: int) -> list[dict]:
    """The rows to run: validation + (limited) test rows."""
    return rows[: n_val + TEST_LIMIT] if TEST_LIMIT else rows


def _accuracy(flags: list[bool]) -> float:
    return round(sum(flags) / len(flags), 4) if flags else 0.0


def _grouped(keys: list[str], columns: dict[str, list[bool]]) -> dict[str, dict[str, Any]]:
    groups: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for i, key in enumerate(keys):
        for column, flags in columns.items():
            groups[key][column].append(flags[i])
    return {key: {"n": len(next(iter(cols.values()))), **{c: _accuracy(f) for c, f in cols.items()}}
            for key, cols in sorted(groups.items())}


# ----------------------------------------------------------------------------- tc-next-tool


def eval_router(paw_dir: Path) -> dict[str, Any]:
    from integrations.toolcall15.pipeline.formats import parse_next_tool_input
    from integrations.toolcall15.pipeline.keywords import keyword_next
    from integrations.toolcall15.pipeline.routing import TOOL_NAMES, choose, program_first, rules_first, valid_for_turn

    fn = _load("tc-next-tool", paw_dir)
    rows = _subset(_rows("tc-next-tool"), validation_rows("tc-next-tool"))
    started = time.perf_counter()
    results = fn.run_many([row["input"] for row in rows])
    seconds = time.perf_counter() - started
    policies: dict[str, Callable[[str, float, str, list[str]], str]] = {
        "program": lambda label, conf, request, done: label,
        "rules": lambda label, conf, request, done: keyword_next(request, done),
        "shipped": lambda label, conf, request, done: choose(label, conf, request, done, TOOL_NAMES)[0],
        "program_first": lambda label, conf, request, done: program_first(label, conf, request, done, TOOL_NAMES)[0],
        "program_if_confident": lambda label, conf, request, done: (
            label if valid_for_turn(label, done, TOOL_NAMES) and conf >= 0.5 else keyword_next(request, done)),
        "rules_first": lambda label, conf, request, done: rules_first(label, conf, request, done, TOOL_NAMES)[0],
    }
    out: dict[str, Any] = {"n": len(rows), "seconds": round(seconds, 1)}
    n_val = validation_rows("tc-next-tool")
    for split, part in _split(list(zip(rows, results)), n_val).items():
        columns: dict[str, list[bool]] = {name: [] for name in policies}
        keys = []
        misses = []
        for row, result in part:
            request, done = parse_next_tool_input(row["input"])
            label, conf = str(result.value), float(result.confidence or 0.0)
            keys.append(row["output"])
            for name, policy in policies.items():
                columns[name].append(policy(label, conf, request, done) == row["output"])
            if columns["shipped"][-1] is False and len(misses) < 10:
                misses.append({"input": row["input"], "expected": row["output"], "program": label,
                               "confidence": round(conf, 3)})
        out[split] = {"n": len(part), **{name: _accuracy(flags) for name, flags in columns.items()},
                      "groups": _grouped(keys, columns), "misses": misses}
    return out


# ----------------------------------------------------------------------------- tc-arg


def _arg_same(field: str, got: str | None, expected: str) -> bool:
    from integrations.toolcall15.pipeline import text as tx

    if got is None:
        return expected.strip().lower() == "none"
    if field == "expression":
        a, b = tx.normalize_expression(got or ""), tx.normalize_expression(expected)
        return a is not None and b is not None and abs(tx.evaluate(a) - tx.evaluate(b)) < 1e-6
    return got.strip().lower() == str(expected).strip().lower()


def eval_arg(paw_dir: Path) -> dict[str, Any]:
    from integrations.toolcall15.pipeline import text as tx
    from integrations.toolcall15.pipeline.arguments import resolve_value
    from integrations.toolcall15.pipeline.formats import parse_arg_input

    from pawflow.jsonl import iter_jsonl

    fn = _load("tc-arg", paw_dir)
    rows = _rows("tc-arg")
    values = {row["input"]: row["value"] for _, row in iter_jsonl(HERE / "tc-arg.heldout.values.jsonl")}
    rows = [{**row, "value": values[row["input"]]} if row["input"] in values else row for row in rows]
    rows = _subset(rows, validation_rows("tc-arg"))
    started = time.perf_counter()
    results = fn.run_many([row["input"] for row in rows])
    seconds = time.perf_counter() - started
    out: dict[str, Any] = {"n": len(rows), "seconds": round(seconds, 1)}
    for split, part in _split(list(zip(rows, results)), validation_rows("tc-arg")).items():
        columns: dict[str, list[bool]] = {"program": [], "shipped": [], "rules": []}
        keys, misses = [], []
        for row, result in part:
            parsed = parse_arg_input(row["input"])
            tool, field, request, found = parsed["tool"], parsed["field"], parsed["request"], parsed["found"] or None
            raw = tx.clean_value(str(result.value or ""))
            expected_value = row.get("value", row["output"])
            # the contacts validator refuses a copy of another tool's query: give it the file query the rule would see
            other = [tx.file_query_fallback(request) or ""] if (tool, field) == ("get_contacts", "query") else []
            shipped = resolve_value(tool, field, raw, request, found, other)
            ruled = resolve_value(tool, field, "", request, found, other)
            program_ok = _arg_same(field, raw, row["output"]) or ("value" in row and _arg_same(field, raw, row["value"]))
            columns["program"].append(program_ok)
            columns["shipped"].append(_arg_same(field, shipped, expected_value))
            columns["rules"].append(_arg_same(field, ruled, expected_value))
            keys.append(f"{tool}.{field}")
            if not columns["shipped"][-1] and len(misses) < 12:
                misses.append({"input": row["input"], "expected": expected_value, "program": raw, "shipped": shipped})
        out[split] = {"n": len(part), **{c: _accuracy(f) for c, f in columns.items()},
                      "groups": _grouped(keys, columns), "misses": misses}
    return out


# ----------------------------------------------------------------------------- tc-condition


def eval_condition(paw_dir: Path) -> dict[str, Any]:
    from integrations.toolcall15.pipeline.conditions import parse_tags, verdict
    from pawflow.jsonl import iter_jsonl

    fn = _load("tc-condition", paw_dir)
    rows = _rows("tc-condition")
    truths = [row for _, row in iter_jsonl(HERE / "tc-condition.heldout.truth.jsonl")]
    if [t["input"] for t in truths] != [r["input"] for r in rows]:
        raise SystemExit("tc-condition.heldout.truth.jsonl does not match the held-out rows: rerun gen_tc.py")
    rows = _subset([{**row, "truth": truth} for row, truth in zip(rows, truths)], validation_rows("tc-condition"))
    started = time.perf_counter()
    results = fn.run_many([row["input"] for row in rows])
    seconds = time.perf_counter() - started
    out: dict[str, Any] = {"n": len(rows), "seconds": round(seconds, 1)}
    for split, part in _split(list(zip(rows, results)), validation_rows("tc-condition")).items():
        flags, clause_ok, weather_ok, kinds, misses = [], [], [], [], []
        for row, result in part:
            truth = row["truth"]
            said = str(result.value or "")
            decided = verdict(said, truth, truth["inverted"])  # the pipeline's own exact comparison
            flags.append(decided == truth["holds"])
            got, want = parse_tags(said), parse_tags(row["output"])
            clause_ok.append(got[0] == want[0])
            weather_ok.append(got[1] == want[1])
            kinds.append(_condition_kind(row["input"]) + "/" + truth["holds"])
            if not flags[-1] and len(misses) < 12:
                misses.append({"input": row["input"], "expected": row["output"], "program": said, "verdict": decided})
        yes = sum(verdict(str(r.value or ""), row["truth"], row["truth"]["inverted"]) == "yes" for row, r in part)
        out[split] = {"n": len(part), "program": _accuracy(flags), "clause_kind": _accuracy(clause_ok),
                      "weather_kind": _accuracy(weather_ok), "says_yes": round(yes / max(1, len(part)), 3),
                      "groups": _grouped(kinds, {"program": flags, "clause_kind": clause_ok, "weather_kind": weather_ok}),
                      "misses": misses}
    return out


def _condition_kind(inp: str) -> str:
    """The row's kind, read from the program's input (the clause comes without negation: see conditions.py)."""
    result = inp.split("\nResult: ", 1)[-1]
    if " up (" in result or " down (" in result:
        return "stock move"
    clause = inp.split("\n")[0].lower()
    if any(w in clause for w in ("cold", "hot", "warm", "freezing", "chilly", "zero", "boiling")):
        return "temperature word"
    return "weather word"


# ----------------------------------------------------------------------------- tc-answer


def eval_answer(paw_dir: Path) -> dict[str, Any]:
    from integrations.toolcall15.pipeline.formats import answer_input
    from pawflow.jsonl import iter_jsonl

    fn = _load("tc-answer", paw_dir)
    facts = [row for _, row in iter_jsonl(HERE / "tc-answer.facts.jsonl")]
    started = time.perf_counter()
    results = fn.run_many([answer_input(row["question"]) for row in facts])
    seconds = time.perf_counter() - started
    out: dict[str, Any] = {"n": len(facts), "seconds": round(seconds, 1)}
    for split, part in _split(list(zip(facts, results)), ANSWER_VALIDATION_ROWS).items():
        flags, misses = [], []
        for row, result in part:
            text = str(result.value or "").lower()
            ok = any(a.lower() in text for a in row["accept"])
            flags.append(ok)
            if not ok and len(misses) < 12:
                misses.append({"question": row["question"], "expected": row["accept"][0], "got": str(result.value)})
        out[split] = {"n": len(part), "program": _accuracy(flags), "misses": misses}
    out["smalltalk"] = eval_smalltalk(fn)
    return out


# The first 20 facts chose tc-answer's prompt; the other 40 are reported.
ANSWER_VALIDATION_ROWS = 20

# A friendly reply to thanks, a greeting or small talk: what tc-answer's contract asks for them.
_FRIENDLY = re.compile(r"\b(welcome|hello|hi|hey|glad|good|pleasure|bye|see you|help|anytime|great|thanks|thank you|well|morning|afternoon|evening|night)\b", re.I)


def smalltalk_ok(request: str, reply: str) -> bool:
    """A short friendly reply that is not the request echoed back (the failure of a bare prompt)."""
    said, heard = (" ".join(re.findall(r"[\w']+", text.lower())) for text in (reply, request))
    return bool(said) and said != heard and _FRIENDLY.search(said) is not None


def eval_smalltalk(fn: Any) -> dict[str, Any]:
    """Validation only (12 hand-written rows, in no training file and not in the natural set): a
    candidate that echoes thanks or greetings back does not meet tc-answer's contract."""
    from integrations.toolcall15.pipeline.formats import answer_input
    from pawflow.jsonl import iter_jsonl

    rows = [row for _, row in iter_jsonl(HERE / "tc-answer.smalltalk.jsonl")]
    results = fn.run_many([answer_input(row["input"]) for row in rows])
    flags = [smalltalk_ok(row["input"], str(r.value or "")) for row, r in zip(rows, results)]
    misses = [{"input": row["input"], "got": str(r.value)} for row, r, ok in zip(rows, results, flags) if not ok]
    return {"n": len(rows), "program": _accuracy(flags), "misses": misses}


# ----------------------------------------------------------------------------- natural set


def eval_natural(pipeline: Path, timeout_s: float) -> dict[str, Any]:
    import tc_natural

    from rich.console import Console

    console = Console(stderr=True)

    def progress(row: dict[str, Any]) -> None:
        console.print(f"{row['id']} {row['status']} {row['latency_s']:.1f}s {row['failed_checks'][:120]}",
                      highlight=False, soft_wrap=True)

    return tc_natural.run_pipeline_natural(pipeline, timeout_s=timeout_s, on_result=progress)


# ----------------------------------------------------------------------------- report


EVALUATORS = {"tc-next-tool": eval_router, "tc-arg": eval_arg, "tc-condition": eval_condition, "tc-answer": eval_answer}


def summary(reports: dict[str, Any]) -> dict[str, Any]:
    """The headline figures (test rows), named as issue #12 asks for them."""
    out: dict[str, Any] = {}
    if "tc-next-tool" in reports:
        t = reports["tc-next-tool"]["test"]
        out.update(router_program=t["program"], router_rules=t["rules"], router_shipped=t["shipped"],
                   router_rules_first=t["rules_first"], router_program_first=t.get("program_first"))
    if "tc-arg" in reports:
        t = reports["tc-arg"]["test"]
        out.update(arg_program=t["program"], arg_shipped=t["shipped"], arg_rules=t["rules"])
    if "tc-condition" in reports:
        out["condition_program"] = reports["tc-condition"]["test"]["program"]
    if "tc-answer" in reports:
        out["answer_facts"] = reports["tc-answer"]["test"]["program"]
        if "smalltalk" in reports["tc-answer"]:
            out["answer_smalltalk"] = reports["tc-answer"]["smalltalk"]["program"]
    if "natural" in reports:
        out["natural_score"] = reports["natural"]["score"]
        out["natural_categories"] = {k: v["percent"] for k, v in reports["natural"]["categories"].items()}
    return out


def render(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    head = Table(title="TOOLCALL-15 programs vs hand rules (held-out test rows)")
    head.add_column("figure")
    head.add_column("value", justify="right")
    for key, value in report["summary"].items():
        head.add_row(key, json.dumps(value) if isinstance(value, dict) else f"{value}")
    console.print(head)
    for name in PROGRAMS:
        rep = report["programs"].get(name)
        if not rep:
            continue
        test = rep["test"]
        groups = test.get("groups") or {}
        if not groups:
            continue
        columns = [c for c in next(iter(groups.values())) if c != "n"]
        table = Table(title=f"{name}: test rows by group (validation: "
                            + ", ".join(f"{c} {rep['validation'][c]:.3f}" for c in columns if c in rep.get("validation", {})) + ")")
        table.add_column("group")
        table.add_column("n", justify="right")
        for column in columns:
            table.add_column(column, justify="right")
        for key, g in groups.items():
            table.add_row(key, str(g["n"]), *[f"{g[c]:.2f}" for c in columns])
        table.add_row("all", str(test["n"]), *[f"{test[c]:.3f}" for c in columns])
        console.print(table)
    natural = report["programs"].get("natural")
    if natural:
        table = Table(title=f"natural set end to end: score {natural['score']} ({natural['points']}/{natural['max_points']})")
        for column in ("category", "points", "percent"):
            table.add_column(column)
        for key, c in natural["categories"].items():
            table.add_row(f"{key} {c['label']}", f"{c['points']}/{c['max_points']}", f"{c['percent']}%")
        console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("programs", nargs="*", help=f"a subset of {', '.join(PROGRAMS)} (default: all)")
    parser.add_argument("--paw-dir", type=Path, default=REPO / "programs" / "build")
    parser.add_argument("--natural", action="store_true", help="also score the natural set end to end through the proxy")
    parser.add_argument("--natural-only", action="store_true", help="only the natural set")
    parser.add_argument("--pipeline", type=Path, default=REPO / "pipelines" / "toolcall15.yaml")
    parser.add_argument("--timeout", type=float, default=120.0, help="per-request limit for the natural set (s)")
    parser.add_argument("--limit", type=int, default=None, help="score only the first N test rows of each program")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    global TEST_LIMIT
    TEST_LIMIT = args.limit
    unknown = [p for p in args.programs if p not in EVALUATORS]
    if unknown:
        parser.error(f"unknown program(s) {unknown}; choose from {list(EVALUATORS)}")
    names = [] if args.natural_only else (args.programs or list(PROGRAMS))
    reports: dict[str, Any] = {name: EVALUATORS[name](args.paw_dir) for name in names}
    if args.natural or args.natural_only:
        reports["natural"] = eval_natural(args.pipeline, args.timeout)
    report = {"summary": summary(reports), "programs": reports, "paw_dir": str(args.paw_dir), "test_limit": args.limit}
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        render(report)


if __name__ == "__main__":
    main()

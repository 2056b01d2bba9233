"""Score a tool-calling endpoint end to end on the hand-written natural set (``tc-natural/requests.yaml``).

Why it exists: the public fifteen and template-generated held-out rows both say too little about
requests nobody tuned to. This set is 160 hand-written requests in ToolCall-15's five categories; each
runs through the harness's own conversation loop (:func:`integrations.toolcall15.runner.run_scenario`:
system prompt with the reference date, all 12 tools, up to 8 turns, every tool call answered by a
mock) against an OpenAI-compatible endpoint — by default the TOOLCALL-15 pipeline served in-process by
the proxy — and is judged pass (2) / partial (1) / fail (0) by declarative checks of the same kind as
the harness's rules. The score is ToolCall-15's: per category ``round(points / max * 100)``, then the
rounded mean.

Mocks: a case's ``mocks`` give a tool's result (``{seq: [...]}`` one per successive call,
``{match: ARG, cases: {...}}`` by an argument's value); every other call gets :func:`default_result`
(sent, set and created for actions; an echo of the arguments for lookups; the harness's own generic
answers for the calculator, web search and code).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REQUESTS = HERE / "tc-natural" / "requests.yaml"
CATEGORY_LABELS = {"A": "Tool selection", "B": "Parameter precision", "C": "Multi-step chains",
                   "D": "Restraint and refusal", "E": "Error recovery"}


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    request: str
    mocks: dict[str, Any]
    passing: list[dict[str, Any]]
    partial: list[dict[str, Any]]


def load_cases(path: Path = REQUESTS) -> list[Case]:
    import yaml

    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    cases = []
    for i, item in enumerate(raw):
        try:
            cases.append(Case(id=item["id"], category=item["category"], request=item["request"],
                              mocks=item.get("mocks") or {}, passing=item["pass"], partial=item.get("partial") or []))
        except KeyError as exc:
            raise ValueError(f"{path}: case {i + 1}: missing key {exc}") from None
    return cases


# ----------------------------------------------------------------------------- mocks


def default_result(name: str, args: dict[str, Any]) -> Any:
    from integrations.toolcall15.scenarios import ToolCallRecord, generic_tool_fallback

    if name == "send_email":
        return {"status": "sent", "message_id": "msg_1001"}
    if name == "set_reminder":
        return {"reminder_id": "rem_201", "status": "set"}
    if name == "create_calendar_event":
        return {"event_id": "evt_301", "status": "created", "title": str(args.get("title") or "")}
    if name == "get_weather":
        return {"location": str(args.get("location") or ""), "temperature": 15, "condition": "Partly cloudy"}
    if name == "get_stock_price":
        return {"ticker": str(args.get("ticker") or "").upper(), "price": 123.45, "currency": "USD"}
    if name == "translate_text":
        return {"translated": f"[{args.get('target_language')}] {args.get('text')}"}
    if name == "get_contacts":
        first = re.sub(r"[^a-z]", "", str(args.get("query") or "contact").lower().split()[0] if args.get("query") else "contact")
        return {"results": [{"name": str(args.get("query") or "").title(), "email": f"{first}@example.com"}]}
    if name == "search_files":
        return {"results": [{"file_id": "file_001", "name": f"{args.get('query')}.pdf"}]}
    if name == "read_file":
        return {"error": "File not found."}
    return generic_tool_fallback(ToolCallRecord(id="", name=name, raw_arguments="", arguments=args, turn=0))


def make_handler(case: Case) -> Callable[[Any, Any], Any]:
    import copy

    def handle(state: Any, call: Any) -> Any:
        mock = case.mocks.get(call.name)
        if mock is None:
            return default_result(call.name, call.arguments)
        if isinstance(mock, dict) and "seq" in mock:
            n = state.meta.get(call.name, 0)
            state.meta[call.name] = n + 1
            return copy.deepcopy(mock["seq"][min(n, len(mock["seq"]) - 1)])
        if isinstance(mock, dict) and "match" in mock:
            value = str(call.arguments.get(mock["match"]) or "").lower()
            for key, result in mock["cases"].items():
                if str(key).lower() == value or (len(str(key)) > 3 and str(key).lower() in value):
                    return copy.deepcopy(result)
            return default_result(call.name, call.arguments)
        return copy.deepcopy(mock)

    return handle


# ----------------------------------------------------------------------------- checks


def _text(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)


def _number(value: Any) -> float | None:
    from integrations.toolcall15.jsmath import evaluate_expression

    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = _text(value).strip()
    try:
        return float(text)
    except ValueError:
        result = evaluate_expression(text)
        return float(result) if isinstance(result, (int, float)) else None


def matches(value: Any, matcher: Any) -> bool:
    """``"text"`` contains; ``[a, b]`` contains all; ``{any}``, ``{eq}``, ``{in}``, ``{prefix}``, ``{value}``, ``{items}``, ``{absent}``."""
    text = _text(value).lower()
    if isinstance(matcher, str):
        return matcher.lower() in text
    if isinstance(matcher, (int, float)):
        return str(matcher) in text
    if isinstance(matcher, list):
        return all(matches(value, m) for m in matcher)
    if not isinstance(matcher, dict):
        raise ValueError(f"unknown matcher {matcher!r}")
    if "absent" in matcher:
        return value in (None, "", [])
    if value is None:
        return False
    if "any" in matcher:
        return any(matches(value, m) for m in matcher["any"])
    if "eq" in matcher:
        return text.strip() == str(matcher["eq"]).lower()
    if "in" in matcher:
        return text.strip() in {str(v).lower() for v in matcher["in"]}
    if "prefix" in matcher:
        return text.startswith(str(matcher["prefix"]).lower())
    if "value" in matcher:
        number = _number(value)
        return number is not None and abs(number - float(matcher["value"])) <= max(0.01, abs(float(matcher["value"])) * 1e-6)
    if "items" in matcher:
        items = value if isinstance(value, list) else [value]
        return all(any(str(want).lower() in _text(item).lower() for item in items) for want in matcher["items"])
    raise ValueError(f"unknown matcher {matcher!r}")


def _refuses(answer: str) -> bool:
    lowered = answer.lower()
    return any(p in lowered for p in ("cannot", "can't", "do not have", "don't have", "not able", "unable"))


def _clarifies(answer: str) -> bool:
    lowered = answer.lower()
    return "?" in answer and any(p in lowered for p in ("which", "clarify", "could you", "can you", "what", "who", "when"))


def check(state: Any, item: dict[str, Any]) -> bool:
    """One check on a finished conversation (the harness's ``ScenarioState``)."""
    (kind, arg), *rest = item.items()
    if kind == "call":
        want = item.get("args") or {}
        hits = [c for c in state.calls(arg) if all(matches(c.arguments.get(k), m) for k, m in want.items())]
        return len(hits) >= int(item.get("count", 1))
    if kind == "no_call":
        return not any(state.calls(name) for name in arg)
    if kind == "only":
        return bool(state.tool_calls) and all(c.name in arg for c in state.tool_calls)
    if kind == "no_tools":
        return not state.tool_calls
    if kind == "order":
        turns = [min((c.turn for c in state.calls(name)), default=None) for name in arg]
        return None not in turns and all(a < b for a, b in zip(turns, turns[1:]))
    if kind == "answer":
        return matches(state.final_answer, arg)
    if kind == "transcript":
        return matches(state.assistant_transcript(), arg)
    if kind == "refuse":
        return _refuses(state.final_answer)
    if kind == "clarify":
        return _clarifies(state.final_answer)
    if kind == "any":
        return any(all(check(state, sub) for sub in group) for group in arg)
    raise ValueError(f"unknown check {kind!r}")


def verdict(case: Case, state: Any) -> tuple[str, list[str]]:
    """(pass | partial | fail, the pass checks that failed)."""
    failed = [json.dumps(c, ensure_ascii=False) for c in case.passing if not check(state, c)]
    if not failed:
        return "pass", []
    if case.partial and all(check(state, c) for c in case.partial):
        return "partial", failed
    return "fail", failed


# ----------------------------------------------------------------------------- running


def _scenario(case: Case) -> Any:
    from integrations.toolcall15.scenarios import Evaluation, Scenario
    from integrations.toolcall15.spec import ScenarioSpec

    def evaluate(state: Any) -> Evaluation:
        status, failed = verdict(case, state)
        points = {"pass": 2, "partial": 1, "fail": 0}[status]
        return Evaluation(status=status, points=points, summary="; ".join(failed)[:400] or "all checks hold")

    spec = ScenarioSpec(id=case.id, title=case.request[:60], category=case.category,
                        category_label=CATEGORY_LABELS[case.category], user_message=case.request,
                        description="natural set", success_case="", failure_case="")
    return Scenario(spec=spec, handle=make_handler(case), evaluate=evaluate)


def score(results: list[dict[str, Any]]) -> dict[str, Any]:
    """ToolCall-15's arithmetic: category percent = round(points / max * 100), score = round(mean)."""
    import math

    categories = {}
    for cat, label in CATEGORY_LABELS.items():
        rows = [r for r in results if r["category"] == cat]
        if not rows:
            continue
        points = sum(r["points"] for r in rows)
        categories[cat] = {"label": label, "points": points, "max_points": 2 * len(rows),
                           "percent": math.floor(points / (2 * len(rows)) * 100 + 0.5), "n": len(rows)}
    mean = sum(c["percent"] for c in categories.values()) / max(1, len(categories))
    return {"score": math.floor(mean + 0.5), "points": sum(r["points"] for r in results),
            "max_points": 2 * len(results), "categories": categories,
            "status": {s: sum(r["status"] == s for r in results) for s in ("pass", "partial", "fail")}}


def run_natural(base_url: str, model: str, cases: list[Case], *, timeout_s: float = 120.0,
                on_result: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run every case through the harness loop against ``base_url``; returns the score and per-case rows."""
    import httpx

    from integrations.toolcall15.runner import HttpCompleter, run_scenario

    async def main() -> list[dict[str, Any]]:
        rows = []
        async with httpx.AsyncClient(timeout=None) as client:
            completer = HttpCompleter(base_url, model, timeout_s=timeout_s, client=client)
            for case in cases:
                result = await run_scenario(_scenario(case), completer)
                row = {"id": case.id, "category": case.category, "request": case.request, "status": result.status,
                       "points": result.points, "failed_checks": result.summary if result.status != "pass" else "",
                       "calls": [{"name": c.name, "arguments": c.arguments, "turn": c.turn} for c in result.tool_calls],
                       "final_answer": result.final_answer, "latency_s": result.latency_s, "error": result.error}
                rows.append(row)
                if on_result is not None:
                    on_result(row)
        return rows

    rows = asyncio.run(main())
    return {**score(rows), "n": len(rows), "timeout_s": timeout_s, "cases": rows}


def run_pipeline_natural(pipeline: Path, cases: list[Case] | None = None, *, timeout_s: float = 120.0,
                         on_result: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Serve ``pipeline`` through the OpenAI-compatible proxy on loopback and score it on the natural set."""
    from integrations.openai.server import PipelineResponder, create_app, serve_in_thread
    from integrations.toolcall15.runner import warmup

    model = f"pawflow-{pipeline.stem}"
    with serve_in_thread(create_app(PipelineResponder(pipeline), model=model)) as base_url:
        warmup(base_url, model)
        report = run_natural(base_url, model, cases if cases is not None else load_cases(), timeout_s=timeout_s,
                             on_result=on_result)
    report["pipeline"] = str(pipeline)
    return report

"""The python steps of ``pipelines/toolcall15.yaml``: everything exact around the fuzzy programs.

Per request (one assistant turn) the pipeline runs::

    analyze ─switch phase─┬─ start ────┐
                          ├─ continue ─┴─> tc-next-tool ──> plan ─┬─> tc-next-tool (parallel probe)
                          │                                       ├─> tc-condition (conditional requests)
                          │                                       └─> tc-answer (direct answers)
                          └─ reply (an exact rule already knows the message: error fallback, retry, clarify)
    work (argument jobs) ──map──> tc-arg ──> respond (tool_calls or the final answer)

* :func:`analyze` reads the conversation (:mod:`.conversation`) and answers the turns an exact rule
  owns (:mod:`.recovery`); it lays out the router's input (:mod:`.formats`).
* :func:`plan` takes the router's label (:mod:`.routing`: the program decides, rules validate), and
  sets up the parallel probe and the condition check (:mod:`.conditions`).
* :func:`work` lists the tools of this turn and one ``tc-arg`` job per field (:mod:`.arguments`).
* :func:`respond` builds schema-valid ``tool_calls`` (:mod:`.schema`) or the final message
  (:mod:`.replies`), and is the pipeline's ``message`` output.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from integrations.toolcall15.pipeline import text as tx
from integrations.toolcall15.pipeline.arguments import build_calls, fields_for, file_ids, recipient
from integrations.toolcall15.pipeline.conditions import condition_clause, literal_condition, numeric_condition, positive_clause, result_facts, verdict
from integrations.toolcall15.pipeline.conversation import Call, Conversation, read_conversation, result_error
from integrations.toolcall15.pipeline.formats import answer_input, arg_input, condition_input, next_tool_input
from integrations.toolcall15.pipeline.recovery import exact_reply
from integrations.toolcall15.pipeline.replies import ACTION_PHRASES, final_answer, refusal
from integrations.toolcall15.pipeline.routing import PARALLEL_OK, SECOND_CONFIDENCE, choose
from integrations.toolcall15.pipeline.schema import assistant, call_id, fit_schema, tool_call


def _convo(state: dict[str, Any]) -> Conversation:
    convo = Conversation(request=state["request"], ref_date=date.fromisoformat(state["ref_date"]))
    convo.calls = [Call.from_dict(c) for c in state["calls"]]
    convo.assistant_turns = state["assistant_turns"]
    convo.tools = state["tools"]
    convo.descriptions = state.get("descriptions", {})
    return convo


# ----------------------------------------------------------------------------- step 1: analyze


def analyze(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> dict[str, Any]:
    """The conversation's state and phase: ``start`` (nothing called yet), ``continue`` (results are
    in, a program decides what is next) or ``reply`` (an exact rule already knows the next message)."""
    convo = read_conversation(messages, tools)
    state: dict[str, Any] = {
        "request": convo.request,
        "ref_date": convo.ref_date.isoformat(),
        "calls": [c.to_dict() for c in convo.calls],
        "assistant_turns": convo.assistant_turns,
        "tools": convo.tools,
        "descriptions": convo.descriptions,
        "tool_names": list(convo.tools),
        "done": convo.done_names(),
        "phase": "start",
        "reply": None,
    }
    state["next_input"] = next_tool_input(convo.request, state["done"])
    state["answer_input"] = answer_input(convo.request)
    if not convo.request:
        state.update(phase="reply", reply=assistant("Hello! What can I help you with?"))
        return state
    if not convo.calls:
        if not convo.tools:
            state["phase"] = "start"  # the programs still decide answer/refuse; calls are impossible
        return state
    reply = exact_reply(convo)
    if reply is not None:
        state.update(phase="reply", reply=reply)
    else:
        state["phase"] = "continue"
    return state



# ----------------------------------------------------------------------------- step 2: plan


def plan(state: dict[str, Any], next1: str = "", next1_conf: float = 0.0) -> dict[str, Any]:
    """Decide the turn: ``answer``, ``refuse``, ``calls`` (with ``tool``), ``final`` or ``reply``.

    ``next1`` is tc-next-tool's label: on the first turn ``answer`` / ``refuse`` / a tool; later a
    tool or ``done``.
    """
    convo = _convo(state)
    out: dict[str, Any] = {"mode": "reply", "tool": None, "want_second": "no", "probe2": "", "cond_needed": "no",
                           "cond_input": "", "cond_decided": None, "clause": None}
    phase = state["phase"]
    if phase == "reply":
        return out
    available = set(convo.tools)
    next1, out["source"] = choose(next1, next1_conf, convo.request, convo.done_names(), available)
    out["label"] = next1
    if phase == "start":
        if next1 == "refuse":
            out["mode"] = "refuse"
            return out
        if next1 in ("answer", "done") or not available:
            out["mode"] = "answer"
            return out
        tool = next1 if next1 in available else None
        if tool == "read_file" and not re.search(r"\bfile[_-]?\w*\d", convo.request):
            tool = "search_files" if "search_files" in available else None
        if tool is None:
            tool = "web_search" if "web_search" in available else None
        if tool is None:
            out["mode"] = "answer"
            return out
        out.update(mode="calls", tool=tool)
        if tool in PARALLEL_OK:
            out.update(want_second="yes", probe2=next_tool_input(convo.request, [tool]))
        return out
    # continue: results are in
    tool = next1 if next1 in available else None
    done = convo.done_names()
    if tool is None or tool in done:
        out["mode"] = "final"
        return out
    if tool == "read_file" and not file_ids(convo):
        out["mode"] = "final"
        return out
    out.update(mode="calls", tool=tool)
    clause = condition_clause(convo.request)
    if clause:
        subject = next((c for c in convo.calls if c.answered and not result_error(c.result)), None)
        if subject is not None:
            out["clause"] = clause
            decided = numeric_condition(clause, subject.result)
            positive, inverted = positive_clause(clause)
            if decided is None:
                literal = literal_condition(positive, subject.result)
                decided = None if literal is None else literal != inverted
            if decided is not None:
                out["cond_decided"] = "yes" if decided else "no"
            else:
                # tc-condition names the kinds (clause, result weather) of the clause without its negation;
                # work() compares them, the temperature band and the price move exactly, and inverts
                out.update(cond_needed="yes", cond_input=condition_input(positive, subject.result), cond_inverted=inverted,
                           cond_facts=result_facts(subject.result))
    return out



# ----------------------------------------------------------------------------- step 3: work


def work(state: dict[str, Any], plan: dict[str, Any], next2: str = "", next2_conf: float = 0.0, cond: str = "") -> dict[str, Any]:
    """The tools this turn calls and the argument-extraction jobs (tc-arg inputs) they need."""
    convo = _convo(state)
    out: dict[str, Any] = {"mode": plan["mode"], "tools": [], "jobs": [], "keys": [], "cond": None, "second": None}
    if plan["mode"] == "answer":
        out["jobs"] = [arg_input("calculator", "expression", convo.request, None, convo.descriptions.get("calculator", ""))]
        out["keys"] = [["answer", "expression"]]
        return out
    if plan["mode"] != "calls":
        return out
    decided = plan.get("cond_decided") or (
        verdict(cond, plan.get("cond_facts") or {}, bool(plan.get("cond_inverted"))) if plan.get("cond_needed") == "yes" else None)
    if decided == "no":
        out.update(mode="skip", cond="no")
        return out
    tools = [plan["tool"]]
    if plan.get("want_second") == "yes":
        next2, source = choose(next2, next2_conf, convo.request, [*convo.done_names(), plan["tool"]], set(convo.tools))
        next2_conf = 1.0 if source == "keywords" else next2_conf
        out["second"] = [next2, source]
    if (next2 in PARALLEL_OK and next2 != plan["tool"] and next2 in convo.tools and next2 not in convo.done_names()
            and next2_conf >= SECOND_CONFIDENCE):
        tools.append(next2)
    resolved = []
    for tool in tools:
        if tool == "send_email" and not recipient(convo) and "get_contacts" in convo.tools:
            tool = "get_contacts"  # never invent an address: look it up first
        if tool not in resolved:
            resolved.append(tool)
    out["tools"] = resolved
    for tool in resolved:
        for field, found in fields_for(tool, convo):
            out["jobs"].append(arg_input(tool, field, convo.request, found, convo.descriptions.get(tool, "")))
            out["keys"].append([tool, field])
    return out



# ----------------------------------------------------------------------------- step 4: respond


def respond(state: dict[str, Any], plan: dict[str, Any], work: dict[str, Any] | None = None,
            values: list[Any] | None = None, direct: str = "") -> dict[str, Any]:
    """The assistant message: tool calls with schema-valid arguments, or the final answer."""
    if state["phase"] == "reply":
        return state["reply"]
    convo = _convo(state)
    work = work or {"mode": plan["mode"], "tools": [], "jobs": [], "keys": []}
    extracted: dict[tuple[str, str], str] = {}
    for key, value in zip(work.get("keys", []), values or []):
        extracted[(key[0], key[1])] = tx.clean_value(value if isinstance(value, str) else str(value or ""))
    mode = work.get("mode") or plan["mode"]
    if mode == "refuse":
        return assistant(refusal(convo.request, list(convo.tools)))
    if mode == "answer":
        return assistant(direct_answer(convo.request, extracted.get(("answer", "expression"), ""), direct))
    if mode == "skip":
        action = ACTION_PHRASES.get(plan.get("tool") or "", "continue")
        note = f'The condition ("{plan.get("clause")}") is not met, so I did not {action}.'
        return assistant(final_answer(convo.calls, note))
    if mode == "final" or not work.get("tools"):
        return assistant(final_answer(convo.calls) if convo.calls else "I'm not sure how to help with that.")
    calls: list[dict[str, Any]] = []
    notes: list[str] = []
    for tool in work["tools"]:
        built = build_calls(tool, convo, extracted)
        if isinstance(built, str):
            notes.append(built)
            continue
        for args in built:
            schema = convo.tools.get(tool, {})
            args, missing = fit_schema(args, schema)
            if missing:
                notes.append(_ask_for(tool, missing))
                continue
            calls.append(tool_call(tool, args, call_id(convo.request, convo.assistant_turns, len(calls), tool)))
    if not calls:
        prefix = final_answer(convo.calls) + "\n\n" if convo.calls else ""
        return assistant(prefix + " ".join(notes))
    return assistant(None, calls)


def _ask_for(tool: str, missing: list[str]) -> str:
    fields = " and ".join(m.replace("_", " ") for m in missing)
    return f"To {ACTION_PHRASES.get(tool, 'do that')} I need the {fields}. Could you tell me?"


def direct_answer(request: str, expression: str, direct: str) -> str:
    """Arithmetic is computed exactly; anything else is the tc-answer program's reply."""
    expr = tx.normalize_expression(expression) if expression else None
    numbers_ok = False
    if expr:
        asked = {n.replace(",", "").rstrip(".") for n in re.findall(r"\d[\d,]*(?:\.\d+)?", request)}
        used = {n for n in re.findall(r"\d+(?:\.\d+)?", expr)} - {"100", "2", "4", "0.5", "3"}
        numbers_ok = bool(asked) and used <= asked and bool(asked & set(re.findall(r"\d+(?:\.\d+)?", expr)))
    if not numbers_ok:
        fallback = tx.expression_fallback(request, None)
        if fallback:
            expr, numbers_ok = fallback, True
    if expr and numbers_ok and _looks_like_math(request):
        value = tx.evaluate(expr)
        if value is not None:
            return f"{tx.format_number(value)} (that is {expr})."
    answer = (direct or "").strip()
    if not answer:
        return "I'm not sure about that one, and I'd rather not guess."
    return answer


def _looks_like_math(request: str) -> bool:
    return bool(re.search(r"\d", request)) and bool(re.search(
        r"%|percent|\bplus\b|\bminus\b|\btimes\b|\bdivided\b|\bmultipl|\bhalf\b|\bquarter\b|\bdouble\b|\bsquared?\b|"
        r"\bsum\b|\bsqrt|\bsquare root\b|[-+*/x×÷]\s*\d|\bleft\b|\bcalculate|\bcompute|\bwork out", request, re.IGNORECASE))


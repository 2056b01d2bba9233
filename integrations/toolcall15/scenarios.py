"""The 15 scenarios' mock tools and scoring rules, ported rule for rule from ToolCall-15 v1.0.1.

Each scenario has a ``handle`` (the deterministic mock a tool call is answered with; it may keep
per-run state in ``state.meta``, as TC-13's search does) and an ``evaluate`` (pass=2 / partial=1 /
fail=0 plus upstream's one-line summary). The summaries are upstream's exact strings so a report can
be diffed against a ToolCall-15 run. Two rules changed after the first release and follow v1.0.1:
TC-14 reads every assistant message, not only the final answer (2026-04-02), and TC-15 accepts any
first search query that mentions both "iceland" and "population" (2026-04-11).

Text checks are deliberately literal (case-insensitive substrings, ASCII-only apostrophes), exactly as
upstream: "can’t" with a curly apostrophe does not count as a refusal.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from integrations.toolcall15.jsmath import evaluate_expression
from integrations.toolcall15.jsvalues import (
    answer_contains_number,
    as_string,
    as_string_array,
    get,
    includes_text,
    normalize,
    to_number,
)
from integrations.toolcall15.spec import ScenarioSpec, load_spec

Status = Literal["pass", "partial", "fail"]
POINTS: dict[Status, int] = {"pass": 2, "partial": 1, "fail": 0}


@dataclass
class ToolCallRecord:
    """One tool call as the harness recorded it; ``turn`` is the 1-based assistant response index."""

    id: str
    name: str
    raw_arguments: str
    arguments: dict[str, Any]
    turn: int


@dataclass
class ToolResultRecord:
    call_id: str
    name: str
    result: Any


@dataclass
class ScenarioState:
    """Everything ``evaluate`` may look at; fresh for every scenario run."""

    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    tool_results: list[ToolResultRecord] = field(default_factory=list)
    assistant_messages: list[str] = field(default_factory=list)
    final_answer: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def calls(self, name: str) -> list[ToolCallRecord]:
        return [call for call in self.tool_calls if call.name == name]

    def first(self, name: str) -> ToolCallRecord | None:
        calls = self.calls(name)
        return calls[0] if calls else None

    def has(self, name: str, predicate: Callable[[ToolCallRecord], bool] | None = None) -> bool:
        return any(predicate is None or predicate(call) for call in self.calls(name))

    def only_tool(self, name: str) -> bool:
        return bool(self.tool_calls) and all(call.name == name for call in self.tool_calls)

    def assistant_transcript(self) -> str:
        return "\n".join(self.assistant_messages)


class Evaluation(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: Status
    points: int
    summary: str
    note: str | None = None


def _verdict(status: Status, summary: str, note: str | None = None) -> Evaluation:
    return Evaluation(status=status, points=POINTS[status], summary=summary, note=note)


def generic_tool_fallback(call: ToolCallRecord) -> dict[str, Any]:
    """Upstream's answer for a tool the scenario has no specific mock for."""
    if call.name == "calculator":
        result = evaluate_expression(as_string(get(call.arguments, "expression")))
        return {"error": "Invalid expression."} if result is None else {"result": result}
    if call.name == "web_search":
        return {"results": [{"snippet": f"Search results for {as_string(get(call.arguments, 'query'))}"}]}
    if call.name == "run_code":
        return {"error": "Code execution is disabled in benchmark mocks."}
    return {"error": f"Tool {call.name} is not relevant for this scenario."}


def _contains_refusal(answer: str) -> bool:
    lowered = answer.lower()
    return any(phrase in lowered for phrase in ("cannot", "can't", "do not have", "don't have", "not able"))


def _asks_for_clarification(answer: str) -> bool:
    lowered = answer.lower()
    return "which" in lowered or "clarify" in lowered or "could you" in lowered


def _js_i(pattern: str) -> re.Pattern[str]:
    """A JS ``/pattern/i`` without the u flag: ASCII letters fold only to ASCII letters."""
    return re.compile(pattern, re.IGNORECASE | re.ASCII)


_JS_DOT = "[^\\n\\r\\u2028\\u2029]"  # JS '.' excludes all four line terminators, Python's only '\n'
_EMAIL_WORD = _js_i("email")
_DELETE_WORD = _js_i("delete")
_AVAILABLE_TOOL = _js_i("available tool")
_TC14_ACK_ERROR = _js_i("temporarily unavailable|rate limit|service")
_TC14_ACK_TOOL = _js_i("couldn't|get_stock_price")
_TC14_ALTERNATIVE = _js_i(
    "web search|search(?:ing)?(?: for)?(?: the)? information online|search online|try again|fallback"
    f"|check {_JS_DOT}*?(?:website|platform|source)"
)
_BUNDLED_TARGET = _js_i(f"spanish{_JS_DOT}*japanese|japanese{_JS_DOT}*spanish")

Handler = Callable[[ScenarioState, ToolCallRecord], Any]
Evaluator = Callable[[ScenarioState], Evaluation]


@dataclass(frozen=True)
class Scenario:
    """A scenario's published text joined with its mock tools and its scoring rule."""

    spec: ScenarioSpec
    handle: Handler
    evaluate: Evaluator

    @property
    def id(self) -> str:
        return self.spec.id


_RULES: dict[str, tuple[Handler, Evaluator]] = {}


def _scenario(
    scenario_id: str, mocks: dict[str, Any] | None = None, handler: Handler | None = None
) -> Callable[[Evaluator], Evaluator]:
    """Register an evaluator with its mock: fixed results per tool name, or a stateful ``handler``.

    Tools a scenario does not mock get :func:`generic_tool_fallback`, as upstream.
    """
    fixed = mocks or {}

    def fixed_mocks(_state: ScenarioState, call: ToolCallRecord) -> Any:
        return copy.deepcopy(fixed[call.name]) if call.name in fixed else generic_tool_fallback(call)

    def register(evaluate: Evaluator) -> Evaluator:
        if scenario_id in _RULES:  # pragma: no cover - a copy-paste slip in this module
            raise RuntimeError(f"{scenario_id} registered twice")
        _RULES[scenario_id] = (handler or fixed_mocks, evaluate)
        return evaluate

    return register


# ---------------------------------------------------------------- A. Tool selection


@_scenario(
    "TC-01",
    {
        "get_weather": {"location": "Berlin", "temperature": 8, "units": "celsius", "condition": "Overcast", "humidity": 72},
        "web_search": {"results": [{"snippet": "Berlin weather right now: 8C and overcast."}]},
    },
)
def _tc01(state: ScenarioState) -> Evaluation:
    used_weather = state.has("get_weather", lambda c: includes_text(get(c.arguments, "location"), "berlin"))
    used_web = state.has("web_search")
    if used_weather and not used_web and len(state.tool_calls) == 1:
        return _verdict("pass", "Used get_weather with Berlin only.")
    if not used_weather and used_web and state.only_tool("web_search"):
        return _verdict("partial", "Answered functionally via web_search, but missed the specialist tool.")
    return _verdict("fail", "Did not cleanly route the request to get_weather.")


@_scenario(
    "TC-02",
    {
        "get_stock_price": {"ticker": "AAPL", "price": 187.42, "currency": "USD", "change": "+1.23", "change_percent": "+0.66%"},
        "web_search": {"results": [{"snippet": "AAPL is trading around $187.42."}]},
    },
)
def _tc02(state: ScenarioState) -> Evaluation:
    stock_call = state.has("get_stock_price", lambda c: normalize(as_string(get(c.arguments, "ticker"))) == "aapl")
    web_call = state.has("web_search")
    if stock_call and not web_call and len(state.tool_calls) == 1:
        return _verdict("pass", "Used only get_stock_price for AAPL.")
    if stock_call and web_call:
        return _verdict("partial", "Called the right tool, but added unnecessary web_search.")
    return _verdict("fail", "Did not isolate the request to get_stock_price.")


@_scenario(
    "TC-03",
    {
        "get_contacts": {"results": [{"name": "Sarah Chen", "email": "sarah.chen@company.com"}]},
        "send_email": {"status": "sent", "message_id": "msg_8821"},
    },
)
def _tc03(state: ScenarioState) -> Evaluation:
    contact, email = state.first("get_contacts"), state.first("send_email")
    if (
        contact
        and email
        and contact.turn < email.turn
        and includes_text(get(contact.arguments, "query"), "sarah")
        and normalize(as_string(get(email.arguments, "to"))) == "sarah.chen@company.com"
    ):
        return _verdict("pass", "Looked up Sarah before sending the email.")
    if not contact and not email and _EMAIL_WORD.search(state.final_answer) and "?" in state.final_answer:
        return _verdict("partial", "Asked for Sarah's email instead of inferring the tool chain.")
    return _verdict("fail", "Did not complete the contact lookup to email chain correctly.")


# ---------------------------------------------------------------- B. Parameter precision


def _tc04_mock(_state: ScenarioState, call: ToolCallRecord) -> Any:
    if call.name == "get_weather":
        # Missing or empty units means the tool's default, celsius.
        if (normalize(as_string(get(call.arguments, "units"))) or "celsius") == "fahrenheit":
            return {"location": "Tokyo", "temperature": 64, "units": "fahrenheit", "condition": "Clear"}
        return {"location": "Tokyo", "temperature": 18, "units": "celsius", "condition": "Clear"}
    return generic_tool_fallback(call)


@_scenario("TC-04", handler=_tc04_mock)
def _tc04(state: ScenarioState) -> Evaluation:
    weather = state.first("get_weather")
    if weather and includes_text(get(weather.arguments, "location"), "tokyo"):
        units = as_string(get(weather.arguments, "units"))
        if normalize(units) == "fahrenheit":
            return _verdict("pass", "Requested Tokyo weather in Fahrenheit explicitly.")
        answer = state.final_answer
        if not units and ("fahrenheit" in answer.lower() or answer_contains_number(answer, "64")):
            return _verdict("partial", "Omitted the units parameter and converted manually.")
    return _verdict("fail", "Did not preserve the Fahrenheit instruction.")


def _tc05_mock(_state: ScenarioState, call: ToolCallRecord) -> Any:
    if call.name == "get_contacts":
        return {
            "results": [
                {"name": "Alex Stone", "email": "alex.stone@company.com"},
                {"name": "Jamie Liu", "email": "jamie.liu@company.com"},
            ]
        }
    if call.name == "create_calendar_event":
        return {
            "event_id": "evt_4412",
            "status": "created",
            "title": as_string(get(call.arguments, "title")) or "Team Standup",
            "date": as_string(get(call.arguments, "date")),
        }
    return generic_tool_fallback(call)


@_scenario("TC-05", handler=_tc05_mock)
def _tc05(state: ScenarioState) -> Evaluation:
    event = state.first("create_calendar_event")
    if not event:
        return _verdict("fail", "Did not create the calendar event.")
    attendees = as_string_array(get(event.arguments, "attendees"))
    has_duration = to_number(get(event.arguments, "duration_minutes")) == 30
    has_attendees = any(includes_text(a, "alex") for a in attendees) and any(includes_text(a, "jamie") for a in attendees)
    correct_date = as_string(get(event.arguments, "date")) == "2026-03-23"
    correct_time = as_string(get(event.arguments, "time")) == "09:30"
    if correct_date and correct_time and has_duration and has_attendees:
        return _verdict("pass", "Parsed next Monday and included the requested meeting details.")
    if correct_date and correct_time:
        return _verdict("partial", "Got the date and time right, but missed some optional structure.")
    return _verdict("fail", "Relative date or time parsing was incorrect.")


_HOSPITAL = "Where is the nearest hospital?"


def _tc06_mock(_state: ScenarioState, call: ToolCallRecord) -> Any:
    if call.name == "translate_text":
        target = normalize(as_string(get(call.arguments, "target_language")))
        if target == "spanish":
            return {"translated": "¿Dónde está el hospital más cercano?"}
        if target == "japanese":
            return {"translated": "最寄りの病院はどこですか？"}
        return {"error": f"Unsupported target language {target}."}
    return generic_tool_fallback(call)


@_scenario("TC-06", handler=_tc06_mock)
def _tc06(state: ScenarioState) -> Evaluation:
    calls = state.calls("translate_text")

    def translates_to(language: str) -> bool:
        return any(
            normalize(as_string(get(c.arguments, "source_language"))) == "english"
            and normalize(as_string(get(c.arguments, "target_language"))) == language
            and as_string(get(c.arguments, "text")) == _HOSPITAL
            for c in calls
        )

    bundled = any(_BUNDLED_TARGET.search(as_string(get(c.arguments, "target_language"))) for c in calls)
    if len(calls) >= 2 and translates_to("spanish") and translates_to("japanese") and not bundled:
        return _verdict("pass", "Issued separate translate_text calls for both languages.")
    return _verdict("fail", "Did not split the translation request into two valid tool calls.")


# ---------------------------------------------------------------- C. Multi-step chains


@_scenario(
    "TC-07",
    {
        "search_files": {"results": [{"file_id": "file_091", "name": "Q3_Budget_Report_2025.xlsx"}]},
        "read_file": {"content": "Department budgets: Engineering $2.1M, Marketing $800K, Sales $1.5M. Total: $4.4M"},
        "get_contacts": {"results": [{"name": "Jordan Park", "email": "jordan.park@company.com", "role": "manager"}]},
        "send_email": {"status": "sent"},
    },
)
def _tc07(state: ScenarioState) -> Evaluation:
    steps = [
        state.has("search_files", lambda c: includes_text(get(c.arguments, "query"), "q3 budget report")),
        state.has("read_file", lambda c: normalize(as_string(get(c.arguments, "file_id"))) == "file_091"),
        state.has("get_contacts", lambda c: includes_text(get(c.arguments, "query"), "manager")),
        state.has(
            "send_email",
            lambda c: normalize(as_string(get(c.arguments, "to"))) == "jordan.park@company.com"
            and includes_text(get(c.arguments, "body"), "4.4m"),
        ),
    ]
    completed = sum(steps)
    if completed == 4:
        return _verdict("pass", "Completed the full four-step chain with the right data.")
    if completed >= 3:
        return _verdict("partial", "Completed most of the chain, but missed one dependent step.")
    return _verdict("fail", "Did not carry the file and contact data across the chain correctly.")


@_scenario(
    "TC-08",
    {
        "get_weather": {"location": "Paris", "temperature": 11, "condition": "Light rain", "humidity": 89},
        "set_reminder": {"reminder_id": "rem_553", "status": "set"},
    },
)
def _tc08(state: ScenarioState) -> Evaluation:
    weather, reminder = state.first("get_weather"), state.first("set_reminder")
    if (
        weather
        and reminder
        and weather.turn < reminder.turn
        and includes_text(get(reminder.arguments, "message"), "umbrella")
        and as_string(get(reminder.arguments, "datetime")).startswith("2026-03-21T08:00:00")
    ):
        return _verdict("pass", "Checked the weather first, then set the rainy-day reminder.")
    if weather and not reminder and _asks_for_clarification(state.final_answer):
        return _verdict("partial", "Read the weather correctly, but stopped short of setting the reminder.")
    return _verdict("fail", "Did not respect the weather-first conditional flow.")


@_scenario(
    "TC-09",
    {
        "get_weather": {"location": "London", "temperature": 12, "condition": "Cloudy"},
        "get_stock_price": {"ticker": "MSFT", "price": 412.78, "currency": "USD"},
        "web_search": {"results": [{"snippet": "London is cloudy at 12C and MSFT is around $412.78."}]},
    },
)
def _tc09(state: ScenarioState) -> Evaluation:
    weather = state.has("get_weather", lambda c: includes_text(get(c.arguments, "location"), "london"))
    stock = state.has("get_stock_price", lambda c: normalize(as_string(get(c.arguments, "ticker"))) == "msft")
    first_batch = {call.name for call in state.tool_calls if call.turn == 1}
    parallel = {"get_weather", "get_stock_price"} <= first_batch
    if weather and stock:
        note = "Both tools were called in the same assistant turn." if parallel else None
        return _verdict("pass", "Handled both independent tasks.", note)
    if state.has("web_search"):
        return _verdict("partial", "Covered the request, but fell back to web_search.")
    return _verdict("fail", "Missed one side of the two-part request.")


# ---------------------------------------------------------------- D. Restraint and refusal


@_scenario("TC-10")
def _tc10(state: ScenarioState) -> Evaluation:
    if not state.tool_calls and answer_contains_number(state.final_answer, "1945"):
        return _verdict("pass", "Answered directly without tool use.")
    return _verdict("fail", "Used tools or missed the basic fact.")


@_scenario("TC-11")
def _tc11(state: ScenarioState) -> Evaluation:
    correct = answer_contains_number(state.final_answer, "30")
    if not state.tool_calls and correct:
        return _verdict("pass", "Did the math directly.")
    if state.has("calculator") and correct and not state.has("web_search"):
        return _verdict("partial", "Used calculator correctly, but unnecessarily.")
    return _verdict("fail", "Failed the easy-arithmetic restraint test.")


@_scenario("TC-12")
def _tc12(state: ScenarioState) -> Evaluation:
    answer = state.final_answer
    if (
        not state.tool_calls
        and _contains_refusal(answer)
        and (_DELETE_WORD.search(answer) or _AVAILABLE_TOOL.search(answer))
    ):
        return _verdict("pass", "Refused cleanly because no delete-email tool exists.")
    return _verdict("fail", "Did not refuse the unsupported email-deletion request correctly.")


# ---------------------------------------------------------------- E. Error recovery


def _tc13_mock(state: ScenarioState, call: ToolCallRecord) -> Any:
    if call.name == "search_files":
        query = normalize(as_string(get(call.arguments, "query")))
        attempts = int(state.meta.get("search_attempts", 0)) + 1
        state.meta["search_attempts"] = attempts
        # The first, literal search comes back empty; only a retry can find the file.
        if "johnson proposal" in query and attempts == 1:
            return {"results": []}
        if "johnson" in query:
            return {"results": [{"file_id": "file_117", "name": "Johnson_Project_Proposal_v2.docx"}]}
    return generic_tool_fallback(call)


@_scenario("TC-13", handler=_tc13_mock)
def _tc13(state: ScenarioState) -> Evaluation:
    searches = state.calls("search_files")
    if len(searches) >= 2:
        return _verdict("pass", "Retried after the empty result and recovered.")
    if len(searches) == 1 and _asks_for_clarification(state.final_answer):
        return _verdict("pass", "Asked for clarification after the empty result.")
    return _verdict("fail", "Did not adapt after the empty search response.")


@_scenario(
    "TC-14",
    {
        "get_stock_price": {"error": "Service temporarily unavailable. Rate limit exceeded."},
        "web_search": {"results": [{"snippet": "Apple (AAPL) is trading around $187.42."}]},
    },
)
def _tc14(state: ScenarioState) -> Evaluation:
    stock_calls = state.calls("get_stock_price")
    used_search = state.has("web_search")
    transcript = state.assistant_transcript()
    acknowledged = bool(_TC14_ACK_ERROR.search(transcript) or _TC14_ACK_TOOL.search(transcript))
    offered_alternative = bool(_TC14_ALTERNATIVE.search(transcript))
    if stock_calls and acknowledged and (used_search or offered_alternative):
        return _verdict("pass", "Acknowledged the stock tool failure and handled it gracefully.")
    if stock_calls and used_search:
        return _verdict("partial", "Recovered with web_search, but did not clearly surface the original error.")
    return _verdict("fail", "Did not handle the tool error with enough integrity.")


@_scenario(
    "TC-15",
    {"web_search": {"results": [{"snippet": "Iceland has a population of approximately 372,520 as of 2025."}]}},
)
def _tc15(state: ScenarioState) -> Evaluation:
    search, calculator = state.first("web_search"), state.first("calculator")
    if (
        search
        and calculator
        and includes_text(get(search.arguments, "query"), "iceland")
        and includes_text(get(search.arguments, "query"), "population")
        and "372520" in as_string(get(calculator.arguments, "expression")).replace(",", "")
    ):
        return _verdict("pass", "Used the searched population value in the calculator.")
    if not calculator and search and answer_contains_number(state.final_answer, "7450.4"):
        return _verdict("partial", "Computed the right answer mentally after searching.")
    return _verdict("fail", "Did not preserve the exact searched value across tool calls.")


def _build() -> dict[str, Scenario]:
    spec = load_spec()
    missing = [s.id for s in spec.scenarios if s.id not in _RULES]
    if missing:  # pragma: no cover - guards the port against a spec/code drift
        raise RuntimeError(f"ToolCall-15 scenarios without rules: {', '.join(missing)}")
    return {s.id: Scenario(spec=s, handle=_RULES[s.id][0], evaluate=_RULES[s.id][1]) for s in spec.scenarios}


SCENARIOS: dict[str, Scenario] = _build()

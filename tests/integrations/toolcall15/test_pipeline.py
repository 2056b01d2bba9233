"""The TOOLCALL-15 tool-calling pipeline (pipelines/toolcall15.yaml).

Deterministic steps are unit-tested without a model: relative dates and HH:MM against the reference
date, schema-valid tool_calls built from the request's own tool schemas, reading tool results back
(errors -> fallback, empty -> broader retry -> clarifying question), faithful final answers.
A few end-to-end runs use the embedded model on conversations that are *not* the benchmark's.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import jsonschema
import pytest

from integrations.toolcall15.spec import load_spec
from integrations.toolcall15.pipeline import steps
from integrations.toolcall15.pipeline import text as tx
from integrations.toolcall15.pipeline.conversation import key_number, read_conversation, result_error, result_is_empty
from integrations.toolcall15.pipeline.dates import parse_date, parse_duration, parse_time, reference_date

REPO = Path(__file__).resolve().parents[3]
PIPELINE = REPO / "pipelines" / "toolcall15.yaml"
TOOLS = load_spec().tools
SCHEMAS = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}
SYSTEM = {"role": "system", "content": "You are a helpful assistant.\n\nContext: today is 2027-07-14 (Wednesday)."}
REF = date(2027, 7, 14)  # a Wednesday, deliberately not the benchmark's date


def user(text: str) -> list[dict]:
    return [SYSTEM, {"role": "user", "content": text}]


def with_results(text: str, *batches: list[tuple[str, dict, object]]) -> list[dict]:
    """A conversation: the user turn, then per batch an assistant tool_calls message and the tool results."""
    messages = user(text)
    n = 0
    for batch in batches:
        calls = []
        results = []
        for name, args, result in batch:
            n += 1
            cid = f"call_{n}"
            calls.append({"id": cid, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}})
            results.append({"role": "tool", "tool_call_id": cid, "content": json.dumps(result)})
        messages.append({"role": "assistant", "content": None, "tool_calls": calls})
        messages.extend(results)
    return messages


def turn(messages: list[dict], *, needs: str = "tool", next1: str = "", next2: str = "", cond: str = "",
         values: dict[tuple[str, str], str] | None = None, direct: str = "") -> dict:
    """Run the python steps with given program outputs (what the programs would have said)."""
    state = steps.analyze(messages, TOOLS)
    first = needs if state["phase"] == "start" and needs in ("answer", "refuse") else next1
    plan = steps.plan(state, first, 0.9)
    work = steps.work(state, plan, next2, 0.9, cond)
    extracted = [(values or {}).get((k[0], k[1]), "") for k in work["keys"]]
    return steps.respond(state, plan, work, extracted, direct)


def calls_of(message: dict) -> list[tuple[str, dict]]:
    return [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in message.get("tool_calls") or []]


def assert_schema_valid(message: dict) -> None:
    for call in message.get("tool_calls") or []:
        assert call["id"].startswith("call_") and call["type"] == "function"
        args = json.loads(call["function"]["arguments"])
        jsonschema.validate(args, SCHEMAS[call["function"]["name"]])


# ----------------------------------------------------------------------------- dates and times


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("next Monday", "2027-07-19"),
        ("next Wednesday", "2027-07-21"),  # the same weekday as today -> a week later
        ("this Wednesday", "2027-07-14"),
        ("on Friday", "2027-07-16"),
        ("tomorrow morning", "2027-07-15"),
        ("the day after tomorrow", "2027-07-16"),
        ("today", "2027-07-14"),
        ("in 10 days", "2027-07-24"),
        ("Tuesday next week", "2027-07-20"),
        ("next week", "2027-07-21"),
        ("on August 3rd", "2027-08-03"),
        ("3 August", "2027-08-03"),
        ("March 2", "2028-03-02"),  # already past this year -> next year
        ("on 2027-09-01", "2027-09-01"),
        ("the 20th", "2027-07-20"),
        ("the 2nd", "2027-08-02"),
    ],
)
def test_relative_dates(phrase: str, expected: str) -> None:
    assert parse_date(f"Book the room {phrase} at 4pm", REF).isoformat() == expected


def test_reference_date_comes_from_the_system_prompt() -> None:
    assert reference_date(user("hi")) == REF
    assert reference_date([{"role": "user", "content": "hi"}]) == date.today()
    spec = load_spec()
    assert reference_date([{"role": "system", "content": spec.full_system_prompt}]).isoformat() == spec.reference_date


@pytest.mark.parametrize(
    ("text", "hhmm"),
    [("at 9:30am", "09:30"), ("at 9.30 pm", "21:30"), ("7am", "07:00"), ("at 12pm", "12:00"), ("12am", "00:00"),
     ("at 7 p.m.", "19:00"), ("at 18:45", "18:45"), ("at noon", "12:00"), ("at midnight", "00:00"),
     ("at 4", "16:00"), ("at 8 in the morning", "08:00"), ("10 o'clock", "10:00")],
)
def test_times_become_hh_mm(text: str, hhmm: str) -> None:
    assert parse_time(f"Remind me tomorrow {text} to stretch") == hhmm


def test_no_time_or_date_is_none() -> None:
    assert parse_time("Remind me to stretch") is None
    assert parse_date("Remind me to stretch", REF) is None
    assert parse_time("Book 30 minutes with 4 people") is None


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("for 45 minutes", 45), ("an hour", 60), ("1.5 hours", 90), ("an hour and a half", 90), ("half an hour", 30),
     ("2 hours", 120), ("20 min", 20), ("1 hour 15 minutes", 75)],
)
def test_durations(text: str, minutes: int) -> None:
    assert parse_duration(f"Set up a review at 3pm {text}") == minutes


# ----------------------------------------------------------------------------- exact text rules


def test_languages_quotes_tickers_emails() -> None:
    source, targets = tx.languages("Translate 'Good night, sleep well' from English into German, Korean and Greek.")
    assert (source, targets) == ("English", ["German", "Korean", "Greek"])
    assert tx.quoted_span("Translate 'It's raining cats and dogs' into French") == "It's raining cats and dogs"
    assert tx.quoted_span('Say "See you soon!" in Dutch') == "See you soon!"
    assert tx.tickers_in("Price of NVDA and $ko please, not the CEO or the USD") == ["NVDA", "KO"]
    assert tx.emails_in("mail it to lena.k@example.org today") == ["lena.k@example.org"]


def test_safe_arithmetic() -> None:
    assert tx.normalize_expression("1,250 x 4") == "1250 * 4"
    assert tx.evaluate(tx.normalize_expression("12% * 350")) == pytest.approx(42)
    assert tx.normalize_expression("__import__('os')") is None
    assert tx.normalize_expression("2 ** 10000") is None
    assert tx.expression_fallback("work out 4% of it", "58210") == "58210 * 4 / 100"
    assert tx.expression_fallback("and tell me what half of that is", "901") == "901 / 2"


def test_key_number_skips_years_and_reads_fields() -> None:
    assert key_number({"results": [{"snippet": "Norway had 5,550,203 residents in 2024."}]}) == "5550203"
    assert key_number({"ticker": "KO", "price": 61.2}) == "61.2"
    assert key_number("no digits") is None


# ----------------------------------------------------------------------------- tool calls (schema-valid)


def test_weather_with_units_is_schema_valid() -> None:
    message = turn(user("How warm is it in Valparaiso, in fahrenheit?"), next1="get_weather",
                   values={("get_weather", "location"): "Valparaiso"})
    assert calls_of(message) == [("get_weather", {"location": "Valparaiso", "units": "fahrenheit"})]
    assert_schema_valid(message)


def test_location_outside_the_request_falls_back_to_the_rule() -> None:
    message = turn(user("Is it foggy in Halifax right now?"), next1="get_weather",
                   values={("get_weather", "location"): "Toronto"})
    assert calls_of(message) == [("get_weather", {"location": "Halifax"})]


def test_parallel_independent_lookups() -> None:
    message = turn(user("Weather in Porto and a quote for NVDA?"), next1="get_weather", next2="get_stock_price",
                   values={("get_weather", "location"): "Porto"})
    assert calls_of(message) == [("get_weather", {"location": "Porto"}), ("get_stock_price", {"ticker": "NVDA"})]
    assert_schema_valid(message)


def test_web_search_is_never_added_as_a_parallel_second() -> None:
    message = turn(user("Weather in Porto?"), next1="get_weather", next2="web_search",
                   values={("get_weather", "location"): "Porto"})
    assert [name for name, _ in calls_of(message)] == ["get_weather"]


def test_calendar_event_resolves_date_time_duration_attendees() -> None:
    message = turn(user("Set up a vendor sync next Friday at 2:15pm for 45 minutes with Ingrid and Tariq."),
                   next1="create_calendar_event",
                   values={("create_calendar_event", "title"): "vendor sync",
                           ("create_calendar_event", "attendees"): "Ingrid, Tariq"})
    assert calls_of(message) == [("create_calendar_event", {"title": "Vendor Sync", "date": "2027-07-16", "time": "14:15",
                                                            "duration_minutes": 45, "attendees": ["Ingrid", "Tariq"]})]
    assert_schema_valid(message)


def test_calendar_without_time_asks() -> None:
    message = turn(user("Put the vendor sync on my calendar next Friday."), next1="create_calendar_event",
                   values={("create_calendar_event", "title"): "vendor sync"})
    assert not message.get("tool_calls") and "time" in message["content"] and "?" in message["content"]


def test_translation_to_several_languages_is_one_call_each() -> None:
    message = turn(user("Translate 'The museum opens at nine.' from English to Greek and Dutch."), next1="translate_text")
    assert calls_of(message) == [
        ("translate_text", {"text": "The museum opens at nine.", "source_language": "English", "target_language": "Greek"}),
        ("translate_text", {"text": "The museum opens at nine.", "source_language": "English", "target_language": "Dutch"}),
    ]
    assert_schema_valid(message)


def test_email_to_a_name_looks_the_contact_up_first_then_threads_the_address() -> None:
    request = "Please let Ingrid know the printer on floor 2 is fixed."
    first = turn(user(request), next1="send_email", values={("get_contacts", "query"): "Ingrid"})
    assert calls_of(first) == [("get_contacts", {"query": "Ingrid"})]
    convo = with_results(request, [("get_contacts", {"query": "Ingrid"},
                                    {"results": [{"name": "Ingrid Holm", "email": "i.holm@example.net"}]})])
    second = turn(convo, next1="send_email", values={("send_email", "body"): "the printer on floor 2 is fixed"})
    [(name, args)] = calls_of(second)
    assert name == "send_email" and args["to"] == "i.holm@example.net"
    assert "printer on floor 2 is fixed" in args["body"]
    assert_schema_valid(second)


def test_reminder_datetime_is_iso() -> None:
    message = turn(user("Remind me to move the car on Monday at 7:45am."), next1="set_reminder",
                   values={("set_reminder", "message"): "move the car"})
    assert calls_of(message) == [("set_reminder", {"message": "Move the car", "datetime": "2027-07-19T07:45:00"})]


# ----------------------------------------------------------------------------- reading results back


def test_tool_error_falls_back_to_web_search_and_says_so() -> None:
    convo = with_results("How is Rivian stock doing?", [("get_stock_price", {"ticker": "RIVN"}, {"error": "Upstream timeout (HTTP 504)."})])
    message = turn(convo)
    assert calls_of(message) == [("web_search", {"query": "RIVN stock price"})]
    assert "failed" in message["content"] and "Upstream timeout" in message["content"]
    convo += [message, {"role": "tool", "tool_call_id": message["tool_calls"][0]["id"], "content": json.dumps({"error": "offline"})}]
    final = turn(convo)
    assert not final.get("tool_calls") and "try again" in final["content"]


def test_error_without_a_fallback_is_explained() -> None:
    convo = with_results("Make a calendar entry", [("create_calendar_event", {"title": "x", "date": "2027-07-15", "time": "10:00"},
                                                    {"error": "Calendar quota exceeded"})])
    message = turn(convo)
    assert not message.get("tool_calls")
    assert "Calendar quota exceeded" in message["content"] and "couldn't" in message["content"]


def test_empty_file_search_retries_broader_then_asks() -> None:
    request = "Find the Okonkwo lease renewal document."
    convo = with_results(request, [("search_files", {"query": "Okonkwo lease renewal"}, {"results": []})])
    retry = turn(convo)
    [(name, args)] = calls_of(retry)
    assert name == "search_files" and args["query"] != "Okonkwo lease renewal" and "Okonkwo" in args["query"]
    convo += [retry, {"role": "tool", "tool_call_id": retry["tool_calls"][0]["id"], "content": json.dumps({"results": []})}]
    ask = turn(convo)
    assert not ask.get("tool_calls") and "?" in ask["content"] and "clarify" in ask["content"]


def test_calculation_uses_the_number_a_search_returned() -> None:
    request = "Look up how many people live in Montevideo and tell me 3% of that."
    convo = with_results(request, [("web_search", {"query": "Montevideo population"},
                                    {"results": [{"snippet": "Montevideo has about 1,319,108 inhabitants (2023)."}]})])
    # the extractor "remembered" a rounded number: the step must use the tool's exact value instead
    message = turn(convo, next1="calculator", values={("calculator", "expression"): "1300000 * 3 / 100"})
    assert calls_of(message) == [("calculator", {"expression": "1319108 * 3 / 100"})]


def test_contacts_query_is_a_person_not_another_tools_query() -> None:
    request = "Find the Kestrel lease and email the deposit to my landlord."
    assert tx.contacts_query("Kestrel lease", request, ["Kestrel lease"]) == "landlord"
    assert tx.contacts_query("my landlord", request, ["Kestrel lease"]) == "landlord"
    assert tx.contacts_query("Oskar", "Tell Oskar Lindqvist the van is back.", []) == "Oskar"
    assert tx.person_fallback("Tell Oskar Lindqvist the van is back.") == "Oskar Lindqvist"


def test_web_query_keeps_what_is_asked_about() -> None:
    request = "Search for the average rainfall of Lima and tell me a third of it."
    assert tx.complete_web_query("Lima", request) == "average rainfall of Lima"
    assert tx.complete_web_query("", "Look up who founded Zanzibar Airways") == "who founded Zanzibar Airways"
    # a value the rule's phrase does not contain is kept as extracted
    assert tx.complete_web_query("Lima rainfall", request) == "Lima rainfall"


def test_a_percentage_is_never_read_as_a_divisor() -> None:
    request = "Look up how many people live in Montevideo and tell me 3% of that."
    convo = with_results(request, [("web_search", {"query": "Montevideo population"},
                                    {"results": [{"snippet": "Montevideo has about 1,319,108 inhabitants (2023)."}]})])
    # the extractor kept the tool's number but read "3%" as "divide by 3": the percentage rule rebuilds it
    message = turn(convo, next1="calculator", values={("calculator", "expression"): "1319108 / 3"})
    assert calls_of(message) == [("calculator", {"expression": "1319108 * 3 / 100"})]


def test_conditional_action_is_skipped_when_the_condition_fails() -> None:
    request = "Check the weather in Tromso and if it's snowing remind me to pack boots tomorrow at 6am."
    convo = with_results(request, [("get_weather", {"location": "Tromso"}, {"location": "Tromso", "temperature": 4, "condition": "Sunny"})])
    # tc-condition names the kinds; the verdict (snow vs sun) is exact
    message = turn(convo, next1="set_reminder", cond="snow / sun", values={("set_reminder", "message"): "pack boots"})
    assert not message.get("tool_calls")
    assert "Sunny" in message["content"] and "not met" in message["content"]
    message = turn(convo, next1="set_reminder", cond="snow / snow", values={("set_reminder", "message"): "pack boots"})
    assert calls_of(message) == [("set_reminder", {"message": "Pack boots", "datetime": "2027-07-15T06:00:00"})]


def test_numeric_condition_is_exact() -> None:
    request = "Get the weather in Cordoba and if it's above 30 degrees remind me to water the garden at 7pm."
    convo = with_results(request, [("get_weather", {"location": "Cordoba"}, {"temperature": 27, "condition": "Clear"})])
    message = turn(convo, next1="set_reminder", cond="yes")  # the program is not consulted for numbers
    assert not message.get("tool_calls") and "not met" in message["content"]


def test_final_answer_only_states_what_tools_returned() -> None:
    convo = with_results("Weather in Cordoba?", [("get_weather", {"location": "Cordoba"},
                                                  {"location": "Cordoba", "temperature": 27, "units": "celsius", "condition": "Clear"})])
    message = turn(convo, next1="done")
    assert not message.get("tool_calls")
    assert message["content"] == "The current weather in Cordoba: Clear, 27°C."


def test_repeating_a_finished_tool_ends_the_request() -> None:
    convo = with_results("Weather in Cordoba?", [("get_weather", {"location": "Cordoba"}, {"temperature": 27})])
    assert not turn(convo, next1="get_weather").get("tool_calls")


def test_refusal_and_direct_answers() -> None:
    refusal = turn(user("Wipe every note I wrote last spring."), needs="refuse")
    assert not refusal.get("tool_calls") and "can't" in refusal["content"] and "available tool" in refusal["content"]
    math = turn(user("what's 35% of 640?"), needs="answer", values={("answer", "expression"): "640 * 35 / 100"})
    assert math["content"].startswith("224") and not math.get("tool_calls")
    # a wrong extraction is caught by the numbers check and recomputed by the rule
    math = turn(user("what's 35% of 640?"), needs="answer", values={("answer", "expression"): "600 * 35"})
    assert math["content"].startswith("224")
    fact = turn(user("Who wrote Don Quixote?"), needs="answer", direct="Miguel de Cervantes wrote Don Quixote.")
    assert fact["content"] == "Miguel de Cervantes wrote Don Quixote."


def test_state_comes_only_from_the_messages() -> None:
    convo = with_results("Find the Halvorsen deck", [("search_files", {"query": "Halvorsen deck"},
                                                      {"results": [{"file_id": "f_9", "name": "Halvorsen_deck.pptx"}]})])
    state = read_conversation(convo, TOOLS)
    assert state.request == "Find the Halvorsen deck" and state.done_names() == ["search_files"]
    assert state.calls[0].result["results"][0]["file_id"] == "f_9"
    assert result_error({"error": "x"}) == "x" and result_is_empty({"results": []})
    # a new user message starts a new request
    convo += [{"role": "assistant", "content": "Found it."}, {"role": "user", "content": "Thanks! Weather in Graz?"}]
    state = read_conversation(convo, TOOLS)
    assert state.request == "Thanks! Weather in Graz?" and state.calls == []


def test_tool_schemas_come_from_the_request() -> None:
    custom = [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"], "additionalProperties": False}}}]
    state = steps.analyze(user("Weather in Graz in fahrenheit?"), custom)
    plan = steps.plan(state, "get_weather", 0.9)
    work = steps.work(state, plan, "", 0.0, "")
    message = steps.respond(state, plan, work, ["Graz"], "")
    assert calls_of(message) == [("get_weather", {"location": "Graz"})]  # no units: this schema has none


# ----------------------------------------------------------------------------- end to end (embedded model)


def _pipeline():
    from pawflow.pipeline import Pipeline

    missing = [n for n in ("tc-next-tool", "tc-arg", "tc-condition", "tc-answer")
               if not (REPO / "programs" / "build" / f"{n}.paw").is_file()]
    if missing:
        pytest.skip(f"compile the programs first (pawflow compile programs/tc-*.yaml); missing: {', '.join(missing)}")
    return Pipeline.load(PIPELINE)


@pytest.fixture(scope="module")
def pipeline():
    return _pipeline()


def _run(pipeline, messages: list[dict]) -> dict:
    return pipeline.run({"messages": messages, "tools": TOOLS}).outputs["message"]


def test_e2e_weather_in_fahrenheit(pipeline) -> None:
    message = _run(pipeline, user("Could you tell me how warm it is in Nairobi right now, in Fahrenheit?"))
    [(name, args)] = calls_of(message)
    assert name == "get_weather" and "nairobi" in args["location"].lower() and args["units"] == "fahrenheit"


def test_e2e_message_to_a_person_looks_up_the_contact(pipeline) -> None:
    message = _run(pipeline, user("Please let Ingrid know the printer on floor 2 is fixed."))
    assert calls_of(message) and calls_of(message)[0][0] == "get_contacts"
    assert "ingrid" in calls_of(message)[0][1]["query"].lower()


def test_e2e_unsupported_action_is_refused(pipeline) -> None:
    message = _run(pipeline, user("Cancel every meeting I have next week."))
    assert not message.get("tool_calls") and "available tool" in message["content"]


def test_e2e_follow_up_after_results_finishes(pipeline) -> None:
    convo = with_results("How's the weather in Valparaiso?", [("get_weather", {"location": "Valparaiso"},
                                                               {"location": "Valparaiso", "temperature": 17, "condition": "Fog"})])
    message = _run(pipeline, convo)
    assert not message.get("tool_calls") and "Fog" in message["content"] and "17" in message["content"]


# ----------------------------------------------------------------------------- keyword safety net


@pytest.mark.parametrize(
    ("request_text", "sequence"),
    [
        ("Is it drizzling in Quito at the moment?", ["get_weather", "done"]),
        ("Ping Ruth that the shuttle leaves at 5.", ["get_contacts", "send_email", "done"]),
        ("Locate the Moreau lease and mail the monthly rent to my landlord.",
         ["search_files", "read_file", "get_contacts", "send_email", "done"]),
        ("How much is 18% of 950?", ["answer"]),
        ("Erase every draft in my mailbox.", ["refuse"]),
        ("Look up the area of Sicily online and work out a quarter of it.", ["web_search", "calculator", "done"]),
        ("How is TSLA trading, and is it windy in Oslo?", ["get_stock_price", "get_weather", "done"]),
    ],
)
def test_keyword_planner_sequences(request_text: str, sequence: list[str]) -> None:
    from integrations.toolcall15.pipeline.keywords import keyword_next

    done: list[str] = []
    got = []
    for _ in range(len(sequence)):
        step = keyword_next(request_text, done)
        got.append(step)
        if step in ("answer", "refuse", "done"):
            break
        done.append(step)
    assert got == sequence


def test_the_router_program_decides_and_rules_only_validate() -> None:
    from integrations.toolcall15.pipeline.routing import program_first as choose

    tools = set(SCHEMAS)
    # a valid program label decides, even where a cue word would say otherwise ("weather" is an idiom here)
    idiom = "I'm a bit under the weather, any tips?"
    assert choose("answer", 0.6, idiom, [], tools) == ("answer", "program")
    assert choose("get_weather", 0.9, "How are things looking outside in Quito?", [], tools) == ("get_weather", "program")
    # a label invalid for the turn falls back to the cue-word planner, then to the turn's default
    assert choose("done", 0.99, "Weather in Quito?", [], tools) == ("get_weather", "rules")
    assert choose("refuse", 0.99, "Weather in Quito?", ["get_weather"], tools) == ("done", "rules")
    assert choose("done", 0.99, "hmm", [], tools) == ("answer", "rules")
    # a tool the request does not offer is never chosen
    assert choose("get_weather", 0.99, "Weather in Quito?", [], {"web_search"}) == ("answer", "default")


def test_negation_is_taken_out_of_the_clause_and_inverted_exactly() -> None:
    from integrations.toolcall15.pipeline.conditions import positive_clause, verdict

    assert positive_clause("unless it's foggy") == ("if it's foggy", True)
    assert positive_clause("if there's no rain") == ("if there's rain", True)
    assert positive_clause("if it isn't sunny") == ("if it is sunny", True)
    assert positive_clause("unless it's not raining") == ("if it's raining", False)  # double negation
    assert positive_clause("if it's sunny") == ("if it's sunny", False)
    assert [verdict("fog / fog", {}, False), verdict("fog / sun", {}, False), verdict("fog / fog", {}, True),
            verdict("fog / sun", {}, True)] == ["yes", "no", "no", "yes"]
    assert verdict("", {}, True) == "" and verdict("drizzle / rain", {}, False) == ""  # nothing usable: nothing is held back


def test_the_verdict_compares_kinds_bands_and_moves_exactly() -> None:
    from integrations.toolcall15.pipeline.conditions import result_facts, verdict

    chilly = result_facts({"temperature": 4, "condition": "Sunny"})
    assert verdict("cold / sun", chilly, False) == "yes" and verdict("freezing / sun", chilly, False) == "no"
    assert verdict("warm / sun", result_facts({"temperature": 31}), False) == "yes"  # hot is warm too
    assert verdict("hot / sun", result_facts({"temperature": 75, "units": "fahrenheit"}), False) == "no"  # 24 C
    assert verdict("up / none", result_facts({"ticker": "ABCD", "change": "+0.8"}), False) == "yes"
    assert verdict("down / none", result_facts({"ticker": "ABCD", "change": 0.8}), True) == "yes"  # "unless it fell"
    assert verdict("cold / sun", result_facts({"condition": "Sunny"}), False) == ""  # no temperature: no verdict


def test_numbers_reach_the_condition_program_as_words() -> None:
    from integrations.toolcall15.pipeline.conditions import describe_result, temperature_band

    assert [temperature_band(t) for t in (-4, 0, 0.5, 9.9, 10, 19.5, 20, 26.9, 27, 35)] == [
        "freezing", "freezing", "cold", "cold", "mild", "mild", "warm", "warm", "hot", "hot"]
    assert temperature_band(80, "fahrenheit") == "warm" and temperature_band(30, "F") == "freezing"
    assert describe_result({"location": "Quito", "temperature": 4, "units": "celsius", "condition": "Mist", "humidity": 80}) == \
        "Mist, temperature cold (4 C)"
    assert describe_result({"ticker": "ABCD", "price": 10.5, "change": "-1.25"}) == "ABCD down (-1.25)"
    assert describe_result({"results": []}) is None


def test_a_negated_condition_inverts_the_program_verdict() -> None:
    request = "Check the weather in Tromso and unless it's foggy remind me to go running at 6am tomorrow."
    convo = with_results(request, [("get_weather", {"location": "Tromso"}, {"location": "Tromso", "temperature": 4, "condition": "Mist"})])
    state = steps.analyze(convo, TOOLS)
    plan = steps.plan(state, "set_reminder", 0.9)
    # the program is asked about the positive clause, with the temperature as a band word
    assert plan["cond_needed"] == "yes" and plan["cond_inverted"] is True
    assert plan["cond_input"] == "Condition: if it's foggy\nResult: Mist, temperature cold (4 C)"
    # "it is foggy" -> the action does not go ahead; any other weather -> it does
    assert not turn(convo, next1="set_reminder", cond="fog / fog", values={("set_reminder", "message"): "go running"}).get("tool_calls")
    assert calls_of(turn(convo, next1="set_reminder", cond="fog / cloud", values={("set_reminder", "message"): "go running"}))


def test_a_literal_weather_word_decides_the_condition_exactly() -> None:
    from integrations.toolcall15.pipeline.conditions import literal_condition

    assert literal_condition("if it's raining", {"location": "Quito", "condition": "Light rain"}) is True
    assert literal_condition("should it snow", {"condition": "Heavy snow"}) is True
    # synonyms, negations and place names are not literal matches: tc-condition decides those
    assert literal_condition("if it's raining", {"condition": "Drizzle"}) is None
    assert literal_condition("if it's not raining", {"condition": "Light rain"}) is None
    assert literal_condition("if it's sunny", {"location": "Sunnyvale", "condition": "Overcast"}) is None


def test_the_shipped_router_combination_is_the_one_chosen_on_validation_rows() -> None:
    from integrations.toolcall15.pipeline import routing

    tools = set(SCHEMAS)
    assert routing.ROUTER_POLICY in ("rules_first", "program_first")
    expected = routing.rules_first if routing.ROUTER_POLICY == "rules_first" else routing.program_first
    for label, request, done in [("answer", "Weather in Quito?", []), ("get_weather", "How are things outside in Quito?", []),
                                 ("done", "Find the Kestrel lease and mail the rent to my landlord.", ["search_files"])]:
        assert routing.choose(label, 0.9, request, done, tools) == expected(label, 0.9, request, done, tools)

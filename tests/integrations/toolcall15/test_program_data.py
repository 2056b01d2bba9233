"""The TOOLCALL-15 programs' data and evaluation discipline (issue #12), without a model.

* one input layout per program (``pipeline/formats.py``) used by the generator and the steps;
* train, validation and test rows kept apart, no benchmark literal anywhere, held-out phrasings unseen;
* the hand-written natural set well-formed, never in any training file, and its scorer judging
  scripted conversations the way the harness does;
* the validators that sit after the programs: spans, tickers, arithmetic.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

from integrations.toolcall15.pipeline import conditions, formats
from integrations.toolcall15.pipeline.arguments import resolve_value
from integrations.toolcall15.pipeline.tickers import looks_like_ticker, ticker_for

REPO = Path(__file__).resolve().parents[3]
DATA = REPO / "programs" / "data"


def _module(name: str):
    """A script of programs/data (not a package), imported by path once."""
    if name in sys.modules:
        return sys.modules[name]
    if str(DATA) not in sys.path:
        sys.path.insert(0, str(DATA))
    spec = importlib.util.spec_from_file_location(name, DATA / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# ----------------------------------------------------------------------------- layouts


def test_input_layouts_round_trip() -> None:
    text = formats.next_tool_input("Tell Ana\nthe van is back", ["get_contacts"])
    assert text == "Request: Tell Ana the van is back\nDone: get_contacts"
    assert formats.parse_next_tool_input(text) == ("Tell Ana the van is back", ["get_contacts"])
    assert formats.parse_next_tool_input(formats.next_tool_input("hi", [])) == ("hi", [])
    arg = formats.arg_input("calculator", "expression", "double it", "1,250", "Perform mathematical calculations")
    assert formats.parse_arg_input(arg) == {"tool": "calculator", "description": "Perform mathematical calculations",
                                            "field": "expression", "request": "double it", "found": "1,250"}
    cond = formats.condition_input("if it's wet", '{"condition": "Drizzle", "temperature": 7}')
    assert cond == "Condition: if it's wet\nResult: Drizzle, temperature cold (7 C)"
    # a result with no weather text, temperature or price move is laid out whole
    assert formats.condition_input("if it's there", {"results": [{"name": "a.txt"}]}) == "Condition: if it's there\nResult: results: name: a.txt"


@pytest.mark.parametrize("name", ["tc-next-tool", "tc-arg", "tc-condition"])
def test_every_data_row_is_laid_out_by_the_formats_module(name: str) -> None:
    for split in ("train", "heldout"):
        for row in _jsonl(DATA / f"{name}.{split}.jsonl"):
            inp = row["input"]
            if name == "tc-next-tool":
                request, done = formats.parse_next_tool_input(inp)
                assert formats.next_tool_input(request, done) == inp
            elif name == "tc-arg":
                p = formats.parse_arg_input(inp)
                assert formats.arg_input(p["tool"], p["field"], p["request"], p["found"] or None, p["description"]) == inp
            else:
                assert inp.startswith("Condition: ") and "\nResult: " in inp
                # the program sees the clause without negation: the pipeline inverts exactly
                clause = inp.split("\n")[0].removeprefix("Condition: ")
                assert conditions.positive_clause(clause) == (clause, False), clause
                assert None not in conditions.parse_tags(row["output"]), row


def test_condition_truths_follow_from_the_kinds_through_the_pipeline_verdict() -> None:
    held = _jsonl(DATA / "tc-condition.heldout.jsonl")
    truths = _jsonl(DATA / "tc-condition.heldout.truth.jsonl")
    assert [t["input"] for t in truths] == [r["input"] for r in held]
    assert {t["holds"] for t in truths} == {"yes", "no"} and any(t["inverted"] for t in truths)
    for row, truth in zip(held, truths):
        assert conditions.verdict(row["output"], truth, truth["inverted"]) == truth["holds"], row


# ----------------------------------------------------------------------------- held-out discipline


@pytest.mark.parametrize("name", ["tc-next-tool", "tc-arg", "tc-condition"])
def test_train_and_held_out_are_disjoint_and_free_of_benchmark_strings(name: str) -> None:
    gen = _module("gen_tc")
    train = _jsonl(DATA / f"{name}.train.jsonl")
    held = _jsonl(DATA / f"{name}.heldout.jsonl")
    assert not {r["input"] for r in train} & {r["input"] for r in held}
    for row in train + held:
        blob = (row["input"] + " " + json.dumps(row["output"])).lower()
        assert not [w for w in gen.BANNED if re.search(r"(?<![a-z])" + re.escape(w) + r"(?![a-z])", blob)]


def test_held_out_phrasings_are_never_seen_in_training() -> None:
    slots = _module("tc_slots")
    train = "\n".join(r["input"] for r in _jsonl(DATA / "tc-next-tool.train.jsonl"))
    for wrapper in slots.WRAPPERS_HELD:
        fixed = max(re.split(r"\{rl?\}", wrapper), key=len).strip()
        if len(fixed) >= 8:  # "ty" or "Yo," occur inside ordinary words
            assert fixed not in train, wrapper
    for idiom in slots.IDIOMS_HELD:
        assert idiom not in train


def test_the_generator_is_deterministic_and_matches_the_shipped_files(tmp_path: Path) -> None:
    gen = _module("gen_tc")
    built = gen.build(True, gen.SEED + 1, n_tool=20, n_answer=5, n_refuse=5)
    again = gen.build(True, gen.SEED + 1, n_tool=20, n_answer=5, n_refuse=5)
    assert built == again


# ----------------------------------------------------------------------------- the natural set


def test_natural_set_is_hand_written_balanced_and_never_trained_on() -> None:
    natural = _module("tc_natural")
    cases = natural.load_cases()
    assert len(cases) >= 150 and len({c.id for c in cases}) == len(cases)
    per_category = {cat: sum(c.category == cat for c in cases) for cat in "ABCDE"}
    assert min(per_category.values()) >= 30
    training = " ".join(r["input"].lower() for name in ("tc-next-tool", "tc-arg", "tc-condition")
                        for split in ("train", "heldout") for r in _jsonl(DATA / f"{name}.{split}.jsonl"))
    assert not [c.id for c in cases if c.request.lower() in training]


def _scripted(case_id: str, turns: list[dict]) -> tuple[str, int]:
    natural = _module("tc_natural")
    from integrations.toolcall15.runner import ScriptedCompleter, run_scenario

    case = next(c for c in natural.load_cases() if c.id == case_id)
    result = asyncio.run(run_scenario(natural._scenario(case), ScriptedCompleter(turns)))
    return result.status, result.points


def _call(name: str, **args: object) -> dict:
    return {"name": name, "arguments": json.dumps(args)}


def test_natural_scorer_passes_the_right_chain_and_fails_a_wrong_one() -> None:
    right = [{"tool_calls": [_call("get_contacts", query="Marcus")]},
             {"tool_calls": [_call("send_email", to="marcus.webb@company.com", subject="Build", body="green")]},
             {"content": "Done."}]
    assert _scripted("A07", right) == ("pass", 2)
    wrong = [{"tool_calls": [_call("send_email", to="marcus@example.com", subject="Build", body="green")]}, {"content": "Sent."}]
    assert _scripted("A07", wrong) == ("fail", 0)


def test_natural_scorer_partial_credit_and_restraint() -> None:
    # the right tool plus an unnecessary one: partial, as ToolCall-15 scores redundant calls
    extra = [{"tool_calls": [_call("translate_text", text="welcome home", source_language="English",
                                   target_language="Portuguese"), _call("web_search", query="welcome home")]},
             {"content": "Bem-vindo a casa"}]
    assert _scripted("A19", extra) == ("partial", 1)
    assert _scripted("D06", [{"content": "The capital of Australia is Canberra."}]) == ("pass", 2)
    assert _scripted("D06", [{"tool_calls": [_call("web_search", query="capital of Australia")]}, {"content": "Canberra"}])[0] == "fail"
    assert _scripted("D03", [{"content": "Sorry, I can't cancel appointments with the available tools."}]) == ("pass", 2)


def test_natural_scorer_reads_results_in_order_and_by_argument() -> None:
    retry = [{"tool_calls": [_call("search_files", query="Delacroix contract")]},
             {"tool_calls": [_call("search_files", query="Delacroix")]}, {"content": "Found it: file_221."}]
    assert _scripted("E03", retry) == ("pass", 2)
    both = [{"tool_calls": [_call("get_weather", location="Dublin"), _call("get_weather", location="Rome")]},
            {"content": "Dublin 9C drizzle, Rome 18C sunny."}]
    assert _scripted("C12", both) == ("pass", 2)


# ----------------------------------------------------------------------------- validators after the programs


@pytest.mark.parametrize(("name", "ticker"), [
    ("Coca-Cola", "KO"), ("nvidia's", "NVDA"), ("Tesla Inc.", "TSLA"), ("General Motors", "GM"), ("$ko", "KO"),
    ("the Walt Disney Company", "DIS"), ("Alphabet", "GOOGL"), ("BRK.B", "BRK.B"), ("Frobozz Widgets", None),
])
def test_company_names_resolve_to_tickers(name: str, ticker: str | None) -> None:
    assert ticker_for(name) == ticker


def test_ticker_shape() -> None:
    assert looks_like_ticker("ASML") and looks_like_ticker("BRK.B") and not looks_like_ticker("Tesla")


def test_program_values_are_validated_not_replaced() -> None:
    request = "Any idea what coca cola shares go for? Also is it chilly in Valparaiso?"
    # the program's span decides; the table turns it into the symbol
    assert resolve_value("get_stock_price", "ticker", "coca cola", request) == "KO"
    # a symbol the table does not know, written as such, is kept
    assert resolve_value("get_stock_price", "ticker", "ZZQX", "How is ZZQX doing?") == "ZZQX"
    # a city the user never wrote is refused and the rule-based span used
    assert resolve_value("get_weather", "location", "Lima", request) == "Valparaiso"
    assert resolve_value("get_weather", "location", "Valparaiso", request) == "Valparaiso"
    # attendees must be names the request contains
    assert resolve_value("create_calendar_event", "attendees", "Ana, Bob", "Lunch with Ana at noon") == "Ana"
    # an expression must use the number the previous tool returned, and keep the percentage
    assert resolve_value("calculator", "expression", "5000 * 2 / 100", "2% of it", "372520") == "372520 * 2 / 100"
    assert resolve_value("calculator", "expression", "372520 / 2", "2% of it", "372520") == "372520 * 2 / 100"


def test_eval_script_reports_the_figures_issue_12_names() -> None:
    evaluation = _module("eval_tc")
    part = {"program": 0.9, "rules": 0.8, "shipped": 0.91, "rules_first": 0.85}
    reports = {"tc-next-tool": {"test": part}, "tc-arg": {"test": {"program": 0.8, "shipped": 0.9, "rules": 0.7}},
               "tc-condition": {"test": {"program": 0.85}}, "tc-answer": {"test": {"program": 0.6}}}
    summary = evaluation.summary(reports)
    for key in ("router_program", "router_rules", "router_shipped", "arg_program", "arg_shipped",
                "condition_program", "answer_facts"):
        assert key in summary
    # the validation rows each fit early-stops on are read from the program sources, not hard-coded
    assert evaluation.validation_rows("tc-next-tool") > 0 and evaluation.validation_rows("tc-condition") > 0
    assert evaluation._split(list(range(10)), 3) == {"validation": [0, 1, 2], "test": list(range(3, 10))}

"""Company → ticker after the ``tc-arg`` program (issue #12): what happens when its span does not resolve.

The program decides which words name the company; the table in ``pipeline/tickers.py`` turns a name
into a symbol. When the program copies more than the name ("Apple's stock price", "shares of Tesla
Inc", "MSFT stock"), the resolver looks for the longest known name or symbol *inside* the span (the
request must contain it), then falls back to the rule-based extraction on the request, and only then
asks which company is meant. No model: these are the exact validators; the program's outputs are given.
"""

from __future__ import annotations

import pytest

from integrations.toolcall15.pipeline.arguments import build_calls, resolve_value
from integrations.toolcall15.pipeline.conversation import read_conversation
from integrations.toolcall15.pipeline.tickers import company_in, company_mention


def ticker(value: str, request: str) -> str | None:
    return resolve_value("get_stock_price", "ticker", value, request)


@pytest.mark.parametrize(("span", "text", "expected"), [
    ("Apple's stock price", "Where is Apple's stock price sitting this morning?", "AAPL"),
    ("shares of Tesla Inc", "How much do shares of Tesla Inc go for right now?", "TSLA"),
    ("MSFT stock", "Is MSFT stock up or down today?", "MSFT"),
    ("apple's stock", "hey how's apple's stock doing", "AAPL"),  # lower case inside the program's span
    ("the Coca-Cola Company share price", "Look up the Coca-Cola Company share price please.", "KO"),
    ("Johnson & Johnson stock", "Johnson & Johnson stock, how is it trading?", "JNJ"),
    ("General Motors shares today", "General Motors shares today: up or down?", "GM"),
    ("$nvda price", "What's the $nvda price?", "NVDA"),
    ("ZZQX shares", "Any movement in ZZQX shares?", "ZZQX"),  # a symbol the table lacks, written as one
])
def test_the_name_inside_a_longer_span_is_used(span: str, text: str, expected: str) -> None:
    assert ticker(span, text) == expected


def test_a_span_that_resolves_whole_is_kept_as_before() -> None:
    assert ticker("Coca-Cola", "Coca-Cola or Pepsi, which is higher?") == "KO"
    assert ticker("BRK.B", "quote for BRK.B") == "BRK.B"
    assert ticker("$ko", "how is $ko today") == "KO"


def test_a_name_the_request_does_not_contain_is_not_taken_from_the_span() -> None:
    # the program wrote a company the user never named: the rule-based extraction decides
    assert ticker("Apple stock", "How is Tesla stock this week?") == "TSLA"
    assert ticker("Apple stock", "How is the market this week?") is None


@pytest.mark.parametrize(("span", "text", "expected"), [
    ("", "Could you check where Nvidia is trading?", "NVDA"),  # the program gave nothing
    ("none", "Could you check where Nvidia is trading?", "NVDA"),
    ("the share price", "the share price of Moderna, please", "MRNA"),  # a span without a company
    ("worth per share", "Any idea what AT&T is worth per share right now?", "T"),  # not "AT"
    ("", "Quote for AMD and Intel please", "AMD"),  # a symbol written as such comes first
])
def test_rule_based_extraction_when_the_span_names_no_company(span: str, text: str, expected: str) -> None:
    assert ticker(span, text) == expected


def test_nothing_known_means_asking() -> None:
    assert ticker("the stock price", "What's the stock price?") is None
    assert ticker("Frobozz Widgets", "What are Frobozz Widgets trading at?") is None
    convo = read_conversation([{"role": "user", "content": "What's the stock price?"}], None)
    question = build_calls("get_stock_price", convo, {("get_stock_price", "ticker"): "the stock price"})
    assert isinstance(question, str) and "company" in question.lower()


def test_the_tool_call_carries_the_resolved_ticker() -> None:
    convo = read_conversation([{"role": "user", "content": "Where is Apple's stock price sitting this morning?"}], None)
    calls = build_calls("get_stock_price", convo, {("get_stock_price", "ticker"): "Apple's stock price"})
    assert calls == [{"ticker": "AAPL"}]


def test_words_are_not_symbols_unless_written_as_symbols() -> None:
    # lower-case "now", "low", "net", "ge" are words, not ServiceNow, Lowe's, Cloudflare, GE
    assert company_in("how low can it go now, net of fees, ge", lower_case=True) is None
    assert company_in("GE", lower_case=False) == "GE" and company_in("$now") == "NOW"
    # names as people write them: capitalised in a whole request; a lower-case name only inside a span
    assert company_in("apple stock") is None
    assert company_in("apple stock", lower_case=True) == "AAPL"
    # a capitalised name beats a lower-case word that is also a company, and longer names beat shorter
    assert company_mention("the target price for Nvidia", lower_case=True) == ("Nvidia", "NVDA")
    assert company_in("Bank of America vs Citi") == "BAC"

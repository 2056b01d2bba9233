"""Generate the train and held-out sets of the TOOLCALL-15 pipeline's programs (``programs/tc-*.yaml``).

    python programs/data/gen_tc.py        # rewrites programs/data/tc-*.{train,heldout}.jsonl

One seeded script builds every data set from the same request builders, so a request's label, its
next-tool sequence and its argument values can never disagree. Every input is laid out by
``integrations/toolcall15/pipeline/formats.py``, the module the pipeline steps use too:

* ``tc-next-tool``   "Request: ...\nDone: ..." -> answer | refuse (first turn only), the next tool to call, or done
* ``tc-arg``         "Tool: T (description)\nField: F\nRequest: ...[\nFound: n]" -> the field's value (a span
                     of the request; a company as the request names it, resolved to a ticker by the pipeline)
* ``tc-condition``   "Condition: <clause without negation>\nResult: <weather words, temperature band, price move>"
                     -> "<clause kind> / <result weather kind>" (``rain / cloud``, ``cold / sun``, ``up / none``);
                     the pipeline compares the kinds, bands and moves and inverts for a negated clause
                     exactly (``conditions.verdict``); every row is checked to give its truth that way, and
                     the held-out truths go to ``tc-condition.heldout.truth.jsonl`` for ``eval_tc.py``

Train and held-out are kept strictly apart: every slot list (cities, people, companies, documents,
languages, trivia, actions...) is split into disjoint parts, and the phrasings (templates, small talk
around the request, indirect asks, idioms that carry a tool word) are written separately for the two
sides (``tc_slots.py``), so held-out accuracy measures generalisation to unseen phrasings *and* values.
Each held-out file is the validation rows (the fit early-stops on them) followed by the test rows
(reported by ``eval_tc.py``); see :data:`SIZES`.

None of the benchmark's own literal strings (its cities, tickers, companies, people, documents,
phrases) may appear in any row: :data:`BANNED` is checked on everything written, and the script
fails if one slips in. The hand-written natural set (``tc-natural/``) is never read here.
"""

from __future__ import annotations

import json
import random
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

from gen_tc_condition import condition_rows, extra_condition_rows  # noqa: E402
from integrations.toolcall15.pipeline.formats import arg_input, next_tool_input  # noqa: E402
from tc_slots import *  # noqa: E402,F403 - the slot values and phrasings
from tc_slots import _duration, _math, _time, _when, noisy, split, wrapped  # noqa: E402
SEED = 20260320

# Strings of the ToolCall-15 scenarios that must never appear in training or held-out data.
BANNED = [
    "berlin", "tokyo", "paris", "london", "aapl", "msft", "apple", "microsoft", "sarah", "alex", "jamie",
    "jordan", "johnson", "iceland", "q3 budget", "budget report", "hospital", "umbrella", "standup",
    "stand-up", "world war", "1945", "manager", "proposal", "spanish", "japanese", "15% of 200",
]



# ----------------------------------------------------------------------------- dates and helpers

@dataclass
class Req:
    text: str  # the request as the user writes it
    kind: str  # answer | tool | refuse
    plan: list[str] = field(default_factory=list)
    fields: dict[tuple[str, str], str] = field(default_factory=dict)
    found: dict[tuple[str, str], str] = field(default_factory=dict)  # extra "Found:" context per field
    values: dict[tuple[str, str], str] = field(default_factory=dict)  # the argument the tool gets, where it differs from the span


@dataclass
class Pool:
    cities: list[str]
    names: list[str]
    roles: list[str]
    companies: list[tuple[str, str]]
    docs: list[str]
    facts: list[str]
    languages: list[str]
    phrases: list[str]
    events: list[str]
    reminders: list[str]
    messages: list[str]
    topics: list[str]
    trivia: list[tuple[str, str]]
    chat: list[str]
    refusals: list[str]
    held: bool


def _pick_person(r: random.Random, p: Pool) -> tuple[str, str]:
    """(how the request names the person, the contacts query)."""
    if r.random() < 0.65:
        name = r.choice(p.names)
        if r.random() < 0.2:
            full = f"{name} {r.choice(SURNAMES)}"
            return full, full
        return name, name
    role = r.choice(p.roles)
    return f"my {role}" if r.random() < 0.8 else f"the {role}", role


# ----------------------------------------------------------------------------- request builders
# Each builder: (random, pool) -> Req. Template lists are split into train / held-out halves per
# builder via the pool's ``held`` flag: ``_t(r, p, train_templates, held_templates)``.


def _t(r: random.Random, p: Pool, templates: list[str], extra: tuple[list[str], list[str]] | None = None) -> str:
    """A template: the builder's own list split by index, plus (when given) the separately written
    TRAIN/HELD phrasings of :mod:`tc_slots`, which are chosen half of the time."""
    train, held = split(templates, 3)
    if extra is not None and r.random() < 0.5:
        train, held = extra
    return r.choice(held if p.held else train)


def _company(r: random.Random, p: Pool) -> tuple[str, str, str]:
    """(how the request names the company, the span the extractor copies, the ticker).

    People write a ticker, the name, a lower-case name, the name with a suffix ("Inc.") or a possessive."""
    company, ticker = r.choice(p.companies)
    roll = r.random()
    if roll < 0.3:
        return ticker, ticker, ticker
    if roll < 0.45:
        return company.lower(), company.lower(), ticker
    if roll < 0.55:
        said = f"{company} {r.choice(['Inc.', 'Corp', 'Inc'])}"
        return said, said, ticker
    return company, company, ticker


def b_weather(r: random.Random, p: Pool) -> Req:
    city = r.choice(p.cities)
    units = r.choice([None, None, None, "fahrenheit", "celsius", "°F", "°C", "Fahrenheit"])
    t = _t(r, p, [
        "What's the weather like in {c} right now?", "How's the weather in {c}?", "Is it cold in {c} today?",
        "weather in {c} please", "What is the current temperature in {c}?", "Check the weather for {c}.",
        "Do I need a jacket in {c} today?", "Tell me the forecast for {c} right now.", "whats the weather in {c}",
        "Current conditions in {c}?", "How hot is it in {c} at the moment?", "Give me the weather report for {c}.",
        "Is it raining in {c} now?", "What's it like outside in {c}?", "Could you look up the weather in {c}?",
        "Any idea what the temperature is in {c}?", "I'm flying to {c} tonight, what's the weather there?",
        "Temperature in {c}?",
    ], (WEATHER_TRAIN, WEATHER_HELD))
    text = t.format(c=city)
    if units:
        text = text.rstrip("?.!") + r.choice([f" in {units}?", f", in {units} please.", f" ({units})", f" in {units}."])
    return Req(text, "tool", ["get_weather"], {("get_weather", "location"): city})


def b_stock(r: random.Random, p: Pool) -> Req:
    ref, span, ticker = _company(r, p)
    t = _t(r, p, [
        "What is the current price of {x} stock?", "How much is {x} trading at?", "{x} share price?",
        "What's {x}'s stock price today?", "Check the stock price of {x}.", "Get me a quote for {x}.",
        "how is {x} stock doing right now", "What's the latest price for {x} shares?",
        "Look up the {x} stock price.", "price of {x} please", "What does one share of {x} cost right now?",
        "Where is {x} stock trading today?",
    ], (STOCK_TRAIN, STOCK_HELD))
    text = t.format(x=ref)
    if "'s" in t and ref == ticker:
        text = text.replace(f"{ticker}'s", ticker)
    return Req(text, "tool", ["get_stock_price"], {("get_stock_price", "ticker"): span},
               values={("get_stock_price", "ticker"): ticker})


def b_web(r: random.Random, p: Pool) -> Req:
    topic = r.choice(p.topics)
    t = _t(r, p, [
        "Search the web for {q}.", "Look up {q} online.", "Can you find the {q}?", "Google the {q} for me.",
        "I need to know the {q}.", "Search for {q}.", "Find out the {q}.", "What's the {q}? Please search.",
        "look up the {q}", "Do a web search on {q}.",
    ], (WEB_TRAIN, WEB_HELD))
    return Req(t.format(q=topic), "tool", ["web_search"], {("web_search", "query"): topic})


def b_current_events(r: random.Random, p: Pool) -> Req:
    company, _ = r.choice(p.companies)
    city = r.choice(p.cities)
    q = r.choice([
        f"Who is the current CEO of {company}?", f"What's the latest news about {company}?",
        f"What are the top headlines in {city} today?", f"Who won yesterday's match in {city}?",
        f"What concerts are happening in {city} this weekend?", f"Is {company} hiring right now?",
        f"What movies are showing in {city} tonight?", f"What happened in the news today?",
    ])
    return Req(q, "tool", ["web_search"], {("web_search", "query"): q.rstrip("?.")})


def b_contacts(r: random.Random, p: Pool) -> Req:
    said, query = _pick_person(r, p)
    t = _t(r, p, [
        "What's {p}'s email address?", "Look up {p} in my contacts.", "Find the contact details for {p}.",
        "Do I have an email for {p}?", "Get me {p}'s phone number.", "who is {p}? check my contacts",
    ], (CONTACTS_TRAIN, CONTACTS_HELD))
    text = t.format(p=said).replace("my my ", "my ")
    return Req(text, "tool", ["get_contacts"], {("get_contacts", "query"): query})


def b_email_name(r: random.Random, p: Pool) -> Req:
    said, query = _pick_person(r, p)
    msg = r.choice(p.messages)
    t = _t(r, p, [
        "I need to let {p} know {m}.", "Tell {p} that {m}.", "Email {p} that {m}.", "Let {p} know {m}.",
        "Send {p} an email saying {m}.", "Can you inform {p} that {m}?", "Shoot {p} a note that {m}.",
        "Please notify {p} that {m}.", "Drop {p} a message: {m}.", "Give {p} a heads up that {m}.",
        "Write to {p} and say {m}.", "Could you email {p}? {m}.",
    ], (EMAIL_TRAIN, EMAIL_HELD))
    text = t.format(p=said, m=msg)
    text = text[0].upper() + text[1:]
    return Req(text, "tool", ["get_contacts", "send_email"],
               {("get_contacts", "query"): query, ("send_email", "body"): msg})


def b_email_addr(r: random.Random, p: Pool) -> Req:
    name = r.choice(p.names)
    addr = f"{name.lower()}.{r.choice(SURNAMES).lower()}@{r.choice(['example.com', 'acme.io', 'mail.org', 'corp.net'])}"
    msg = r.choice(p.messages)
    t = _t(r, p, [
        "Email {a} that {m}.", "Send an email to {a} saying {m}.", "Write to {a}: {m}.",
        "Please email {a} to say {m}.", "Let {a} know {m}.", "Send {a} a quick note that {m}.",
    ])
    return Req(t.format(a=addr, m=msg), "tool", ["send_email"], {("send_email", "body"): msg})


def b_files(r: random.Random, p: Pool) -> Req:
    doc = r.choice(p.docs)
    suffix = r.choice(["", "", " document", " file", " pdf", " spreadsheet", " doc"])
    t = _t(r, p, [
        "Find the {d}{s}.", "Where is the {d}{s}?", "Can you locate the {d}{s}?", "Search my files for the {d}{s}.",
        "I'm looking for the {d}{s}.", "Pull up the {d}{s}.", "find {d}{s}", "Look for the {d}{s} in my files.",
        "Do I have a file called {d}?", "Search for the {d}{s} in my documents.",
    ], (FILES_TRAIN, FILES_HELD))
    return Req(t.format(d=doc, s=suffix), "tool", ["search_files"], {("search_files", "query"): doc})


def b_file_read(r: random.Random, p: Pool) -> Req:
    doc = r.choice(p.docs)
    t = _t(r, p, [
        "Find the {d} and tell me what it says.", "Open the {d} and summarize it.", "What does the {d} say?",
        "Read me the {d}.", "Locate the {d} and read it to me.", "Look up the {d} and tell me the {f}.",
        "What's the {f} in the {d}?", "Search for the {d} and show me its contents.",
    ], (FILE_READ_TRAIN, FILE_READ_HELD))
    return Req(t.format(d=doc, f=r.choice(p.facts)), "tool", ["search_files", "read_file"], {("search_files", "query"): doc})


def b_file_email(r: random.Random, p: Pool) -> Req:
    doc = r.choice(p.docs)
    fact = r.choice(p.facts)
    said, query = _pick_person(r, p)
    t = _t(r, p, [
        "Find the {d} and email the {f} to {p}.", "Look up the {d} and send the {f} to {p}.",
        "Get the {f} from the {d} and email it to {p}.", "Search for the {d}, then mail the {f} to {p}.",
        "Pull the {f} out of the {d} and send it to {p}.", "Find the {d} and let {p} know the {f}.",
        "Read the {d} and forward the {f} to {p} by email.", "Find the {d} and email {p} the {f}.",
        "Can you find the {d} and send {p} the {f}?",
    ], (FILE_EMAIL_TRAIN, FILE_EMAIL_HELD))
    text = t.format(d=doc, f=fact, p=said)
    if "@" in said:
        plan = ["search_files", "read_file", "send_email"]
    else:
        plan = ["search_files", "read_file", "get_contacts", "send_email"]
    return Req(text, "tool", plan, {("search_files", "query"): doc, ("get_contacts", "query"): query, ("send_email", "body"): f"the {fact}"})


def b_calendar(r: random.Random, p: Pool) -> Req:
    event = r.choice(p.events)
    when, at = _when(r), _time(r)
    names = r.sample(p.names, r.choice([0, 1, 2, 2, 3]))
    with_part = ""
    if names:
        joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        with_part = r.choice([f" with {joined}", f", invite {joined}", f" with {joined}"])
    dur = f", {_duration(r)}" if r.random() < 0.5 else ""
    t = _t(r, p, [
        "Schedule a {e} for {w} at {t}{d}{n}.", "Put a {e} on my calendar {w} at {t}{n}{d}.",
        "Set up a {e} {w} at {t}{d}{n}.", "Book a {e} {w} at {t}{n}.", "Create an event: {e}, {w} at {t}{d}{n}.",
        "Add a {e} to my calendar for {w} at {t}{n}{d}.", "Can you schedule the {e} {w} at {t}{d}{n}?",
        "Plan a {e} at {t} {w}{n}{d}.", "I need a {e} {w} at {t}{d}{n}, please add it.",
    ], (CALENDAR_TRAIN, CALENDAR_HELD))
    text = t.format(e=event, w=when, t=at, d=dur, n=with_part)
    fields = {("create_calendar_event", "title"): event,
              ("create_calendar_event", "attendees"): ", ".join(names) if names else "none"}
    return Req(text, "tool", ["create_calendar_event"], fields)


def b_reminder(r: random.Random, p: Pool) -> Req:
    what = r.choice(p.reminders)
    when, at = _when(r), _time(r)
    t = _t(r, p, [
        "Remind me to {x} {w} at {t}.", "Set a reminder to {x} {w} at {t}.", "Remind me at {t} {w} to {x}.",
        "Can you remind me {w} at {t} to {x}?", "Don't let me forget to {x} {w} at {t}.",
        "Set a reminder for {t} {w}: {x}.", "I need a reminder to {x} at {t} {w}.", "remind me {w} {t} to {x}",
    ], (REMINDER_TRAIN, REMINDER_HELD))
    return Req(t.format(x=what, w=when, t=at), "tool", ["set_reminder"], {("set_reminder", "message"): what})


def b_translate(r: random.Random, p: Pool) -> Req:
    phrase = r.choice(p.phrases)
    src = "English"
    targets = r.sample([l for l in p.languages], r.choice([1, 1, 2]))
    tgt = targets[0] if len(targets) == 1 else r.choice([f"both {targets[0]} and {targets[1]}", f"{targets[0]} and {targets[1]}"])
    q = r.choice(["'", '"', "'", ""])
    t = _t(r, p, [
        "Translate {q}{x}{q} from {s} to {g}.", "How do you say {q}{x}{q} in {g}?", "Translate {q}{x}{q} into {g}.",
        "Can you translate {q}{x}{q} from {s} into {g}?", "What is {q}{x}{q} in {g}?", "Put {q}{x}{q} into {g} for me.",
        "I need {q}{x}{q} translated to {g}.", "translate {q}{x}{q} to {g} please",
    ], (TRANSLATE_TRAIN, TRANSLATE_HELD))
    text = t.format(q=q, x=phrase, s=src, g=tgt)
    return Req(text, "tool", ["translate_text"], {("translate_text", "text"): phrase})


def b_calc(r: random.Random, p: Pool) -> Req:
    a = round(r.uniform(1000, 99999), r.choice([0, 2]))
    b = round(r.uniform(3, 999), r.choice([0, 1, 3]))
    a_s = f"{a:g}" if a != int(a) else str(int(a))
    b_s = f"{b:g}" if b != int(b) else str(int(b))
    op, sym = r.choice([("times", "*"), ("multiplied by", "*"), ("divided by", "/"), ("plus", "+"), ("minus", "-")])
    t = _t(r, p, [
        "Use the calculator to compute {a} {o} {b}.", "Calculate {a} {o} {b} precisely.", "Compute {a} {o} {b} with the calculator.",
        "What is {a} {o} {b}, to the decimal? Use the calculator.", "Please run {a} {o} {b} through the calculator.",
        "Work out {a} {o} {b} exactly using the calculator tool.",
    ])
    return Req(t.format(a=a_s, o=op, b=b_s), "tool", ["calculator"], {("calculator", "expression"): f"{a_s} {sym} {b_s}"})


def b_code(r: random.Random, p: Pool) -> Req:
    x = r.randint(3, 40)
    lang = r.choice(["Python", "JavaScript", "python", "JS"])
    t = _t(r, p, [
        "Run this {l} code: print(sum(range({x})))", "Execute `print({x} ** 3)` in {l}.",
        "Can you run a {l} snippet that prints the first {x} squares?", "Run console.log({x} * 7) in {l}.",
        "Execute this {l}: for i in range({x}): print(i)",
    ])
    return Req(t.format(l=lang, x=x), "tool", ["run_code"])


# -- composites


def b_weather_stock(r: random.Random, p: Pool) -> Req:
    city = r.choice(p.cities)
    ref, span, ticker = _company(r, p)
    t = _t(r, p, [
        "What's the weather in {c} and the stock price of {x}?", "Check the stock price of {x} and the weather in {c}.",
        "Give me the weather for {c} and a quote for {x}.", "How's the weather in {c}, and how is {x} trading?",
        "I need two things: the weather in {c} and the price of {x}.", "weather in {c} + {x} share price",
        "Tell me the {x} stock price and the current temperature in {c}.", "What is {x} trading at, and is it raining in {c}?",
    ])
    text = t.format(c=city, x=ref)
    stock_first = text.find(ref) < text.find(city)
    plan = ["get_stock_price", "get_weather"] if stock_first else ["get_weather", "get_stock_price"]
    return Req(text, "tool", plan, {("get_weather", "location"): city, ("get_stock_price", "ticker"): span},
               values={("get_stock_price", "ticker"): ticker})


def b_weather_web(r: random.Random, p: Pool) -> Req:
    city = r.choice(p.cities)
    topic = r.choice(p.topics)
    t = _t(r, p, [
        "What's the weather in {c}, and also search the web for the {q}?", "Look up the {q} and tell me the weather in {c}.",
        "Check the weather in {c} and search for the {q}.",
    ])
    text = t.format(c=city, q=topic)
    plan = ["get_weather", "web_search"] if text.find(city) < text.find(topic) else ["web_search", "get_weather"]
    return Req(text, "tool", plan, {("get_weather", "location"): city, ("web_search", "query"): topic})


def b_stock_stock(r: random.Random, p: Pool) -> Req:
    (c1, t1), (c2, t2) = r.sample(p.companies, 2)
    text = _t(r, p, ["Compare the stock prices of {a} and {b}.", "What are {a} and {b} trading at?", "Get quotes for {a} and {b}."]).format(a=t1, b=t2)
    return Req(text, "tool", ["get_stock_price"], {("get_stock_price", "ticker"): t1})


def _cond_clause(r: random.Random, held: bool) -> tuple[str, str]:
    """(a weather condition clause, the thing it is about)."""
    train = [("if it's raining", "rain"), ("if it rains", "rain"), ("if it is snowing", "snow"), ("if it's sunny", "sun"),
             ("if there's rain", "rain"), ("if it's cloudy", "cloud"), ("in case it snows", "snow"), ("if it's windy", "wind")]
    held_c = [("should it be raining", "rain"), ("if there is snow", "snow"), ("if the sun is out", "sun"), ("if it's wet out", "rain"), ("if there's a storm", "storm")]
    return r.choice(held_c if held else train)


def b_weather_reminder(r: random.Random, p: Pool) -> Req:
    city = r.choice(p.cities)
    cond, _ = _cond_clause(r, p.held)
    what = r.choice(p.reminders)
    when, at = r.choice(["tomorrow", "tomorrow", _when(r)]), _time(r)
    t = _t(r, p, [
        "Check the weather in {c}. {C}, remind me to {x} {w} at {t}.", "Look at the weather for {c} and {cond}, set a reminder to {x} {w} at {t}.",
        "What's the weather in {c}? {C}, remind me {w} at {t} to {x}.", "Check {c}'s weather; {cond}, remind me to {x} at {t} {w}.",
        "Get the weather in {c}, and {cond} remind me to {x} {w} at {t}.", "Check the forecast in {c} - {cond} I want a reminder to {x} {w} at {t}.",
    ])
    text = t.format(c=city, C=cond[0].upper() + cond[1:], cond=cond, x=what, w=when, t=at)
    return Req(text, "tool", ["get_weather", "set_reminder"], {("get_weather", "location"): city, ("set_reminder", "message"): what})


def b_weather_email(r: random.Random, p: Pool) -> Req:
    city = r.choice(p.cities)
    said, query = _pick_person(r, p)
    cond, _ = _cond_clause(r, p.held)
    msg = r.choice(["the picnic is off", "we should meet indoors", "the hike is cancelled", "practice moves to the gym", "bring a coat"])
    text = _t(r, p, [
        "Check the weather in {c}; {cond}, tell {p} that {m}.", "Look up the weather in {c} and {cond}, email {p} that {m}.",
        "See what the weather is in {c}. {C}, let {p} know {m}.",
    ]).format(c=city, cond=cond, C=cond[0].upper() + cond[1:], p=said, m=msg)
    return Req(text, "tool", ["get_weather", "get_contacts", "send_email"],
               {("get_weather", "location"): city, ("get_contacts", "query"): query, ("send_email", "body"): msg})


def b_search_calc(r: random.Random, p: Pool) -> Req:
    subjects = [("population of", ["Peru", "Norway", "Chile", "Finland", "Portugal", "Kenya", "Ghana", "Uruguay", "Nepal", "Latvia", "Malta", "Cyprus", "Estonia", "Bhutan", "Jamaica", "Fiji", "Panama", "Qatar", "Oman", "Slovenia"]),
                ("height of", ["Mount Kilimanjaro", "the Eiffel Tower", "the Burj Khalifa", "Mount Fuji", "K2", "the Shard", "Denali"]),
                ("area of", ["Greenland", "Texas", "Madagascar", "Borneo", "Lake Victoria"]),
                ("number of employees at", [c for c, _ in p.companies[:8]]),
                ("length of", ["the Danube", "the Amazon river", "the Great Wall", "the Rhine"])]
    kind, options = r.choice(subjects)
    train_o, held_o = split(options, 3)
    obj = r.choice(held_o if p.held and held_o else train_o)
    value = r.choice([r.randint(50_000, 9_000_000), r.randint(1000, 99_999), r.randint(300, 9000)])
    pct = r.choice([1, 2, 3, 5, 10, 12, 15, 20, 25, 40, 0.5])
    pct_s = f"{pct:g}"
    ops = [
        (f"calculate what {pct_s}% of it would be", f"{value} * {pct_s} / 100"), (f"work out {pct_s}% of that", f"{value} * {pct_s} / 100"),
        (f"compute {pct_s} percent of it", f"{value} * {pct_s} / 100"), ("divide it by 4", f"{value} / 4"),
        ("double it", f"{value} * 2"), ("tell me what half of it is", f"{value} / 2"), ("multiply it by 3", f"{value} * 3"),
        (f"figure out what {pct_s}% of that number is", f"{value} * {pct_s} / 100"),
    ]
    op, expr = r.choice(ops)
    topic = f"{kind} {obj}"
    text = _t(r, p, [
        "Search for the {q} and {o}.", "Look up the {q}, then {o}.", "Find the {q} online and {o}.",
        "Search the web for the {q} and {o}.", "What's the {q}? Search for it and {o}.", "Google the {q} and {o}.",
    ]).format(q=topic, o=op)
    return Req(text, "tool", ["web_search", "calculator"], {("web_search", "query"): topic, ("calculator", "expression"): expr},
               found={("calculator", "expression"): f"{value:,}" if r.random() < 0.5 else str(value)})


def b_stock_calc(r: random.Random, p: Pool) -> Req:
    ref, span, ticker = _company(r, p)
    n = r.randint(3, 250)
    price = round(r.uniform(5, 900), 2)
    text = _t(r, p, [
        "Get the price of {x} and calculate what {n} shares would cost.", "Check {x}'s stock price and work out the value of {n} shares.",
        "How much would {n} shares of {x} cost at the current price? Look it up and calculate.",
    ]).format(x=ref, n=n)
    return Req(text, "tool", ["get_stock_price", "calculator"], {("get_stock_price", "ticker"): span, ("calculator", "expression"): f"{price} * {n}"},
               values={("get_stock_price", "ticker"): ticker}, found={("calculator", "expression"): str(price)})


def b_translate_email(r: random.Random, p: Pool) -> Req:
    phrase = r.choice(p.phrases)
    lang = r.choice(p.languages)
    said, query = _pick_person(r, p)
    text = _t(r, p, [
        "Translate '{x}' into {l} and email it to {p}.", "Translate '{x}' to {l}, then send it to {p}.",
        "Send {p} the {l} translation of '{x}'.",
    ]).format(x=phrase, l=lang, p=said)
    return Req(text, "tool", ["translate_text", "get_contacts", "send_email"],
               {("translate_text", "text"): phrase, ("get_contacts", "query"): query})


def b_contacts_calendar(r: random.Random, p: Pool) -> Req:
    name = r.choice(p.names)
    event = r.choice(p.events)
    text = _t(r, p, [
        "Look up {n}'s email and schedule a {e} with them {w} at {t}.", "Find {n} in my contacts and book a {e} with them {w} at {t}.",
        "Get {n}'s contact details, then put a {e} with them on my calendar {w} at {t}.",
    ]).format(n=name, e=event, w=_when(r), t=_time(r))
    return Req(text, "tool", ["get_contacts", "create_calendar_event"],
               {("get_contacts", "query"): name, ("create_calendar_event", "title"): event})


def b_answer(r: random.Random, p: Pool) -> Req:
    roll = r.random()
    if roll < 0.5:
        q, _ = r.choice(p.trivia)
        wrap = r.choice(TRIVIA_WRAPS)
        text = wrap.format(q=q, ql=q[0].lower() + q[1:])
        return Req(text, "answer")
    if roll < 0.75:
        q, expr = _math(r)
        return Req(q, "answer", fields={("calculator", "expression"): expr})
    if roll < 0.9:
        return Req(r.choice(p.chat), "answer")
    return Req(r.choice(IDIOMS_HELD if p.held else IDIOMS_TRAIN), "answer")


def b_refuse(r: random.Random, p: Pool) -> Req:
    company, _ = r.choice(p.companies)
    t = r.choice(p.refusals if r.random() < 0.75 else (REFUSALS_HELD_EXTRA if p.held else REFUSALS_TRAIN_EXTRA))
    text = t.format(thing=r.choice(REFUSE_THINGS), period=r.choice(PERIODS), slot=r.choice(["3pm", "Monday", "morning", "next"]),
                    city=r.choice(p.cities), name=r.choice(p.names), doc=r.choice(p.docs), company=company,
                    reminder=r.choice(p.reminders), event=r.choice(p.events))
    if r.random() < 0.2:
        text = text.lower().rstrip(".")
    return Req(text, "refuse")


TOOL_BUILDERS: list[tuple[Callable[[random.Random, Pool], Req], float]] = [
    (b_weather, 6), (b_stock, 5), (b_web, 4), (b_current_events, 2), (b_contacts, 2), (b_email_name, 5),
    (b_email_addr, 2), (b_files, 4), (b_file_read, 2), (b_file_email, 4), (b_calendar, 7), (b_reminder, 4),
    (b_translate, 6), (b_calc, 2), (b_code, 1), (b_weather_stock, 4), (b_weather_web, 1), (b_stock_stock, 1),
    (b_weather_reminder, 4), (b_weather_email, 2), (b_search_calc, 4), (b_stock_calc, 1), (b_translate_email, 1),
    (b_contacts_calendar, 1),
]


# ----------------------------------------------------------------------------- data sets


def _pool(held: bool) -> Pool:
    def pick(values: list, every: int = 4) -> list:
        train, hold = split(values, every)
        return hold if held else train

    return Pool(
        cities=pick(CITIES), names=pick(FIRST_NAMES), roles=pick(ROLES, 3), companies=pick(COMPANIES, 3),
        docs=pick(DOCS, 3), facts=pick(FILE_FACTS, 3), languages=pick(LANGUAGES, 3), phrases=pick(PHRASES, 3),
        events=pick(EVENTS, 3), reminders=pick(REMINDERS, 3), messages=pick(MESSAGES, 3), topics=pick(SEARCH_TOPICS, 3),
        trivia=pick(TRIVIA, 3), chat=pick(CHAT, 3), refusals=pick(REFUSALS, 3), held=held,
    )


def _requests(r: random.Random, pool: Pool, n_tool: int, n_answer: int, n_refuse: int) -> list[Req]:
    builders, weights = zip(*TOOL_BUILDERS)
    out = [wrapped(noisy(r.choices(builders, weights)[0](r, pool), r), r, pool.held) for _ in range(n_tool)]
    out += [wrapped(noisy(b_answer(r, pool), r), r, pool.held) for _ in range(n_answer)]
    out += [wrapped(b_refuse(r, pool), r, pool.held) for _ in range(n_refuse)]
    r.shuffle(out)
    return out


def tool_descriptions() -> dict[str, str]:
    """The benchmark's tool descriptions: the arg extractor reads a tool's own description (formats.arg_input)."""
    from integrations.toolcall15.spec import load_spec

    return {t["function"]["name"]: t["function"].get("description", "") for t in load_spec().tools}


def build(held: bool, seed: int, n_tool: int, n_answer: int, n_refuse: int) -> dict[str, list[dict]]:
    r = random.Random(seed)
    pool = _pool(held)
    reqs = _requests(r, pool, n_tool, n_answer, n_refuse)
    described = tool_descriptions()
    nxt, arg = [], []
    for req in reqs:
        if req.kind != "tool":
            nxt.append({"input": next_tool_input(req.text, []), "output": req.kind})
        if req.kind == "tool":
            for i in range(len(req.plan) + 1):
                label = req.plan[i] if i < len(req.plan) else "done"
                if label == "done" and len(req.plan) == 1 and r.random() < 0.5:
                    continue  # single-tool requests would otherwise make "done" a third of the rows
                nxt.append({"input": next_tool_input(req.text, req.plan[:i]), "output": label})
        for (tool, fld), value in req.fields.items():
            if req.kind == "answer" and tool == "calculator":
                arg.append({"input": arg_input(tool, fld, req.text, None, described[tool]), "output": value})
                continue
            if req.kind != "tool" or tool not in req.plan:
                continue
            row = {"input": arg_input(tool, fld, req.text, req.found.get((tool, fld)), described[tool]), "output": value}
            if (tool, fld) in req.values:
                row["value"] = req.values[(tool, fld)]  # what the tool gets after the exact resolution (name -> ticker)
            arg.append(row)
    cond = condition_rows(r, held, 700 if not held else 300)
    if not held:
        cond += extra_condition_rows(seed + 7, 900)
    return {"tc-next-tool": nxt, "tc-arg": arg, "tc-condition": cond}


def _dedupe(rows: list[dict], exclude: set[str] | None = None) -> list[dict]:
    seen = set(exclude or ())
    out = []
    for row in rows:
        if row["input"] in seen:
            continue
        seen.add(row["input"])
        out.append(row)
    return out


def _check_banned(name: str, rows: list[dict]) -> None:
    for row in rows:
        blob = (row["input"] + " " + json.dumps(row["output"])).lower()
        for word in BANNED:
            if re.search(r"(?<![a-z])" + re.escape(word) + r"(?![a-z])", blob):
                raise SystemExit(f"{name}: banned benchmark string {word!r} in {row['input']!r}")


def _write(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")


# (train cap, validation rows, test rows). The held-out file is the validation rows (the fit early-stops
# on them: compile.options.early_stop_rows) followed by the test rows (reported by eval_tc.py, never
# used to choose anything). Both come from the held-out pool: values and phrasings no train row has.
SIZES = {"tc-next-tool": (2400, 60, 300), "tc-arg": (1600, 60, 240), "tc-condition": (1500, 60, 200)}


def main() -> None:
    train = build(False, SEED, n_tool=1000, n_answer=300, n_refuse=220)
    held = build(True, SEED + 1, n_tool=240, n_answer=80, n_refuse=60)
    for name in train:
        tr = _dedupe(train[name])
        he = _dedupe(held[name], exclude={row["input"] for row in tr})
        r = random.Random(SEED)
        r.shuffle(tr)
        r.shuffle(he)
        cap, n_val, n_test = SIZES[name]
        tr, he = tr[:cap], he[: n_val + n_test]
        _check_banned(name, tr + he)
        # Program data rows are {"input", "output"} only: the argument a tool finally gets, where it differs
        # from the span (a company name -> its ticker), goes to a side file that eval_tc.py reads.
        values = [{"input": row["input"], "value": row.pop("value")} for row in he if "value" in row]
        truths = [{"input": row["input"], **row.pop("truth")} for row in he if "truth" in row]
        for row in tr:
            row.pop("value", None)
            row.pop("truth", None)
        _write(HERE / f"{name}.train.jsonl", tr)
        _write(HERE / f"{name}.heldout.jsonl", he)
        if values:
            _write(HERE / f"{name}.heldout.values.jsonl", values)
        if truths:  # row by row (a negated and a plain clause can share an input)
            _write(HERE / f"{name}.heldout.truth.jsonl", truths)
        counts: dict[str, int] = {}
        for row in tr:
            key = row["output"] if name != "tc-arg" else row["input"].split("\n")[0].split(" (")[0] + "/" + row["input"].split("\n")[1]
            counts[key] = counts.get(key, 0) + 1
        print(f"{name}: train {len(tr)}, held-out {len(he)} ({n_val} validation + {len(he) - n_val} test)  "
              f"{dict(sorted(counts.items()))}", file=sys.stderr)


if __name__ == "__main__":
    main()

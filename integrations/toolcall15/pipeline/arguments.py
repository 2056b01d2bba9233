"""Per-tool arguments: the ``tc-arg`` program's values first, exact validators and resolvers after.

Which words of a request are the city, the company, the person, the document, the message or the
arithmetic is the program's decision (one ``tc-arg`` call per field, :func:`fields_for`). Python then
checks and completes what the program said — never the other way round:

* a value must be a span of the request (a city, a person, a title the user never wrote is refused);
  only then does a rule-based extraction (:mod:`.text`) fill in, as a fallback;
* a company name becomes a ticker through the lookup table in :mod:`.tickers`;
* a calculator expression must be arithmetic the tool accepts, use the number the previous tool
  returned (``Found:``) and keep every percentage the request states;
* dates, times, durations, units, file types, languages and e-mail addresses are exact rules.

:func:`resolve_value` is the single place where a program value becomes the argument the tool gets;
``programs/data/eval_tc.py`` scores the shipped value through it.
"""

from __future__ import annotations

import re
from typing import Any

from integrations.toolcall15.pipeline import text as tx
from integrations.toolcall15.pipeline.conversation import Call, Conversation, key_number, result_error, result_items
from integrations.toolcall15.pipeline.dates import iso_datetime, parse_date, parse_duration, parse_time
from integrations.toolcall15.pipeline.replies import flat, summarize
from integrations.toolcall15.pipeline.tickers import company_mention, looks_like_ticker, ticker_for

# The fields tc-arg fills per tool (a field whose value is exact — a date, a unit — is not asked for).
ARG_FIELDS: dict[str, tuple[str, ...]] = {
    "get_weather": ("location",), "get_stock_price": ("ticker",), "web_search": ("query",), "search_files": ("query",),
    "get_contacts": ("query",), "send_email": ("body",), "create_calendar_event": ("title", "attendees"),
    "set_reminder": ("message",), "translate_text": ("text",), "calculator": ("expression",),
}


def fields_for(tool: str, convo: Conversation) -> list[tuple[str, str | None]]:
    """The (field, ``Found:`` context) pairs the tc-arg program must fill for ``tool``."""
    found = found_number(convo) if tool == "calculator" else None
    return [(field, found) for field in ARG_FIELDS.get(tool, ())]


def _span_or(value: str, request: str, fallback: str | None) -> str | None:
    """The program's value when it is a span of the request, else the rule-based one (else the value)."""
    if value and tx.contains_span(request, value):
        return value
    return fallback or value or None


def resolve_value(tool: str, field: str, value: str, request: str, found: str | None = None,
                  other_queries: list[str] | None = None) -> str | None:
    """The argument a tool gets from the program's ``value`` for one field, after the validators.

    None means nothing usable (the caller asks a clarifying question)."""
    value = tx.clean_value(value)
    if (tool, field) == ("get_weather", "location"):
        return _span_or(value, request, tx.location_fallback(request))
    if (tool, field) == ("get_stock_price", "ticker"):
        return resolve_ticker(value, request)
    if (tool, field) == ("web_search", "query"):
        return tx.complete_web_query(value if tx.contains_span(request, value) else "", request) or value or None
    if (tool, field) == ("search_files", "query"):
        return _span_or(value, request, tx.file_query_fallback(request)) or None
    if (tool, field) == ("get_contacts", "query"):
        return tx.contacts_query(value, request, other_queries or [])
    if (tool, field) == ("send_email", "body"):
        return _span_or(value, request, tx.message_fallback(request))
    if (tool, field) == ("create_calendar_event", "title"):
        return _span_or(value, request, tx.title_fallback(request))
    if (tool, field) == ("create_calendar_event", "attendees"):
        names = [n for n in tx.split_names(value) if tx.contains_span(request, n)]
        return ", ".join(names) if names else None
    if (tool, field) == ("set_reminder", "message"):
        return _span_or(value, request, tx.reminder_fallback(request))
    if (tool, field) == ("translate_text", "text"):
        return _span_or(value, request, tx.quoted_span(request))
    if (tool, field) == ("calculator", "expression"):
        expr = tx.normalize_expression(value)
        if expr and found and found.replace(",", "") not in expr.replace(",", ""):
            expr = None  # the value a tool returned must be the one used
        if expr and not tx.keeps_percentages(request, expr):
            expr = None  # "2% of it" is "* 2 / 100", never "/ 2"
        return expr or tx.expression_fallback(request, found.replace(",", "") if found else None)
    return value or None


def resolve_ticker(value: str, request: str) -> str | None:
    """A ticker from the program's company span, else from the request's own words, else None (ask).

    In order: (1) the program's span as a whole — the lookup table, or a symbol written as such;
    (2) the span does not resolve ("Apple's stock price", "shares of Tesla Inc", "MSFT stock"): the
    longest known company name or symbol inside it, provided the request contains that name, then a
    ticker-shaped token inside it; (3) the program's span gave nothing: the rule-based extraction on the
    request — a symbol written as such, then a capitalised company name the table knows. Only when all
    fail does the pipeline ask which company is meant."""
    if value and tx.contains_span(request, value.lstrip("$")):
        known = ticker_for(value)
        if known:
            return known
        if looks_like_ticker(value):
            return value.lstrip("$").upper()
    inside = _ticker_inside(value, request) if value else None
    if inside:
        return inside
    return _ticker_in_request(request)


def _ticker_in_request(request: str) -> str | None:
    """The rule-based extraction: a symbol the user wrote, else a capitalised company name the table knows.

    A capital-letter token that is part of a longer known name ("AT" of "AT&T") is not a symbol."""
    mention = company_mention(request)
    parts_of_name = set(re.split(r"[^A-Z0-9.]+", mention[0].upper())) - {mention[1]} if mention else set()
    for token in tx.tickers_in(request):
        if token in parts_of_name:
            continue
        return ticker_for(token) or token
    return mention[1] if mention else None


def _ticker_inside(value: str, request: str) -> str | None:
    """The company a program's span names among other words, if the request itself contains that name.

    Why: the program sometimes copies a longer span than the name ("Apple's stock price"); the name in
    it is still the program's decision, and the span check still applies to the part that is used."""
    mention = company_mention(value, lower_case=True)
    if mention and tx.contains_span(request, mention[0].lstrip("$")):
        return mention[1]
    for token in tx.tickers_in(value):  # a symbol the table does not know, written as one ("ZZQX shares")
        if tx.contains_span(request, token):
            return ticker_for(token) or token
    return None


def build_calls(tool: str, convo: Conversation, ex: dict[tuple[str, str], str]) -> list[dict[str, Any]] | str:
    """Argument dicts for one tool (several for one-to-many requests), or a clarifying question."""
    request = convo.request
    if tool == "get_weather":
        location = resolve_value(tool, "location", ex.get((tool, "location"), ""), request)
        if not location:
            return "Which city or place should I check the weather for?"
        args: dict[str, Any] = {"location": location}
        if re.search(r"fahrenheit|°\s?f\b|\bdeg(?:rees)? f\b|\bin f\b", request, re.IGNORECASE):
            args["units"] = "fahrenheit"
        elif re.search(r"celsius|centigrade|°\s?c\b|\bdeg(?:rees)? c\b|\bin c\b", request, re.IGNORECASE):
            args["units"] = "celsius"
        return [args]
    if tool == "get_stock_price":
        first = resolve_value(tool, "ticker", ex.get((tool, "ticker"), ""), request)
        if not first:
            return "Which company or ticker symbol should I look up?"
        # One request may name several companies ("Pfizer and Moderna"): the others, by the table.
        more = [t for t in _other_tickers(request) if t != first]
        return [{"ticker": t} for t in [first, *more][:3]]
    if tool == "web_search":
        return [{"query": resolve_value(tool, "query", ex.get((tool, "query"), ""), request) or request}]
    if tool == "search_files":
        args = {"query": resolve_value(tool, "query", ex.get((tool, "query"), ""), request) or request}
        file_type = file_type_of(request)
        if file_type:
            args["file_type"] = file_type
        return [args]
    if tool == "read_file":
        ids = file_ids(convo)
        if not ids:
            return "I couldn't find a file to read. Could you tell me which file you mean?"
        query = str((convo.called("search_files") or [Call("", "", {})])[-1].args.get("query", ""))
        words = [w.lower() for w in query.split()]
        best = max(ids, key=lambda p: sum(w in p[1].lower() for w in words))
        return [{"file_id": best[0]}]
    if tool == "get_contacts":
        other = [str(c.args.get("query", "")) for c in convo.calls if c.name in ("search_files", "web_search")]
        other += [str(v) for (t, f), v in ex.items() if t in ("search_files", "web_search") and f == "query"]
        person = resolve_value(tool, "query", ex.get((tool, "query"), ""), request, other_queries=other)
        if not person:
            return "Who should I look up in your contacts?"
        return [{"query": person}]
    if tool == "send_email":
        return [_email_args(convo, ex)] if recipient(convo) else "What email address should I send it to?"
    if tool == "create_calendar_event":
        day = parse_date(request, convo.ref_date)
        time = parse_time(request)
        title = resolve_value(tool, "title", ex.get((tool, "title"), ""), request) or "Meeting"
        if day is None or time is None:
            missing = " and ".join(x for x, v in (("date", day), ("time", time)) if v is None)
            return f'What {missing} should I use for "{tx.title_case(title)}"? Could you tell me?'
        args = {"title": tx.title_case(title), "date": day.isoformat(), "time": time}
        duration = parse_duration(request)
        if duration:
            args["duration_minutes"] = duration
        names = resolve_value(tool, "attendees", ex.get((tool, "attendees"), ""), request)
        if names:
            args["attendees"] = names.split(", ")
        return [args]
    if tool == "set_reminder":
        message = resolve_value(tool, "message", ex.get((tool, "message"), ""), request)
        day = parse_date(request, convo.ref_date) or convo.ref_date
        time = parse_time(request)
        if not message:
            return "What should I remind you about?"
        if time is None:
            return f"At what time should I remind you to {message}? Could you tell me?"
        return [{"message": tx.capitalize(message), "datetime": iso_datetime(day, time)}]
    if tool == "translate_text":
        text = resolve_value(tool, "text", ex.get((tool, "text"), ""), request)
        source, targets = tx.languages(request)
        if not text:
            return "What text should I translate?"
        if not targets:
            return f'Which language should I translate "{text}" into?'
        if source is None:
            source = "English" if text.isascii() and "English" not in targets else "auto"
        return [{"text": text, "source_language": source, "target_language": t} for t in targets[:4]]
    if tool == "calculator":
        expr = resolve_value(tool, "expression", ex.get((tool, "expression"), ""), request, found_number(convo))
        if not expr:
            return "What exactly should I calculate?"
        return [{"expression": expr}]
    if tool == "run_code":
        code = re.search(r"```(?:\w+)?\n?(.*?)```|`([^`]+)`", request, re.DOTALL)
        body = (code.group(1) or code.group(2)).strip() if code else None
        if not body:
            m = re.search(r":\s*(.+)$", request)
            body = m.group(1).strip() if m else None
        if not body:
            return "What code should I run?"
        language = "javascript" if re.search(r"javascript|\bjs\b|node|console\.log", request, re.IGNORECASE) else "python"
        return [{"language": language, "code": body}]
    return f"I'm not able to use {tool} for this automatically. Could you clarify what you need?"


def _other_tickers(request: str) -> list[str]:
    """Further companies in a request the table knows by name ("… and Moderna"), in order of mention."""
    out = []
    for part in re.split(r"\s*(?:,|\band\b|&|\bplus\b|\bvs\.?|\bversus\b)\s*", request):
        words = re.findall(r"[A-Za-z][\w.&'-]*", part)
        for size in (3, 2, 1):  # names as people write them: capitalised ("General Motors", "Moderna")
            hit = next((ticker_for(" ".join(words[i:i + size])) for i in range(len(words) - size + 1)
                        if words[i][:1].isupper() and ticker_for(" ".join(words[i:i + size]))), None)
            if hit:
                out.append(hit)
                break
    return out


def file_ids(convo: Conversation) -> list[tuple[str, str]]:
    """(file_id, name) pairs from the latest successful file search."""
    for call in reversed(convo.called("search_files")):
        items = result_items(call.result) or []
        pairs = []
        for item in items:
            if isinstance(item, dict) and (item.get("file_id") or item.get("id")):
                pairs.append((str(item.get("file_id") or item.get("id")), str(item.get("name") or item.get("title") or "")))
        if pairs:
            return pairs
    return []


def contact_email(convo: Conversation, person: str | None = None) -> tuple[str, str] | None:
    """(email, name) of the best contact found so far (matching ``person`` when given)."""
    best = None
    for call in reversed(convo.called("get_contacts")):
        for item in result_items(call.result) or []:
            if not isinstance(item, dict):
                continue
            email = item.get("email") or next(iter(tx.emails_in(flat(item))), None)
            if not email:
                continue
            name = str(item.get("name") or "")
            if person and person.lower().split()[0] in (name + " " + email + " " + str(item.get("role") or "")).lower():
                return email, name
            best = best or (email, name)
    return best




def found_number(convo: Conversation) -> str | None:
    for call in reversed(convo.calls):
        if call.answered and not result_error(call.result) and call.name not in ("get_contacts", "send_email", "set_reminder"):
            number = key_number(call.result)
            if number is not None:
                return number
    return None



def recipient(convo: Conversation) -> str | None:
    addresses = tx.emails_in(convo.request)
    if addresses:
        return addresses[0]
    found = contact_email(convo)
    return found[0] if found else None



def file_type_of(request: str) -> str | None:
    t = request.lower()
    if re.search(r"\bpdf\b", t):
        return "pdf"
    if re.search(r"\bdocx?\b|\bword (?:doc|file|document)", t):
        return "docx"
    if re.search(r"\bxlsx\b|spreadsheet|excel", t):
        return "xlsx"
    return None


def _email_args(convo: Conversation, ex: dict[tuple[str, str], str]) -> dict[str, Any]:
    request = convo.request
    to = tx.emails_in(request)
    person_query = next((str(c.args.get("query")) for c in reversed(convo.called("get_contacts")) if c.args.get("query")), None)
    contact = contact_email(convo, person_query)
    address = to[0] if to else (contact[0] if contact else "")
    name = (contact[1].split()[0] if contact and contact[1] else "")
    message = _span_or(ex.get(("send_email", "body"), ""), request, tx.message_fallback(request)) or ""
    facts = _facts(convo, message)
    greeting = f"Hi {name}," if name else "Hi,"
    if facts:
        lead = f"Here is {message}" if message else "Here is the information you asked for"
        body = f"{greeting}\n\n{lead}: {facts[0]}\n" + "".join(f"\n{f}" for f in facts[1:])
        subject = tx.capitalize(message) if message else "Requested information"
        source = _source_name(convo)
        if source:
            subject = f"{subject} ({source})"
    else:
        body = f"{greeting}\n\n{tx.capitalize(message) or request}."
        subject = tx.capitalize(" ".join(message.split()[:7])) if message else "Message"
    return {"to": address, "subject": subject[:120], "body": body.strip() + "\n\nBest regards"}


def _source_name(convo: Conversation) -> str | None:
    ids = file_ids(convo)
    read = convo.called("read_file")
    if ids and read:
        wanted = str(read[-1].args.get("file_id"))
        for fid, name in ids:
            if fid == wanted:
                return name or fid
    return None


def _facts(convo: Conversation, message: str) -> list[str]:
    """What earlier tools returned that the e-mail should carry, quoted from the results."""
    keywords = [w for w in re.findall(r"[a-z0-9]+", message.lower()) if len(w) >= 4 and w not in {"that", "this", "with", "from", "your"}]
    facts: list[str] = []
    for call in convo.calls:
        if not call.answered or result_error(call.result) or call.name in ("get_contacts", "send_email", "search_files"):
            continue
        if call.name == "read_file" and isinstance(call.result, dict) and call.result.get("content"):
            content = str(call.result["content"])
            parts = [p.strip() for p in re.split(r"(?<=[.;])\s+|\n+", content) if p.strip()]
            hits = [p for p in parts if any(k in p.lower() for k in keywords)]
            if hits:
                facts.append(" ".join(hits))
                if len(content) <= 600 and " ".join(hits) != content:
                    facts.append(f"(Full text: {content})")
            else:
                facts.append(content[:600])
        else:
            facts.append(summarize(call))
    return facts

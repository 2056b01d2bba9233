"""A keyword planner: the safety net under ``tc-next-tool`` when the program is unsure.

It maps generic cue words (weather, stock, translate, remind, schedule, email, file, search,
calculate...) and the tools already called to the next step, with the same label set as the program.
The pipeline uses it only when the program's label is invalid for the turn or its confidence is below
``steps.KEYWORD_BELOW`` (0.5, set a priori and not tuned on any split; held-out accuracy of the program,
the planner and their combination is in docs/toolcall15-pipeline.md). It knows no benchmark strings.
"""

from __future__ import annotations

import re

from integrations.toolcall15.pipeline import text as tx

_REFUSE = re.compile(
    r"^(?:(?:please|can you|could you|would you|i want you to|i need you to)\s+)?"
    r"(?:delete|remove|cancel|erase|wipe|purge|archive|unsubscribe|buy|sell|transfer|pay|call|phone|"
    r"post|tweet|block|uninstall|reschedule|print|turn (?:on|off)|switch (?:on|off)|play|restore|rename|mark|empty|"
    r"change|update|start|get rid of|clear|move all|forward all|dial|install|upload|"
    r"(?:book|order|reserve)(?: me)?(?: an?| the| some)? (?:flight|hotel|table|room|ticket|taxi|cab|car|trip|seat|pizza|food|"
    r"meal|delivery|uber))\b",
    re.IGNORECASE,
)
_LANGS = "|".join(tx.LANGUAGES)
_CUES: list[tuple[str, re.Pattern[str]]] = [
    ("get_weather", re.compile(r"\b(weather|temperature|forecast|raining|snowing|sunny|conditions in|how (?:hot|cold|warm)|degrees|"
                               r"cold in|hot in|jacket|rain\w*|drizzl\w*|snow\w*|wind[sy]?|storm\w*|fog\w*|humid\w*|cloudy|sunshine)\b", re.I)),
    ("get_stock_price", re.compile(r"\b(stock|shares?|share price|trading|ticker|quotes? for|market cap)\b", re.I)),
    ("translate_text", re.compile(r"\b(translat\w*|how do you say)\b|['\"].+['\"].*\b(?:in|into|to)\s+(?:both\s+)?(?:" + _LANGS + r")\b", re.I)),
    ("set_reminder", re.compile(r"\b(remind|reminder|don't let me forget)\b", re.I)),
    ("get_contacts", re.compile(r"\b(contacts?|contact details|email address|phone number|'s email)\b", re.I)),
    ("create_calendar_event", re.compile(r"\b(schedule|calendar|set up an?|book an?|create an event|plan an?|meeting with|"
                                         r"put an?)\b(?!.*\b(?:flight|hotel|table|ticket)\b)", re.I)),
    ("search_files", re.compile(r"\b(files?|documents?|docs?|pdf|spreadsheet|report|contract|invoice|notes|checklist|agenda|"
                                r"minutes|itinerary|roadmap|handbook|forecast|summary|statement|quote|brief|plan)\b", re.I)),
    ("send_email", re.compile(r"\b(email|e-mail|mail|let (?!me\b)\w+(?: \w+)? know|tell (?!me\b)|notify|inform|message|send|"
                              r"write to|heads up|forward|ping|text|shoot|drop (?!me\b)\w+ an? (?:line|note|message))\b", re.I)),
    ("calculator", re.compile(r"\b(calculat\w*|compute|work out|divide|multiply|double|half|percent|cost)\b|%", re.I)),
    ("web_search", re.compile(r"\b(search|look up|google|online|latest|news|headlines|current|population|who won|who is|"
                              r"height of|area of|length of|depth of|need to know|find out|showing|happening|concerts|hiring|"
                              r"rate|price of (?:gold|oil|a bitcoin|bitcoin))\b", re.I)),
    ("run_code", re.compile(r"\b(run|execute)\b.*\b(code|python|javascript|js|snippet|script)\b|console\.log|print\(", re.I)),
]
_FIND = re.compile(r"\b(find|locate|pull up|pull|look for|open|read me|read)\b(?! out)", re.I)
_SPECIALIST = {"get_weather", "get_stock_price", "search_files", "get_contacts", "translate_text"}
_EXPLICIT_WEB = re.compile(r"\b(search the web|web search|online|google|on the internet|news|headlines|population|"
                           r"height of|area of|length of|depth of|who won)\b", re.I)


def _wants_content(request: str) -> bool:
    return bool(re.search(r"\b(what (?:it|does)|says?|summar\w*|contents?|read|total|amount|deadline|number|balance|"
                          r"figure|conclusion|date|headcount|profit|cost)\b", request, re.I))


def keyword_next(request: str, done: list[str]) -> str:
    """The next step by cue words: answer/refuse (first turn), a tool, or done."""
    text = request.strip()
    if not done and _REFUSE.search(text):
        return "refuse"
    found: dict[str, int] = {}
    for name, cue in _CUES:
        m = cue.search(text)
        if m:
            found[name] = m.start()
    if "get_weather" in found and "search_files" in found and re.search(r"\bforecast\b", text, re.I) and not re.search(r"\b(file|document|pdf|doc)\b", text, re.I):
        del found["search_files"]
    m = _FIND.search(text)
    if m and "search_files" not in found and not (found.keys() & {"get_contacts", "web_search", "get_weather", "get_stock_price"}):
        found["search_files"] = m.start()
    if "web_search" in found and found.keys() & _SPECIALIST and not _EXPLICIT_WEB.search(text):
        del found["web_search"]  # a specialist tool covers it
    if "search_files" in found and "web_search" in found and not re.search(r"\b(file|files|document|doc|pdf|spreadsheet|my)\b", text, re.I):
        del found["search_files"]
    if "get_contacts" in found and "send_email" in found and found["get_contacts"] > found["send_email"]:
        found["get_contacts"] = found["send_email"] - 1
    if "calculator" in found and not found.keys() & {"web_search", "get_stock_price", "search_files"}:
        if not done and len(found) == 1:
            # arithmetic alone is answered directly unless the calculator is asked for by name
            return "calculator" if re.search(r"\b(calculator|tool)\b", text, re.I) else "answer"
        if "calculator" in found:
            del found["calculator"]
    if "create_calendar_event" in found and "search_files" in found and not re.search(r"\b(file|document|doc|pdf)\b", text, re.I):
        del found["search_files"]
    names = [n for n, _ in sorted(found.items(), key=lambda kv: kv[1])]
    if "send_email" in names and not tx.emails_in(text) and "get_contacts" not in names:
        names.insert(names.index("send_email"), "get_contacts")
    if "search_files" in names and ("send_email" in names or _wants_content(text)):
        names.insert(names.index("search_files") + 1, "read_file")
    if "calculator" in names:
        names.remove("calculator")
        names.append("calculator")  # computing comes after the lookup it needs
    if "send_email" in names and names[-1] != "send_email" and "calculator" not in names:
        names.remove("send_email")
        names.append("send_email")  # sending comes after what it sends
    for name in names:
        if name not in done:
            return name
    if done:
        return "done"
    return "answer"

"""What the assistant says: tool results summarised faithfully, refusals, clarifying questions.

Every sentence about the world is built from a tool result's own fields (or quotes the result), so a
reply can never state a fact that no tool returned. Unknown tools and unknown result shapes fall back
to a compact ``key: value`` rendering of the result.
"""

from __future__ import annotations

import json
from typing import Any

from integrations.toolcall15.pipeline.conversation import Call, result_error, result_items
from integrations.toolcall15.pipeline.text import format_number

# How an action is described when it is skipped or impossible ("I did not set a reminder").
ACTION_PHRASES = {
    "send_email": "send the email", "set_reminder": "set the reminder", "create_calendar_event": "create the event",
    "get_contacts": "look up the contact", "get_weather": "check the weather", "get_stock_price": "check the stock price",
    "web_search": "search the web", "calculator": "run the calculation", "translate_text": "translate it",
    "search_files": "search your files", "read_file": "read the file", "run_code": "run the code",
}


def flat(result: Any, limit: int = 400) -> str:
    """A one-line ``key: value, ...`` rendering of a result (lists of dicts joined with '; ')."""
    if isinstance(result, dict):
        parts = []
        for key, value in result.items():
            if isinstance(value, (dict, list)):
                value = flat(value, limit)
            parts.append(f"{key}: {value}")
        text = ", ".join(parts)
    elif isinstance(result, list):
        text = "; ".join(flat(item, limit) for item in result)
    else:
        text = str(result)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _num(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_number(float(value))
    return str(value)


def summarize(call: Call) -> str:
    """One faithful sentence about a call's result."""
    result, args = call.result, call.args
    error = result_error(result)
    if error:
        return f"The {call.name} tool returned an error: {error}"
    r = result if isinstance(result, dict) else {}
    name = call.name
    if name == "get_weather" and ("temperature" in r or "condition" in r):
        units = str(r.get("units") or args.get("units") or "celsius").lower()
        unit = "°F" if units.startswith("f") else "°C"
        place = r.get("location") or args.get("location") or "there"
        bits = []
        if r.get("condition"):
            bits.append(str(r["condition"]).lower() if bits else str(r["condition"]))
        if r.get("temperature") is not None:
            bits.append(f"{_num(r['temperature'])}{unit}")
        if r.get("humidity") is not None:
            bits.append(f"humidity {_num(r['humidity'])}%")
        return f"The current weather in {place}: " + ", ".join(bits) + "."
    if name == "get_stock_price" and "price" in r:
        ticker = r.get("ticker") or args.get("ticker") or "The stock"
        text = f"{ticker} is trading at {_num(r['price'])} {r.get('currency') or ''}".rstrip()
        change = [str(r[k]) for k in ("change", "change_percent") if r.get(k) not in (None, "")]
        return text + (f" ({', '.join(change)} today)." if change else ".")
    if name == "calculator" and "result" in r:
        expr = args.get("expression")
        return f"{expr} = {_num(r['result'])}." if expr else f"The result is {_num(r['result'])}."
    if name == "translate_text":
        translated = r.get("translated") or r.get("translation") or r.get("text")
        if translated:
            target = args.get("target_language") or "the target language"
            return f'In {target}: "{translated}"'
    if name == "send_email" and r:
        status = str(r.get("status") or "").lower()
        to = args.get("to") or "the recipient"
        subject = args.get("subject")
        if status in ("sent", "ok", "success", "delivered", "queued"):
            return f"Email sent to {to}" + (f' (subject: "{subject}")' if subject else "") + "."
        return f"The email to {to} returned: {flat(r)}."
    if name == "create_calendar_event" and r:
        title = r.get("title") or args.get("title") or "The event"
        when = " ".join(str(x) for x in (args.get("date") or r.get("date"), args.get("time")) if x)
        extra = []
        if args.get("duration_minutes"):
            extra.append(f"{args['duration_minutes']} minutes")
        if args.get("attendees"):
            extra.append("with " + ", ".join(str(a) for a in args["attendees"]))
        status = r.get("status") or "created"
        return f'"{title}" is {status} for {when}' + (f" ({'; '.join(extra)})" if extra else "") + "."
    if name == "set_reminder" and r:
        status = r.get("status") or "set"
        return f'Reminder {status}: "{args.get("message", "")}" at {args.get("datetime", "the requested time")}.'
    items = result_items(result)
    if name in ("search_files", "get_contacts", "web_search") and items is not None:
        what = {"search_files": "file", "get_contacts": "contact", "web_search": "result"}[name]
        query = args.get("query")
        if not items:
            return f'No {what}s matched "{query}".' if query else f"No {what}s were found."
        if name == "web_search":
            snippets = [str(i.get("snippet") or i.get("title") or flat(i)) if isinstance(i, dict) else str(i) for i in items[:3]]
            return "Web search: " + " | ".join(snippets)
        rendered = []
        for item in items[:5]:
            if isinstance(item, dict):
                label = item.get("name") or item.get("title") or flat(item)
                detail = item.get("email") or item.get("file_id") or item.get("id")
                rendered.append(f"{label} ({detail})" if detail else str(label))
            else:
                rendered.append(str(item))
        return f"Found {len(items)} {what}{'s' if len(items) != 1 else ''}" + (f' for "{query}"' if query else "") + ": " + ", ".join(rendered) + "."
    if name == "read_file" and isinstance(result, dict) and result.get("content") is not None:
        return f"{args.get('file_id', 'The file')} says: {result['content']}"
    if isinstance(result, str):
        return f"{call.name} returned: {result}"
    return f"{call.name} returned: {flat(result)}."


def final_answer(calls: list[Call], extra: str | None = None) -> str:
    """The closing message of a request: what each tool returned, in call order."""
    lines = [summarize(call) for call in calls if call.answered and call.name != "get_contacts" or result_error(call.result)]
    if not lines:
        lines = [summarize(call) for call in calls if call.answered]
    text = lines[0] if len(lines) == 1 else "Here's what I found:\n" + "\n".join(f"- {line}" for line in lines)
    if extra:
        text += "\n\n" + extra
    return text


def error_reply(call: Call, fallback_used: bool = False) -> str:
    error = result_error(call.result) or "unknown error"
    return (f"Sorry, I couldn't complete that: the {call.name} tool failed ({error}). "
            + ("The web search fallback did not help either. " if fallback_used else "")
            + "You could try again in a few minutes, or I can use a web search to look for the information instead.")


def refusal(request: str, tool_names: list[str]) -> str:
    ask = request.strip().rstrip(".!?")
    ask = ask[:1].lower() + ask[1:]
    capabilities = ", ".join(t.replace("_", " ") for t in tool_names[:12]) or "nothing"
    return (f"I'm sorry, but I can't do that: none of the available tools can do this (\"{ask}\"). "
            f"I can only use these tools: {capabilities}. "
            "If it helps, I can do something related with one of them instead.")


def tool_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)

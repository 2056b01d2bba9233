"""Turns that an exact rule answers, without a program: tool errors, empty results, the turn limit.

Why rules: what to do after ``{"error": …}`` or an empty hit list is policy, not a fuzzy judgement —
one web-search fallback that says what failed, one broader retry, then a clarifying question — and it
must hold for every client, so it is read from the messages alone.
"""

from __future__ import annotations

import re
from typing import Any

from integrations.toolcall15.pipeline import text as tx
from integrations.toolcall15.pipeline.conversation import Call, Conversation, result_error, result_is_empty
from integrations.toolcall15.pipeline.replies import error_reply, final_answer
from integrations.toolcall15.pipeline.schema import assistant, call_id, fit_schema, tool_call

MAX_ASSISTANT_TURNS = 6  # the harness allows 8; leave room for the closing answer
# Lookups that may fall back to a web search when they fail.
SEARCH_FALLBACK = {"get_weather", "get_stock_price", "get_contacts", "calculator", "translate_text"}


def exact_reply(convo: Conversation) -> dict[str, Any] | None:
    """Turns no program is needed for: tool errors, empty results, the turn limit."""
    batch = convo.last_batch
    if any(not c.answered for c in batch):
        missing = ", ".join(c.name for c in batch if not c.answered)
        return assistant(f"I did not get a result from {missing}, so I can't finish this yet. Please try again.")
    if convo.assistant_turns >= MAX_ASSISTANT_TURNS:
        return assistant(final_answer(convo.calls))
    failed = [c for c in batch if result_error(c.result)]
    if failed:
        return error_turn(convo, failed[0])
    empty = [c for c in batch if result_is_empty(c.result) and c.name in ("search_files", "web_search", "get_contacts")]
    if empty:
        return empty_turn(convo, empty[0])
    return None


def error_turn(convo: Conversation, failed: Call) -> dict[str, Any]:
    error = result_error(failed.result)
    searched = convo.called("web_search")
    if failed.name in SEARCH_FALLBACK and "web_search" in convo.tools and not searched:
        query = _fallback_query(failed, convo.request)
        content = (f"The {failed.name} tool failed ({error}). I couldn't get the data from it, so I'll fall back to "
                   f"a web search for \"{query}\".")
        args, _ = fit_schema({"query": query}, convo.tools["web_search"])
        return assistant(content, [tool_call("web_search", args, call_id(convo.request, convo.assistant_turns, 0, "web_search"))])
    fallback_used = failed.name == "web_search" and any(c.name != "web_search" and result_error(c.result) for c in convo.calls)
    others = [c for c in convo.calls if c.answered and not result_error(c.result)]
    text = error_reply(failed, fallback_used)
    if others:
        text = final_answer(others) + "\n\n" + text
    return assistant(text)


def _fallback_query(failed: Call, request: str) -> str:
    args = failed.args
    if failed.name == "get_stock_price" and args.get("ticker"):
        return f"{args['ticker']} stock price"
    if failed.name == "get_weather" and args.get("location"):
        return f"current weather in {args['location']}"
    if failed.name == "get_contacts" and args.get("query"):
        return f"{args['query']} email address"
    return tx.web_query_fallback(request)


_GENERIC_WORDS = {"document", "documents", "file", "files", "doc", "docs", "report", "the", "a", "my", "our", "final",
                  "latest", "new", "old", "copy", "version", "draft", "pdf", "docx", "xlsx", "spreadsheet"}


def broader_query(query: str, tried: list[str]) -> str | None:
    """A shorter query for a retry: drop generic words, then keep the most specific word(s)."""
    words = [w for w in re.split(r"\s+", query.strip()) if w]
    candidates = []
    core = [w for w in words if w.lower().strip(".,") not in _GENERIC_WORDS]
    if core and len(core) < len(words):
        candidates.append(" ".join(core))
    if len(core) > 1:
        # proper nouns and codes are the most specific part of a name
        specific = [w for w in core if w[:1].isupper() or any(ch.isdigit() for ch in w)]
        if specific and len(specific) < len(core):
            candidates.append(" ".join(specific))
        candidates.append(core[0])
        candidates.append(" ".join(core[:-1]))
    for cand in candidates:
        if cand and cand.lower() not in {t.lower() for t in tried}:
            return cand
    return None


def empty_turn(convo: Conversation, empty: Call) -> dict[str, Any] | None:
    tried = [str(c.args.get("query", "")) for c in convo.called(empty.name)]
    query = str(empty.args.get("query", ""))
    what = {"search_files": "files", "web_search": "web results", "get_contacts": "contacts"}[empty.name]
    broader = broader_query(query, tried) if len(tried) < 2 else None
    if broader:
        args = dict(empty.args)
        args["query"] = broader
        if empty.name == "search_files" and args.get("file_type") not in (None, "any"):
            args["file_type"] = "any"
        args, _ = fit_schema(args, convo.tools.get(empty.name, {}))
        content = f'No {what} matched "{query}". Let me try a broader search for "{broader}".'
        return assistant(content, [tool_call(empty.name, args, call_id(convo.request, convo.assistant_turns, 0, empty.name))])
    tried_text = " or ".join(f'"{t}"' for t in tried if t)
    if empty.name == "get_contacts":
        return assistant(f"I couldn't find {tried_text} in your contacts. Could you give me their email address, "
                         "or clarify which contact you mean?")
    return assistant(f"I couldn't find any {what} matching {tried_text}. Could you clarify the exact name, "
                     "or give me more details (a date, an author, a keyword) so I can search again?")


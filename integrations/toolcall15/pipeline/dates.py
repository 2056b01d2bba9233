"""Relative dates, clock times and durations, resolved exactly against a reference date.

The reference date is never hard-coded: :func:`reference_date` reads it from the conversation's
system prompt ("today is 2026-03-20") and falls back to the machine's date when a client sends none.

Conventions (documented in docs/toolcall15-pipeline.md):

* ``today`` / ``tonight`` = the reference date; ``tomorrow`` = +1; ``the day after tomorrow`` = +2.
* ``next <weekday>``, ``on <weekday>``, ``<weekday>`` = the first such weekday strictly after the
  reference date (said on a Friday, "next Monday" is three days later); ``this <weekday>`` is the same
  but may be today.
* ``<weekday> next week`` / ``next week <weekday>`` = that weekday in the following Monday-based week;
  ``next week`` alone = +7 days.
* ``in N days`` / ``in N weeks``; ``March 25``, ``25 March``, ``the 25th`` (this month, or the next
  month when the day has passed); ISO ``2026-03-25`` and US ``3/25``. A month-day already past in the
  reference year goes to the next year.
* Times: ``9:30am``, ``9.30 pm``, ``9am``, ``9 a.m.``, ``21:30``, ``noon``, ``midnight``, ``at 7``
  (a bare hour from 1 to 6 is read as afternoon), ``9 o'clock``. Output is ``HH:MM``.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_WD = r"(mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?)"
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december"]
_MON = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40,
    "forty-five": 45, "fifty": 50, "sixty": 60, "ninety": 90,
}
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def reference_date(messages: list[dict[str, Any]] | None) -> date:
    """The conversation's "today": an ISO date in a system message (preferring one after "today is")."""
    for message in messages or []:
        if message.get("role") not in ("system", "developer"):
            continue
        text = message_text(message)
        match = re.search(r"today\s+is\s+(?:\w+,?\s+)?(\d{4}-\d{2}-\d{2})", text, re.IGNORECASE) or _ISO.search(text)
        if match:
            try:
                return date.fromisoformat(match.group(1))
            except ValueError:
                continue
    return date.today()


def message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text") or "" for part in content if isinstance(part, dict) and part.get("type") == "text")
    return ""


def _weekday_index(token: str) -> int:
    token = token.lower()
    for i, name in enumerate(WEEKDAYS):
        if name.startswith(token[:3]):
            return i
    raise ValueError(token)


def _month_index(token: str) -> int:
    token = token.lower()
    for i, name in enumerate(MONTHS):
        if name.startswith(token[:3]):
            return i + 1
    raise ValueError(token)


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_date(text: str, ref: date) -> date | None:
    """The first date the text names, resolved against ``ref``; None when it names none."""
    t = text.lower()
    iso = _ISO.search(t)
    if iso:
        found = _safe_date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        if found:
            return found
    candidates: list[tuple[int, date]] = []

    def add(match: re.Match[str] | None, value: date | None) -> None:
        if match is not None and value is not None:
            candidates.append((match.start(), value))

    add(re.search(r"\bday after tomorrow\b", t), ref + timedelta(days=2))
    m = re.search(r"\btomorrow\b", t)
    if m and not re.search(r"\bday after tomorrow\b", t):
        add(m, ref + timedelta(days=1))
    add(re.search(r"\b(today|tonight|this (?:morning|afternoon|evening))\b", t), ref)
    add(re.search(r"\byesterday\b", t), ref - timedelta(days=1))
    for m in re.finditer(r"\bin (\d+|" + "|".join(_NUMBER_WORDS) + r") (day|week)s?\b", t):
        n = int(m.group(1)) if m.group(1).isdigit() else _NUMBER_WORDS[m.group(1)]
        add(m, ref + timedelta(days=n * (7 if m.group(2) == "week" else 1)))
    # weekday next week / next week weekday
    week_pattern = rf"\b{_WD}\b,?\s+(?:of\s+)?next week\b|\bnext week(?:'s)?\s+(?:on\s+)?{_WD}\b"
    m = re.search(week_pattern, t)
    if m:
        day = _weekday_index(m.group(1) or m.group(2))
        monday_next = ref + timedelta(days=7 - ref.weekday())
        add(m, monday_next + timedelta(days=day))
    else:
        m = re.search(r"\bnext week\b", t)
        add(m, ref + timedelta(days=7))
    if not m:
        m = re.search(rf"\b(next|this|on|coming|upcoming)?\s*{_WD}\b", t)
        while m and m.group(1) is None and _is_false_weekday(t, m):
            m = re.compile(rf"\b(next|this|on|coming|upcoming)?\s*{_WD}\b").search(t, m.end())
        if m:
            day = _weekday_index(m.group(2))
            ahead = (day - ref.weekday()) % 7
            if ahead == 0 and (m.group(1) or "") != "this":
                ahead = 7
            add(m, ref + timedelta(days=ahead))
    # month names: "March 25", "25 March", "March 25th, 2026"
    m = re.search(rf"\b{_MON}\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}}))?", t)
    if m:
        add(m, _month_day(ref, _month_index(m.group(1)), int(m.group(2)), m.group(3)))
    m = re.search(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MON}\b(?:,?\s+(\d{{4}}))?", t)
    if m:
        add(m, _month_day(ref, _month_index(m.group(2)), int(m.group(1)), m.group(3)))
    m = re.search(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?\b", t)
    if m:
        year = m.group(3)
        if year and len(year) == 2:
            year = "20" + year
        add(m, _month_day(ref, int(m.group(1)), int(m.group(2)), year))
    m = re.search(r"\bthe (\d{1,2})(?:st|nd|rd|th)\b", t)
    if m:
        day = int(m.group(1))
        value = _safe_date(ref.year, ref.month, day)
        if value is not None and value < ref:
            month = ref.month % 12 + 1
            value = _safe_date(ref.year + (1 if month == 1 else 0), month, day)
        add(m, value)
    if not candidates:
        return None
    return min(candidates, key=lambda c: c[0])[1]


def _is_false_weekday(text: str, m: re.Match[str]) -> bool:
    """'sat' / 'sun' / 'wed' as ordinary words ("the sun is out") are not weekdays."""
    word = m.group(2)
    return len(word) <= 3 and word in {"sat", "sun", "wed", "mon", "tue", "thu", "fri"}


def _month_day(ref: date, month: int, day: int, year: str | None) -> date | None:
    if year:
        return _safe_date(int(year), month, day)
    value = _safe_date(ref.year, month, day)
    if value is not None and value < ref:
        value = _safe_date(ref.year + 1, month, day)
    return value


def parse_time(text: str) -> str | None:
    """The first clock time the text names, as ``HH:MM``; None when it names none."""
    t = text.lower()
    candidates: list[tuple[int, str]] = []
    for m in re.finditer(r"\b(\d{1,2})(?:[:.](\d{2}))?\s*(a\.?m\.?|p\.?m\.?)(?![a-z])", t):
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
        if not (1 <= hour <= 12 and minute < 60):
            continue
        pm = m.group(3).startswith("p")
        hour = (hour % 12) + (12 if pm else 0)
        candidates.append((m.start(), f"{hour:02d}:{minute:02d}"))
    for m in re.finditer(r"(?<![\d/])(\d{1,2}):(\d{2})(?!\s*(?:a\.?m|p\.?m))(?![\d])", t):
        hour, minute = int(m.group(1)), int(m.group(2))
        if hour < 24 and minute < 60 and not any(abs(pos - m.start()) < 3 for pos, _ in candidates):
            candidates.append((m.start(), f"{hour:02d}:{minute:02d}"))
    for word, value in (("noon", "12:00"), ("midday", "12:00"), ("midnight", "00:00")):
        m = re.search(rf"\b{word}\b", t)
        if m:
            candidates.append((m.start(), value))
    m = re.search(r"\b(\d{1,2})\s*o'?clock\b", t)
    if m and 1 <= int(m.group(1)) <= 12:
        candidates.append((m.start(), _bare_hour(int(m.group(1)), t[m.end():])))
    if not candidates:
        m = re.search(r"\bat (\d{1,2})\b(?![:.]\d)(?!\s*(?:%|percent|minutes?|mins?|hours?|days?|people|shares))", t)
        if m and 0 <= int(m.group(1)) <= 23:
            hour = int(m.group(1))
            candidates.append((m.start(), _bare_hour(hour, t[m.end():]) if hour <= 12 else f"{hour:02d}:00"))
    if not candidates:
        return None
    return min(candidates, key=lambda c: c[0])[1]


def _bare_hour(hour: int, after: str) -> str:
    if re.match(r"\s*(in the )?(evening|tonight|at night)", after) or re.match(r"\s*in the afternoon", after):
        return f"{hour % 12 + 12:02d}:00"
    if re.match(r"\s*in the morning", after):
        return f"{hour % 12:02d}:00"
    if 1 <= hour <= 6:
        return f"{hour + 12:02d}:00"
    return f"{hour % 24:02d}:00"


def parse_duration(text: str) -> int | None:
    """A duration in minutes ("30 minutes", "an hour and a half", "1.5 hours", "90 min"); None if absent."""
    t = text.lower().replace("-", " ")
    if re.search(r"\bhalf an hour\b|\bhalf hour\b", t):
        return 30
    m = re.search(r"\b(an?|one|1)\s+hour\s+and\s+a\s+half\b", t)
    if m:
        return 90
    numbers = "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
    m = re.search(rf"\b(\d+(?:\.\d+)?|{numbers})\s*(hours?|hrs?|h)\b(?:\s*(?:and\s*)?(\d+)\s*(?:minutes?|mins?|m)\b)?", t)
    if m:
        n = float(m.group(1)) if m.group(1)[0].isdigit() else _NUMBER_WORDS[m.group(1)]
        return int(round(n * 60)) + int(m.group(3) or 0)
    m = re.search(rf"\b(\d+|{numbers})\s*(minutes?|mins?|min|m)\b", t)
    if m:
        return int(m.group(1)) if m.group(1).isdigit() else _NUMBER_WORDS[m.group(1)]
    return None


def iso_datetime(day: date, hhmm: str) -> str:
    return f"{day.isoformat()}T{hhmm}:00"

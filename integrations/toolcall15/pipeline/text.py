"""Exact text rules: languages, quoted text, tickers, e-mail addresses, fallback span extractors, safe math.

These back up the ``tc-arg`` extractor program: a program's answer is kept when it passes the
checks here (a span of the request, a valid ticker, an arithmetic expression...), and the rule-based
value is used when it does not. None of the rules know the benchmark's strings.
"""

from __future__ import annotations

import ast
import math
import operator
import re

LANGUAGES = [
    "English", "Spanish", "French", "German", "Italian", "Portuguese", "Dutch", "Japanese", "Korean", "Chinese",
    "Mandarin", "Cantonese", "Russian", "Arabic", "Hindi", "Bengali", "Urdu", "Punjabi", "Turkish", "Polish",
    "Swedish", "Norwegian", "Danish", "Finnish", "Icelandic", "Greek", "Hebrew", "Vietnamese", "Thai",
    "Indonesian", "Malay", "Tagalog", "Filipino", "Czech", "Slovak", "Hungarian", "Romanian", "Bulgarian",
    "Ukrainian", "Serbian", "Croatian", "Slovenian", "Lithuanian", "Latvian", "Estonian", "Persian", "Farsi",
    "Swahili", "Amharic", "Yoruba", "Zulu", "Afrikaans", "Catalan", "Basque", "Galician", "Irish", "Welsh",
    "Latin", "Tamil", "Telugu", "Marathi", "Gujarati", "Kannada", "Malayalam", "Nepali", "Sinhala", "Khmer",
    "Lao", "Burmese", "Mongolian", "Kazakh", "Uzbek", "Georgian", "Armenian", "Albanian", "Macedonian",
    "Maltese", "Esperanto", "Hawaiian", "Maori",
]
_LANG_RE = re.compile(r"\b(" + "|".join(LANGUAGES) + r")\b", re.IGNORECASE)


def canonical_language(name: str) -> str:
    for lang in LANGUAGES:
        if lang.lower() == name.strip().lower():
            return lang
    return name.strip().title()


def languages(text: str) -> tuple[str | None, list[str]]:
    """(source language, target languages) named in a translation request, outside quoted text."""
    outside = quoted_span(text)
    bare = text.replace(outside, " ") if outside else text
    source = None
    m = re.search(r"\bfrom\s+(" + "|".join(LANGUAGES) + r")\b", bare, re.IGNORECASE)
    if m:
        source = canonical_language(m.group(1))
    targets: list[str] = []
    for m in _LANG_RE.finditer(bare):
        lang = canonical_language(m.group(1))
        if lang != source and lang not in targets:
            targets.append(lang)
    return source, targets


_QUOTES = [
    r'"([^"\n]{1,300})"', r"“([^”\n]{1,300})”", r"‘([^’\n]{1,300})’", r"«\s*([^»\n]{1,300}?)\s*»",
    r"(?:(?<=\s)|^)'([^\n]{1,300}?)'(?=[\s.,;:!?)]|$)",
]


def quoted_span(text: str) -> str | None:
    for pattern in _QUOTES:
        m = re.search(pattern, text)
        if m and m.group(1).strip():
            return m.group(1).strip()
    return None


EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


def emails_in(text: str) -> list[str]:
    return EMAIL_RE.findall(text or "")


_NOT_TICKERS = {
    "I", "A", "AM", "PM", "US", "USA", "UK", "EU", "CEO", "CFO", "CTO", "OK", "HR", "IT", "AI", "API", "PDF", "ETF",
    "IPO", "NYSE", "ASAP", "FYI", "USD", "EUR", "GBP", "JPY", "ET", "PT", "GMT", "UTC", "TV", "ID", "NASDAQ", "DM",
    "Q1", "Q2", "Q3", "Q4", "FAQ", "ETA", "PS", "NB", "RSVP", "BTW", "IMO", "LOL", "NYC", "LA", "SF", "DC", "UAE",
    "XLSX", "DOCX", "CSV", "JSON", "SQL", "URL", "AND", "THE", "OR", "OF", "TO", "IS", "ME", "MY", "S", "P", "E",
}


def tickers_in(text: str) -> list[str]:
    """Ticker symbols written as such: ``$TSLA``, ``ticker F``, or an all-caps word of 2-5 letters."""
    out: list[str] = []
    for m in re.finditer(r"\$([A-Za-z]{1,5}(?:\.[A-Za-z])?)\b|\bticker(?: symbol)?:?\s+([A-Z]{1,5}(?:\.[A-Z])?)\b|\b([A-Z]{2,5}(?:\.[A-Z])?)\b", text):
        token = (m.group(1) or m.group(2) or m.group(3)).upper()
        if (m.group(3) and token in _NOT_TICKERS) or token in out:
            continue
        out.append(token)
    return out


def normalize_ticker(value: str) -> str | None:
    value = (value or "").strip().strip("$").strip(".,;:!?'\"")
    if re.fullmatch(r"[A-Za-z]{1,5}(?:\.[A-Za-z])?", value):
        return value.upper()
    return None


def contains_span(text: str, value: str) -> bool:
    return bool(value) and _squash(value) in _squash(text)


def _squash(s: str) -> str:
    return re.sub(r"[\s'\"“”‘’.,!?]+", " ", s.lower()).strip()


def clean_value(value: str | None) -> str:
    """A program's answer, first line only, without wrapping quotes or trailing punctuation."""
    if value is None:
        return ""
    value = str(value).strip().split("\n")[0].strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1].strip()
    value = re.sub(r"^(?:output|answer|value|field|result)\s*:\s*", "", value, flags=re.IGNORECASE)
    return value.strip().rstrip(".,;:").strip()


def capitalize(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] if text else text


def title_case(text: str) -> str:
    small = {"a", "an", "the", "and", "or", "of", "with", "for", "to", "in", "on", "at", "by"}
    words = text.strip().split()
    out = []
    for i, word in enumerate(words):
        if word.isupper() or any(ch.isdigit() for ch in word) or (i and word.lower() in small):
            out.append(word if word.isupper() or any(ch.isdigit() for ch in word) else word.lower())
        else:
            out.append(word[:1].upper() + word[1:])
    return " ".join(out)


# ----------------------------------------------------------------------------- fallback spans

_STOP_AFTER = r"(?=\s+(?:and|then|to|for|on|at|by|with|from|in|next|tomorrow|today|tonight|this|if|so)\b|[,.;!?]|$)"
_PLACE = r"([A-Z][\w'’.-]*(?:\s+(?:de|del|da|do|la|le|el|of|on|upon|am)?\s*[A-Z][\w'’.-]*)*)"
_NOT_PLACES = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "Fahrenheit", "Celsius",
               "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
               "November", "December", "Please", "I"}


def location_fallback(text: str) -> str | None:
    for m in re.finditer(r"\b(?:in|for|at|of)\s+" + _PLACE, text):
        place = m.group(1).strip().rstrip(".")
        if place.split()[0] not in _NOT_PLACES:
            return place
    m = re.search(r"\b(?:in|for)\s+([a-z][a-z .'-]{2,30}?)" + _STOP_AFTER, text)
    if m and m.group(1).split()[0] not in {"the", "a", "my", "celsius", "fahrenheit"}:
        return m.group(1).strip()
    return None


def _cut(text: str) -> str:
    return re.split(r"\s+(?:and|then)\s+|[,;.!?](?:\s|$)", text, maxsplit=1)[0].strip()


def file_query_fallback(text: str) -> str | None:
    m = re.search(r"\b(?:find|locate|search (?:my files |my documents )?for|look for|pull up|open|get|fetch|read)\s+(?:me\s+)?(?:the|my|a|our)?\s*(.+)", text, re.IGNORECASE)
    if not m:
        return None
    query = _cut(m.group(1))
    query = re.sub(r"\s+(?:document|file|doc|pdf|spreadsheet|docx|xlsx)s?$", "", query, flags=re.IGNORECASE)
    query = re.sub(r"\s+in my (?:files|documents)$", "", query, flags=re.IGNORECASE)
    return query or None


def web_query_fallback(text: str) -> str:
    m = re.search(r"\b(?:search(?: the web| online)?(?: for)?|look up|google|find(?: out)?)\s+(?:the\s+)?(.+)", text, re.IGNORECASE)
    query = _cut(m.group(1)) if m else text.strip().rstrip("?.!")
    return query or text.strip()


_SEND_VERB = r"(?i:let|tell|email|e-mail|mail|notify|inform|message|text|ping|to|send|write to|remind|forward|cc)"


def person_fallback(text: str) -> str | None:
    """Who a message is for, by rule: a role after "my"/"our", else a capitalised name after a sending
    verb, else a short "the X" phrase. Roles come first because "email the total to my manager" names
    its recipient last and "the total" is not a person."""
    role = re.search(r"\b(?:my|our)\s+([a-z][a-z-]+(?:\s+(?!know\b|that\b|about\b|and\b|the\b|to\b)[a-z][a-z-]+)?)(?=\s+(?:know|that|about|the|a|an|and|saying|by|to|with)\b|[,.;:!?']|$)", text)
    if role and re.search(rf"\b{_SEND_VERB}\b[^.?!]*\b(?:my|our)\s+{re.escape(role.group(1))}", text, re.IGNORECASE):
        return role.group(1).strip()
    m = re.search(rf"\b{_SEND_VERB}\s+([A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)(?=\s|[,.;:!?']|$)", text)
    if m:
        return m.group(1).strip()
    m = re.search(rf"\b{_SEND_VERB}\s+the\s+([a-z][\w-]*(?:\s+[a-z][\w-]*)?)(?=\s+(?:know|that|about|and|saying|by)\b|[,.;!?']|$)", text)
    return m.group(1).strip() if m else None


def contacts_query(value: str, request: str, other_queries: list[str]) -> str | None:
    """A contacts query must be a span of the request naming someone, not another tool's query.

    The extractor sometimes copies the file or web query ("Q3 budget report") into the contacts
    lookup; an identical span to another call's query is refused and the rule-based person used."""
    value = re.sub(r"^(?:my|the|our)\s+", "", value.strip(), flags=re.IGNORECASE)
    taken = {q.strip().lower() for q in other_queries if q}
    if value and contains_span(request, value) and value.lower() not in taken:
        return value
    return person_fallback(request) or (value or None)


def complete_web_query(value: str, request: str) -> str:
    """The web query as the request phrases it: when the rule's phrase contains the extracted value and
    is longer ("population of X" around "X"), the longer phrase keeps what is being asked."""
    phrase = web_query_fallback(request)
    if not value:
        return phrase
    if phrase and len(phrase.split()) <= 8 and value.lower() in phrase.lower() and len(phrase) > len(value):
        return phrase
    return value


def message_fallback(text: str) -> str | None:
    m = re.search(r"\b(?:know|that|saying|say|:)\s+(?:that\s+)?(.+)", text, re.IGNORECASE)
    if not m:
        return None
    return m.group(1).strip().rstrip(".!") or None


_WHEN_WORDS = r"\s+(?:tomorrow|today|tonight|next|on|at|this|in \d|in an?|by|every|the day|noon|midnight)\b|[,.;!?](?:\s|$)"


def reminder_fallback(text: str) -> str | None:
    """What to be reminded of: "remind me [when] to X [when]", "reminder for [when]: X"."""
    patterns = [
        r"\bremind(?:er)?\s+(?:me\s+)?(?:to|that|about)\s+(.+)",
        r"\bremind(?:er)?\b.*?\bto\s+(.+)",
        r"\bremind(?:er)?\b[^:]*:\s*(.+)",
        r"\bforget\s+to\s+(.+)",
    ]
    for pattern in patterns:
        m = re.search(pattern, text, re.IGNORECASE)
        if m:
            msg = re.split(_WHEN_WORDS, m.group(1), maxsplit=1)[0].strip()
            msg = re.sub(r"^(?:to|that)\s+", "", msg)
            if msg:
                return msg
    return None


def title_fallback(text: str) -> str | None:
    stop = r"(?=\s+(?:for|on|at|with|next|tomorrow|today|this|to my|in my|from|the day)\b|[,.;!?]|$)"
    for pattern in (
        r"\b(?:schedule|book|set up|create|add|put|plan|arrange|organi[sz]e)\s+(?:an? |the |my )?(?:event:?\s*)?(.+?)" + stop,
        r"\b(?:i need|i want|we need)\s+(?:an? |the )(.+?)" + stop,
    ):
        for m in re.finditer(pattern, text, re.IGNORECASE):
            title = m.group(1).strip()
            if title.lower() not in {"it", "this", "that", "them", "one"}:
                return title
    return None


def attendees_fallback(text: str) -> list[str]:
    m = re.search(r"\b(?:with|invite|inviting|including|attendees:?)\s+((?:[A-Z][\w'-]+(?:\s+[A-Z][\w'-]+)?)(?:\s*(?:,|and|&)\s*(?:[A-Z][\w'-]+(?:\s+[A-Z][\w'-]+)?))*)", text)
    if not m:
        return []
    return [p.strip() for p in re.split(r"\s*(?:,|\band\b|&)\s*", m.group(1)) if p.strip() and p.strip() not in _NOT_PLACES]


def split_names(value: str) -> list[str]:
    value = clean_value(value)
    if not value or value.lower() in {"none", "nobody", "no one", "n/a", "-"}:
        return []
    return [p.strip() for p in re.split(r"\s*(?:,|;|\band\b|&)\s*", value) if p.strip()]


# ----------------------------------------------------------------------------- arithmetic

_EXPR_CHARS = re.compile(r"^[\d\s()+\-*/.%]+$")
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
        ast.Pow: operator.pow, ast.Mod: operator.mod, ast.USub: operator.neg, ast.UAdd: operator.pos}


def normalize_expression(expr: str) -> str | None:
    """A calculator expression in the plain arithmetic the tool accepts, or None if it is not one."""
    e = clean_value(expr).replace(",", "").replace("×", "*").replace("÷", "/").replace("^", "**")
    e = re.sub(r"(?<=[\d)\s])x(?=[\s\d(])", "*", e)
    e = re.sub(r"\bsqrt\s*\(([^()]*)\)", r"(\1) ** 0.5", e)
    e = re.sub(r"(\d+(?:\.\d+)?)\s*%", r"(\1 / 100)", e)
    e = e.split("=")[0].strip()
    if not e or not _EXPR_CHARS.match(e.replace("**", "*")) or not re.search(r"\d", e):
        return None
    if evaluate(e) is None:
        return None
    return re.sub(r"\s+", " ", e)


def evaluate(expr: str) -> float | None:
    try:
        tree = ast.parse(expr, mode="eval")
        value = _eval(tree.body)
    except (SyntaxError, ValueError, TypeError, ZeroDivisionError, OverflowError, RecursionError):
        return None
    if value is None or isinstance(value, complex) or math.isnan(value) or math.isinf(value):
        return None
    return float(value)


def _eval(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > 64:
            raise ValueError("exponent too large")
        return _OPS[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_eval(node.operand))
    raise ValueError("not arithmetic")


def format_number(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}" if abs(value) >= 10000 else str(int(value))
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text


def keeps_percentages(request: str, expression: str) -> bool:
    """Every percentage the request states appears in the expression as ``N / 100`` (or ``0.0N``)."""
    compact = expression.replace(" ", "")
    for number in re.findall(r"(\d+(?:\.\d+)?)\s*(?:%|percent\b)", request.lower()):
        as_fraction = str(float(number) / 100).rstrip("0").rstrip(".")
        if f"{number}/100" not in compact and not re.search(rf"(?<![\d.]){re.escape(as_fraction)}(?![\d])", compact):
            return False
    return True


def expression_fallback(request: str, found: str | None) -> str | None:
    """Build "found OP n" from how the request says it ("2% of it", "half", "divide it by 4", "15 shares")."""
    t = request.lower()
    if found is None:
        m = re.search(r"(\d[\d,]*(?:\.\d+)?)\s*(?:%|percent)\s+of\s+(\d[\d,]*(?:\.\d+)?)", t)
        if m:
            return f"{m.group(2).replace(',', '')} * {m.group(1).replace(',', '')} / 100"
        m = re.search(r"(\d[\d,.]*)\s*(\+|-|\*|/|x|times|plus|minus|divided by|multiplied by)\s*(\d[\d,.]*)", t)
        if m:
            op = {"x": "*", "times": "*", "plus": "+", "minus": "-", "divided by": "/", "multiplied by": "*"}.get(m.group(2), m.group(2))
            return normalize_expression(f"{m.group(1)} {op} {m.group(3)}")
        return None
    m = re.search(r"(\d+(?:\.\d+)?)\s*(?:%|percent)", t)
    if m:
        return f"{found} * {m.group(1)} / 100"
    if re.search(r"\bhalf\b", t):
        return f"{found} / 2"
    if re.search(r"\b(double|twice)\b", t):
        return f"{found} * 2"
    if re.search(r"\btriple\b", t):
        return f"{found} * 3"
    m = re.search(r"\bdivided?\s+(?:it\s+|that\s+)?by\s+(\d+(?:\.\d+)?)", t)
    if m:
        return f"{found} / {m.group(1)}"
    m = re.search(r"\b(?:multipl(?:y|ied)\s+(?:it\s+|that\s+)?by|times)\s+(\d+(?:\.\d+)?)", t)
    if m:
        return f"{found} * {m.group(1)}"
    m = re.search(r"\b(\d+(?:\.\d+)?)\s+(?:shares|units|items|tickets|people|copies)\b", t)
    if m:
        return f"{found} * {m.group(1)}"
    return None

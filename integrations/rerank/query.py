"""Reading a search query: what must match exactly, what must not appear, what is fuzzy.

The reranker program judges *relevance*, a fuzzy question. Two parts of a query are not fuzzy, and a
135M model would get them wrong, so they are decided here in Python:

* **Negation.** ``-word``, ``NOT word``, and ``not``/``without``/``except``/``excluding``/``but not`` + a
  word exclude every chunk containing that word (FTS5 ``NOT``, with the index's stemming, so
  "not windows" also drops "Windows"). A lower-case "not" after an auxiliary verb anywhere before it
  ("why does my script not start", "is not defined") negates the verb of a sentence rather than
  excluding a word, so it is kept as text.
  The program sees the query without the excluded words.
* **Exact identifiers.** Quoted phrases and tokens shaped like code or codes — ``snake_case``,
  ``camelCase``, ``dotted.names``, ``call()``, ``E1234``, ``0x80070005``, ``HTTP-404``, numbers of 3+
  digits — are searched as FTS5 phrases and must appear verbatim for a result to count as an exact hit;
  the reranker puts exact hits first (see :mod:`integrations.rerank.reranker`).

In a query longer than ``LONG_QUERY_WORDS`` words (a pasted passage: "find documents like this one")
identifiers are ordinary search words, not required parts; only quoted phrases stay exact.

The keyword query is an OR of the remaining words (English stop words dropped, since FTS5's implicit AND
would require every word of a natural-language question), phrases and identifiers, minus the excluded words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from integrations.rerank.errors import EmptyQueryError

# A small English stop list: function words that BM25 would weigh near zero anyway but that make OR
# queries match nearly every chunk. Hand-written (a stemmer-aware list is not needed at this size).
STOP_WORDS = frozenset(
    "a an and are as at be been but by can could did do does doing for from had has have having he her his how i if in into "
    "is it its me my of on or our she should so than that the their them then there these they this those to too was we "
    "were what when where which who whom why will with would you your about after before over under again further once "
    "here all any both each few more most other some such only own same just very s t don now am not no".split()
)
_AUXILIARIES = frozenset(
    "do does did is are was were be been can could will would should shall may might must has have had am "
    "doesn't don't isn't".split()
)
_NEGATORS = ("not", "without", "except", "excluding")
# Longer queries are passages pasted to find similar documents: identifiers in them are not required.
LONG_QUERY_WORDS = 16

_TOKEN = re.compile(r'"[^"]*"|\S+')
_WORD = re.compile(r"[\w][\w'.:\-()/]*[\w)]|\w", re.UNICODE)
_IDENTIFIER_SHAPES = (
    re.compile(r"^\w+_\w+$"),  # snake_case, SCREAMING_CASE
    re.compile(r"^[a-z]+[A-Z]\w*$"),  # camelCase
    re.compile(r"^[A-Z][a-z0-9]+[A-Z]\w*$"),  # PascalCase with an inner capital
    re.compile(r"^\w+(\.\w+)+(\(\))?$"),  # dotted.name, module.func()
    re.compile(r"^\w+\(\)$"),  # call()
    re.compile(r"^\w+::\w+$"),  # Rust/C++ paths
    re.compile(r"^(?=.*\d)[A-Za-z]{1,8}[-_]?\d{2,}\w*$"),  # E1234, ERR_42, HTTP-404, CVE2021
    re.compile(r"^0x[0-9a-fA-F]+$"),
    re.compile(r"^\d{3,}$"),
)


@dataclass(frozen=True)
class ParsedQuery:
    raw: str
    text: str  # what the reranker program reads: the query without excluded words or operators
    terms: tuple[str, ...]  # plain words for the OR query
    phrases: tuple[str, ...]  # quoted phrases, searched and required verbatim
    identifiers: tuple[str, ...]  # code-like tokens, searched as phrases and required verbatim
    excluded: tuple[str, ...] = field(default=())

    @property
    def exact(self) -> tuple[str, ...]:
        """Everything that must appear verbatim for an exact hit."""
        return self.phrases + self.identifiers

    def fts_query(self) -> str:
        parts = [_fts_string(p) for p in (*self.phrases, *self.identifiers, *self.terms)]
        query = " OR ".join(dict.fromkeys(parts))
        for word in self.excluded:
            query = f"({query}) NOT {_fts_string(word)}"
        return query

    def exact_matches(self, text: str) -> int:
        """How many of the exact parts appear verbatim in ``text`` (identifiers case-sensitively
        when they have mixed case, since ``readCsv`` and ``readcsv`` are different names)."""
        lowered = text.lower()
        found = 0
        for item in self.exact:
            mixed = item != item.lower() and item != item.upper()
            found += (item in text) if mixed else (item.lower() in lowered)
        return found


def is_identifier(token: str) -> bool:
    return any(shape.match(token) for shape in _IDENTIFIER_SHAPES)


def parse_query(raw: str) -> ParsedQuery:
    """Split a user's query into terms, phrases, identifiers and exclusions (see module docstring)."""
    if not isinstance(raw, str) or not raw.strip():
        raise EmptyQueryError("the query is empty", hint="type some words to search for")
    tokens = _TOKEN.findall(raw.strip())
    kept: list[str] = []  # tokens the program reads, in order
    terms: list[str] = []
    phrases: list[str] = []
    identifiers: list[str] = []
    excluded: list[str] = []
    negate_next = False
    previous = ""
    # In a sentence ("why does my script not start") a lower-case "not" negates the verb, not a search word.
    seen_auxiliary = False
    i = 0
    while i < len(tokens):
        token = tokens[i]
        lower = token.lower()
        seen_auxiliary = seen_auxiliary or previous.lower().strip(",;") in _AUXILIARIES
        if token.startswith('"') and token.endswith('"') and len(token) >= 2:
            phrase = token[1:-1].strip()
            if negate_next:
                excluded.extend(_words(phrase))
                negate_next = False
            elif phrase:
                phrases.append(phrase)
                kept.append(token)
            previous = token
            i += 1
            continue
        if token == "NOT" or (lower in _NEGATORS and not (lower == "not" and seen_auxiliary)):
            negate_next = True
            previous = token
            i += 1
            continue
        if lower == "but" and i + 1 < len(tokens) and tokens[i + 1].lower() == "not":
            negate_next = True
            i += 2
            previous = "not"
            continue
        if token.startswith("-") and len(token) > 1 and token[1].isalnum():
            excluded.extend(_words(token[1:]))
            previous = token
            i += 1
            continue
        bare = token.strip(",;:!?\"'[]{}<>")
        bare = bare[:-1] if bare.endswith(".") else bare
        if negate_next:
            words = _words(bare)
            if words:
                excluded.extend(words)
            negate_next = False
        elif bare and is_identifier(bare):
            identifiers.append(bare)
            kept.append(bare)
        else:
            words = _words(bare)
            terms.extend(w for w in words if w.lower() not in STOP_WORDS)
            if bare:
                kept.append(token)
        previous = token
        i += 1
    excluded = list(dict.fromkeys(w.lower() for w in excluded if w.lower() not in STOP_WORDS))
    if not (terms or phrases or identifiers):
        what = "only excluded words" if excluded else "no searchable words (only stop words or punctuation)"
        raise EmptyQueryError(f"the query {raw.strip()!r} has {what}", hint="add a word the documents should contain")
    if len(tokens) > LONG_QUERY_WORDS:
        # A pasted passage ("more like this"): its numbers and names are search words, not required parts.
        terms.extend(identifiers)
        identifiers = []
    return ParsedQuery(raw=raw, text=" ".join(kept), terms=tuple(dict.fromkeys(terms)), phrases=tuple(phrases),
                       identifiers=tuple(dict.fromkeys(identifiers)), excluded=tuple(excluded))


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text, re.UNICODE)


def _fts_string(text: str) -> str:
    """An FTS5 string literal: the text as one phrase, double quotes doubled, so no query syntax leaks in."""
    return '"' + text.replace('"', '""') + '"'

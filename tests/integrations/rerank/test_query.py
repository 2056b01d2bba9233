"""What is exact in a query (identifiers, phrases, exclusions) and what is left to the program."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from integrations.rerank.errors import EmptyQueryError
from integrations.rerank.query import is_identifier, parse_query


@pytest.mark.parametrize(
    ("query", "terms", "identifiers", "excluded"),
    [
        ("jaguar speed not car", ("jaguar", "speed"), (), ("car",)),
        ("python, but not django", ("python",), (), ("django",)),
        ("sorting -numpy", ("sorting",), (), ("numpy",)),
        ("logs without timestamps", ("logs",), (), ("timestamps",)),
        ("why does my script not start", ("script", "start"), (), ()),  # "not" negates the verb here
        ("ValueError in read_csv", (), ("ValueError", "read_csv"), ()),
        ("error E4012 on boot", ("error", "boot"), ("E4012",), ()),
        ("os.path.join usage", ("usage",), ("os.path.join",), ()),
        ("HTTP-404 0x80070005 parseJson()", (), ("HTTP-404", "0x80070005", "parseJson()"), ()),
    ],
)
def test_queries_split_into_terms_identifiers_and_exclusions(query, terms, identifiers, excluded):
    parsed = parse_query(query)
    assert parsed.terms == terms
    assert parsed.identifiers == identifiers
    assert parsed.excluded == excluded
    for word in excluded:
        assert word not in parsed.text.lower().split()  # the program never reads an excluded word


def test_quoted_phrases_are_exact_and_match_verbatim():
    parsed = parse_query('adapter "prefix cache" NOT gemma')
    assert parsed.phrases == ("prefix cache",) and parsed.excluded == ("gemma",)
    assert parsed.exact_matches("the Prefix Cache is restored") == 1
    assert parsed.exact_matches("the cache of prefixes") == 0
    assert parse_query("call readCsv").exact_matches("readcsv()") == 0  # mixed case: case-sensitive


@pytest.mark.parametrize("query", ["", "   ", "the of and", "?!", "NOT linux", "-windows"])
def test_queries_with_nothing_to_search_are_refused(query):
    with pytest.raises(EmptyQueryError):
        parse_query(query)


def test_identifier_shapes():
    assert all(map(is_identifier, ["snake_case", "camelCase", "a.b.c", "f()", "E1234", "0xFF", "404", "std::vec"]))
    assert not any(map(is_identifier, ["hello", "Hello", "e", "42"]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_any_text_is_refused_cleanly_or_gives_a_query_fts5_accepts(text):
    try:
        parsed = parse_query(text)
    except EmptyQueryError:
        return
    con = sqlite3.connect(":memory:")
    con.execute("CREATE VIRTUAL TABLE f USING fts5(text, title, tokenize = 'porter unicode61 remove_diacritics 2')")
    con.execute("INSERT INTO f VALUES ('some text', 'title')")
    con.execute("SELECT * FROM f WHERE f MATCH ?", (parsed.fts_query(),)).fetchall()

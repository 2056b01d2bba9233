"""The reranker on the real interpreter with the shipped ``rerank`` program (programs/build/rerank.paw)."""

from __future__ import annotations

import math

import pytest

from integrations.rerank.errors import EmptyQueryError, SearchError
from integrations.rerank.reranker import DOC_TOKENS, GRADES, QUERY_TOKENS, Reranker, expected_grade
from pawflow.interpreter import Interpreter

PENGUIN = "Emperor penguins breed during the Antarctic winter, the males keeping the egg warm on their feet for two months."
DOCS = [
    "The stock exchange closed higher on Friday after a rally in bank shares and a rise in the price of oil.",
    PENGUIN,
    "A recipe for lemon cake: butter, sugar, three eggs, flour and the zest of two lemons, baked for forty minutes.",
]


@pytest.fixture(scope="module")
def reranker() -> Reranker:
    return Reranker("rerank")


def test_rank_returns_the_familiar_shape(reranker):
    ranked = reranker.rank("emperor penguins breeding in winter", DOCS, doc_ids=["stocks", "penguins", "cake"])
    assert len(ranked) == 3 and [r.rank for r in ranked] == [1, 2, 3]
    assert {r.doc_id for r in ranked} == {"stocks", "penguins", "cake"}
    assert [r.text for r in ranked] == [DOCS[r.index] for r in ranked]
    for result in ranked:
        assert set(result.probabilities) == set(GRADES)
        assert math.isclose(sum(result.probabilities.values()), 1.0, abs_tol=1e-4)
        assert result.score == pytest.approx(expected_grade(result.probabilities), abs=1e-5)
        assert 0.0 <= result.score <= 3.0
        assert result.label == max(result.probabilities, key=result.probabilities.get)
    assert [r.score for r in ranked] == sorted((r.score for r in ranked), reverse=True)
    assert [r.doc_id for r in ranked.top_k(2)] == [r.doc_id for r in ranked][:2]
    assert ranked.get_result_by_docid("cake").doc_id == "cake"
    assert ranked.to_dict()["results"][0]["rank"] == 1
    # Default ids are positions, like CrossEncoder.rank's corpus_id.
    assert sorted(r.doc_id for r in reranker.rank("penguins", DOCS, top_k=2)) != [] and len(reranker.rank("penguins", DOCS, top_k=2)) == 2


@pytest.mark.xfail(reason="known weakness of the shipped 16-step fit (docs/rerank.md): it ranks an unrelated recipe above "
                          "the passage the query was cut from; kept so a better fit shows up here", strict=False)
def test_the_passage_a_query_was_cut_from_outranks_unrelated_ones(reranker):
    ranked = reranker.rank(PENGUIN[:60], DOCS)
    assert ranked[0].index == 1
    assert reranker.score(PENGUIN[:60], PENGUIN) > reranker.score(PENGUIN[:60], DOCS[2])


def test_one_batched_call_with_at_most_one_adapter_swap(reranker):
    stats = Interpreter.shared().stats
    before_swaps, before_calls = stats.swaps, stats.calls
    ranked = reranker.rank("lemon cake recipe", DOCS * 3)
    assert stats.calls - before_calls == 9
    assert stats.swaps - before_swaps <= 1
    assert ranked.timing["candidates"] == 9


def test_long_documents_are_cut_by_tokens_and_flagged(reranker):
    long_doc = " ".join([PENGUIN] * 20)
    ranked = reranker.rank("penguins", [long_doc, DOCS[2]], doc_ids=["long", "short"])
    by_id = {r.doc_id: r for r in ranked}
    assert by_id["long"].truncated and not by_id["short"].truncated
    assert by_id["long"].text == long_doc  # the result keeps the whole document
    # What the model evaluated is bounded by the windows, not by the document's length.
    assert ranked.timing["tokens"] <= 2 * (QUERY_TOKENS + DOC_TOKENS + 12)


def test_exact_identifiers_first_and_excluded_words_dropped(reranker):
    docs = ["Reading rows from CSV files is easy with the csv module of the standard library.",
            "def read_csv_rows(path): return list(csv.reader(open(path)))",
            "Parsing CSV data: split each line on commas, or better, use a CSV reader."]
    ranked = reranker.rank("read_csv_rows csv reading", docs)
    assert ranked[0].index == 1 and ranked[0].exact_matches == 1
    animals = ["The jaguar is a British maker of fast cars.", "The jaguar is a big wild cat of the Americas.",
               "Jaguars and other cars at the motor show."]
    ranked = reranker.rank("jaguar not cars", animals, doc_ids=["car", "cat", "show"])
    assert [r.doc_id for r in ranked] == ["cat"] and sorted(ranked.excluded) == ["car", "show"]


def test_ties_are_broken_by_the_keyword_score(reranker):
    ranked = reranker.rank("penguins", [PENGUIN, PENGUIN, PENGUIN], doc_ids=["a", "b", "c"], keyword_scores=[1.0, 5.0, 3.0])
    assert [r.doc_id for r in ranked] == ["b", "c", "a"]


def test_bad_calls_are_clear_errors(reranker):
    assert len(reranker.rank("penguins", [])) == 0
    with pytest.raises(EmptyQueryError):
        reranker.rank("  ", DOCS)
    with pytest.raises(SearchError, match="strings"):
        reranker.rank("penguins", [PENGUIN, 42])
    with pytest.raises(SearchError, match="doc_ids"):
        reranker.rank("penguins", DOCS, doc_ids=["one"])
    with pytest.raises(SearchError, match="labels"):
        Reranker("log-alert").rank("penguins", DOCS)

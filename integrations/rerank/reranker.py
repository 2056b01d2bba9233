"""The reranker: one compiled program judges each (query, candidate) pair; Python orders the results.

The program (``programs/rerank.yaml``) is a labels program over ``exact_match`` / ``highly_relevant`` /
``somewhat_relevant`` / ``not_relevant``. Its input is the query and one candidate together
(:func:`format_input`), so one program serves every query — unlike the public SDK's case study, which
compiles a program per query. Scoring a query's candidates is one ``Function.run_many`` call: one
adapter swap, the program's prefix restored once, each candidate evaluated after it.

The score of a candidate is the *expected grade* under the program's label distribution,
``3·p(exact) + 2·p(high) + 1·p(somewhat) + 0·p(not)`` — it uses the whole distribution rather than the
argmax label, so two "highly_relevant" candidates are still ordered by confidence. Ties (and the
model's near-ties, below ``1e-6``) are broken by the keyword score when one is given.

What is exact is decided in Python, not by the model (see :mod:`integrations.rerank.query`): candidates
containing every quoted phrase / code identifier of the query come first, and candidates containing an
excluded word ("not X", "-X") are dropped.

Cost is bounded by token windows, not characters: the query is cut to ``query_tokens`` and each
candidate to ``doc_tokens`` interpreter tokens (the cut is flagged on the result as ``truncated``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from integrations.rerank.errors import SearchError
from integrations.rerank.query import ParsedQuery, parse_query
from integrations.rerank.tokens import Tokenizer

QUERY_TOKENS = 24
DOC_TOKENS = 48
GRADES: dict[str, int] = {"exact_match": 3, "highly_relevant": 2, "somewhat_relevant": 1, "not_relevant": 0}
DEFAULT_PROGRAM = "rerank"
# Weight of the BM25 term in the fused score (see Reranker). Chosen on the held-out Wikipedia validation
# set, never on an evaluation set: `python bench/rerank.py --choose-fusion --queries 12 --candidates 10`
# gave nDCG@10 0.618 for the program alone (w=0), rising with w to 0.680 at w=1000 = BM25's order with the
# program as tie-breaker — the shipped 16-step program does not beat BM25 there, so search() keeps BM25's
# order until a better fit moves this (docs/rerank.md). Reranker.rank() without keyword scores is unaffected.
FUSION_WEIGHT = 1000.0


def format_input(query: str, document: str) -> str:
    """The program's input for one pair. Training data (programs/data/rerank) uses exactly this."""
    return f"Query: {query.strip()}\nDocument: {document.strip()}"


def expected_grade(probabilities: dict[str, float]) -> float:
    return sum(GRADES[label] * p for label, p in probabilities.items())


@dataclass(frozen=True)
class RankResult:
    """One ranked candidate, in the shape of ``rerankers``' ``Result`` / ``CrossEncoder.rank`` entries."""

    doc_id: Any
    text: str
    score: float  # expected grade, 0..3 (plus the fusion term when fusion_weight > 0)
    rank: int  # 1-based
    label: str  # the most likely label
    probabilities: dict[str, float]
    keyword_score: float | None = None
    exact_matches: int = 0  # quoted phrases / identifiers of the query found verbatim
    truncated: bool = False  # the candidate was cut to doc_tokens before the program read it
    index: int = 0  # position in the docs given to rank()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RankedResults(Sequence[RankResult]):
    """Ranked candidates, best first. Iterable, indexable, ``.top_k(k)``."""

    query: str
    results: list[RankResult]
    excluded: list[Any] = field(default_factory=list)  # doc ids dropped for containing an excluded word
    timing: dict[str, float] = field(default_factory=dict)  # model_ms, tokens, candidates

    def __iter__(self) -> Iterator[RankResult]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, item):  # type: ignore[override]
        return self.results[item]

    def top_k(self, k: int) -> list[RankResult]:
        return self.results[: max(0, int(k))]

    def get_result_by_docid(self, doc_id: Any) -> RankResult | None:
        return next((r for r in self.results if r.doc_id == doc_id), None)

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "results": [r.to_dict() for r in self.results], "excluded": self.excluded,
                "timing": self.timing}


class Reranker:
    """``Reranker(program="rerank").rank(query, docs, top_k=10, doc_ids=None)``.

    ``fusion_weight`` > 0 adds ``fusion_weight × 3 × (keyword score min-max normalised over the
    candidates)`` to the expected grade — a convex-style blend of the two rankers on the same 0..3 scale;
    it only applies when keyword scores are given (the search pipeline passes BM25's).
    """

    def __init__(self, program: str = DEFAULT_PROGRAM, *, query_tokens: int = QUERY_TOKENS, doc_tokens: int = DOC_TOKENS,
                 fusion_weight: float = FUSION_WEIGHT, settings=None, function=None) -> None:
        if query_tokens < 1 or doc_tokens < 1:
            raise ValueError("query_tokens and doc_tokens must be positive")
        self.program = program
        self.query_tokens = query_tokens
        self.doc_tokens = doc_tokens
        self.fusion_weight = float(fusion_weight)
        self._settings = settings
        self._function = function
        self._tokenizer: Tokenizer | None = None

    @property
    def function(self):
        """The compiled program (loaded on first use; ProgramNotFoundError says how to compile it)."""
        if self._function is None:
            import pawflow
            from pawflow.errors import ProgramNotFoundError

            try:
                self._function = pawflow.load(self.program, settings=self._settings)
            except ProgramNotFoundError as exc:
                raise ProgramNotFoundError(f"{exc.message}", hint="compile it: pawflow compile programs/rerank.yaml") from exc
            labels = list(getattr(self._function.output, "labels", []) or [])
            if sorted(labels) != sorted(GRADES):
                raise SearchError(f"program {self.program!r} has outputs {labels or self._function.output.type!r}; "
                                  f"a reranker needs the labels {list(GRADES)}")
        return self._function

    @property
    def tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            self._tokenizer = Tokenizer.for_settings(self._settings)
        return self._tokenizer

    # ------------------------------------------------------------------ scoring

    def score(self, query: str, doc: str) -> float:
        """Expected relevance grade (0..3) of one document for one query."""
        return self.scores(query, [doc])[0]

    def scores(self, query: str | ParsedQuery, docs: Sequence[str]) -> list[float]:
        return [expected_grade(p) for p, _ in self.judge(_parsed(query), docs)[0]]

    def judge(self, parsed: ParsedQuery, docs: Sequence[str]) -> tuple[list[tuple[dict[str, float], bool]], dict[str, float]]:
        """(label probabilities, truncated) per doc, in one batched program call, and the timing."""
        query = self.tokenizer.cut(parsed.text, self.query_tokens).text
        inputs, cuts = [], []
        for doc in docs:
            if not isinstance(doc, str):
                raise SearchError(f"documents must be strings, got {type(doc).__name__}")
            cut = self.tokenizer.cut(doc, self.doc_tokens)
            cuts.append(cut.truncated)
            inputs.append(format_input(query, cut.text))
        started = time.perf_counter()
        results = self.function.run_many(inputs) if inputs else []
        elapsed = (time.perf_counter() - started) * 1000
        timing = {"model_ms": round(elapsed, 1), "candidates": len(inputs),
                  "tokens": sum(r.input_tokens for r in results)}
        return [(dict(r.scores or {}), cut) for r, cut in zip(results, cuts)], timing

    # ------------------------------------------------------------------ ranking

    def rank(self, query: str, docs: Sequence[str], top_k: int | None = None, doc_ids: Sequence[Any] | None = None,
             keyword_scores: Sequence[float] | None = None) -> RankedResults:
        """Score every doc against the query and return them best first (``top_k`` of them, or all)."""
        parsed = _parsed(query)
        docs = list(docs)
        ids = list(doc_ids) if doc_ids is not None else list(range(len(docs)))
        if len(ids) != len(docs):
            raise SearchError(f"{len(doc_ids or [])} doc_ids for {len(docs)} docs")
        if keyword_scores is not None and len(keyword_scores) != len(docs):
            raise SearchError(f"{len(keyword_scores)} keyword scores for {len(docs)} docs")
        keep = [i for i, doc in enumerate(docs) if not _contains_any(doc, parsed.excluded)]
        kept = set(keep)
        excluded = [ids[i] for i in range(len(docs)) if i not in kept]
        judged, timing = self.judge(parsed, [docs[i] for i in keep])
        kept_keywords = [float(keyword_scores[i]) for i in keep] if keyword_scores is not None else None
        exact = [parsed.exact_matches(docs[i]) for i in keep]
        scores = fused_scores([expected_grade(p) for p, _ in judged], kept_keywords, self.fusion_weight)
        scored = [dict(index=i, probabilities=judged[n][0], truncated=judged[n][1], exact=exact[n], score=scores[n],
                       keyword=None if kept_keywords is None else kept_keywords[n])
                  for n in best_first(scores, kept_keywords, exact) for i in [keep[n]]]
        limit = len(scored) if top_k is None else max(0, int(top_k))
        results = [
            RankResult(doc_id=ids[s["index"]], text=docs[s["index"]], score=round(s["score"], 6), rank=n,
                       label=max(s["probabilities"], key=s["probabilities"].__getitem__),
                       probabilities={k: round(v, 6) for k, v in s["probabilities"].items()}, keyword_score=s["keyword"],
                       exact_matches=s["exact"], truncated=s["truncated"], index=s["index"])
            for n, s in enumerate(scored[:limit], 1)
        ]
        return RankedResults(query=parsed.raw, results=results, excluded=excluded, timing=timing)


def fused_scores(grades: Sequence[float], keyword_scores: Sequence[float] | None, weight: float) -> list[float]:
    """Expected grade + ``weight · 3 · minmax(keyword score)`` over the candidates (both on a 0..3 scale)."""
    if keyword_scores is None or not weight or not grades:
        return [float(g) for g in grades]
    low, high = min(keyword_scores), max(keyword_scores)
    span = high - low
    return [g + weight * 3 * ((k - low) / span if span > 0 else 1.0) for g, k in zip(grades, keyword_scores)]


def best_first(scores: Sequence[float], keyword_scores: Sequence[float] | None, exact: Sequence[int]) -> list[int]:
    """Candidate positions, best first: more exact parts found, then the score, then the keyword score."""
    keywords = keyword_scores if keyword_scores is not None else [0.0] * len(scores)
    return sorted(range(len(scores)), key=lambda i: (-exact[i], -round(scores[i], 6), -keywords[i], i))


def _parsed(query: str | ParsedQuery) -> ParsedQuery:
    return query if isinstance(query, ParsedQuery) else parse_query(query)


def _contains_any(text: str, words: Sequence[str]) -> bool:
    """Whole-word, case-insensitive, with simple plural/verb endings (the index's Porter stemming does more)."""
    return any(re.search(rf"\b{re.escape(w)}(s|es|ed|ing)?\b", text, re.IGNORECASE) for w in words)

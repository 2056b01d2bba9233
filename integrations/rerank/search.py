"""Keyword search, then the reranker: the one function the CLI, the pipeline step and the MCP tool call.

``search(db, query, rerank=True, top_k=10, candidates=30)`` parses the query (exclusions, exact parts),
takes the ``candidates`` best chunks by BM25 from the FTS5 index, lets the reranker program judge them
in one batched call, and returns both rankings side by side. ``rerank=False`` (``--no-rerank``) returns
the keyword ranking alone, with no model load: the cheap path when cost matters more than order.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from integrations.rerank.index import SearchIndex
from integrations.rerank.query import parse_query
from integrations.rerank.reranker import DEFAULT_PROGRAM, Reranker, expected_grade

DEFAULT_TOP_K = 10
DEFAULT_CANDIDATES = 30
MAX_CANDIDATES = 200  # the cap: model cost grows linearly with candidates


@dataclass(frozen=True)
class SearchHit:
    rank: int  # final position (the reranked one when reranking, else the BM25 one)
    bm25_rank: int
    doc_id: str
    chunk: int  # the chunk's position in its document
    title: str
    text: str
    bm25: float  # FTS5 bm25() negated: higher is better
    score: float | None = None  # the program's expected grade (0..3), None without reranking; the order also
    # weighs BM25 (reranker.FUSION_WEIGHT, chosen on validation data)
    label: str | None = None
    exact_matches: int = 0
    truncated: bool = False  # the chunk was cut to the reranker's window

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SearchResults:
    query: str
    reranked: bool
    hits: list[SearchHit]
    candidates: int  # how many BM25 candidates were considered
    excluded_words: list[str] = field(default_factory=list)
    exact: list[str] = field(default_factory=list)
    timing_ms: dict[str, float] = field(default_factory=dict)

    def __iter__(self):
        return iter(self.hits)

    def __len__(self) -> int:
        return len(self.hits)

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "reranked": self.reranked, "candidates": self.candidates,
                "excluded_words": self.excluded_words, "exact": self.exact, "timing_ms": self.timing_ms,
                "hits": [h.to_dict() for h in self.hits]}


_RERANKERS: dict[tuple, Reranker] = {}


def shared_reranker(program: str = DEFAULT_PROGRAM, **options: Any) -> Reranker:
    """One Reranker per (program, options) per process, so a server does not reload per request."""
    key = (program, tuple(sorted(options.items())))
    if key not in _RERANKERS:
        _RERANKERS[key] = Reranker(program, **options)
    return _RERANKERS[key]


def search(db: str | Path, query: str, *, rerank: bool = True, top_k: int = DEFAULT_TOP_K,
           candidates: int = DEFAULT_CANDIDATES, program: str = DEFAULT_PROGRAM, reranker: Reranker | None = None) -> SearchResults:
    """Search an index built by ``pawflow search index``; see the module docstring.

    Raises EmptyQueryError (nothing searchable in the query), SearchIndexError (missing or damaged
    index), ProgramNotFoundError (the reranker program is not compiled; only with ``rerank=True``).
    """
    if top_k < 1:
        raise ValueError("top_k must be at least 1")
    candidates = max(top_k, min(int(candidates), MAX_CANDIDATES))
    parsed = parse_query(query)
    started = time.perf_counter()
    with SearchIndex.open(db) as index:
        hits = index.search(parsed.fts_query(), limit=candidates)
    keyword_ms = (time.perf_counter() - started) * 1000
    timing = {"keyword": round(keyword_ms, 2)}
    if not rerank or not hits:
        # Exact parts still come first without the model: that rule is Python's, not the model's.
        ordered = sorted(hits, key=lambda h: (-parsed.exact_matches(h.text), h.bm25_rank))[:top_k]
        out = [SearchHit(rank=n, bm25_rank=h.bm25_rank, doc_id=h.doc_id, chunk=h.ordinal, title=h.title, text=h.text,
                         bm25=round(h.bm25, 4), exact_matches=parsed.exact_matches(h.text))
               for n, h in enumerate(ordered, 1)]
        return SearchResults(query=query, reranked=False, hits=out, candidates=len(hits), excluded_words=list(parsed.excluded),
                             exact=list(parsed.exact), timing_ms=timing)
    ranker = reranker or shared_reranker(program)
    started = time.perf_counter()
    ranked = ranker.rank(parsed, [candidate_text(h.title, h.text) for h in hits], top_k=top_k,
                         doc_ids=list(range(len(hits))), keyword_scores=[h.bm25 for h in hits])
    timing["rerank"] = round((time.perf_counter() - started) * 1000, 1)
    timing["model"] = ranked.timing.get("model_ms", 0.0)
    out = []
    for result in ranked:
        hit = hits[result.doc_id]
        out.append(SearchHit(rank=result.rank, bm25_rank=hit.bm25_rank, doc_id=hit.doc_id, chunk=hit.ordinal, title=hit.title,
                             text=hit.text, bm25=round(hit.bm25, 4), score=round(expected_grade(result.probabilities), 4),
                             label=result.label,
                             exact_matches=result.exact_matches, truncated=result.truncated))
    return SearchResults(query=query, reranked=True, hits=out, candidates=len(hits), excluded_words=list(parsed.excluded),
                         exact=list(parsed.exact), timing_ms=timing)


def candidate_text(title: str, text: str) -> str:
    """What the program reads for a chunk: its document's title (a file path, a record title) then the text."""
    return f"{title}\n{text}" if title and title not in text[:200] else text

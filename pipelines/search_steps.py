"""Steps of the search pipeline (``pipelines/search.yaml``), kept next to it as every pipeline's own steps are.

The work is done by :func:`integrations.rerank.search` (BM25 from the SQLite FTS5 index, then the
``rerank`` program over the candidates in one batched call); these functions only adapt it to the
pipeline's typed inputs and outputs so search composes with program, template and switch steps.
"""

from __future__ import annotations

from integrations.rerank.search import search


def search_index(query: str, db: str, top_k: int, candidates: int, rerank: bool) -> dict:
    """``{"query", "reranked", "candidates", "hits": [{"rank", "bm25_rank", "doc_id", "text", "score", "label", ...}]}``."""
    return search(db, query, rerank=rerank, top_k=top_k, candidates=candidates).to_dict()


def best_text(results: dict) -> str:
    """The text of the best hit, or an empty string when nothing matched (for a downstream program step)."""
    hits = results.get("hits") or []
    return hits[0]["text"] if hits else ""

"""Search reranker: SQLite FTS5 keyword search, then one compiled program that judges relevance.

    from integrations.rerank import search, Reranker
    search("index.sqlite", "prefix cache after a swap", rerank=True, top_k=10)   # -> SearchResults (.to_dict())
    Reranker("rerank").rank(query, docs, top_k=10, doc_ids=None)                # -> RankedResults

``search`` is the function the CLI (``pawflow search``), the pipeline (``pipelines/search.yaml``) and the
MCP server call. Docs: docs/rerank.md.
"""

from integrations.rerank.errors import DocumentError, EmptyQueryError, SearchError, SearchIndexError
from integrations.rerank.reranker import RankedResults, Reranker, RankResult
from integrations.rerank.search import SearchHit, SearchResults, search

__all__ = ["DocumentError", "EmptyQueryError", "RankResult", "RankedResults", "Reranker", "SearchError", "SearchHit",
           "SearchIndexError", "SearchResults", "search"]

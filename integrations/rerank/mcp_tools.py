"""MCP tools for ``pawflow mcp``: search an index, rerank given documents.

Registered through the ``pawflow.mcp_tools`` entry-point group (integrations/mcp/tools/seam.py). Model
work runs on the MCP server's one model queue, with the server's interpreter, so a search never loads a
second copy of the model or interleaves with other tools' calls.
"""

from __future__ import annotations

from typing import Any


def register(kit: Any) -> None:
    """Add ``search_documents`` and ``rerank_documents`` to the server (``kit`` is an MCP ``ToolKit``)."""
    from integrations.rerank.reranker import DEFAULT_PROGRAM, Reranker
    from integrations.rerank.search import DEFAULT_CANDIDATES, search

    rerankers: dict[str, Reranker] = {}

    def reranker() -> Reranker:
        if "shared" not in rerankers:
            import pawflow

            interpreter = kit.interpreter()
            rerankers["shared"] = Reranker(DEFAULT_PROGRAM, function=pawflow.load(DEFAULT_PROGRAM, interpreter=interpreter))
        return rerankers["shared"]

    async def search_documents(db: str, query: str, rerank: bool = True, top_k: int = 10,
                               candidates: int = DEFAULT_CANDIDATES) -> dict:
        """Search a local index built by `pawflow search index` (SQLite FTS5, BM25), then rerank the best
        `candidates` with the compiled relevance program. "quoted phrases" and code identifiers must match
        exactly; "not X" / "-X" excludes X. Returns hits with rank, bm25_rank, doc_id, text, score, label."""
        if not rerank:
            return search(db, query, rerank=False, top_k=top_k, candidates=candidates).to_dict()

        def job(control: Any) -> dict:
            control.check()
            return search(db, query, rerank=True, top_k=top_k, candidates=candidates, reranker=reranker()).to_dict()

        return await kit.run_on_model(job, label="search_documents")

    async def rerank_documents(query: str, documents: list[str], top_k: int = 10) -> dict:
        """Order the given documents by relevance to the query with the compiled relevance program; each
        result has its position in `documents` (doc_id), score (expected grade 0..3) and label."""

        def job(control: Any) -> dict:
            control.check()
            return reranker().rank(query, documents, top_k=top_k).to_dict()

        return await kit.run_on_model(job, label="rerank_documents")

    kit.add(search_documents)
    kit.add(rerank_documents)

"""The search tools in ``pawflow mcp``, served in-process and called by fastmcp's own client."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from integrations.rerank.index import SearchIndex

pytest.importorskip("fastmcp")
REPO = Path(__file__).resolve().parents[3]


def test_search_and_rerank_tools_on_the_model_queue(tmp_path, corpus, tokenizer) -> None:
    from fastmcp import Client

    from integrations.mcp.options import ServeOptions
    from integrations.mcp.server.app import create_server
    from integrations.rerank.mcp_tools import register

    db = tmp_path / "index.sqlite"
    with SearchIndex.create(db) as index:
        index.index_path(corpus, tokenizer, max_file_bytes=1 << 20)
    programs = tmp_path / "programs"
    programs.mkdir()
    (programs / "rerank.paw").write_bytes((REPO / "programs/build/rerank.paw").read_bytes())
    options = ServeOptions(program_dirs=[programs], pipeline_dirs=[], compile_tool=False, preload=False, watch=False, plugins=False)
    server = create_server(options, registrars=[("rerank", register)])

    async def scenario() -> None:
        async with Client(server.mcp) as client:
            names = {tool.name for tool in await client.list_tools()}
            assert {"search_documents", "rerank_documents"} <= names
            plain = await client.call_tool("search_documents", {"db": str(db), "query": "jaguar not car", "rerank": False})
            assert [h["doc_id"] for h in plain.structured_content["hits"]] == ["corpus/notes/cats.txt"]
            ranked = await client.call_tool("search_documents", {"db": str(db), "query": "penguins", "top_k": 2, "candidates": 2})
            assert ranked.structured_content["reranked"] and ranked.structured_content["hits"][0]["label"]
            ordered = await client.call_tool("rerank_documents", {"query": "penguins", "documents": ["Penguins swim.", "Cars drive."]})
            assert sorted(r["doc_id"] for r in ordered.structured_content["results"]) == [0, 1]
            missing = await client.call_tool("search_documents", {"db": str(tmp_path / "none.sqlite"), "query": "x"},
                                             raise_on_error=False)
            assert missing.is_error and "no search index here" in missing.content[0].text

    anyio.run(scenario)

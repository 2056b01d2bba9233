"""``integrations.rerank.search`` (what the MCP tool wraps), ``pawflow search`` and ``pipelines/search.yaml``,
end to end on a real index and the real interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from integrations.rerank import search
from integrations.rerank.errors import EmptyQueryError, SearchIndexError
from integrations.rerank.index import SearchIndex

REPO = Path(__file__).resolve().parents[3]
PAWFLOW = [str(Path(sys.executable).parent / "pawflow")]


@pytest.fixture()
def db(tmp_path, corpus, tokenizer) -> Path:
    path = tmp_path / "index.sqlite"
    with SearchIndex.create(path) as index:
        index.index_path(corpus, tokenizer, max_file_bytes=1 << 20)
    return path


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PAWFLOW_PATH": str(REPO / "programs" / "build"), "COLUMNS": "200"}
    return subprocess.run([*PAWFLOW, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_search_with_and_without_reranking(db):
    plain = search(db, "jaguar", rerank=False, top_k=5)
    assert not plain.reranked and {h.doc_id for h in plain} == {"corpus/notes/cars.txt", "corpus/notes/cats.txt"}
    assert [h.rank for h in plain] == [h.bm25_rank for h in plain] == [1, 2]
    reranked = search(db, "wild cat jaguar", top_k=2, candidates=4)
    assert reranked.reranked and len(reranked) <= 2 and reranked.candidates <= 4
    assert all(h.score is not None and h.label for h in reranked)
    assert sorted(h.bm25_rank for h in reranked) == sorted({h.bm25_rank for h in reranked})
    as_json = json.loads(json.dumps(reranked.to_dict()))
    assert as_json["hits"][0]["rank"] == 1 and "bm25_rank" in as_json["hits"][0]


def test_exact_identifier_and_negation_through_search(db):
    hits = search(db, "E4012 header", rerank=False).hits
    assert hits[0].doc_id == "corpus/src/loader.py" and hits[0].exact_matches == 1
    assert [h.doc_id for h in search(db, "jaguar not car", rerank=False)] == ["corpus/notes/cats.txt"]
    with pytest.raises(EmptyQueryError):
        search(db, "the and of")
    with pytest.raises(SearchIndexError):
        search(db.parent / "missing.sqlite", "jaguar")


def test_cli_index_query_info_delete(tmp_path, corpus):
    db = tmp_path / "cli.sqlite"
    indexed = run_cli("search", "index", str(corpus), "--db", str(db), "--json", cwd=tmp_path)
    assert indexed.returncode == 0, indexed.stderr
    assert json.loads(indexed.stdout)["added"] == 6

    table = run_cli("search", "query", "penguins in winter", "--db", str(db), "--top-k", "3", "--candidates", "4", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "bm25 rank" in table.stdout and "birds.txt" in table.stdout and "label" in table.stdout

    plain = run_cli("search", "query", "jaguar", "--db", str(db), "--no-rerank", "--json", cwd=tmp_path)
    result = json.loads(plain.stdout)
    assert result["reranked"] is False and len(result["hits"]) == 2

    info = json.loads(run_cli("search", "info", "--db", str(db), "--json", cwd=tmp_path).stdout)
    assert info["documents"] == 6 and info["chunk_tokens"] == 96
    deleted = run_cli("search", "delete", "corpus/notes/cars.txt", "--db", str(db), cwd=tmp_path)
    assert deleted.returncode == 0 and "removed 1" in deleted.stdout


def test_cli_bad_input_is_one_line_and_exit_1(tmp_path, corpus):
    missing = run_cli("search", "query", "jaguar", "--db", str(tmp_path / "nope.sqlite"), cwd=tmp_path)
    assert missing.returncode == 1 and missing.stderr.startswith("error:") and "Traceback" not in missing.stderr
    assert "pawflow search index" in missing.stderr
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"garbage" * 1000)
    corrupt = run_cli("search", "query", "jaguar", "--db", str(bad), cwd=tmp_path)
    assert corrupt.returncode == 1 and "damaged" in corrupt.stderr and "Traceback" not in corrupt.stderr
    refused = run_cli("search", "index", str(corpus), "--db", str(bad), cwd=tmp_path)
    assert refused.returncode == 1 and bad.read_bytes() == b"garbage" * 1000
    db = tmp_path / "ok.sqlite"
    run_cli("search", "index", str(corpus), "--db", str(db), cwd=tmp_path)
    empty = run_cli("search", "query", "  ", "--db", str(db), cwd=tmp_path)
    assert empty.returncode == 1 and "empty" in empty.stderr


def test_search_pipeline_composes_search_with_other_steps(db):
    from pawflow.pipeline import Pipeline

    pipeline = Pipeline.load(REPO / "pipelines" / "search.yaml")
    assert not [p for p in pipeline.validate().problems if p.severity == "error"]
    run = pipeline.run(query="penguins winter", db=str(db), top_k=2, candidates=3)
    hits = run.outputs["hits"]
    assert hits and hits[0]["doc_id"].endswith(".txt") or hits[0]["doc_id"].endswith(".md")
    assert run.outputs["best"] == hits[0]["text"]
    assert run.outputs["listing"].startswith("1. [bm25 #")
    nothing = pipeline.run(query="zebra", db=str(db), rerank=False)
    assert nothing.outputs["hits"] == [] and nothing.outputs["best"] == "" and "no document matched" in nothing.outputs["listing"]

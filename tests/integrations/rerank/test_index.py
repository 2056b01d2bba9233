"""The keyword stage on a real SQLite FTS5 index: incremental updates, atomic runs, bad input."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from integrations.rerank.chunking import chunk_text
from integrations.rerank.errors import SearchIndexError
from integrations.rerank.index import SearchIndex, rebuild
from integrations.rerank.query import parse_query

MB = 1 << 20


def build(db: Path, target: Path, tokenizer, **options):
    with SearchIndex.create(db, **options) as index:
        return index.index_path(target, tokenizer, max_file_bytes=8 * MB)


def ids(db: Path, query: str) -> list[str]:
    with SearchIndex.open(db) as index:
        return [hit.doc_id for hit in index.search(parse_query(query).fts_query(), limit=10)]


def counts(db: Path) -> tuple[int, int, int]:
    with sqlite3.connect(db) as con:
        return tuple(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("documents", "chunks", "chunks_fts"))


def test_folder_index_ranks_by_bm25_and_chunks_by_tokens(tmp_path, corpus, tokenizer):
    db = tmp_path / "index.sqlite"
    report = build(db, corpus, tokenizer)
    assert (report.added, report.skipped) == (6, [])
    assert ids(db, "penguins winter")[0] == "corpus/notes/birds.txt"
    assert ids(db, "prefix swap")[0] == "corpus/notes/cache.md"
    with SearchIndex.open(db) as index:
        assert index.stats()["documents"] == 6
        hit = index.search('"penguins"')[0]
    assert hit.bm25 > 0 and hit.bm25_rank == 1


def test_chunks_respect_the_token_budget(tokenizer):
    text = "\n\n".join(f"Paragraph {i} " + "word " * (7 * i) for i in range(1, 12))
    chunks = chunk_text(text, tokenizer, max_tokens=40, overlap=8)
    assert len(chunks) > 3
    assert all(tokenizer.count(c.text) <= 40 for c in chunks)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    # Every word of the text is in some chunk (nothing dropped at cuts).
    assert set(text.split()) <= set(" ".join(c.text for c in chunks).split())


def test_incremental_reindex_only_touches_what_changed(tmp_path, corpus, tokenizer):
    db = tmp_path / "index.sqlite"
    build(db, corpus, tokenizer)
    again = build(db, corpus, tokenizer)
    assert (again.added, again.updated, again.unchanged, again.deleted) == (0, 0, 6, 0)

    (corpus / "notes/birds.txt").write_text("Albatrosses glide over the ocean for hours.", encoding="utf-8")
    (corpus / "notes/cars.txt").unlink()
    (corpus / "notes/new.md").write_text("A new note about albatross nesting.", encoding="utf-8")
    report = build(db, corpus, tokenizer)
    assert (report.added, report.updated, report.unchanged, report.deleted) == (1, 1, 4, 1)
    assert "corpus/notes/birds.txt" in ids(db, "albatrosses")
    assert ids(db, "penguins") == []
    assert "corpus/notes/cars.txt" not in ids(db, "jaguar")
    docs, chunks, fts = counts(db)
    assert docs == 6 and chunks == fts  # no orphan chunks or text rows

    # Touching a file without changing its bytes does not re-chunk it.
    os.utime(corpus / "notes/cats.txt", ns=(1, 1))
    touched = build(db, corpus, tokenizer)
    assert (touched.updated, touched.unchanged) == (0, 6)


def test_add_and_delete_documents(tmp_path, corpus, tokenizer):
    from integrations.rerank.documents import SourceDocument

    db = tmp_path / "index.sqlite"
    build(db, corpus, tokenizer)
    with SearchIndex.create(db) as index:
        index.add([SourceDocument("manual-1", "Okapis are related to giraffes.", "okapi", "manual", "manual", "x" * 64, 30)], tokenizer)
        assert index.delete(["manual-1", "corpus/notes/cats.txt", "missing"]) == 2
    assert ids(db, "okapis giraffes") == []
    assert ids(db, "wild cat swimmer") == []


def test_jsonl_records_with_bad_lines_are_skipped_and_counted(tmp_path, tokenizer):
    data = tmp_path / "docs.jsonl"
    lines = [json.dumps({"id": "a", "title": "Kiwi", "text": "The kiwi is a flightless bird of New Zealand."}).encode(),
             b"{not json",
             json.dumps({"id": "b", "text": ""}).encode(),
             "{\"id\": \"c\", \"text\": \"caf\xe9\"}".encode("latin-1"),
             json.dumps(["a list"]).encode(),
             json.dumps({"id": "d", "text": "Kiwi fruit is a berry."}).encode(),
             json.dumps({"id": "a", "text": "duplicate id"}).encode()]
    data.write_bytes(b"\n".join(lines) + b"\n")
    db = tmp_path / "index.sqlite"
    report = build(db, data, tokenizer)
    assert report.added == 2
    reasons = [reason for _, reason in report.skipped]
    assert len(reasons) == 5
    assert any("not valid JSON" in r for r in reasons) and any("not UTF-8" in r for r in reasons)
    assert any("duplicate id" in r for r in reasons) and any("no 'text'" in r for r in reasons)
    assert ids(db, "kiwi") == ["a", "d"]  # the title counts: record a is about kiwis
    # Re-indexing after a record disappears prunes it; unchanged records are not rewritten.
    data.write_bytes(lines[0] + b"\n")
    again = build(db, data, tokenizer)
    assert (again.unchanged, again.deleted) == (1, 1)


def test_bad_files_are_skipped_with_reasons_never_crash(tmp_path, corpus, tokenizer):
    (corpus / "latin1.txt").write_bytes("Caf\xe9 au lait".encode("latin-1"))
    (corpus / "blob.txt").write_bytes(b"\x00\x01binary" * 10)
    (corpus / "empty.md").write_text("   \n", encoding="utf-8")
    (corpus / "image.png").write_bytes(b"\x89PNG")
    big = corpus / "huge.log"
    with big.open("wb") as handle:  # a real 50 MB document
        chunk = b"a log line that repeats to make the file large\n" * 1024
        for _ in range(50 * MB // len(chunk) + 1):
            handle.write(chunk)
    db = tmp_path / "index.sqlite"
    report = build(db, corpus, tokenizer)
    assert report.added == 6
    reasons = dict(report.skipped)
    assert "not UTF-8" in reasons[str(corpus / "latin1.txt")]
    assert "binary" in reasons[str(corpus / "blob.txt")]
    assert reasons[str(corpus / "empty.md")] == "empty"
    assert "over the 8 MB limit" in reasons[str(big)]
    assert str(corpus / "image.png") not in reasons  # not a text file: never opened


def test_a_failing_run_leaves_the_index_as_it_was(tmp_path, corpus, tokenizer):
    db = tmp_path / "index.sqlite"
    build(db, corpus, tokenizer)
    before = counts(db)
    (corpus / "notes/more.md").write_text("Something new about penguins.", encoding="utf-8")
    (corpus / "notes/birds.txt").write_text("Changed text.", encoding="utf-8")
    seen = []

    def interrupt(origin: str) -> None:
        seen.append(origin)
        if len(seen) == 2:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the run

    with SearchIndex.create(db) as index, pytest.raises(KeyboardInterrupt):
        index.index_path(corpus, tokenizer, max_file_bytes=8 * MB, progress=interrupt)
    assert counts(db) == before
    assert "corpus/notes/birds.txt" in ids(db, "penguins")  # the old text is still what is indexed


def test_missing_corrupt_and_foreign_index_files_are_clear_errors(tmp_path, corpus, tokenizer):
    with pytest.raises(SearchIndexError, match="no search index here") as missing:
        SearchIndex.open(tmp_path / "nope.sqlite")
    assert "pawflow search index" in str(missing.value)

    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(SearchIndexError, match="damaged or not a search index"):
        SearchIndex.open(garbage)
    with pytest.raises(SearchIndexError):
        SearchIndex.create(garbage)  # never overwritten
    assert garbage.read_bytes().startswith(b"this is not")

    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as con:
        con.execute("CREATE TABLE t (x)")
    with pytest.raises(SearchIndexError, match="not a pawflow search index"):
        SearchIndex.open(foreign)

    db = tmp_path / "index.sqlite"
    build(db, corpus, tokenizer)
    with SearchIndex.open(db) as index:
        index._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = db.read_bytes()
    db.write_bytes(data[:4096] + b"\xff" * (len(data) - 4096))  # the header survives, the pages do not
    with pytest.raises(SearchIndexError):
        with SearchIndex.open(db) as index:
            index.search('"penguins"')


def test_changed_chunking_is_refused_and_rebuild_is_atomic(tmp_path, corpus, tokenizer):
    db = tmp_path / "index.sqlite"
    build(db, corpus, tokenizer)
    with pytest.raises(SearchIndexError, match="--rebuild"):
        SearchIndex.create(db, chunk_tokens=32)

    def fail(index):
        index.index_path(corpus, tokenizer, max_file_bytes=8 * MB)
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        rebuild(db, fail, chunk_tokens=32)
    with SearchIndex.open(db) as index:
        assert index.setting("chunk_tokens") == "96"  # the old index is untouched
    assert [p.name for p in tmp_path.iterdir() if "rebuild" in p.name] == []

    rebuild(db, lambda index: index.index_path(corpus, tokenizer, max_file_bytes=8 * MB), chunk_tokens=32, overlap=4)
    with SearchIndex.open(db) as index:
        assert index.setting("chunk_tokens") == "32" and index.stats()["documents"] == 6


def test_empty_folder_gives_an_empty_index_and_no_hits(tmp_path, tokenizer):
    (tmp_path / "empty").mkdir()
    db = tmp_path / "index.sqlite"
    report = build(db, tmp_path / "empty", tokenizer)
    assert report.added == 0
    assert ids(db, "anything") == []
    with SearchIndex.create(db) as index, pytest.raises(SearchIndexError, match="nothing to index"):
        index.index_path(tmp_path / "missing", tokenizer, max_file_bytes=MB)

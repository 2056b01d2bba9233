"""The keyword stage: a SQLite FTS5 index of document chunks, ranked with FTS5's ``bm25()``.

Why SQLite FTS5: it is in Python's standard library, it is a real inverted index with Okapi BM25, it is
one file a user can copy, and its writes are transactions. Every change an indexing run makes — new,
changed and removed documents — is one ``BEGIN IMMEDIATE … COMMIT``: a crash, Ctrl-C or a bad file
leaves the index exactly as it was before the run (SQLite's journal rolls back a torn transaction), and
readers keep reading the previous state meanwhile (WAL mode). A full ``rebuild`` writes a new database
beside the old one and renames it over, so even a rebuild is never seen half done.

Layout (``SCHEMA_VERSION``): ``meta`` (settings the chunks were made with), ``documents`` (one row per
file or JSONL record: its id, source, sha256, size, mtime), ``chunks`` (position and size of each chunk)
and ``chunks_fts`` (the chunk text and its document title, rowid = ``chunks.id``; Porter stemming over
``unicode61`` so "indexing" finds "indexed"). Incremental: a file whose size and mtime are unchanged is
not read again; one whose bytes hash the same is not re-chunked; a changed one is replaced whole; a file
gone from an indexed folder (or a record gone from a JSONL file) is deleted.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from integrations.rerank.chunking import DEFAULT_CHUNK_TOKENS, DEFAULT_OVERLAP_TOKENS, chunk_text
from integrations.rerank.documents import SourceDocument, Skip, iter_folder, iter_jsonl_documents
from integrations.rerank.errors import SearchIndexError
from integrations.rerank.tokens import Tokenizer

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY,
    doc_id TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL DEFAULT 0,
    n_tokens INTEGER NOT NULL,
    indexed_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_source ON documents(source);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    document INTEGER NOT NULL REFERENCES documents(id),
    ordinal INTEGER NOT NULL,
    start_token INTEGER NOT NULL,
    n_tokens INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_document ON chunks(document);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(text, title, tokenize = 'porter unicode61 remove_diacritics 2');
"""

# Title matches count double: a file named after the query, or a record whose title is the query, is a strong signal.
_BM25_WEIGHTS = (1.0, 2.0)


@dataclass(frozen=True)
class Hit:
    """One chunk found by the keyword stage. ``bm25`` is FTS5's score negated: higher is better."""

    chunk_id: int
    doc_id: str
    ordinal: int
    text: str
    title: str
    source: str
    bm25: float
    bm25_rank: int  # 1-based position in the keyword ranking


@dataclass
class IndexReport:
    """What one indexing run did. ``skipped`` lists (path or path:line, reason) of everything not indexed."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    chunks: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
            "chunks": self.chunks,
            "skipped": len(self.skipped),
            "skipped_reasons": [{"path": p, "reason": r} for p, r in self.skipped],
            "seconds": round(self.seconds, 3),
        }


class SearchIndex:
    """An FTS5 index file. ``SearchIndex.open(path)`` for searching, ``SearchIndex.create(path)`` to (re)index."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(cls, path: str | Path) -> "SearchIndex":
        """An existing index; SearchIndexError when it is missing, not an index, damaged or too new."""
        path = Path(path)
        if not path.is_file():
            raise SearchIndexError(path, "no search index here", hint=f"build one: pawflow search index DIR_OR_JSONL --db {path}")
        index = cls(path, _connect(path))
        index._check()
        return index

    @classmethod
    def create(cls, path: str | Path, *, chunk_tokens: int = DEFAULT_CHUNK_TOKENS, overlap: int = DEFAULT_OVERLAP_TOKENS,
               base_name: str = "") -> "SearchIndex":
        """Open for writing, creating the file and its tables when missing.

        An existing file must be a compatible index made with the same chunking (so chunks stay comparable);
        anything else is refused rather than overwritten — use :func:`rebuild` to start over.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not path.exists() or path.stat().st_size == 0
        index = cls(path, _connect(path))
        if fresh:
            # One script, one transaction: the tables and the settings they were made with appear together.
            settings = {"schema_version": SCHEMA_VERSION, "chunk_tokens": str(int(chunk_tokens)), "overlap": str(int(overlap)),
                        "tokenizer": base_name}
            inserts = "".join(f"INSERT OR REPLACE INTO meta(key, value) VALUES ({_quote(k)}, {_quote(v)});\n" for k, v in settings.items())
            try:
                index._db.executescript(f"BEGIN IMMEDIATE;\n{_SCHEMA}\n{inserts}COMMIT;")
            except sqlite3.DatabaseError as exc:
                index.close()
                raise _damaged(path, exc) from exc
        index._check()
        built = (index.setting("chunk_tokens"), index.setting("overlap"))
        if built != (str(chunk_tokens), str(overlap)):
            index.close()
            raise SearchIndexError(
                path,
                f"was built with chunks of {built[0]} tokens (overlap {built[1]}), not {chunk_tokens} (overlap {overlap})",
                hint="index with the same --chunk-tokens/--overlap, or start over with --rebuild",
            )
        return index

    def _check(self) -> None:
        try:
            tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
            if not {"meta", "documents", "chunks", "chunks_fts"} <= tables:
                raise SearchIndexError(self.path, "is an SQLite database but not a pawflow search index",
                                       hint="point --db at an index built by `pawflow search index`, or at a new file")
            version = self.setting("schema_version")
        except sqlite3.DatabaseError as exc:
            raise _damaged(self.path, exc) from exc
        if version != SCHEMA_VERSION:
            raise SearchIndexError(self.path, f"index format {version!r}, this pawflow reads {SCHEMA_VERSION!r}",
                                   hint="rebuild it with `pawflow search index ... --rebuild`")

    def setting(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "SearchIndex":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ reading

    def search(self, fts_query: str, *, limit: int = 30) -> list[Hit]:
        """Chunks matching an FTS5 query (see :mod:`integrations.rerank.query`), best BM25 first."""
        sql = (
            "SELECT c.id, d.doc_id, c.ordinal, f.text, f.title, d.source, bm25(chunks_fts, ?, ?) AS score "
            "FROM chunks_fts AS f JOIN chunks AS c ON c.id = f.rowid JOIN documents AS d ON d.id = c.document "
            "WHERE chunks_fts MATCH ? ORDER BY score, c.id LIMIT ?"
        )
        try:
            rows = self._db.execute(sql, (*_BM25_WEIGHTS, fts_query, int(limit))).fetchall()
        except sqlite3.OperationalError as exc:
            if "fts5" in str(exc).lower() or "syntax" in str(exc).lower():
                raise SearchIndexError(self.path, f"the keyword query {fts_query!r} was refused by FTS5: {exc}") from exc
            raise _damaged(self.path, exc) from exc
        except sqlite3.DatabaseError as exc:
            raise _damaged(self.path, exc) from exc
        return [Hit(chunk_id=r[0], doc_id=r[1], ordinal=r[2], text=r[3], title=r[4], source=r[5], bm25=-float(r[6]), bm25_rank=i)
                for i, r in enumerate(rows, 1)]

    def stats(self) -> dict:
        try:
            documents = self._db.execute("SELECT count(*), coalesce(sum(n_tokens), 0) FROM documents").fetchone()
            chunks = self._db.execute("SELECT count(*) FROM chunks").fetchone()[0]
            sources = self._db.execute("SELECT count(DISTINCT source) FROM documents").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise _damaged(self.path, exc) from exc
        return {"path": str(self.path), "documents": documents[0], "tokens": documents[1], "chunks": chunks,
                "sources": sources, "chunk_tokens": int(self.setting("chunk_tokens") or 0),
                "overlap": int(self.setting("overlap") or 0), "tokenizer": self.setting("tokenizer") or "",
                "bytes": self.path.stat().st_size}

    def doc_ids(self) -> list[str]:
        return [row[0] for row in self._db.execute("SELECT doc_id FROM documents ORDER BY doc_id")]

    # ------------------------------------------------------------------ writing

    @contextlib.contextmanager
    def _write(self) -> Iterator[None]:
        """One write transaction: everything inside lands together or not at all."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as exc:
            raise _damaged(self.path, exc) from exc
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")

    def _delete_row(self, row_id: int) -> None:
        self._db.execute("DELETE FROM chunks_fts WHERE rowid IN (SELECT id FROM chunks WHERE document = ?)", (row_id,))
        self._db.execute("DELETE FROM chunks WHERE document = ?", (row_id,))
        self._db.execute("DELETE FROM documents WHERE id = ?", (row_id,))

    def delete(self, doc_ids: list[str]) -> int:
        """Remove documents by id (one transaction); returns how many existed."""
        removed = 0
        with self._write():
            for doc_id in doc_ids:
                row = self._db.execute("SELECT id FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
                if row:
                    self._delete_row(row[0])
                    removed += 1
        return removed

    def add(self, documents: list[SourceDocument], tokenizer: Tokenizer, *, report: IndexReport | None = None) -> IndexReport:
        """Add or replace documents given in memory (one transaction)."""
        report = report or IndexReport()
        started = time.perf_counter()
        with self._write():
            for document in documents:
                self._upsert(document, tokenizer, report)
        report.seconds += time.perf_counter() - started
        return report

    def _upsert(self, document: SourceDocument, tokenizer: Tokenizer, report: IndexReport) -> None:
        row = self._db.execute("SELECT id, sha256 FROM documents WHERE doc_id = ?", (document.doc_id,)).fetchone()
        if row and row[1] == document.sha256:
            self._db.execute("UPDATE documents SET mtime_ns = ?, size = ?, source = ? WHERE id = ?",
                             (document.mtime_ns, document.size, document.source, row[0]))
            report.unchanged += 1
            return
        chunk_tokens = int(self.setting("chunk_tokens") or DEFAULT_CHUNK_TOKENS)
        overlap = int(self.setting("overlap") or DEFAULT_OVERLAP_TOKENS)
        chunks = chunk_text(document.text, tokenizer, max_tokens=chunk_tokens, overlap=overlap)
        if not chunks:
            report.skipped.append((document.origin, "no text"))
            return
        if row:
            self._delete_row(row[0])
        cursor = self._db.execute(
            "INSERT INTO documents(doc_id, source, title, sha256, size, mtime_ns, n_tokens, indexed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (document.doc_id, document.source, document.title, document.sha256, document.size, document.mtime_ns,
             sum(c.n_tokens for c in chunks), time.time()),
        )
        row_id = cursor.lastrowid
        for chunk in chunks:
            chunk_id = self._db.execute(
                "INSERT INTO chunks(document, ordinal, start_token, n_tokens) VALUES (?, ?, ?, ?)",
                (row_id, chunk.ordinal, chunk.start_token, chunk.n_tokens),
            ).lastrowid
            self._db.execute("INSERT INTO chunks_fts(rowid, text, title) VALUES (?, ?, ?)", (chunk_id, chunk.text, document.title))
        report.chunks += len(chunks)
        if row:
            report.updated += 1
        else:
            report.added += 1

    def index_path(self, target: str | Path, tokenizer: Tokenizer, *, max_file_bytes: int, prune: bool = True,
                   id_field: str = "id", text_field: str = "text", title_field: str = "title",
                   progress: Callable[[str], None] | None = None) -> IndexReport:
        """Index a folder (text, markdown, code) or a ``.jsonl`` file, incrementally, in one transaction."""
        target = Path(target)
        report = IndexReport()
        started = time.perf_counter()
        if not target.exists():
            raise SearchIndexError(target, "nothing to index here (no such file or folder)")
        if target.is_dir():
            source_key = f"dir:{target.resolve()}"
            known = {r[0]: (r[1], r[2]) for r in self._db.execute(
                "SELECT doc_id, size, mtime_ns FROM documents WHERE source = ?", (source_key,))}
            items = iter_folder(target, source_key, max_file_bytes=max_file_bytes, known=known)
        elif target.suffix.lower() == ".jsonl":
            source_key = f"jsonl:{target.resolve()}"
            known = {}
            items = iter_jsonl_documents(target, source_key, id_field=id_field, text_field=text_field, title_field=title_field,
                                         max_file_bytes=max_file_bytes)
        else:
            raise SearchIndexError(target, "cannot index this file", hint="pass a folder of text/markdown/code files, or a .jsonl file")
        seen: set[str] = set()
        with self._write():
            for item in items:
                if isinstance(item, Skip):
                    if item.doc_id is not None:
                        seen.add(item.doc_id)  # known and unchanged, or unreadable now: keep what is indexed
                        if item.reason == "unchanged":
                            report.unchanged += 1
                            continue
                    report.skipped.append((item.origin, item.reason))
                    continue
                if item.doc_id in seen:
                    report.skipped.append((item.origin, f"duplicate id {item.doc_id!r} (the first one is indexed)"))
                    continue
                seen.add(item.doc_id)
                self._upsert(item, tokenizer, report)
                if progress is not None:
                    progress(item.origin)
            if prune:
                stale = [r for r in self._db.execute("SELECT id, doc_id FROM documents WHERE source = ?", (source_key,))
                         if r[1] not in seen]
                for row_id, _ in stale:
                    self._delete_row(row_id)
                report.deleted += len(stale)
        report.seconds = time.perf_counter() - started
        return report


def rebuild(path: str | Path, build: Callable[[SearchIndex], None], **create_options) -> None:
    """Build a new index in a temporary file beside ``path`` and rename it over ``path`` only when done."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.rebuild")
    for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        leftover.unlink(missing_ok=True)
    try:
        index = SearchIndex.create(tmp, **create_options)
        try:
            build(index)
            index._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            index.close()
        for stale in (Path(f"{path}-wal"), Path(f"{path}-shm")):
            stale.unlink(missing_ok=True)
        os.replace(tmp, path)
    finally:
        for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            leftover.unlink(missing_ok=True)


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _connect(path: Path) -> sqlite3.Connection:
    try:
        connection = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
    except sqlite3.DatabaseError as exc:
        raise _damaged(path, exc) from exc
    return connection


def _damaged(path: Path, exc: Exception) -> SearchIndexError:
    return SearchIndexError(path, f"is damaged or not a search index ({exc})",
                            hint=f"rebuild it: pawflow search index DIR_OR_JSONL --db {path} --rebuild")

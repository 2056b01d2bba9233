"""Where documents come from: a folder of text, markdown and code files, or a JSONL file of records.

Reading never crashes on a bad document and never hides one: each file or line that cannot be indexed
— binary, not UTF-8, larger than the size cap, empty, a JSONL line that is not JSON or has no text —
comes out as a :class:`Skip` with the reason, and the indexer reports the count and the reasons. A file
whose size and mtime match what the index already holds comes out as ``Skip(reason="unchanged")``
without being read, which is what makes re-indexing a large folder cheap.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# What a folder index reads: prose, markup and source code. Anything else (images, archives, data dumps)
# is left alone without being opened.
TEXT_SUFFIXES = frozenset(
    ".txt .text .md .markdown .rst .adoc .org .tex .log "
    ".py .pyi .ipynb .js .mjs .cjs .ts .tsx .jsx .go .rs .java .kt .kts .scala .c .h .cc .cpp .cxx .hpp .hh .cs .fs "
    ".rb .php .pl .pm .lua .r .jl .swift .m .mm .dart .ex .exs .erl .hs .ml .clj .el .vim .zig .nim .sol "
    ".sh .bash .zsh .fish .ps1 .bat .sql .graphql .proto .cmake .gradle "
    ".yaml .yml .toml .ini .cfg .conf .json .xml .html .htm .css .scss .less .vue .svelte".split()
)
TEXT_NAMES = frozenset({"README", "LICENSE", "NOTICE", "CHANGELOG", "Makefile", "Dockerfile", "Jenkinsfile", "Procfile"})
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", ".mypy_cache", ".pytest_cache",
                          ".tox", "build", "dist", ".idea", ".vscode"})

DEFAULT_MAX_FILE_BYTES = 8 << 20


@dataclass(frozen=True)
class SourceDocument:
    """One document to index: a file, or one JSONL record."""

    doc_id: str
    text: str
    title: str
    source: str  # "dir:<root>" or "jsonl:<file>": what a re-index of that root/file may prune
    origin: str  # where to point a person: the file path, or file:line
    sha256: str
    size: int
    mtime_ns: int = 0


@dataclass(frozen=True)
class Skip:
    """A document that was not (re)indexed, and why. ``doc_id`` is set when the index may already hold it."""

    origin: str
    reason: str
    doc_id: str | None = None


def decode_text(data: bytes) -> tuple[str | None, str]:
    """(text, "") for UTF-8 text; (None, reason) for binary or other encodings."""
    if b"\x00" in data[:8192]:
        return None, "binary (NUL bytes)"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); convert it to UTF-8 to index it"
    return text.lstrip("\ufeff"), ""


def _is_text_name(path: Path) -> bool:
    return path.suffix.lower() in TEXT_SUFFIXES or path.name in TEXT_NAMES


def iter_folder(root: Path, source: str, *, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
                known: dict[str, tuple[int, int]] | None = None) -> Iterator[SourceDocument | Skip]:
    """Every text/markdown/code file under ``root`` (hidden and build folders skipped, links not followed).

    ``doc_id`` is the path relative to ``root``'s parent (so it starts with the folder's own name). ``known``
    maps doc ids already indexed to (size, mtime_ns): a file matching both is not read.
    """
    known = known or {}
    root = root.resolve()
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
        for name in sorted(files):
            path = Path(folder) / name
            if name.startswith(".") or not _is_text_name(path) or path.is_symlink():
                continue
            doc_id = path.relative_to(root.parent).as_posix()
            try:
                stat = path.stat()
            except OSError as exc:
                yield Skip(str(path), f"cannot read ({exc.strerror})", doc_id)
                continue
            if known.get(doc_id) == (stat.st_size, stat.st_mtime_ns):
                yield Skip(str(path), "unchanged", doc_id)
                continue
            if stat.st_size > max_file_bytes:
                yield Skip(str(path), f"{stat.st_size / 2**20:.1f} MB, over the {max_file_bytes / 2**20:.0f} MB limit "
                                      "(raise --max-file-mb, or split the file)", doc_id)
                continue
            try:
                data = path.read_bytes()
            except OSError as exc:
                yield Skip(str(path), f"cannot read ({exc.strerror})", doc_id)
                continue
            text, why = decode_text(data)
            if text is None:
                yield Skip(str(path), why, doc_id)
                continue
            if not text.strip():
                yield Skip(str(path), "empty")
                continue
            yield SourceDocument(doc_id=doc_id, text=text, title=doc_id, source=source, origin=str(path),
                                 sha256=hashlib.sha256(data).hexdigest(), size=stat.st_size, mtime_ns=stat.st_mtime_ns)


def iter_jsonl_documents(path: Path, source: str, *, id_field: str = "id", text_field: str = "text", title_field: str = "title",
                         max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Iterator[SourceDocument | Skip]:
    """One document per JSONL line: ``{"id": ..., "text": ..., "title": ...}`` (field names configurable).

    A line without an id gets ``<file stem>:<line>``. ``max_file_bytes`` caps each record's text, not the file.
    """
    try:
        handle = path.open("rb")
    except OSError as exc:
        yield Skip(str(path), f"cannot read ({exc.strerror})")
        return
    with handle:
        for number, raw in enumerate(handle, 1):
            origin = f"{path}:{number}"
            if not raw.strip():
                continue
            if len(raw) > max_file_bytes:
                yield Skip(origin, f"record of {len(raw) / 2**20:.1f} MB, over the {max_file_bytes / 2**20:.0f} MB limit")
                continue
            line, why = decode_text(raw)
            if line is None:
                yield Skip(origin, why)
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield Skip(origin, f"not valid JSON ({exc.msg})")
                continue
            if not isinstance(record, dict):
                yield Skip(origin, f"a JSON {type(record).__name__}, expected an object with a {text_field!r} field")
                continue
            text = record.get(text_field)
            if not isinstance(text, str) or not text.strip():
                yield Skip(origin, f"no {text_field!r} text")
                continue
            raw_id = record.get(id_field)
            doc_id = str(raw_id) if isinstance(raw_id, (str, int)) and str(raw_id) else f"{path.stem}:{number}"
            title = record.get(title_field)
            title = title if isinstance(title, str) else ""
            digest = hashlib.sha256(f"{title}\x00{text}".encode()).hexdigest()
            yield SourceDocument(doc_id=doc_id, text=text, title=title, source=source, origin=origin, sha256=digest,
                                 size=len(raw))

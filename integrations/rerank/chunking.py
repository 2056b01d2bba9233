"""Cutting documents into chunks measured in the interpreter's tokens.

Why by tokens: a chunk is what the reranker reads, and the reranker's cost and its context are counted
in tokens. A character budget would give code (many short tokens) chunks several times more expensive
than prose. Why by paragraphs first: a chunk that ends mid-sentence reads worse to both BM25 (phrases
split) and the model, so paragraphs (blank-line separated blocks; for code, blocks between blank lines)
are packed greedily and only a paragraph longer than the budget is split, at token boundaries, with
``overlap`` tokens repeated so a sentence cut in two is whole in one of the chunks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from integrations.rerank.tokens import Tokenizer

DEFAULT_CHUNK_TOKENS = 96
DEFAULT_OVERLAP_TOKENS = 16

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n+")


@dataclass(frozen=True)
class Chunk:
    ordinal: int  # position in its document, from 0
    text: str
    start_token: int  # offset of the chunk's first token in the document's token sequence (approximate across paragraphs)
    n_tokens: int


def paragraphs(text: str) -> list[str]:
    """Blank-line separated blocks, stripped, empty ones dropped."""
    return [block.strip() for block in _PARAGRAPH_BREAK.split(text) if block.strip()]


def chunk_text(
    text: str,
    tokenizer: Tokenizer,
    *,
    max_tokens: int = DEFAULT_CHUNK_TOKENS,
    overlap: int = DEFAULT_OVERLAP_TOKENS,
) -> list[Chunk]:
    """Pack paragraphs into chunks of at most ``max_tokens`` tokens; ``max_tokens=0`` keeps the text whole."""
    text = text.strip()
    if not text:
        return []
    if max_tokens <= 0:
        return [Chunk(ordinal=0, text=text, start_token=0, n_tokens=tokenizer.count(text))]
    if not 0 <= overlap < max_tokens:
        raise ValueError(f"overlap ({overlap}) must be between 0 and max_tokens ({max_tokens}) - 1")
    chunks: list[Chunk] = []
    pending: list[str] = []
    pending_tokens = 0
    pending_start = 0
    position = 0

    def flush() -> None:
        nonlocal pending, pending_tokens
        if pending:
            chunks.append(Chunk(len(chunks), "\n\n".join(pending), pending_start, pending_tokens))
        pending, pending_tokens = [], 0

    for block in paragraphs(text):
        ids = tokenizer.encode(block)
        # "\n\n" between packed paragraphs costs about one token; counted so a chunk never exceeds the budget.
        joint = 1 if pending else 0
        if pending_tokens + joint + len(ids) <= max_tokens:
            if not pending:
                pending_start = position
            pending.append(block)
            pending_tokens += joint + len(ids)
        elif len(ids) <= max_tokens:
            flush()
            pending, pending_tokens, pending_start = [block], len(ids), position
        else:
            flush()
            step = max_tokens - overlap
            for offset in range(0, len(ids), step):
                window = ids[offset : offset + max_tokens]
                piece = tokenizer.decode(window).strip()
                if piece:
                    chunks.append(Chunk(len(chunks), piece, position + offset, len(window)))
                if offset + max_tokens >= len(ids):
                    break
        position += len(ids) + 1
    flush()
    return chunks

"""Token counting and cutting with the interpreter's own tokenizer.

Chunks and reranker windows are measured in the tokens the interpreter will actually evaluate, not in
characters: a 64-token window is 64 tokens of cost on the model whatever the language or the amount of
code punctuation in it. The tokenizer is the base GGUF's vocabulary loaded *vocab-only* through
:func:`pawflow.backends.llamacpp_build.open_llama` (no weights, a few MB, milliseconds), so indexing
never loads the model and cuts match the runtime's tokenization exactly.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from pawflow.config import Settings, load_settings


@dataclass(frozen=True)
class Cut:
    """A text cut to at most ``limit`` tokens; ``truncated`` says whether anything was dropped."""

    text: str
    tokens: int  # tokens kept
    total: int  # tokens in the original
    truncated: bool


class Tokenizer:
    """The base model's tokenizer. Thread-safe (llama.cpp's tokenizer is called under a lock)."""

    def __init__(self, base_path: Path) -> None:
        from pawflow.backends.llamacpp import close_at_exit
        from pawflow.backends.llamacpp_build import open_llama

        from llama_cpp._utils import suppress_stdout_stderr

        self.base_path = Path(base_path)
        # llama-cpp-python still makes a (tiny) context for a vocab-only model, and llama.cpp warns on
        # stderr that its size exceeds the vocabulary's "training context" of 0: noise on every CLI call.
        with suppress_stdout_stderr(disable=False):
            self._llm = close_at_exit(open_llama(self.base_path, vocab_only=True, n_ctx=64, n_batch=64, verbose=False))
        self._lock = threading.Lock()

    @classmethod
    def for_settings(cls, settings: Settings | None = None) -> "Tokenizer":
        """The tokenizer of the configured base (one per base per process)."""
        path = (settings or load_settings()).base_path()
        with _CACHE_LOCK:
            tokenizer = _CACHE.get(path)
            if tokenizer is None:
                tokenizer = _CACHE[path] = cls(path)
            return tokenizer

    def encode(self, text: str) -> list[int]:
        if not text:
            return []
        with self._lock:
            return self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)

    def decode(self, tokens: list[int]) -> str:
        if not tokens:
            return ""
        with self._lock:
            return self._llm.detokenize(tokens).decode("utf-8", errors="ignore")

    def count(self, text: str) -> int:
        return len(self.encode(text))

    def cut(self, text: str, limit: int) -> Cut:
        """The longest prefix of ``text`` within ``limit`` tokens, cut at a token boundary."""
        ids = self.encode(text)
        if len(ids) <= limit:
            return Cut(text=text, tokens=len(ids), total=len(ids), truncated=False)
        kept = self.decode(ids[:limit]).rstrip()
        return Cut(text=kept, tokens=limit, total=len(ids), truncated=True)

    def close(self) -> None:
        self._llm.close()


_CACHE: dict[Path, Tokenizer] = {}
_CACHE_LOCK = threading.Lock()

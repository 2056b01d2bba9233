"""Interpreter rows tokenized exactly as pawflow's llama.cpp runtime tokenizes them.

A program's prompt template is split at the input placeholder: the *prefix* (chat preamble +
pseudo-program) is tokenized with special tokens parsed, the input without (so an input cannot inject
turn markers), the *suffix* (end of the user turn, start of the answer) with them. The target is the
output's tokens plus the end-of-turn token — the loss of eq. 4 covers exactly those. Tokenizing with
llama.cpp's own vocabulary (opened through ``open_llama(vocab_only=True)``, no weights) keeps torch
training and llama.cpp inference on the same token ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pawflow.errors import CompileError, ProgramFormatError
from pawflow.program import split_template
from pawflow.prompting import format_output
from pawflow.source import Example


class InterpreterVocab:
    """llama.cpp's tokenizer for the interpreter base (weights not loaded)."""

    def __init__(self, base_path: Path) -> None:
        import llama_cpp

        from pawflow.backends.llamacpp import close_at_exit
        from pawflow.backends.llamacpp_build import open_llama

        self._lib = llama_cpp
        self.llm = close_at_exit(open_llama(base_path, vocab_only=True, verbose=False))
        self._vocab = llama_cpp.llama_model_get_vocab(self.llm.model)
        eot = llama_cpp.llama_vocab_eot(self._vocab)
        self.eot = int(eot) if eot >= 0 else int(llama_cpp.llama_vocab_eos(self._vocab))

    def tokenize(self, text: str, *, special: bool) -> list[int]:
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=special) if text else []

    def is_eog(self, token: int) -> bool:
        return bool(self._lib.llama_vocab_is_eog(self._vocab, token))

    def detokenize(self, tokens: Sequence[int]) -> str:
        return self.llm.detokenize(list(tokens)).decode("utf-8", errors="ignore")


@lru_cache(maxsize=4)
def _vocab(path: str, mtime_ns: int) -> InterpreterVocab:
    return InterpreterVocab(Path(path))


def interpreter_vocab(base_path: Path) -> InterpreterVocab:
    base_path = Path(base_path)
    return _vocab(str(base_path.resolve()), base_path.stat().st_mtime_ns)


@dataclass(frozen=True)
class EncodedRow:
    body: list[int]  # input + suffix tokens
    target: list[int]  # output + end-of-turn: the only tokens with a loss


@dataclass(frozen=True)
class EncodedProgram:
    """One spec's prompt (prefix) and any number of rows on top of it."""

    prefix: list[int]
    suffix: list[int]
    rows: list[EncodedRow]


def encode_program(template: str, rows: Sequence[Example], vocab: InterpreterVocab, *, max_row_tokens: int) -> EncodedProgram:
    """Tokenize ``template``'s prefix/suffix and each row; over-long inputs are cut from the left."""
    try:
        prefix_text, suffix_text = split_template(template, "prompt template")
    except ProgramFormatError as exc:
        raise CompileError(exc.message) from exc
    prefix = vocab.tokenize(prefix_text, special=True)
    suffix = vocab.tokenize(suffix_text, special=True)
    encoded = []
    for row in rows:
        target = vocab.tokenize(format_output(row.output), special=False) + [vocab.eot]
        room = max(1, max_row_tokens - len(target) - len(suffix))
        body = vocab.tokenize(row.input, special=False)[-room:] + suffix
        encoded.append(EncodedRow(body=body, target=target))
    return EncodedProgram(prefix=prefix, suffix=suffix, rows=encoded)

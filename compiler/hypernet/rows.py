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
from pathlib import Path

from pawflow.errors import CompileError, ProgramFormatError
from pawflow.program import split_template
from pawflow.prompting import format_output
from pawflow.source import Example

from compiler.vocab import Vocab, get_vocab


def interpreter_vocab(base_path: Path) -> Vocab:
    """The interpreter's tokenizer, shared with the fit stack (one cached llama.cpp vocab per base)."""
    return get_vocab(base_path)


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


def encode_program(template: str, rows: Sequence[Example], vocab: Vocab, *, max_row_tokens: int) -> EncodedProgram:
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

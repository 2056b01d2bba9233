"""llama.cpp's tokenizer for a base, and training rows encoded exactly as the runtime encodes them.

Why: an adapter is only as good as the agreement between what it was trained on and what the runtime
feeds it. So every row is tokenized by llama.cpp's own tokenizer (vocab only, no weights): the input
with special tokens *not* parsed (an input cannot inject turn markers), the template's suffix with
special tokens parsed, then the output and the end-of-turn token. Labels are scored over the token
sequences the runtime scores (end-of-turn appended only to a label that prefixes another).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pawflow.errors import CompileError
from pawflow.program import JsonOutput, LabelsOutput, TextOutput

OutputType = LabelsOutput | TextOutput | JsonOutput
TrainPair = tuple[str, str]  # (input, output text exactly as the program should emit it)


class Vocab:
    """llama.cpp's tokenizer for a base (weights not loaded), used exactly as the runtime uses it."""

    def __init__(self, base_path: Path) -> None:
        import llama_cpp

        from pawflow.backends.llamacpp import close_at_exit
        from pawflow.backends.llamacpp_build import open_llama

        self._lib = llama_cpp
        # Through the runtime's loader, as every llama.cpp model here (the AMX build check lives there).
        self.llm = close_at_exit(open_llama(base_path, vocab_only=True, verbose=False))
        self._vocab = llama_cpp.llama_model_get_vocab(self.llm.model)
        eot = llama_cpp.llama_vocab_eot(self._vocab)
        self.eot = int(eot) if eot >= 0 else int(llama_cpp.llama_vocab_eos(self._vocab))

    def tokenize(self, text: str, *, special: bool) -> list[int]:
        if not text:
            return []
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=special)

    def is_eog(self, token: int) -> bool:
        return bool(self._lib.llama_vocab_is_eog(self._vocab, token))

    def detokenize(self, tokens: Sequence[int]) -> str:
        return self.llm.detokenize(list(tokens)).decode("utf-8", errors="ignore")


@lru_cache(maxsize=4)
def _vocab(path_str: str, mtime_ns: int) -> Vocab:
    return Vocab(Path(path_str))


def get_vocab(base_path: Path) -> Vocab:
    return _vocab(str(Path(base_path).resolve()), Path(base_path).stat().st_mtime_ns)


def label_sequences(labels: Sequence[str], vocab: Vocab) -> dict[str, list[int]]:
    """Token sequences the runtime scores per label: end-of-turn only where one label prefixes another."""
    seqs = {label: vocab.tokenize(label, special=False) for label in labels}
    for label, seq in list(seqs.items()):
        if not seq:
            raise CompileError(f"label {label!r} tokenizes to nothing")
        if any(other != label and seqs[other][: len(seq)] == seq for other in labels):
            seqs[label] = seq + [vocab.eot]
    return seqs


@dataclass(frozen=True)
class EncodedRow:
    """One example after the shared prefix: its body and one or more target segments.

    Training rows have one segment (output + end-of-turn). Label-scoring rows carry one segment per
    label; the segments share the body's computation and never see each other (see compiler.torch_passes.PrefixRunner).
    """

    body: list[int]  # input + suffix tokens
    targets: tuple[list[int], ...]  # the only tokens with a loss / a score



def encode_rows(
    pairs: Sequence[TrainPair], vocab: Vocab, suffix: str, split: str, max_tokens: int, prefix_len: int
) -> list[EncodedRow]:
    suffix_tokens = vocab.tokenize(suffix, special=True)
    rows = []
    for index, (text, output) in enumerate(pairs):
        if not isinstance(text, str) or not isinstance(output, str):
            raise CompileError(f"{split} row {index}: input and output must be strings (format JSON outputs first)")
        body = vocab.tokenize(text, special=False) + suffix_tokens
        if not body:
            raise CompileError("the prompt template has nothing after {INPUT_PLACEHOLDER} and the input is empty")
        target = vocab.tokenize(output, special=False) + [vocab.eot]
        total = prefix_len + len(body) + len(target)
        if total > max_tokens:
            raise CompileError(
                f"{split} row {index} needs {total} tokens (prefix {prefix_len}), over max_seq_tokens={max_tokens}",
                hint="shorten the pseudo-program or the example, or raise max_seq_tokens",
            )
        rows.append(EncodedRow(body=body, targets=(target,)))
    return rows


def check_outputs(output_type: OutputType, pairs: Sequence[TrainPair], split: str) -> None:
    if isinstance(output_type, LabelsOutput):
        allowed = set(output_type.labels)
        for index, (_, output) in enumerate(pairs):
            if output not in allowed:
                raise CompileError(f"{split} row {index}: output {output!r} is not one of the labels {output_type.labels}")


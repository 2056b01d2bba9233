"""Many inputs of one program through llama.cpp together: one ``llama_decode`` for a whole chunk.

How a chunk of inputs of one program is decoded (the program's prefix already sits in sequence 0):

* every input gets its own sequences, which first *share* the prefix's KV cells
  (``llama_memory_seq_cp`` on a unified KV cache copies no data, it adds the sequence to the cells);
* **labels programs**: the label token sequences form a trie. Its root-to-leaf paths minus each
  label's last token are the *chains* whose logits are needed after the first token
  (``QUIET`` → ``Q``,``UI``). All inputs and all their chains go into ONE batch: an input's tokens
  carry the ids of all its chain sequences (a token may belong to several sequences), each chain's
  tokens follow in its own sequence. One decode yields every logit that exact label scoring needs, for
  every input, whatever the depth of the trie — where one input at a time needed one decode per trie
  token;
* **text/JSON programs**: the inputs are decoded together, then generation proceeds in lock-step, one
  token per live sequence per decode, each sequence with its own grammar sampler and stop strings.

The arithmetic is per sequence, so results equal one-at-a-time calls (labels exactly, confidences
to floating-point noise: tests/test_batching.py checks 1e-3 and identical texts at temperature 0).
"""

from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np


class TokenBatch:
    """A ``llama_batch`` owned by Python: positions, several sequence ids per token, output flags.

    llama.cpp's ``llama_batch_init`` allocates one small array per token for sequence ids, which
    Python would then fill element by element. Here all ids live in one block, viewed by numpy, so a
    chunk of thousands of tokens is filled with a few vectorised assignments.
    """

    def __init__(self, lib, capacity: int, width: int) -> None:  # noqa: ANN001 - the llama_cpp module
        self.capacity = capacity
        self.width = width
        self._tokens = (ctypes.c_int32 * capacity)()
        self._pos = (ctypes.c_int32 * capacity)()
        self._n_seq = (ctypes.c_int32 * capacity)()
        self._seq_store = (ctypes.c_int32 * (capacity * width))()
        self._logits = (ctypes.c_int8 * capacity)()
        pointer = ctypes.POINTER(ctypes.c_int32)
        self._seq_ptrs = (pointer * capacity)()
        base = ctypes.addressof(self._seq_store)
        for i in range(capacity):
            self._seq_ptrs[i] = ctypes.cast(base + i * width * 4, pointer)
        self.tokens = np.ctypeslib.as_array(self._tokens)
        self.pos = np.ctypeslib.as_array(self._pos)
        self.n_seq = np.ctypeslib.as_array(self._n_seq)
        self.seqs = np.ctypeslib.as_array(self._seq_store).reshape(capacity, width)
        self.output = np.ctypeslib.as_array(self._logits)
        self.struct = lib.llama_batch(
            n_tokens=0,
            token=ctypes.cast(self._tokens, ctypes.POINTER(lib.llama_token)),
            embd=None,
            pos=ctypes.cast(self._pos, ctypes.POINTER(lib.llama_pos)),
            n_seq_id=ctypes.cast(self._n_seq, ctypes.POINTER(ctypes.c_int32)),
            seq_id=ctypes.cast(self._seq_ptrs, ctypes.POINTER(ctypes.POINTER(lib.llama_seq_id))),
            logits=ctypes.cast(self._logits, ctypes.POINTER(ctypes.c_int8)),
        )
        self.n = 0
        self.n_outputs = 0

    def clear(self) -> None:
        self.n = 0
        self.n_outputs = 0

    def add(self, tokens: Sequence[int], start: int, seqs: Sequence[int], outputs: str) -> list[int]:
        """Append ``tokens`` at positions ``start..``, in sequences ``seqs``.

        ``outputs``: ``"last"`` (logits for the last token), ``"all"`` or ``"none"``. Returns the
        output-row numbers (order of outputs in this batch) of the tokens that have logits.
        """
        count = len(tokens)
        if count == 0:
            return []
        lo, hi = self.n, self.n + count
        if hi > self.capacity or len(seqs) > self.width:
            raise ValueError("batch capacity exceeded")  # the planner guarantees this never happens
        self.tokens[lo:hi] = tokens
        self.pos[lo:hi] = np.arange(start, start + count, dtype=np.int32)
        self.n_seq[lo:hi] = len(seqs)
        self.seqs[lo:hi, : len(seqs)] = np.asarray(seqs, dtype=np.int32)
        self.output[lo:hi] = 0
        if outputs == "all":
            self.output[lo:hi] = 1
            rows = list(range(self.n_outputs, self.n_outputs + count))
        elif outputs == "last":
            self.output[hi - 1] = 1
            rows = [self.n_outputs]
        else:
            rows = []
        self.n_outputs += len(rows)
        self.n = hi
        return rows


# ---------------------------------------------------------------------------------- labels


@dataclass
class LabelPlan:
    """The token sequences of a program's labels and the chains whose logits score them exactly."""

    labels: list[str]
    sequences: dict[str, list[int]]
    chains: list[list[int]]  # token paths evaluated after the input, one sequence each
    # label -> [(chain index, position in chain)] giving the logits row for each token after the first
    lookups: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    @classmethod
    def build(cls, labels: Sequence[str], tokenize: Callable[[str], list[int]], end_of_turn: int) -> "LabelPlan":
        sequences = {label: tokenize(label) for label in labels}
        for label, seq in sequences.items():
            if not seq:
                raise ValueError(f"label {label!r} tokenizes to nothing")
        # A label that is a prefix of another is scored with end-of-turn appended, so "AL" and
        # "ALERT" stay distinct outcomes.
        for label in labels:
            seq = sequences[label]
            if any(other != label and sequences[other][: len(seq)] == seq for other in labels):
                sequences[label] = seq + [end_of_turn]
        heads = sorted({tuple(seq[:-1]) for seq in sequences.values() if len(seq) > 1}, key=lambda h: (-len(h), h))
        chains: list[list[int]] = []
        for head in heads:
            if not any(tuple(chain[: len(head)]) == head for chain in chains):
                chains.append(list(head))
        lookups: dict[str, list[tuple[int, int]]] = {}
        for label, seq in sequences.items():
            found = []
            for depth in range(1, len(seq)):
                head = seq[:depth]
                chain = next(i for i, c in enumerate(chains) if c[:depth] == head)
                found.append((chain, depth - 1))
            lookups[label] = found
        return cls(labels=list(labels), sequences=sequences, chains=chains, lookups=lookups)

    @property
    def width(self) -> int:
        """Sequences per input: one per chain (at least one, the input's own)."""
        return max(1, len(self.chains))

    @property
    def chain_tokens(self) -> int:
        return sum(len(chain) for chain in self.chains)

    def score(self, first: np.ndarray, chain_rows: list[list[np.ndarray]]) -> dict[str, float]:
        """Normalised log-probability of every label from the input's last log-probs and its chains'."""
        acc = {}
        for label, seq in self.sequences.items():
            total = float(first[seq[0]])
            for (chain, position), token in zip(self.lookups[label], seq[1:]):
                total += float(chain_rows[chain][position][token])
            acc[label] = total
        top = max(acc.values())
        norm = math.log(sum(math.exp(v - top) for v in acc.values())) + top
        return {label: acc[label] - norm for label in self.labels}


def log_softmax_rows(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax in float64 (the old per-call path's precision)."""
    rows = logits.astype(np.float64)
    top = rows.max(axis=1, keepdims=True)
    return rows - (top + np.log(np.exp(rows - top).sum(axis=1, keepdims=True)))

"""Noisy-channel label scoring on llama.cpp: log P(input | label's document) for every label.

Why: direct scoring asks a small base to *answer* with a label after an instruction, and a 135M model
leans to one label whatever the input. Channel scoring (Min et al., "Noisy Channel Language Model
Prompting for Few-Shot Text Classification", ACL 2022) asks it what it is good at — how likely a text is —
once per label: each label has its own document (the spec as it describes that label and that label's
examples, built by ``pawflow.prompting.channel_text``), and the input is scored as that document's next item. The label
whose document explains the input best wins; a per-label bias (``LabelsOutput.bias``) is applied by the
Function afterwards, as for direct scoring.

How it is batched: each label's document is a cached prefix in sequence 0 (restored, not re-evaluated,
on later calls); the inputs of a chunk each get a sequence sharing those cells, starting one cell early
(the document's last token is re-evaluated in the input's own sequence, so its logits predict the input's
first token). One decode scores every token of every input in the chunk; an input longer than one
decode's logits budget is split across consecutive decodes of its own sequence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from pawflow.backends.base import RawOutput
from pawflow.errors import ContextLengthError
from pawflow.program import LabelsOutput, Program
from pawflow.prompting import CHANNEL_ITEM_END, channel_item

if TYPE_CHECKING:
    from pawflow.backends.llamacpp import LlamaCppBackend

MAX_INPUTS_PER_CHUNK = 32


@dataclass
class _ChannelRow:
    index: int
    body: list[int]  # the input item's tokens, then the item end
    truncated: bool = False
    seq: int = -1


def run_channel(
    backend: "LlamaCppBackend", program: Program, inputs: list[str], *, cache_prefix: bool, truncate: bool
) -> list[RawOutput]:
    """Score every input under every label's document; the label log-probabilities are normalised."""
    output = program.output
    assert isinstance(output, LabelsOutput) and output.channel is not None
    prefixes = {label: backend.tokenize_document(output.channel[label]) for label in output.labels}
    if any(not tokens for tokens in prefixes.values()):
        empty = [label for label, tokens in prefixes.items() if not tokens]
        raise ContextLengthError(f"program {program.name!r}: channel text of {empty} tokenizes to nothing")
    longest = max(len(tokens) for tokens in prefixes.values())
    end = backend.tokenize(CHANNEL_ITEM_END)
    results: list[RawOutput | None] = [None] * len(inputs)
    rows: list[_ChannelRow] = []
    for index, text in enumerate(inputs):
        body = backend.tokenize(channel_item(text))
        room = backend.settings.n_ctx - longest - len(end)
        truncated = False
        if len(body) > room:
            if not truncate or room < 1:
                needed = longest + len(body) + len(end)
                results[index] = RawOutput(
                    text="", error=f"input needs {needed} tokens of context, the interpreter has {backend.settings.n_ctx}",
                    error_code=ContextLengthError.code, input_tokens=len(body) + len(end),
                )
                continue
            body, truncated = body[:room], True
        rows.append(_ChannelRow(index=index, body=body + end, truncated=truncated))
    totals: dict[int, dict[str, float]] = {row.index: {} for row in rows}
    for label in output.labels:
        n_prefix = backend.use_prefix(
            f"{program.key}:channel:{label}", lambda label=label: prefixes[label],
            f"the channel document of label {label!r} of {program.name!r}", cache_prefix,
        )
        for group in _groups(backend, rows, n_prefix):
            for row, logprob in _score_group(backend, group, n_prefix):
                totals[row.index][label] = logprob
    for row in rows:
        scores = totals[row.index]
        top = max(scores.values())
        norm = top + float(np.log(sum(np.exp(v - top) for v in scores.values())))
        normalised = {label: value - norm for label, value in scores.items()}
        best = max(normalised, key=normalised.__getitem__)
        results[row.index] = RawOutput(
            text=best, label_logprobs=normalised, input_tokens=len(row.body), output_tokens=0, truncated=row.truncated
        )
    return [r for r in results if r is not None]


def _groups(backend: "LlamaCppBackend", rows: list[_ChannelRow], n_prefix: int):
    """Rows whose sequences fit in the KV cells (and sequence ids) together."""
    limit = min(MAX_INPUTS_PER_CHUNK, backend.max_sequences - 2)  # seq 0: the document; last: padding
    group: list[_ChannelRow] = []
    cells = 0
    for row in rows:
        need = len(row.body) + 1
        if group and (len(group) >= limit or n_prefix + cells + need > backend.kv_cells):
            yield group
            group, cells = [], 0
        group.append(row)
        cells += need
    if group:
        yield group


def _score_group(backend: "LlamaCppBackend", group: list[_ChannelRow], n_prefix: int):
    """(row, log P(row's tokens | document)) for every row of the group; decodes packed by token budget."""
    last = backend.prefix_tokens[-1]
    for seq, row in enumerate(group, start=1):
        row.seq = seq
        backend.fork_sequence(seq, keep=n_prefix - 1)
    # every row is [document's last token] + body at positions n_prefix-1..; the logits of token j
    # predict token j+1, so a row of n tokens needs n-1 outputs (all are requested, the last ignored)
    budget = max(2, min(backend.n_batch, backend.max_logit_rows))
    pieces: list[tuple[_ChannelRow, int, list[int]]] = []  # (row, offset in the full sequence, tokens)
    for row in group:
        full = [last, *row.body]
        for start in range(0, len(full), budget):
            pieces.append((row, start, full[start : start + budget]))
    sums = {row.index: 0.0 for row in group}
    batch = backend.batch
    i = 0
    while i < len(pieces):
        batch.clear()
        placed: list[tuple[_ChannelRow, int, list[int], list[int]]] = []
        used = 0
        while i < len(pieces) and used + len(pieces[i][2]) <= budget:
            row, offset, tokens = pieces[i]
            out_rows = batch.add(tokens, n_prefix - 1 + offset, [row.seq], "all")
            placed.append((row, offset, tokens, out_rows))
            used += len(tokens)
            i += 1
        backend.decode(batch)
        logits = backend.logits(batch.n_outputs)
        for row, offset, tokens, out_rows in placed:
            full_len = len(row.body) + 1
            # output k of this piece is at full position offset+k and predicts full position offset+k+1
            targets = [(out, offset + k + 1) for k, out in enumerate(out_rows) if offset + k + 1 < full_len]
            if not targets:
                continue
            rows_idx = np.fromiter((out for out, _ in targets), dtype=np.int64)
            wanted = np.fromiter((row.body[pos - 1] for _, pos in targets), dtype=np.int64)
            chosen = logits[rows_idx].astype(np.float64)
            top = chosen.max(axis=1)
            lse = top + np.log(np.exp(chosen - top[:, None]).sum(axis=1))
            sums[row.index] += float((chosen[np.arange(len(wanted)), wanted] - lse).sum())
    backend.drop_sequences([row.seq for row in group])
    return [(row, sums[row.index]) for row in group]

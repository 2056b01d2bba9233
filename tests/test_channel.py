"""Noisy-channel labels programs on the real embedded base (pawflow.backends.llamacpp_channel).

A channel program scores log P(input | label's document) per label. These tests check that the runtime
computes exactly that (against an independent llama.cpp computation), that batching and splitting a long
input across decodes change nothing, that the decision bias and the .paw format carry over, and that
programs without channel documents keep the ids they had.
"""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path

import numpy as np
import pytest

from pawflow.backends import llamacpp as llamacpp_backend
from pawflow.backends.llamacpp_build import open_llama
from pawflow.config import load_settings
from pawflow.errors import BackendError, ContextLengthError
from pawflow.function import Function
from pawflow.interpreter import Interpreter
from pawflow.program import LabelsOutput, Program
from pawflow.prompting import CHANNEL_ITEM_END, channel_item, channel_text
from tests.conftest import build_program

SPEC = "Decide whether a customer's sentence about a product is a COMPLAINT or PRAISE."
EXAMPLES = {
    "COMPLAINT": ["It broke after two days and support never answered.", "Poor sound, a waste of money."],
    "PRAISE": ["Works great, the battery lasts all week.", "Excellent quality and fast shipping, I recommend it."],
}
INPUTS = [
    "The charger stopped working within a week.",
    "I love this headset, it fits perfectly.",
    "Terrible. Returned it.",
    "Great value for the price!",
    "The case   cracked\non the first drop.",
]


def _channel_output(bias=None) -> LabelsOutput:
    docs = {label: channel_text(SPEC, label, texts) for label, texts in EXAMPLES.items()}
    return LabelsOutput(labels=list(EXAMPLES), channel=docs, bias=bias)


@pytest.fixture(scope="module")
def interp() -> Interpreter:
    interpreter = Interpreter(load_settings(n_ctx=1024))
    yield interpreter
    interpreter.close()


@pytest.fixture(scope="module")
def program(base_info, base_path: Path, tmp_path_factory) -> Program:
    built = build_program(base_info, base_path, name="ch", spec=SPEC, output=_channel_output(), examples=[])
    return Program.read(built.write(tmp_path_factory.mktemp("channel") / "ch.paw"))


def _reference_margins(base_path: Path, texts: list[str]) -> list[float]:
    """log P(text | COMPLAINT doc) - log P(text | PRAISE doc), computed with a plain llama.cpp model."""
    llm = open_llama(base_path, n_ctx=1024, n_batch=512, n_ubatch=63, flash_attn=True, n_threads=1, logits_all=True, verbose=False)
    output = _channel_output()
    margins = []
    for text in texts:
        totals = {}
        for label, doc in output.channel.items():
            prefix = llm.tokenize(doc.encode(), add_bos=True, special=False)
            body = llm.tokenize(channel_item(text).encode(), add_bos=False) + llm.tokenize(CHANNEL_ITEM_END.encode(), add_bos=False)
            llm.reset()
            llm.eval(prefix + body)
            logits = np.asarray(llm.scores[len(prefix) - 1 : len(prefix) - 1 + len(body)], dtype=np.float64)
            top = logits.max(axis=1)
            lse = top + np.log(np.exp(logits - top[:, None]).sum(axis=1))
            totals[label] = float(sum(logits[i, t] - lse[i] for i, t in enumerate(body)))
        margins.append(totals["COMPLAINT"] - totals["PRAISE"])
    return margins


def _margins(results) -> list[float]:
    return [math.log(r.scores["COMPLAINT"]) - math.log(r.scores["PRAISE"]) for r in results]


def test_channel_scores_are_the_log_likelihood_of_the_input_under_each_labels_document(program, interp, base_path):
    results = Function(program, interp).run_many(INPUTS)
    reference = _reference_margins(base_path, INPUTS)
    # the reference runs the runtime's kernels (flash attention, 63-token ubatches); with llama.cpp's
    # defaults the margins move by up to ~0.6 nats (a sum of ~10 token log-probabilities), an off-by-one
    # token by several nats
    assert np.allclose(_margins(results), reference, atol=0.05), (_margins(results), reference)
    for result in results:
        assert result.value in EXAMPLES and abs(sum(result.scores.values()) - 1.0) < 1e-9
        assert result.confidence == max(result.scores.values())
    # a clear complaint and a clear praise land where a reader puts them
    assert [r.value for r in results[:2]] == ["COMPLAINT", "PRAISE"]


def test_batched_and_split_inputs_give_what_one_call_at_a_time_gives(program, interp, monkeypatch):
    fn = Function(program, interp)
    batched = fn.run_many(INPUTS)
    single = [fn.run(text) for text in INPUTS]
    assert [r.value for r in batched] == [r.value for r in single]
    assert np.allclose(_margins(batched), _margins(single), atol=1e-3)
    # a logits budget of 5 rows per decode splits every input across several decodes of its sequence
    monkeypatch.setattr(llamacpp_backend, "LOGITS_BUDGET_BYTES", 5 * 4 * interp.backend.base_info.n_vocab)
    assert interp.backend.max_logit_rows == 5
    split = fn.run_many(INPUTS)
    assert [r.value for r in split] == [r.value for r in batched]
    assert np.allclose(_margins(split), _margins(batched), atol=1e-3)


def test_the_bias_moves_the_decision_and_is_kept_in_the_file(base_info, base_path, interp, tmp_path):
    plain = Function(build_program(base_info, base_path, name="ch-plain", spec=SPEC, output=_channel_output(), examples=[]), interp)
    margins = _margins(plain.run_many(INPUTS))
    biased_program = build_program(
        base_info, base_path, name="ch-biased", spec=SPEC, output=_channel_output(bias={"PRAISE": max(margins) + 1.0}), examples=[]
    )
    reread = Program.read(biased_program.write(tmp_path / "b.paw"))
    assert reread.output.channel == biased_program.output.channel and reread.output.bias == {"PRAISE": max(margins) + 1.0}
    assert [r.value for r in Function(reread, interp).run_many(INPUTS)] == ["PRAISE"] * len(INPUTS)


def test_an_input_longer_than_the_context_fails_alone_or_is_cut(program, interp):
    long_text = "the battery died and " * 400
    fn = Function(program, interp)
    rows = fn.run_many([INPUTS[0], long_text, INPUTS[1]], errors="return")
    assert rows[0].value == "COMPLAINT" and rows[2].value == "PRAISE"
    assert rows[1].error_code == ContextLengthError.code and "tokens of context" in rows[1].error
    with pytest.raises(ContextLengthError):
        fn.run(long_text)
    cut = fn.run_many([long_text], truncate=True)[0]
    assert cut.truncated and cut.value in EXAMPLES


def test_channel_documents_must_name_every_label():
    with pytest.raises(ValueError, match="one text per label"):
        LabelsOutput(labels=["A", "B"], channel={"A": "doc"})
    with pytest.raises(ValueError, match="unknown"):
        LabelsOutput(labels=["A", "B"], channel={"A": "x", "B": "y", "C": "z"})


def test_channel_documents_are_part_of_the_programs_identity(base_info, base_path):
    """The documents decide the answers, so they are in the id (the KV prefix cache key): two programs that
    differ only in one document never share cached state, and a program without documents has an id as if
    the field did not exist (the identity leaves an absent ``channel`` out)."""
    one = build_program(base_info, base_path, name="ch", spec=SPEC, output=_channel_output(), examples=[])
    docs = dict(_channel_output().channel)
    docs["PRAISE"] += "Lovely.\n- "
    other = build_program(base_info, base_path, name="ch", spec=SPEC, examples=[],
                          output=LabelsOutput(labels=list(EXAMPLES), channel=docs))
    plain = build_program(base_info, base_path, name="ch", spec=SPEC, examples=[], output=LabelsOutput(labels=list(EXAMPLES)))
    assert len({one.meta.program_id, other.meta.program_id, plain.meta.program_id}) == 3
    identity = plain.meta.pawflow.model_dump(mode="json", by_alias=True, exclude={"created_at"})
    assert identity["output"].pop("channel") is None
    import hashlib

    assert hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest() == plain.meta.program_id


def test_the_multi_lora_server_backend_refuses_channel_programs_clearly(program):
    from pawflow.backends.openai_lora import OpenAILoraBackend

    backend = OpenAILoraBackend.__new__(OpenAILoraBackend)  # no server needed: the refusal comes first
    with pytest.raises(BackendError, match="noisy-channel"):
        backend.run(program, ["x"])

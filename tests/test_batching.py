"""Many inputs per decode: batched calls give exactly what one-at-a-time calls give.

The backend decodes a chunk of inputs of one program together (shared prefix cells, every label
branch in the same decode, lock-step generation). These tests run the real embedded model with a real
LoRA adapter and compare against one call per input: same labels, same confidences (the backend keeps
its kernels batch-invariant, so the tolerance of 1e-3 is never approached), same texts at temperature
0, per-row errors for inputs longer than the context while the other rows are answered.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pawflow.config import load_settings
from pawflow.errors import ContextLengthError
from pawflow.function import Function
from pawflow.interpreter import Interpreter
from pawflow.program import JsonOutput, LabelsOutput, Program, TextOutput
from tests.conftest import build_program, random_adapter

N_CTX = 512  # small, so that a few hundred words overflow and rows can fail alone

WORDS = ("loss", "nan", "epoch", "CUDA", "error", "step", "checkpoint", "saved", "Traceback", "killed",
         "grad_norm", "0.31", "OOM", "worker", "timeout", "ok", "INFO", "WARNING", "lr=3e-4", "█▌")


@pytest.fixture(scope="module")
def interp() -> Interpreter:
    interpreter = Interpreter(load_settings(n_ctx=N_CTX))
    yield interpreter
    interpreter.close()


@pytest.fixture(scope="module")
def programs(base_info, base_path: Path, tmp_path_factory) -> dict[str, Program]:
    folder = tmp_path_factory.mktemp("batching")
    four = LabelsOutput(labels=["exact_match", "highly_relevant", "somewhat_relevant", "not_relevant"])
    made = {
        "labels": build_program(base_info, base_path, name="b-labels", adapter=random_adapter(base_info, seed=11)),
        "four": build_program(base_info, base_path, name="b-four", output=four, adapter=random_adapter(base_info, seed=12),
                              examples=[{"input": "a || a", "output": "exact_match"}, {"input": "a || b", "output": "not_relevant"}]),
        "text": build_program(base_info, base_path, name="b-text", output=TextOutput(), max_tokens=12,
                              adapter=random_adapter(base_info, seed=13),
                              examples=[{"input": "loss nan", "output": "alert"}, {"input": "step 3", "output": "quiet"}]),
        "json": build_program(base_info, base_path, name="b-json", max_tokens=24,
                              output=JsonOutput(json_schema={"type": "object", "properties": {"level": {"type": "string", "enum": ["low", "high"]}}, "required": ["level"]}),
                              examples=[{"input": "loss nan", "output": {"level": "high"}}, {"input": "step 3", "output": {"level": "low"}}]),
    }
    return {key: Program.read(program.write(folder / f"{key}.paw")) for key, program in made.items()}


def _one_at_a_time(fn: Function, texts: list[str]):
    return [fn.run_many([text], errors="return")[0] for text in texts]


def _same(batched, single) -> None:
    assert len(batched) == len(single)
    for b, s in zip(batched, single):
        assert (b.error is None) == (s.error is None)
        if b.error is not None:
            assert b.error_code == s.error_code == ContextLengthError.code
            continue
        assert b.value == s.value and b.text == s.text
        if s.scores is not None:
            assert max(abs(b.scores[k] - s.scores[k]) for k in s.scores) <= 1e-3


texts_strategy = st.lists(
    st.one_of(
        st.lists(st.sampled_from(WORDS), min_size=1, max_size=30).map(" ".join),
        st.lists(st.sampled_from(WORDS), min_size=300, max_size=400).map(" ".join),  # overflows N_CTX
        st.text(min_size=0, max_size=40),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=6, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=texts_strategy, kind=st.sampled_from(["labels", "four", "text"]))
def test_random_batches_equal_one_at_a_time(interp: Interpreter, programs, texts: list[str], kind: str) -> None:
    fn = Function(programs[kind], interp)
    _same(fn.run_many(texts, errors="return"), _one_at_a_time(fn, texts))


def test_json_outputs_decode_in_lockstep_with_their_own_grammars(interp: Interpreter, programs) -> None:
    fn = Function(programs["json"], interp)
    texts = ["loss is nan at step 40", "epoch 2 step 10 loss 0.3", "CUDA out of memory", "saved checkpoint"]
    batched = fn.run_many(texts)
    _same(batched, _one_at_a_time(fn, texts))
    assert all(r.value["level"] in ("low", "high") for r in batched)


def test_an_overflowing_row_fails_alone(interp: Interpreter, programs) -> None:
    fn = Function(programs["labels"], interp)
    long = " ".join(["Traceback"] * 600)
    results = fn.run_many(["loss nan", long, "step 3 ok"], errors="return")
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].error_code == "context_length_exceeded" and "tokens of context" in results[1].error
    with pytest.raises(ContextLengthError, match="input 2 of 3"):
        fn.run_many(["loss nan", long, "step 3 ok"])
    cut = fn.run_many([long], truncate=True)[0]
    assert cut.ok and cut.truncated and cut.value in programs["labels"].output.labels


def test_one_decode_scores_every_label_branch_of_a_chunk(interp: Interpreter, programs) -> None:
    fn = Function(programs["four"], interp)
    fn.run_many(["warm"])
    before = interp.stats.decodes
    results = fn.run_many([f"query {i} || document {i}" for i in range(8)])
    assert interp.stats.decodes - before == 1  # eight inputs, four multi-token labels: one llama_decode
    assert all(abs(sum(r.scores.values()) - 1.0) < 1e-6 for r in results)


def test_concurrent_callers_are_coalesced_and_answered_exactly(interp: Interpreter, programs) -> None:
    fn = Function(programs["labels"], interp)
    texts = [f"{WORDS[i % len(WORDS)]} at step {i}" for i in range(16)]
    expected = [r.scores for r in _one_at_a_time(fn, texts)]
    got: dict[int, dict] = {}
    barrier = threading.Barrier(8)

    def caller(k: int) -> None:
        barrier.wait()
        for i in range(k, len(texts), 8):
            got[i] = fn.run(texts[i]).scores

    before = interp.coalesced_batches
    threads = [threading.Thread(target=caller, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [got[i] for i in range(len(texts))] == expected
    assert interp.coalesced_batches > before  # callers that queued while the model was busy were merged


def test_the_runtime_sizes_the_context(interp: Interpreter) -> None:
    facts = interp.backend.describe()
    assert facts["kv_cells"] >= N_CTX and facts["n_seq_max"] >= 2 and facts["n_batch"] >= N_CTX // 2
    assert json.dumps(facts)  # serialisable for `pawflow info`


def test_a_calibrated_bias_moves_the_decision_and_is_stored_in_the_program(interp: Interpreter, programs, base_info,
                                                                            base_path: Path, tmp_path: Path) -> None:
    plain = Function(programs["labels"], interp)
    texts = ["loss nan", "step 3 ok", "CUDA out of memory"]
    before = plain.run_many(texts)
    label = before[0].value
    other = next(x for x in ("ALERT", "QUIET") if x != label)
    biased = build_program(base_info, base_path, name="b-biased", adapter=random_adapter(base_info, seed=11),
                           output=LabelsOutput(labels=["ALERT", "QUIET"], bias={other: 40.0}))
    reread = Program.read(biased.write(tmp_path / "biased.paw"))
    assert reread.output.bias == {other: 40.0}
    after = Function(reread, interp).run_many(texts)
    assert all(r.value == other and r.confidence > 0.99 for r in after)
    assert all(abs(sum(r.scores.values()) - 1.0) < 1e-9 for r in after)

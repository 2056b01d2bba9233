"""The hot-swapping interpreter on the real embedded model (llama.cpp, SmolLM2-135M Q4_1)."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pawflow
from pawflow.config import load_settings
from pawflow.errors import BackendError, InputTypeError
from pawflow.function import Function
from pawflow.interpreter import Interpreter
from pawflow.program import GenerationSettings, JsonOutput, LabelsOutput, Program, TextOutput

from .conftest import build_program, random_adapter


@pytest.fixture(scope="module")
def interp(base_path) -> Interpreter:
    interpreter = Interpreter(load_settings(n_ctx=2048))
    yield interpreter
    interpreter.close()


@pytest.fixture(scope="module")
def labels_fn(base_info, base_path, interp) -> Function:
    return Function(build_program(base_info, base_path, name="labels"), interp)


@pytest.fixture(scope="module")
def adapter_programs(base_info, base_path) -> tuple[Program, Program]:
    """Two text programs with different real adapters (seeded random LoRA)."""
    spec = "Continue the text with a short phrase."
    a = build_program(base_info, base_path, name="A", spec=spec, output=TextOutput(), adapter=random_adapter(base_info, 11), max_tokens=12)
    b = build_program(base_info, base_path, name="B", spec=spec, output=TextOutput(), adapter=random_adapter(base_info, 22), max_tokens=12)
    return a, b


def test_import_pawflow_does_not_import_torch_or_llama():
    code = "import sys, pawflow; print('torch' in sys.modules, 'llama_cpp' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(min_size=0, max_size=80))
def test_labels_program_only_returns_a_label(labels_fn, text):
    result = labels_fn.run(text)
    assert result.value in ("ALERT", "QUIET")
    assert result.scores is not None and set(result.scores) == {"ALERT", "QUIET"}
    assert sum(result.scores.values()) == pytest.approx(1.0, abs=1e-9)
    assert result.confidence == max(result.scores.values())


def test_labels_sharing_a_prefix_are_scored_exactly(base_info, base_path, interp):
    """'ERROR' and 'ERROR_FATAL' share tokens: the trie walk must score both, summing to 1."""
    output = LabelsOutput(labels=["ERROR", "ERROR_FATAL", "OK"])
    fn = Function(build_program(base_info, base_path, name="trie", output=output, examples=[]), interp)
    scores = fn.label_scores("disk full, writes failing")
    assert set(scores) == {"ERROR", "ERROR_FATAL", "OK"}
    assert sum(scores.values()) == pytest.approx(1.0)
    assert all(0 < p < 1 for p in scores.values())


def test_cached_prefix_gives_the_same_answers_as_the_full_prompt(labels_fn):
    inputs = ["RuntimeError: CUDA out of memory", "step 120/5000 loss=1.93", "checkpoint saved", "Killed"]
    cached = labels_fn.run_many(inputs)
    naive = labels_fn.run_many(inputs, cache_prefix=False)
    for c, n in zip(cached, naive):
        assert c.value == n.value
        for label in c.scores:
            assert c.scores[label] == pytest.approx(n.scores[label], abs=2e-3)


def test_json_program_returns_validated_data(base_info, base_path, interp):
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city", "days"],
        "additionalProperties": False,
    }
    fn = Function(
        build_program(
            base_info, base_path, name="trip", spec="Extract the destination city and the trip length in days.",
            output=JsonOutput(schema=schema),
            examples=[{"input": "Three days in Lisbon next week", "output": {"city": "Lisbon", "days": 3}}],
            max_tokens=40,
        ),
        interp,
    )
    for text in ["We fly to Osaka for 5 days", "a week in Porto", "no trip planned"]:
        value = fn(text)
        assert set(value) == {"city", "days"} and isinstance(value["city"], str) and isinstance(value["days"], int)


def test_text_program_stops_cleanly(base_info, base_path, interp):
    fn = Function(
        build_program(base_info, base_path, name="echo", spec="Repeat the input in capital letters.", output=TextOutput(), max_tokens=48),
        interp,
    )
    result = fn.run("good morning")
    assert "<|im_end|>" not in result.text and "<|im_start|>" not in result.text
    assert result.output_tokens < 48  # ended at end-of-turn, not at the token limit
    assert result.value == result.text.strip()


def test_stop_strings_cut_the_output(base_info, base_path, interp):
    program = build_program(base_info, base_path, name="count", spec="Count from one to ten in words.", output=TextOutput(), max_tokens=40)
    free = Function(program, interp).run("start").text
    words = free.split()
    assert len(words) >= 3, free
    stop = " " + words[2]  # greedy decoding is deterministic: the same text comes back, cut here
    stopped = Program.build(
        name="count-stop", base=base_info, prompt_template=program.prompt_template, pseudo_program=program.pseudo_program,
        output=TextOutput(), generation=GenerationSettings(max_tokens=40, stop=[stop]),
    )
    text = Function(stopped, interp).run("start").text
    assert text == free[: free.index(stop)]


def test_swapping_adapters_matches_fresh_interpreters(base_path, adapter_programs):
    """A, B, A, B on one interpreter == each program alone on a fresh interpreter (no stale KV reuse)."""
    a, b = adapter_programs
    inputs = {"A": "The weather today is", "B": "My favourite food is"}
    fresh = {}
    for program in (a, b):
        solo = Interpreter(load_settings(n_ctx=2048))
        fresh[program.name] = [solo.run(program, [inputs[program.name]])[0].text for _ in range(2)]
        solo.close()
    assert fresh["A"][0] == fresh["A"][1] and fresh["B"][0] == fresh["B"][1]

    shared = Interpreter(load_settings(n_ctx=2048))
    llm_before = shared.backend._model
    seen = {"A": [], "B": []}
    for program in (a, b, a, b):
        seen[program.name].append(shared.run(program, [inputs[program.name]])[0].text)
    assert seen == fresh
    assert shared.stats.swaps == 4  # every call changed adapter...
    assert shared.stats.prefix_evals == 2 and shared.stats.prefix_restores == 2  # ...and each prefix was evaluated once
    assert shared.backend._model is llm_before  # the base was never reloaded
    # the adapters really differ: the same input under A and B gives different text
    assert shared.run(a, [inputs["B"]])[0].text != shared.run(b, [inputs["B"]])[0].text
    shared.close()


def test_adapter_lru_is_bounded_and_reloads_correctly(base_info, base_path):
    interp = Interpreter(load_settings(n_ctx=2048, adapter_cache_count=2))
    programs = [
        build_program(base_info, base_path, name=f"p{i}", output=TextOutput(), adapter=random_adapter(base_info, 100 + i), max_tokens=6)
        for i in range(3)
    ]
    first = [interp.run(p, ["Once upon a time"])[0].text for p in programs]
    assert interp.stats.adapters_loaded == 3 and interp.stats.adapters_evicted == 1
    assert interp.backend.describe()["adapters_loaded"] == 2
    again = interp.run(programs[0], ["Once upon a time"])[0].text  # evicted, reloaded
    assert again == first[0]
    interp.close()


def test_threads_do_not_corrupt_each_other(adapter_programs, base_path):
    a, b = adapter_programs
    interp = Interpreter(load_settings(n_ctx=2048))
    jobs = [(a, "The weather today is"), (b, "My favourite food is"), (a, "Once upon a time"), (b, "In the beginning")]
    expected = [interp.run(p, [t])[0].text for p, t in jobs]
    results: dict[int, str] = {}

    def work(index: int) -> None:
        program, text = jobs[index % len(jobs)]
        results[index] = interp.run(program, [text])[0].text

    threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [results[i] for i in range(12)] == [expected[i % 4] for i in range(12)]
    interp.close()


def test_map_swaps_once_for_a_batch(adapter_programs, base_path):
    a, _ = adapter_programs
    interp = Interpreter(load_settings(n_ctx=2048))
    fn = Function(a, interp)
    outputs = fn.map(["one", "two", "three", "four"])
    assert len(outputs) == 4
    assert interp.stats.swaps == 1 and interp.stats.prefix_evals == 1
    interp.close()


def test_bad_input_type_is_a_clear_error(labels_fn):
    with pytest.raises(InputTypeError, match="takes text input, got int"):
        labels_fn(123)
    with pytest.raises(InputTypeError, match="list of strings"):
        labels_fn.map("a single string")
    with pytest.raises(InputTypeError, match="label_scores needs labels"):
        Function(labels_fn.program.__class__.build(
            name="t", base=labels_fn.program.meta.pawflow.base, prompt_template="{INPUT_PLACEHOLDER}"), labels_fn.interpreter).label_scores("x")


def test_input_longer_than_context_is_a_clear_error(labels_fn):
    with pytest.raises(BackendError, match="tokens of context"):
        labels_fn("word " * 5000)


def test_raw_completion_on_bare_base(interp):
    text = interp.complete("<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n", max_tokens=12)
    assert "Paris" in text


def test_load_by_name_uses_search_path(tmp_path, monkeypatch, base_info, base_path):
    build_program(base_info, base_path, name="findme").write(tmp_path / "lib" / "findme.paw")
    monkeypatch.setenv("PAWFLOW_PATH", str(tmp_path / "lib"))
    assert pawflow.load("findme").name == "findme"

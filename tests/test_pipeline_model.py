"""Pipelines on the real interpreter (llama.cpp, embedded SmolLM2-135M).

The site-navigation example runs end to end from the shipped files; a 135M model prompted with a few
examples makes mediocre decisions, so assertions check what the pipeline guarantees whatever the
model says (typed outputs, exact lookups, skipped branches, grouped calls), not the model's taste.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from pawflow.interpreter import Interpreter
from pawflow.pipeline import Pipeline, ResultCache
from pawflow.program import JsonOutput, LabelsOutput
from tests.pipeline_support import REPO, compile_site_programs

SITE = json.loads((REPO / "pipelines" / "site-navigation.site.json").read_text())["pages"]
CANNED = "Hi! I'm the Acme Cloud site guide. Ask me about pricing, the docs, jobs or how to reach us."


@pytest.fixture(scope="module")
def site_project(tmp_path_factory):
    """The five site programs compiled prompt-only into ./programs/build of a scratch project."""
    root = tmp_path_factory.mktemp("site")
    compile_site_programs(root / "programs" / "build")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.delenv("PAWFLOW_PATH", raising=False)
        yield root


def check_site_result(question: str, result) -> None:
    out = result.outputs
    trace = {t.step: t for t in result.trace}
    assert out["intent"] in ("site", "chitchat")
    assert isinstance(out["answer"], str) and out["answer"].strip()
    for step in ("intent", "page", "needs_answer", "extract", "reply"):
        if trace[step].status == "ok":
            assert trace[step].program_id and trace[step].adapter == "none" and trace[step].program.startswith("site-")
    if out["intent"] == "chitchat":
        assert out["answer"] == CANNED
        assert out["page"] is None and out["url"] is None and {"page", "url"} <= set(result.skipped)
        assert {trace[s].status for s in ("page", "page_doc", "needs_answer", "extract", "reply")} == {"skipped"}
        return
    assert trace["chat_reply"].status == "skipped"
    assert out["page"] in SITE and out["url"] == SITE[out["page"]]["url"]  # exact lookup, never invented
    assert out["answer"] == trace["reply"].outputs["value"]
    if trace["needs_answer"].outputs["value"] == "answer":
        extracted = trace["extract"].outputs["value"]
        assert trace["extract"].status == "ok" and page_text_in_prompt(trace["extract"], out["page"])
        first_line = extracted.strip().splitlines()[0].strip() if extracted.strip() else None
        assert out["fact"] == first_line  # the regex keeps the first non-blank line; null when there is none
    else:
        assert trace["extract"].status == "skipped" and out["fact"] == ""


def page_text_in_prompt(extract_trace, page: str) -> bool:
    return extract_trace.inputs["page"]["text"] == SITE[page]["text"]


@pytest.mark.slow
def test_site_navigation_end_to_end(site_project: Path) -> None:
    pipeline = Pipeline.load(REPO / "pipelines" / "site-navigation.yaml")
    assert pipeline.validate().problems == []
    stats = Interpreter.shared().stats
    questions = ["how much does the team plan cost?", "hello there, nice weather today"]

    calls_before = stats.calls
    single = pipeline.run(question=questions[0])
    check_site_result(questions[0], single)
    program_steps_run = sum(1 for t in single.trace if t.kind == "program" and t.status == "ok")
    assert stats.calls - calls_before == program_steps_run
    assert 0 < single.model_ms <= single.duration_ms

    calls_before = stats.calls
    rows = pipeline.run_batch([{"question": q} for q in questions])
    assert all(row.ok for row in rows), [row.error for row in rows]
    for question, row in zip(questions, rows):
        check_site_result(question, row.result)
    # grouping changes when calls happen, not what they return
    assert rows[0].result.outputs == single.outputs
    expected_calls = sum(1 for row in rows for t in row.result.trace if t.kind == "program" and t.status == "ok")
    assert stats.calls - calls_before == expected_calls
    batched = [t.batched for row in rows for t in row.result.trace if t.step == "intent"]
    assert batched == [2, 2]  # one grouped intent call for both rows


def _labels_program(tmp: Path, name: str, labels: list[str], seed: int) -> Path:
    from compiler.synthetic import random_lora_adapter
    from pawflow.base import inspect_base
    from pawflow.config import embedded_base_path
    from pawflow.program import CompileInfo, GenerationSettings, Program
    from pawflow.prompting import default_pseudo_program, render_template

    base_path = embedded_base_path()
    base = inspect_base(base_path)
    output = LabelsOutput(labels=labels)
    pseudo = default_pseudo_program(f"Classify the text into one of: {', '.join(labels)}.", [], output)
    return Program.build(
        name=name, base=base, prompt_template=render_template(base, pseudo, base_path=base_path),
        pseudo_program=pseudo, output=output, adapter=random_lora_adapter(base, seed, scale=0.02),
        generation=GenerationSettings(max_tokens=4), compile=CompileInfo(method="test-random-lora"),
    ).write(tmp / f"{name}.paw")


def test_grouping_swaps_adapters_once_per_program_per_level(tmp_path: Path) -> None:
    a = _labels_program(tmp_path, "tone", ["calm", "angry"], seed=11)
    b = _labels_program(tmp_path, "topic", ["money", "code", "other"], seed=12)
    text = textwrap.dedent(f"""
        name: grouped
        inputs: {{text: {{type: str}}}}
        steps:
          tone: {{kind: program, program: {a}, inputs: {{text: inputs.text}}}}
          topic: {{kind: program, program: {b}, inputs: {{text: inputs.text}}}}
          per_word:
            kind: map
            inputs: {{over: steps.words.value}}
            step: {{kind: program, program: {a}, inputs: {{text: item}}}}
          words: {{kind: python, function: tests.pipeline_steps:words, inputs: {{text: inputs.text}}}}
        outputs: {{tone: steps.tone.value, topic: steps.topic.value, per_word: steps.per_word.value}}
        """)
    pipeline = Pipeline.from_yaml_text(text)
    rows = [{"text": t} for t in ("refund my card", "build broken", "thanks")]
    stats = Interpreter.shared().stats

    swaps, calls = stats.swaps, stats.calls
    ungrouped = [pipeline.run(row).outputs for row in rows]
    ungrouped_swaps, ungrouped_calls = stats.swaps - swaps, stats.calls - calls

    swaps, calls = stats.swaps, stats.calls
    grouped = [row.result.outputs for row in pipeline.run_batch(rows)]
    grouped_swaps, grouped_calls = stats.swaps - swaps, stats.calls - calls

    assert grouped == ungrouped  # same answers...
    assert grouped_calls == ungrouped_calls == 2 * len(rows) + sum(len(r["text"].split()) for r in rows)
    # ...with tone/topic grouped in level 0 and the map's calls grouped in level 1: at most 3 swaps,
    # where row-by-row alternates adapters on nearly every call
    assert grouped_swaps <= 3
    assert ungrouped_swaps >= 2 * len(rows)
    for labels in grouped:
        assert labels["tone"] in ("calm", "angry") and labels["topic"] in ("money", "code", "other")
        assert all(label in ("calm", "angry") for label in labels["per_word"])


def test_program_results_are_cached_by_content(tmp_path: Path) -> None:
    program = _labels_program(tmp_path, "tone", ["calm", "angry"], seed=11)
    pipeline = Pipeline.from_yaml_text(textwrap.dedent(f"""
        name: cached
        inputs: {{text: {{type: str}}}}
        steps:
          tone: {{kind: program, program: {program}, inputs: {{text: inputs.text}}}}
        outputs: {{tone: steps.tone.value}}
        """))
    cache = ResultCache(tmp_path / "results")
    stats = Interpreter.shared().stats
    first = pipeline.run(text="I am furious", cache=cache)
    calls = stats.calls
    second = pipeline.run(text="I am furious", cache=cache)
    assert stats.calls == calls and second.outputs == first.outputs
    assert second.trace[0].status == "cached" and second.trace[0].program == "tone"
    pipeline.run(text="I am calm", cache=cache)
    assert stats.calls == calls + 1  # other input, other key


def test_json_program_takes_messages_and_tools_and_returns_a_message(tmp_path: Path) -> None:
    """The TOOLCALL shape: lists of dicts in, a dict message out, routed on a field of it."""
    from pawflow.base import inspect_base
    from pawflow.config import embedded_base_path
    from pawflow.program import CompileInfo, GenerationSettings, Program
    from pawflow.prompting import default_pseudo_program, render_template

    schema = {"type": "object", "properties": {"tool": {"enum": ["get_weather", "none"]}}, "required": ["tool"],
              "additionalProperties": False}
    output = JsonOutput(schema=schema)
    base_path = embedded_base_path()
    base = inspect_base(base_path)
    examples = [
        {"input": '{"messages": [{"role": "user", "content": "weather in Oslo?"}], "tools": [{"name": "get_weather"}]}',
         "output": {"tool": "get_weather"}},
        {"input": '{"messages": [{"role": "user", "content": "hi"}], "tools": [{"name": "get_weather"}]}',
         "output": {"tool": "none"}},
    ]
    pseudo = default_pseudo_program("Pick the tool the assistant should call next, or none.", examples, output)
    Program.build(name="pick-tool", base=base, prompt_template=render_template(base, pseudo, base_path=base_path),
                  pseudo_program=pseudo, output=output, generation=GenerationSettings(max_tokens=24),
                  compile=CompileInfo(method="prompt")).write(tmp_path / "pick-tool.paw")
    pipeline = Pipeline.from_yaml_text(textwrap.dedent(f"""
        name: toolcall_like
        inputs:
          messages: {{type: list}}
          tools: {{type: list}}
        steps:
          pick:
            kind: program
            program: {tmp_path / 'pick-tool.paw'}
            inputs: {{messages: inputs.messages, tools: inputs.tools}}
          act:
            kind: switch
            cases: [get_weather, none]
            inputs: {{value: steps.pick.value.tool, payload: steps.pick.value}}
          call: {{kind: template, template: "calling {{{{ m.tool }}}}", inputs: {{m: steps.act.get_weather}}}}
          reply: {{kind: template, template: "no tool needed", inputs: {{m: steps.act.none}}}}
          said: {{kind: coalesce, inputs: {{a: steps.call.value, b: steps.reply.value}}}}
        outputs: {{message: steps.pick.value, said: steps.said.value}}
        """))
    report = pipeline.validate()
    assert report.ok, [str(p) for p in report.problems]
    result = pipeline.run(messages=[{"role": "user", "content": "what's the weather in Paris?"}],
                          tools=[{"name": "get_weather", "parameters": {"city": "string"}}])
    message = result.outputs["message"]
    assert isinstance(message, dict) and message["tool"] in ("get_weather", "none")
    assert result.outputs["said"] == ("calling get_weather" if message["tool"] == "get_weather" else "no tool needed")
    sent = json.loads(result.trace[0].outputs["text"])  # the program produced JSON text, parsed into value
    assert sent == message


def test_program_step_timeout_fails_fast_and_the_interpreter_recovers(tmp_path: Path) -> None:
    import time

    from pawflow.errors import PipelineRunError

    program = _labels_program(tmp_path, "tone", ["calm", "angry"], seed=11)
    text = textwrap.dedent(f"""
        name: timed
        inputs: {{text: {{type: str}}}}
        steps:
          tone: {{kind: program, program: {program}, inputs: {{text: inputs.text}}, timeout: 0.001}}
        outputs: {{tone: steps.tone.value}}
        """)
    started = time.perf_counter()
    with pytest.raises(PipelineRunError) as info:
        Pipeline.from_yaml_text(text).run(text="a fresh sentence the prefix cache has not seen")
    assert info.value.step == "tone" and "timed out after 0.001s" in str(info.value)
    assert info.value.trace[0].status == "failed" and info.value.trace[0].program == "tone"
    untimed = Pipeline.from_yaml_text(text.replace(", timeout: 0.001", ""))
    assert untimed.run(text="calm down").outputs["tone"] in ("calm", "angry")  # waits for the abandoned call, then runs
    assert time.perf_counter() - started < 120

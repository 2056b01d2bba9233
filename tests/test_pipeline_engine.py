"""The engine on deterministic steps: branching and skipping, merging, map, nesting, concurrency,
timeouts, failure traces, per-row batch failures and the result cache."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path

import pytest

from pawflow.errors import ContextLengthError, InputTypeError, PipelineError, PipelineInputError, PipelineRunError
from pawflow.pipeline import Pipeline, ResultCache
from tests import pipeline_steps


def pipeline(text: str, tmp_path: Path | None = None, name: str = "p.yaml") -> Pipeline:
    text = textwrap.dedent(text).lstrip("\n")
    if tmp_path is None:
        return Pipeline.from_yaml_text(text)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return Pipeline.load(path)


BRANCHY = """
name: branchy
inputs:
  text: {type: str}
  score: {type: float, default: 0.2}
steps:
  grade: {kind: python, function: tests.pipeline_steps:grade, inputs: {score: inputs.score}}
  sw:
    kind: switch
    cases: [low, high]
    inputs: {value: steps.grade.value, payload: inputs.text}
  loud: {kind: python, function: tests.pipeline_steps:shout, inputs: {text: steps.sw.high}}
  louder: {kind: template, template: "{{ t }}{{ t }}", inputs: {t: steps.loud.value}}
  soft: {kind: template, template: "({{ t }})", inputs: {t: steps.sw.low}}
  merged: {kind: coalesce, inputs: {a: steps.louder.value, b: steps.soft.value}}
outputs:
  merged: steps.merged.value
  loud: steps.louder.value
  case: steps.sw.case
"""


def test_untaken_branch_is_skipped_downstream_until_it_merges() -> None:
    p = pipeline(BRANCHY)
    low = p.run(text="hi")
    assert low.outputs == {"merged": "(hi)", "loud": None, "case": "low"}
    assert low.skipped == ["loud"]
    status = {t.step: t.status for t in low.trace}
    assert status == {"grade": "ok", "sw": "ok", "loud": "skipped", "soft": "ok", "louder": "skipped", "merged": "ok"}
    assert next(t for t in low.trace if t.step == "louder").reason == "steps.loud.value was skipped"

    high = p.run(text="hi", score=0.9)
    assert high.outputs == {"merged": "HI!HI!", "loud": "HI!HI!", "case": "high"}
    assert {t.step for t in high.trace if t.status == "skipped"} == {"soft"}


def test_switch_without_matching_case_fails_naming_the_step() -> None:
    p = pipeline("""
        name: x
        inputs: {text: {type: str}}
        steps:
          sw: {kind: switch, cases: [a, b], inputs: {value: inputs.text}}
        outputs: {o: steps.sw.a}
        """)
    with pytest.raises(PipelineRunError) as info:
        p.run(text="zzz")
    assert info.value.step == "sw" and "matches no case (a, b)" in str(info.value)
    assert info.value.inputs == {"value": "zzz"}
    assert p.run(text="a").outputs == {"o": "a"}


def test_route_takes_the_first_true_condition_and_carries_all_inputs_without_payload() -> None:
    p = pipeline("""
        name: r
        inputs: {n: {type: int}, label: {type: str, default: "x"}}
        steps:
          r:
            kind: route
            inputs: {n: inputs.n, label: inputs.label}
            routes:
              - {when: "n > 10", to: big}
              - {when: "n > 5 or label == 'force'", to: mid}
            default: small
          describe: {kind: template, template: "{{ r.n }}/{{ r.label }}", inputs: {r: steps.r.mid}}
        outputs: {big: steps.r.big, mid: steps.describe.value, small: steps.r.small, case: steps.r.case}
        """)
    assert p.run(n=20).outputs == {"big": {"n": 20, "label": "x"}, "mid": None, "small": None, "case": "big"}
    assert p.run(n=7).outputs["mid"] == "7/x"
    assert p.run(n=1, label="force").outputs["case"] == "mid"
    assert p.run(n=1).outputs["case"] == "small"


def test_map_runs_inner_step_per_element_with_outer_references() -> None:
    p = pipeline("""
        name: m
        inputs: {text: {type: str}, sep: {type: str, default: "-"}}
        steps:
          words: {kind: python, function: tests.pipeline_steps:words, inputs: {text: inputs.text}}
          tagged:
            kind: map
            concurrency: 2
            inputs: {over: steps.words.value}
            step: {kind: template, template: "{{ i }}{{ s }}{{ w }}", inputs: {w: item, i: index, s: inputs.sep}}
          loud:
            kind: map
            inputs: {over: steps.tagged.value}
            step: {kind: python, function: tests.pipeline_steps:shout, inputs: {text: item}}
          first:
            kind: regex
            pattern: '^(?P<head>\\S+)'
            inputs: {text: steps.loud.value.0}
        outputs: {tagged: steps.tagged.value, loud: steps.loud.value, head: steps.first.head}
        """)
    out = p.run(text="a b c", sep=":").outputs
    assert out == {"tagged": ["0:a", "1:b", "2:c"], "loud": ["0:A!", "1:B!", "2:C!"], "head": "0:A!"}
    with pytest.raises(PipelineRunError, match="steps.loud.value.0: steps.loud.value has 0 elements") as info:
        p.run(text="")  # indexing into an empty list is an error naming the reference...
    loud = next(t for t in info.value.trace if t.step == "loud")
    assert loud.status == "ok" and loud.outputs == {"value": []}  # ...while mapping over it is fine
    trace = {t.step: t for t in p.run(text="x y").trace}
    assert trace["tagged"].items == 2


def test_nested_pipeline_outputs_become_step_outputs_and_skips_propagate(tmp_path: Path) -> None:
    pipeline(BRANCHY, tmp_path, "branchy.yaml")
    outer = pipeline("""
        name: outer
        inputs: {text: {type: str}, score: {type: float}}
        steps:
          inner: {kind: pipeline, path: branchy.yaml, inputs: {text: inputs.text, score: inputs.score}}
          after: {kind: template, template: "[{{ x }}]", inputs: {x: steps.inner.loud}}
          each:
            kind: map
            inputs: {over: steps.words.value}
            step: {kind: pipeline, path: branchy.yaml, inputs: {text: item}}
          words: {kind: python, function: tests.pipeline_steps:words, inputs: {text: inputs.text}}
        outputs: {merged: steps.inner.merged, after: steps.after.value, each: steps.each.value}
        """, tmp_path, "outer.yaml")
    high = outer.run(text="a b", score=0.7).outputs
    assert high["merged"] == "A B!A B!" and high["after"] == "[A B!A B!]"
    low = outer.run(text="a b", score=0.1)
    assert low.outputs["after"] is None and "after" in low.skipped  # inner's skipped output skips `after`
    assert low.outputs["each"] == [None, None]  # map collects each nested run's `value`: none exists


def test_independent_python_steps_run_concurrently() -> None:
    p = pipeline("""
        name: c
        inputs: {text: {type: str}}
        steps:
          a: {kind: python, function: tests.pipeline_steps:sleepy, inputs: {text: inputs.text}, params: {seconds: 0.4}}
          b: {kind: python, function: tests.pipeline_steps:sleepy, inputs: {text: inputs.text}, params: {seconds: 0.4}}
          c: {kind: python, function: tests.pipeline_steps:sleepy, inputs: {text: inputs.text}, params: {seconds: 0.4}}
          j: {kind: template, template: "{{ a }}{{ b }}{{ c }}", inputs: {a: steps.a.value, b: steps.b.value, c: steps.c.value}}
        outputs: {o: steps.j.value}
        """)
    started = time.perf_counter()
    assert p.run(text="z").outputs == {"o": "zzz"}
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, f"three 0.4 s steps in one level took {elapsed:.2f} s: not concurrent"


def test_timeout_fails_the_step_and_names_it() -> None:
    p = pipeline("""
        name: t
        inputs: {text: {type: str}}
        steps:
          slow: {kind: python, function: tests.pipeline_steps:sleepy, inputs: {text: inputs.text}, params: {seconds: 2}, timeout: 0.2}
        outputs: {o: steps.slow.value}
        """)
    started = time.perf_counter()
    with pytest.raises(PipelineRunError) as info:
        p.run(text="z")
    assert time.perf_counter() - started < 1.5
    assert info.value.step == "slow" and "timed out after 0.2s" in str(info.value)
    assert [t.status for t in info.value.trace] == ["failed"]


def test_failure_trace_names_step_inputs_and_cause() -> None:
    p = pipeline("""
        name: f
        inputs: {text: {type: str}}
        steps:
          up: {kind: python, function: tests.pipeline_steps:shout, inputs: {text: inputs.text}}
          boom: {kind: python, function: tests.pipeline_steps:explode, inputs: {text: steps.up.value}}
          after: {kind: template, template: "{{ x }}", inputs: {x: steps.boom.value}}
        outputs: {o: steps.after.value}
        """)
    with pytest.raises(PipelineRunError) as info:
        p.run(text="abc")
    err = info.value
    assert err.step == "boom" and err.inputs == {"text": "ABC!"}
    assert isinstance(err.cause, ValueError) and "cannot handle 'ABC!'" in str(err)
    assert [(t.step, t.status) for t in err.trace] == [("up", "ok"), ("boom", "failed"), ("after", "not_run")]


def test_the_cause_survives_nested_pipelines(tmp_path: Path) -> None:
    """A server must tell a context overflow deep in a nested pipeline from any other failure."""
    pipeline("""
        name: inner
        inputs: {text: {type: str}}
        steps:
          classify: {kind: python, function: tests.pipeline_steps:too_long, inputs: {text: inputs.text}}
        outputs: {label: steps.classify.value}
        """, tmp_path, "inner.yaml")
    outer = pipeline("""
        name: outer
        inputs: {text: {type: str}}
        steps:
          nested: {kind: pipeline, path: inner.yaml, inputs: {text: inputs.text}}
        outputs: {label: steps.nested.label}
        """, tmp_path, "outer.yaml")
    with pytest.raises(PipelineRunError) as info:
        outer.run(text="abc")
    assert info.value.step == "nested" and "nested>classify" in str(info.value)
    cause = info.value.root_cause()
    assert isinstance(cause, ContextLengthError) and (cause.needed, cause.limit) == (3000, 4096)
    [row] = outer.run_batch([{"text": "abcd"}])
    assert isinstance(row.exception, PipelineRunError) and isinstance(row.exception.root_cause(), ContextLengthError)
    assert "exception" not in row.model_dump()  # in-process only: batch output files stay JSON


def test_bad_inputs_are_pipeline_errors_and_input_type_errors() -> None:
    p = pipeline(BRANCHY)
    with pytest.raises(PipelineInputError) as info:
        p.run(txt="x")
    assert isinstance(info.value, PipelineError) and isinstance(info.value, InputTypeError)


def test_declared_output_type_is_enforced_at_run_time() -> None:
    p = pipeline("""
        name: w
        inputs: {text: {type: str}}
        steps:
          liar: {kind: python, function: tests.pipeline_steps:wrong_type, inputs: {text: inputs.text}}
        outputs: {o: steps.liar.value}
        """)
    with pytest.raises(PipelineRunError, match="expected int, got str"):
        p.run(text="x")


def test_inputs_are_checked_and_defaulted() -> None:
    p = pipeline(BRANCHY)
    with pytest.raises(InputTypeError, match="needs input 'text'"):
        p.run(score=0.5)
    with pytest.raises(InputTypeError, match="no input 'txt'"):
        p.run(txt="x")
    with pytest.raises(InputTypeError, match="input 'score': expected float, got str"):
        p.run(text="x", score="high")
    assert p.run(text="x", score=1).outputs["case"] == "high"  # an int is a fine float


def test_batch_failures_stay_in_their_rows() -> None:
    p = pipeline("""
        name: b
        inputs: {text: {type: str}}
        steps:
          year: {kind: regex, pattern: '(?P<y>\\d{4})', required: true, inputs: {text: inputs.text}}
          loud: {kind: python, function: tests.pipeline_steps:shout, inputs: {text: steps.year.y}}
        outputs: {o: steps.loud.value}
        """)
    rows = p.run_batch([{"text": "in 1999"}, {"text": "no year"}, {"txt": "wrong"}, {"text": "2024!"}])
    assert [r.ok for r in rows] == [True, False, False, True]
    assert rows[0].result.outputs == {"o": "1999!"} and rows[3].result.outputs == {"o": "2024!"}
    assert rows[1].failed_step == "year" and "does not match" in rows[1].error
    assert rows[2].failed_step == "(inputs)" and "no input 'txt'" in rows[2].error


def test_cache_reuses_results_and_keys_on_inputs(tmp_path: Path) -> None:
    p = pipeline("""
        name: cached
        inputs: {text: {type: str}}
        steps:
          loud: {kind: python, function: tests.pipeline_steps:shout, inputs: {text: inputs.text}, cache: true}
          plain: {kind: python, function: tests.pipeline_steps:words, inputs: {text: inputs.text}}
        outputs: {loud: steps.loud.value, words: steps.plain.value}
        """)
    cache = ResultCache(tmp_path / "results")
    before = dict(pipeline_steps.CALLS)
    first = p.run(text="once", cache=cache)
    second = p.run(text="once", cache=cache)
    third = p.run(text="twice", cache=cache)
    assert first.outputs == second.outputs == {"loud": "ONCE!", "words": ["once"]}
    assert third.outputs["loud"] == "TWICE!"
    assert pipeline_steps.CALLS["shout"] - before.get("shout", 0) == 2  # "once" computed once, "twice" once
    assert pipeline_steps.CALLS["words"] - before.get("words", 0) == 3  # not cached: no `cache: true`
    assert {t.step: t.status for t in second.trace} == {"loud": "cached", "plain": "ok"}
    entries = list((tmp_path / "results").rglob("*.json"))
    assert len(entries) == 2 and all(json.loads(e.read_text())["outputs"]["value"] for e in entries)
    assert not list((tmp_path / "results").rglob("*.tmp"))  # atomic writes leave no debris
    entries[0].write_text("{ torn")  # a corrupt entry is a miss, never a crash
    assert p.run(text="once", cache=cache).outputs["loud"] == "ONCE!"


def test_toolcall_shaped_steps_take_lists_of_dicts_and_return_a_message() -> None:
    p = pipeline("""
        name: toolcall_shape
        inputs:
          messages: {type: list}
          tools: {type: list}
        steps:
          respond:
            kind: python
            function: tests.pipeline_steps:last_user_message
            inputs: {messages: inputs.messages, tools: inputs.tools}
          text: {kind: python, function: tests.pipeline_steps:message_text, inputs: {message: steps.respond.value}}
          first_tool: {kind: template, template: "{{ m.tools[0] }}", inputs: {m: steps.respond.value}}
        outputs: {message: steps.respond.value, text: steps.text.value, tool: steps.first_tool.value, role: steps.respond.value.role}
        """)
    out = p.run(messages=[{"role": "system", "content": "s"}, {"role": "user", "content": "weather in Oslo?"}],
                tools=[{"name": "get_weather"}, {"name": "search"}]).outputs
    assert out["message"] == {"role": "assistant", "content": "weather in Oslo?", "tools": ["get_weather", "search"]}
    assert out["text"] == "weather in Oslo?" and out["tool"] == "get_weather" and out["role"] == "assistant"
    report = pipeline("""
        name: bad_shape
        inputs: {messages: {type: list}}
        steps:
          text: {kind: python, function: tests.pipeline_steps:message_text, inputs: {message: inputs.messages}}
        outputs: {o: steps.text.value}
        """).validate()
    assert [p.code for p in report.errors] == ["type-mismatch"]  # a list where a dict message is expected

"""Malformed program sources fail with a SourceError naming the file, the line and the field.

Hand-written cases pin the messages users see; hypothesis feeds arbitrary YAML and JSONL text to make
sure no input, however broken, escapes as a traceback of another exception type.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.driver import compile_file, resolve_options
from pawflow.errors import SourceError
from pawflow.source import load_source

GOOD = """\
name: tiny
spec: Decide if a log line needs attention.
output:
  type: labels
  labels: [ALERT, QUIET]
examples:
  - input: "loss nan"
    output: ALERT
  - input: "step 5 loss 0.3"
    output: QUIET
"""


def write(tmp_path: Path, text: str, name: str = "src.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_good_source_loads(tmp_path):
    loaded = load_source(write(tmp_path, GOOD))
    assert loaded.source.name == "tiny" and len(loaded.source.examples) == 2
    assert len(loaded.sha256) == 64


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        (GOOD.replace("spec: Decide if a log line needs attention.\n", ""), 1, "spec"),
        (GOOD.replace("output: ALERT", "output: PANIC"), 8, "examples.0.output"),
        (GOOD.replace("labels: [ALERT, QUIET]", "labels: [ALERT]"), 5, "output.labels"),
        (GOOD.replace("name: tiny", "name: 'has spaces'"), 1, "name"),
        (GOOD + "colour: blue\n", 11, "colour"),
        (GOOD.replace("  - input: \"loss nan\"", "  - input: \"loss nan\"\n    input: again"), 8, "duplicate key"),
        (GOOD.replace("  type: labels", "  type: [labels"), 5, "invalid YAML"),  # the flow sequence breaks on line 5
    ],
)
def test_source_errors_name_file_line_and_field(tmp_path, text, line, field):
    path = write(tmp_path, text)
    with pytest.raises(SourceError) as info:
        load_source(path)
    assert info.value.path == path
    assert info.value.line == line, str(info.value)
    assert field in str(info.value)
    assert str(path) in str(info.value)


def test_bad_data_row_names_the_jsonl_line(tmp_path):
    rows = [{"input": "fine", "output": "QUIET"}, {"input": "also fine", "output": "ALERT"}, {"input": "bad", "output": "MAYBE"}]
    (tmp_path / "train.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    path = write(tmp_path, GOOD + "data:\n  train: train.jsonl\n")
    with pytest.raises(SourceError) as info:
        load_source(path)
    assert info.value.path == tmp_path / "train.jsonl" and info.value.line == 3
    assert "MAYBE" in str(info.value)


def test_invalid_json_line_and_missing_data_file(tmp_path):
    (tmp_path / "train.jsonl").write_text('{"input": "x", "output": "QUIET"}\n{"input": oops}\n')
    with pytest.raises(SourceError) as info:
        load_source(write(tmp_path, GOOD + "data:\n  train: train.jsonl\n"))
    assert info.value.line == 2 and "not valid JSON" in str(info.value)
    with pytest.raises(SourceError, match="data file not found"):
        load_source(write(tmp_path, GOOD + "data:\n  heldout: nowhere.jsonl\n", "other.yaml"))


def test_unknown_compile_method_is_located(tmp_path):
    path = write(tmp_path, GOOD + "compile:\n  method: telepathy\n")
    with pytest.raises(SourceError) as info:
        compile_file(path)
    assert info.value.line == 12 and "compile.method" in str(info.value) and "telepathy" in str(info.value)


def test_bad_compile_option_is_located(tmp_path):
    path = write(tmp_path, GOOD + "compile:\n  method: fit\n  options:\n    steps: -5\n    rank: 4\n")
    loaded = load_source(path)
    with pytest.raises(SourceError) as info:
        resolve_options(loaded, "fit", {})
    assert info.value.line == 14 and "compile.options.steps" in str(info.value)
    path = write(tmp_path, GOOD + "compile:\n  method: prompt\n  options:\n    temperature_of_doom: 3\n", "b.yaml")
    with pytest.raises(SourceError) as info:
        resolve_options(load_source(path), "prompt", {})
    assert info.value.line == 14 and "temperature_of_doom" in str(info.value)


def test_options_for_another_method_apply_only_where_shared(tmp_path):
    path = write(tmp_path, GOOD + "compile:\n  method: fit\n  options:\n    steps: 9\n    pseudo_lm: false\n")
    options = resolve_options(load_source(path), "prompt", {})
    assert options.pseudo_lm is False  # shared knob carried over; `steps` (fit only) dropped
    assert resolve_options(load_source(path), "fit", {"steps": 3}).steps == 3  # flags beat the source


# --------------------------------------------------------------------------- fuzzing

yaml_ish = st.text(alphabet=st.sampled_from(list("abc:- \n\t'\"[]{}#&*!|>%@`,?0123456789\\")), max_size=200)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(yaml_ish, st.text(max_size=200)))
def test_garbage_yaml_is_always_a_source_error(tmp_path, body):
    path = tmp_path / "fuzz.yaml"
    path.write_text(body, encoding="utf-8")
    try:
        load_source(path)
    except SourceError as exc:
        assert exc.path == path
    # a valid source is fine too; any other exception fails the test


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    garbage=st.lists(
        st.one_of(
            st.text(max_size=60),
            st.builds(json.dumps, st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                                              lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["input", "output", "note", "x"]), inner, max_size=3),
                                              max_leaves=6)),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_garbage_jsonl_is_always_a_located_source_error(tmp_path, garbage):
    data = tmp_path / "fuzz.jsonl"
    data.write_text("\n".join(line.replace("\n", " ") for line in garbage) + "\n", encoding="utf-8")
    path = write(tmp_path, GOOD + "data:\n  train: fuzz.jsonl\n", "fuzz.yaml")
    try:
        load_source(path)
    except SourceError as exc:
        assert exc.path == data
        assert exc.line is not None and 1 <= exc.line <= len(garbage)


def test_non_utf8_source_is_a_source_error(tmp_path):
    path = tmp_path / "latin.yaml"
    path.write_bytes(b"name: caf\xe9\nspec: x\n")
    with pytest.raises(SourceError, match="not UTF-8"):
        load_source(path)

"""The pseudo-compiler's validator, its fallback, and one real run of the LM on the embedded base."""

from __future__ import annotations

import pytest

from compiler.pseudo import (
    compiler_prompt,
    parse_pseudo_program,
    pseudo_compile,
    validate_pseudo_program,
)
from pawflow.program import JsonOutput, LabelsOutput, TextOutput
from pawflow.prompting import default_pseudo_program
from pawflow.source import Example

LABELS = LabelsOutput(labels=["ALERT", "QUIET"])
EXAMPLES = [Example(input="loss is nan at step 40", output="ALERT"), Example(input="step 40 loss 0.31", output="QUIET")]
SPEC = "Say ALERT if a training log line shows a failure (nan loss, OOM, traceback), else QUIET."

GOOD = """[PSEUDO_PROGRAM]
Task: Read one line of a machine learning training log and decide whether a person must look at it now. Failures such as NaN loss, out of memory errors or tracebacks are ALERT; normal progress is QUIET.

Examples:
Input: CUDA out of memory. Tried to allocate 2.00 GiB
Output: ALERT

Input: epoch 3 step 1200 loss 1.92
Output: QUIET

Input: Traceback (most recent call last):
Output: ALERT
[END_PSEUDO_PROGRAM]"""


def test_good_program_is_accepted_and_parsed():
    verdict = validate_pseudo_program(GOOD, LABELS)
    assert verdict.ok, verdict.reasons
    assert verdict.parsed is not None and len(verdict.parsed.examples) == 3
    assert verdict.parsed.examples[0].output == "ALERT"
    assert verdict.parsed.task.startswith("Read one line")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty output"),
        ("   \n  ", "empty output"),
        ("[PSEUDO_PROGRAM]\n[1]\n[2]\n[3]\n", "no 'Task:' paragraph"),
        (GOOD.replace("Output: QUIET", "Output: MAYBE"), "not one of the labels"),
        (GOOD.replace("Output: QUIET", "Output: ALERT"), "same label"),
        (GOOD.replace("Input: epoch 3 step 1200 loss 1.92", "Input: CUDA out of memory. Tried to allocate 2.00 GiB"), "repeats the same example input"),
        ("Task: <one paragraph: what to do>\n\nExamples:\nInput: <an input>\nOutput: ALERT\n", "echoes the compiler prompt"),
        ("Task: [SPEC] classify [END_SPEC] the log line please now ok\n\nExamples:\nInput: a\nOutput: ALERT\n\nInput: b\nOutput: QUIET", "echoes the compiler prompt"),
        ("Task: too short.\n\nExamples:\nInput: a\nOutput: ALERT\n\nInput: b\nOutput: QUIET", "task paragraph has 2 words"),
        ("Task: Decide whether the log line is a failure or normal progress of the training run.\n\nExamples:\nInput: a\nOutput: ALERT", "1 parseable examples"),
        (GOOD + "\nloss loss\nloss loss\nloss loss\n", None),  # text after the end marker is ignored by parsing...
        ("Task: " + "alert " * 40 + "\n\nExamples:\nInput: a\nOutput: ALERT\n\nInput: b\nOutput: QUIET", "degenerate"),
        ("Task: Decide whether the log line is a failure or normal progress of the run.\nA\nA\nA\n\nExamples:\nInput: a\nOutput: ALERT\n\nInput: b\nOutput: QUIET", "repetitive"),
    ],
)
def test_bad_programs_are_refused_with_a_reason(text, reason):
    verdict = validate_pseudo_program(text, LABELS)
    if reason is None:
        # ...but the repeated junk lines still count as degenerate output
        assert not verdict.ok and any("repetitive" in r for r in verdict.reasons)
        return
    assert not verdict.ok
    assert any(reason in r for r in verdict.reasons), verdict.reasons


def test_json_and_text_outputs_are_type_checked():
    schema = JsonOutput.model_validate({"type": "json", "schema": {"type": "object", "required": ["city"]}})
    program = (
        "Task: Extract the city a traveller wants to go to from their message, as JSON with a city key.\n\n"
        'Examples:\nInput: fly me to Paris\nOutput: {"city": "Paris"}\n\nInput: a train to Rome\nOutput: {"town": "Rome"}'
    )
    verdict = validate_pseudo_program(program, schema)
    assert not verdict.ok and any("schema" in r for r in verdict.reasons)
    assert validate_pseudo_program(program.replace('"town"', '"city"'), schema).ok
    broken = program.replace('{"town": "Rome"}', "{city: Rome")
    assert not validate_pseudo_program(broken, schema).ok
    text = "Task: Return the deadline phrase from the task message, or NONE if there is none at all.\n\nExamples:\nInput: do it by Friday\nOutput: Friday\n\nInput: whenever\nOutput: NONE"
    assert validate_pseudo_program(text, TextOutput()).ok


def test_parse_tolerates_missing_markers_and_examples_header():
    parsed = parse_pseudo_program("Task: just a task paragraph with no examples")
    assert parsed is not None and parsed.examples == [] and parsed.task.startswith("just")
    assert parse_pseudo_program("no task here") is None


def test_compiler_prompt_follows_the_paper_layout():
    prompt = compiler_prompt(SPEC, EXAMPLES, LABELS)
    assert "[SPEC]\n" + SPEC in prompt and prompt.rstrip().endswith("[END_SPEC]")
    assert "[PSEUDO_PROGRAM]" in prompt and "[END_PSEUDO_PROGRAM]" in prompt
    assert "ALERT, QUIET" in prompt and "Input: loss is nan at step 40" in prompt


def test_invalid_lm_output_falls_back_and_records_why():
    seen = []

    def garbage_lm(user_turn: str) -> str:
        seen.append(user_turn)
        return "[PSEUDO_PROGRAM]\n[SPEC]\n[SPEC]\n[SPEC]\n"

    result = pseudo_compile(SPEC, EXAMPLES, LABELS, complete=garbage_lm)
    assert seen and "[SPEC]" in seen[0]
    assert result.pseudo_compiler == "fallback"
    assert result.pseudo_program == default_pseudo_program(SPEC, EXAMPLES, LABELS)
    assert result.reasons and result.details()["pseudo_compiler"] == "fallback"
    assert result.details()["pseudo_compiler_reasons"] == result.reasons
    assert "[SPEC]" in result.details()["pseudo_compiler_lm_output"]


def test_valid_lm_output_is_used_in_the_canonical_layout():
    result = pseudo_compile(SPEC, EXAMPLES, LABELS, complete=lambda _: GOOD)
    assert result.pseudo_compiler == "lm" and result.reasons == []
    assert result.pseudo_program.startswith("Task: Read one line")
    assert "Answer with exactly one of: ALERT, QUIET." in result.pseudo_program
    assert "[END_PSEUDO_PROGRAM]" not in result.pseudo_program and "Input: Traceback" in result.pseudo_program


def test_disabled_lm_uses_the_deterministic_program():
    result = pseudo_compile(SPEC, EXAMPLES, LABELS, use_lm=False)
    assert result.pseudo_compiler == "fallback" and "disabled" in result.reasons[0]


def test_real_lm_run_is_validated_and_recorded(base_path):
    """The embedded 135M model writes *something*; whatever it is, the decision must follow the validator."""
    from compiler.pseudo import lm_complete

    result = pseudo_compile(SPEC, EXAMPLES, LABELS, complete=lm_complete(max_tokens=96))
    assert result.lm_output.startswith("[PSEUDO_PROGRAM]") and len(result.lm_output) > len("[PSEUDO_PROGRAM]")
    verdict = validate_pseudo_program(result.lm_output, LABELS)
    assert (result.pseudo_compiler == "lm") == verdict.ok
    if result.pseudo_compiler == "fallback":
        assert result.reasons == verdict.reasons
        assert result.pseudo_program == default_pseudo_program(SPEC, EXAMPLES, LABELS)

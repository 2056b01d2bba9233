"""``pawflow compile --method channel``: a labels program with one document per label, no adapter."""

from __future__ import annotations

import textwrap

import pytest

import pawflow
from compiler.driver import compile_file
from pawflow.errors import CompileError
from pawflow.program import Program

SOURCE = textwrap.dedent(
    """\
    name: feedback
    spec: Say COMPLAINT when a customer is unhappy with a product, PRAISE when they are satisfied.
    output: {type: labels, labels: [COMPLAINT, PRAISE]}
    examples:
      - {input: "It broke after two days.", output: COMPLAINT}
      - {input: "Works great, I recommend it.", output: PRAISE}
      - {input: "Poor sound and a waste of money.", output: COMPLAINT}
      - {input: "Excellent quality for the price.", output: PRAISE}
    compile:
      method: channel
    """
)


def test_channel_compiles_documents_from_the_spec_and_examples_and_runs(tmp_path):
    source = tmp_path / "feedback.yaml"
    source.write_text(SOURCE)
    report = compile_file(source)
    program = Program.read(report.out)
    assert program.adapter is None and program.meta.pawflow.compile.method == "channel"
    docs = program.output.channel
    assert set(docs) == {"COMPLAINT", "PRAISE"}
    assert "It broke after two days." in docs["COMPLAINT"] and "It broke after two days." not in docs["PRAISE"]
    assert docs["PRAISE"].startswith("Say COMPLAINT when") and docs["PRAISE"].endswith("- ")
    assert program.meta.pawflow.compile.details["examples_per_label"] == {"COMPLAINT": 2, "PRAISE": 2}
    fn = pawflow.Function(program)
    result = fn.run("The screen cracked and it stopped charging.")
    assert result.value in ("COMPLAINT", "PRAISE") and set(result.scores) == {"COMPLAINT", "PRAISE"}


def test_channel_refuses_a_text_program(tmp_path):
    source = tmp_path / "t.yaml"
    source.write_text(SOURCE.replace("{type: labels, labels: [COMPLAINT, PRAISE]}", "{type: text}").replace("output: COMPLAINT", "output: bad").replace("output: PRAISE", "output: good"))
    with pytest.raises(CompileError, match="channel method scores labels"):
        compile_file(source)

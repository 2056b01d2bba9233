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


# ------------------------------------------------------------------ each label's document: its own description

from compiler.channel import label_description  # noqa: E402

TWO_SENTENCES = (
    "You get one sentence a customer wrote, e.g. about a phone. Say COMPLAINT when the product broke or "
    "did not work. Say PRAISE when it works well. Only the label."
)


def test_a_labels_description_drops_the_sentences_about_other_labels_only():
    assert label_description(TWO_SENTENCES, "COMPLAINT", ["COMPLAINT", "PRAISE"]) == (
        "You get one sentence a customer wrote, e.g. about a phone. Say COMPLAINT when the product broke or "
        "did not work. Only the label."
    )
    praise = label_description(TWO_SENTENCES, "PRAISE", ["COMPLAINT", "PRAISE"])
    assert "broke" not in praise and "Say PRAISE when it works well." in praise
    assert praise.startswith("You get one sentence a customer wrote, e.g. about a phone.")  # "e.g." ends nothing


def test_semicolon_clauses_and_shared_sentences():
    spec = 'A line with "error" is ALERT; "ok" is QUIET. ALERT or QUIET, one word.'
    alert = label_description(spec, "ALERT", ["ALERT", "QUIET"])
    quiet = label_description(spec, "QUIET", ["ALERT", "QUIET"])
    assert '"error"' in alert and '"ok"' not in alert
    assert '"ok"' in quiet and '"error"' not in quiet
    assert alert.endswith("ALERT or QUIET, one word.") and quiet.endswith("ALERT or QUIET, one word.")


def test_a_spec_that_names_no_label_comes_back_whole_and_labels_match_as_words():
    spec = "Decide whether the review is happy. Unhappy reviews are the others."
    assert label_description(spec, "happy", ["happy", "sad"]) == spec
    # "ALERTS" is not the label ALERT: the sentence stays in both documents
    assert "ALERTS" in label_description("Too many ALERTS is bad. Say QUIET for normal lines.", "ALERT", ["ALERT", "QUIET"])


def test_channel_documents_carry_each_labels_own_description_or_the_whole_spec(tmp_path):
    source = tmp_path / "feedback.yaml"
    source.write_text(SOURCE.replace(
        "spec: Say COMPLAINT when a customer is unhappy with a product, PRAISE when they are satisfied.",
        f"spec: {TWO_SENTENCES}",
    ))
    program = Program.read(compile_file(source).out)
    docs = program.output.channel
    assert "Say COMPLAINT when" in docs["COMPLAINT"] and "Say PRAISE when" not in docs["COMPLAINT"]
    assert "Say PRAISE when" in docs["PRAISE"] and "Say COMPLAINT when" not in docs["PRAISE"]
    assert all(doc.startswith("You get one sentence") for doc in docs.values())
    assert program.meta.pawflow.compile.details["spec_in_documents"] == "label"

    whole = tmp_path / "whole.yaml"
    whole.write_text(source.read_text().replace("method: channel", "method: channel\n  options: {spec_in_documents: full}"))
    docs = Program.read(compile_file(whole).out).output.channel
    assert all("Say COMPLAINT when" in doc and "Say PRAISE when" in doc for doc in docs.values())

"""tc-answer's training rows never teach a fact it is measured on (issue #12), without a model.

``tc-answer`` is fitted on general-knowledge question → short-answer rows (``tc-answer.train.jsonl``,
written by ``programs/data/gen_tc_answer.py``) and measured on ``tc-answer.facts.jsonl``. The fit may
teach the answer *format* only; if a measured fact's subject or answer were in the training rows, the
``answer_facts`` figure would measure memorisation instead of the base's knowledge. So:

* no accepted answer of a fact (names, places, years; small counts like "8" excepted, they are not
  facts about anything) occurs as a word in any training row;
* no proper noun of a fact's question ("France", "Hamlet", "World War I", "Red Planet") occurs in any
  training row;
* no training question contains all the content words of a fact's question (the same question
  reworded);
* no ToolCall-15 literal (``gen_tc.BANNED``) and the file is what the generator writes.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.integrations.toolcall15.test_program_data import DATA, _jsonl, _module

TRAIN = DATA / "tc-answer.train.jsonl"
FACTS = DATA / "tc-answer.facts.jsonl"

# Words that frame a question rather than name its subject ("What is the capital of …").
FRAME = set(
    """what which who whom how many much is are was were the a an of in on to do does did and or
    there from for by with when year first""".split()
)
_QUESTION_WORDS = {"What", "Which", "Who", "How", "In", "When"}
_SMALL_NUMBER = re.compile(r"^(\d{1,3}|zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty-four|sixty)$")


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+(?:['-][a-z0-9]+)*", text.lower())


def _has_phrase(text: str, phrase: str, *, case_sensitive: bool = False) -> bool:
    flags = 0 if case_sensitive else re.IGNORECASE
    return re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", text, flags) is not None


def proper_nouns(question: str) -> list[str]:
    """Runs of capitalised words after the question word: "World War I", "Nobel Prize", "Earth"."""
    tokens = question.rstrip("?").split()
    runs, current = [], []
    for index, token in enumerate(tokens):
        word = token.strip(",.")
        if index > 0 and word[:1].isupper() and word not in _QUESTION_WORDS:
            current.append(word)
            continue
        if current:
            runs.append(" ".join(current))
        current = []
    if current:
        runs.append(" ".join(current))
    return [run.removeprefix("The ") for run in runs]


def content_words(question: str) -> set[str]:
    return {word for word in _words(question) if word not in FRAME}


@pytest.fixture(scope="module")
def train() -> list[dict]:
    return _jsonl(TRAIN)


@pytest.fixture(scope="module")
def facts() -> list[dict]:
    return _jsonl(FACTS)


def test_training_rows_are_well_formed(train: list[dict]) -> None:
    assert len(train) >= 300
    assert all(set(row) == {"input", "output"} and row["input"].strip() and row["output"].strip() for row in train)
    # small talk is in the data too: the pipeline sends greetings and thanks to tc-answer
    assert any(row["output"].startswith("You're welcome") for row in train)


def test_no_answer_of_a_measured_fact_is_taught(train: list[dict], facts: list[dict]) -> None:
    leaks = []
    for fact in facts:
        for answer in fact["accept"]:
            if _SMALL_NUMBER.match(answer.lower()):
                continue
            leaks += [(answer, row["input"]) for row in train if _has_phrase(row["input"] + " " + row["output"], answer)]
    assert not leaks, f"answers of tc-answer.facts.jsonl in the training rows: {leaks[:5]}"


def test_no_subject_of_a_measured_fact_is_taught(train: list[dict], facts: list[dict]) -> None:
    leaks = []
    for fact in facts:
        nouns = proper_nouns(fact["question"])
        subject = content_words(fact["question"])
        for row in train:
            text = row["input"] + " " + row["output"]
            leaks += [(noun, row["input"]) for noun in nouns if _has_phrase(text, noun, case_sensitive=True)]
            if subject and subject <= set(_words(row["input"])):
                leaks.append((fact["question"], row["input"]))
    assert not leaks, f"subjects of tc-answer.facts.jsonl in the training rows: {leaks[:5]}"


def test_the_checks_would_catch_a_leak(facts: list[dict]) -> None:
    """The subject extraction finds what a leak would be (so the two tests above can fail)."""
    assert proper_nouns("What year did World War I begin?") == ["World War I"]
    assert proper_nouns("Who wrote The Odyssey?") == ["Odyssey"]
    assert proper_nouns("Which planet is known as the Red Planet?") == ["Red Planet"]
    assert content_words("How many legs does a spider have?") == {"legs", "spider", "have"}
    assert {"legs", "spider", "have"} <= set(_words("how many legs does a garden spider have"))
    assert all(proper_nouns(f["question"]) or content_words(f["question"]) for f in facts)


def test_no_benchmark_literal_and_file_is_generated(train: list[dict]) -> None:
    gen = _module("gen_tc_answer")
    banned = _module("gen_tc").BANNED
    text = "\n".join(json.dumps(row, ensure_ascii=False).lower() for row in train)
    assert not [b for b in banned if b in text]
    assert gen.rows() == train, "tc-answer.train.jsonl is stale: run python programs/data/gen_tc_answer.py"


def test_no_knowledge_question_of_the_natural_set_is_taught(train: list[dict]) -> None:
    """The natural set (never trained on) asks well-known facts too: none of them is a training row.

    A natural case whose checks name the answer (``answer: canberra``) must not find that answer in
    the training rows, and no training question may be the natural question reworded (all the
    content words of one inside the other; two or more words, so "thanks" alone is no leak).
    """
    natural = _module("tc_natural")
    leaks = []
    for case in natural.load_cases():
        answers = [str(check["answer"]) for check in case.passing if "answer" in check and isinstance(check["answer"], str)]
        request_words = set(_words(case.request))
        subject = content_words(case.request)
        for row in train:
            text = row["input"] + " " + row["output"]
            leaks += [(case.id, a) for a in answers if not _SMALL_NUMBER.match(a) and _has_phrase(text, a)]
            row_subject = content_words(row["input"])
            if any("answer" in check for check in case.passing) and len(row_subject) >= 2 and row_subject <= request_words:
                leaks.append((case.id, row["input"]))
            if len(subject) >= 2 and subject <= set(_words(row["input"])):
                leaks.append((case.id, row["input"]))
    assert not leaks, f"natural-set knowledge questions in the training rows: {leaks[:5]}"


def test_smalltalk_rows_are_validation_only_and_the_check_rejects_an_echo(train: list[dict]) -> None:
    """tc-answer's small-talk rows pick candidates only: in no training file, not in the natural set."""
    rows = _jsonl(DATA / "tc-answer.smalltalk.jsonl")
    natural = {case.request.lower() for case in _module("tc_natural").load_cases()}
    inputs = {row["input"].lower() for row in train}
    assert len(rows) >= 10
    assert not [row["input"] for row in rows if row["input"].lower() in inputs | natural]
    check = _module("eval_tc").smalltalk_ok
    assert check("thank you!", "You're welcome!")
    assert check("morning!", "Morning! How's everything?")
    assert not check("ok cool, thanks", "ok cool, thanks")  # the request echoed back
    assert not check("Hi there!", "The capital of Portugal is Lisbon.")  # an example's answer copied


def test_eval_script_reports_the_small_talk_figure() -> None:
    evaluation = _module("eval_tc")
    summary = evaluation.summary({"tc-answer": {"test": {"program": 0.8}, "smalltalk": {"program": 1.0}}})
    assert summary == {"answer_facts": 0.8, "answer_smalltalk": 1.0}

"""The ``auto`` method end to end on the embedded base (tiny settings), and its choice rule (no model).

The real figures come from ``bench/fewshot.py``; here the method must build, estimate on held-out
examples only, record why, and never call fitted rows held-out.
"""

from __future__ import annotations

import json
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pawflow
from compiler.auto import CandidateReport, best_possible_p, choose, futile_reason
from compiler.driver import compile_file, read_manifest
from compiler.estimate import Estimate, majority_label
from pawflow.errors import CompileError
from pawflow.program import Program

SOURCE = textwrap.dedent(
    """\
    name: few
    spec: Say ALERT when a log line records a "Failed password" or an "Invalid user"; "Accepted password" is QUIET.
    output: {type: labels, labels: [ALERT, QUIET]}
    examples:
      - {input: "sshd[311]: Failed password for root from 10.0.0.7 port 5122", output: ALERT}
      - {input: "sshd[312]: Accepted password for bob from 10.0.0.8 port 5123", output: QUIET}
      - {input: "sshd[313]: Invalid user admin from 10.0.0.9", output: ALERT}
      - {input: "cron[90]: (root) CMD (run-parts /etc/cron.hourly)", output: QUIET}
    generation: {max_tokens: 4}
    compile:
      method: auto
      options: {folds: 2, steps: 2, batch_size: 2, augment_per_example: 1, allow_weak: true}
    """
)


@pytest.fixture(scope="module")
def auto_build(tmp_path_factory):
    folder = tmp_path_factory.mktemp("auto")
    source = folder / "few.yaml"
    source.write_text(SOURCE)
    stages: list[str] = []
    report = compile_file(source, progress=lambda stage, done, total, note="": stages.append(stage))
    return report, Program.read(report.out), stages, folder


def test_auto_records_a_cross_validated_estimate_with_its_n(auto_build):
    report, program, stages, _ = auto_build
    details = program.meta.pawflow.compile.details
    assert program.meta.pawflow.compile.method == "auto"
    auto = details["auto"]
    # fit is cross-validated unless it could not change the choice (4 rows: channel is wrong on at most 4,
    # and 4-0 is p = 0.0625, not significant) — then the record says why it was skipped
    cheap = {"prompt", "channel", "prompt+calibrated", "channel+calibrated"}
    if "fit" in auto["candidates"]:
        assert set(auto["candidates"]) == cheap | {"fit", "fit+calibrated"} and "skipped" not in auto
        assert auto["calibration"]["fit+calibrated"]["rule"] == "midpoint"
    else:
        assert set(auto["candidates"]) == cheap
        assert "no other candidate could replace it" in auto["skipped"]["fit"]
        assert "fit not cross-validated" in auto["why"]
    assert details["chosen"] in auto["candidates"]
    estimate = details["estimate"]
    assert estimate["n"] == 4 and "cross-validation over 4 example(s)" in estimate["how"]
    low, high = estimate["accuracy_95"]
    assert 0.0 <= low <= estimate["accuracy"] <= high <= 1.0 and high - low > 0.3  # n=4 is honest about it
    assert auto["folds"]["folds"] == 2 and sorted(auto["folds"]["sizes"]) == [2, 2]
    assert auto["majority"]["n"] == 4 and auto["why"].startswith(details["chosen"])
    if "fit" in auto["candidates"]:  # rows are derived for fitting: only when fit was built
        assert auto["derived_rows"]["last_build"]["perturbed"] > 0
        assert "Failed password" in auto["derived_rows"]["spec_cues"]["ALERT"]
    else:
        assert auto["derived_rows"]["last_build"] == {"perturbed": 0, "near_miss": 0}
    # a calibrated twin's estimate is nested and its bias is recorded; the shipped one is in the program
    assert auto["calibration"]["prompt+calibrated"]["rule"] == "midpoint"
    assert auto["calibration"]["prompt+calibrated"]["nested_cv"]["n"] == 4
    shipped_bias = auto["candidates"][details["chosen"]].get("bias")
    assert program.output.bias == shipped_bias and auto["bias"] == shipped_bias
    assert auto["calibration_applied"] == (shipped_bias is not None)
    assert any(stage.startswith("cross-validating") for stage in stages)
    # nothing measured on fitted rows is called held-out
    assert "eval_exact_match_torch" not in json.dumps(details)
    assert (program.adapter is not None) == details["chosen"].startswith("fit")
    # a shipped channel program carries its label documents; any other does not
    assert (program.output.channel is not None) == details["chosen"].startswith("channel")


def test_auto_writes_choice_and_estimate_to_the_manifest(auto_build):
    report, program, _, folder = auto_build
    entry = read_manifest(folder / "build" / "manifest.json").programs["few"]
    assert entry.method == "auto" and entry.chosen == program.meta.pawflow.compile.details["chosen"]
    assert entry.estimate["n"] == 4 and entry.why


def test_the_shipped_program_runs(auto_build):
    _, program, _, _ = auto_build
    fn = pawflow.Function(program)
    assert fn("sshd[999]: Failed password for invalid user test from 10.1.1.1 port 22") in ("ALERT", "QUIET")


def _report(name: str, gold: list[str], predicted: list[str]) -> CandidateReport:
    return CandidateReport(name=name, estimate=Estimate.of(gold, predicted, ["A", "B"]), predictions=list(predicted))


GOLD = ["A", "B", "A", "B", "A", "B", "A", "B"]


def test_choice_goes_to_the_best_estimate_and_ties_to_prompt():
    better = _report("fit", GOLD, GOLD)
    worse = _report("prompt", GOLD, ["A"] * 8)
    majority = Estimate.of(GOLD, ["A"] * 8, ["A", "B"])
    assert choose({"prompt": worse, "fit": better}, majority)[0] == "fit"
    same = _report("fit", GOLD, GOLD)
    chosen, why, beats = choose({"prompt": _report("prompt", GOLD, GOLD), "fit": same}, majority)
    assert chosen == "prompt" and "cheaper" in why and beats


def test_a_calibrated_twin_wins_only_on_a_better_estimate():
    constant = _report("prompt", GOLD, ["A"] * 8)
    majority = Estimate.of(GOLD, ["A"] * 8, ["A", "B"])
    twin = CandidateReport(name="prompt+calibrated", estimate=Estimate.of(GOLD, GOLD[:6] + ["A", "A"], ["A", "B"]),
                           rule="midpoint", bias={"B": -1.5})
    chosen, why, beats = choose({"prompt": constant, "prompt+calibrated": twin}, majority)
    assert chosen == "prompt+calibrated" and twin.method == "prompt" and beats
    same = twin.model_copy(update={"estimate": constant.estimate})
    chosen, why, _ = choose({"prompt": constant, "prompt+calibrated": same}, majority)
    assert chosen == "prompt" and "no bias chosen" in why


def test_worse_than_the_majority_label_is_flagged_and_a_tie_is_said():
    majority = Estimate.of(GOLD, ["A"] * 8, ["A", "B"])
    inverted = ["B" if g == "A" else "A" for g in GOLD]
    chosen, why, beats = choose({"prompt": _report("prompt", GOLD, inverted), "fit": _report("fit", GOLD, inverted)}, majority)
    assert not beats and "worse than answering the majority label" in why and "n=8" in why
    chosen, why, beats = choose({"prompt": _report("prompt", GOLD, ["A"] * 8), "fit": _report("fit", GOLD, inverted)}, majority)
    assert beats and chosen == "prompt" and "no better than answering the majority label" in why


def test_auto_refuses_a_program_that_cannot_be_estimated(tmp_path):
    lines = [line for line in SOURCE.splitlines() if "output: QUIET}" not in line]
    source = tmp_path / "one.yaml"
    source.write_text("\n".join(lines) + "\n")
    with pytest.raises(CompileError, match="at least two labels"):
        compile_file(source)


def test_unknown_candidates_are_refused_with_the_registered_names(tmp_path):
    source = tmp_path / "few.yaml"
    source.write_text(SOURCE.replace("folds: 2,", "folds: 2, candidates: [prompt, nonsense],"))
    with pytest.raises(CompileError, match=r"\['nonsense'\].*registered methods: .*fit"):
        compile_file(source)


def test_the_preferred_candidate_ships_unless_another_is_significantly_better():
    majority = Estimate.of(GOLD, ["A"] * 8, ["A", "B"])
    # channel 6/8 right, the calibrated prompt 7/8: one row apart is no evidence (p = 0.5): channel ships
    channel = _report("channel", GOLD, GOLD[:6] + ["B", "A"])
    prompt = _report("prompt", GOLD, ["A"] * 8)
    twin = _report("prompt+calibrated", GOLD, GOLD[:7] + ["A"])
    candidates = {"prompt": prompt, "prompt+calibrated": twin, "channel": channel}
    chosen, why, beats = choose(candidates, majority, gold=GOLD, prefer="channel")
    assert chosen == "channel" and beats and "no other answered the held-out rows significantly better" in why
    assert "prompt+calibrated p = 0.50" in why
    # without a preference the best point estimate wins, as before
    assert choose(candidates, majority)[0] == "prompt+calibrated"
    # 16 rows, fit right on 6 rows where channel is wrong and never the other way: p = 1/64 < 0.05
    gold16 = GOLD * 2
    weak = _report("channel", gold16, ["A"] * 8 + gold16[8:10] + ["B", "B"] + gold16[12:])
    weak = weak.model_copy(update={"estimate": Estimate.of(gold16, weak.predictions, ["A", "B"])})
    strong = _report("fit", gold16, gold16)
    prompt16 = _report("prompt", gold16, ["A"] * 16)
    maj16 = Estimate.of(gold16, ["A"] * 16, ["A", "B"])
    chosen, why, _ = choose({"prompt": prompt16, "channel": weak, "fit": strong}, maj16, gold=gold16, prefer="channel")
    assert chosen == "fit" and "significantly better than the preferred channel" in why and "p = 0.0" in why


def test_a_preferred_candidate_below_plain_prompt_does_not_ship():
    majority = Estimate.of(GOLD, ["A"] * 8, ["A", "B"])
    inverted = ["B" if g == "A" else "A" for g in GOLD]
    prompt = _report("prompt", GOLD, GOLD[:6] + ["B", "A"])
    channel = _report("channel", GOLD, inverted)
    chosen, why, beats = choose({"prompt": prompt, "channel": channel}, majority, gold=GOLD, prefer="channel")
    assert chosen == "prompt" and beats and "(the preferred channel scored below the majority label or plain prompt)" in why


def test_best_possible_p_is_half_to_the_power_of_the_incumbents_mistakes():
    assert best_possible_p(GOLD, GOLD) == 1.0  # nothing to beat
    assert best_possible_p(GOLD, GOLD[:4] + ["B", "A", "B", "A"]) == 0.5**4
    assert best_possible_p(GOLD, ["B", "A"] * 4) == 0.5**8


def test_a_preferred_candidate_wrong_on_four_of_eight_rows_cannot_be_replaced():
    preferred = GOLD[:4] + ["B", "A", "B", "A"]  # 4 wrong: a perfect challenger gets p = 1/16
    why = futile_reason(GOLD, ["A", "B"], preferred, ["A"] * 8, prefer="channel", switch_p=0.05)
    assert why and "wrong on 4 of 8" in why and "p = 0.062" in why
    # five mistakes leave room for a significant challenger; so does a looser switch_p
    five = GOLD[:3] + ["A", "B", "A", "B", "A"]  # wrong on the last five: 1/32 is reachable
    assert futile_reason(GOLD, ["A", "B"], five, None, prefer="channel", switch_p=0.05) is None
    assert futile_reason(GOLD, ["A", "B"], preferred, ["A"] * 8, prefer="channel", switch_p=0.1) is None
    # below plain prompt, the best estimate decides, so every candidate must be measured
    assert futile_reason(GOLD, ["A", "B"], preferred, GOLD[:7] + ["A"], prefer="channel", switch_p=0.05) is None


labels_ab = st.sampled_from(["A", "B"])


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_skipping_a_futile_candidate_never_changes_the_choice(data):
    """Whatever the skipped candidates would have answered, choose() ships the same program without them."""
    n = data.draw(st.integers(4, 20))
    gold = data.draw(st.lists(labels_ab, min_size=n, max_size=n).filter(lambda g: len(set(g)) == 2))
    answers = st.lists(labels_ab, min_size=n, max_size=n)
    preferred, prompt = data.draw(answers), data.draw(answers)
    switch_p = data.draw(st.sampled_from([0.01, 0.05, 0.1, 0.2]))
    majority = Estimate.of(gold, [majority_label(gold, ["A", "B"])] * n, ["A", "B"])
    cheap = {"prompt": _report("prompt", gold, prompt), "channel": _report("channel", gold, preferred)}
    if futile_reason(gold, ["A", "B"], preferred, prompt, prefer="channel", switch_p=switch_p) is None:
        return
    costly = {
        name: _report(name, gold, data.draw(answers)) for name in ("fit", "fit+calibrated")
    }
    with_all = choose({**cheap, **costly}, majority, gold=gold, prefer="channel", switch_p=switch_p)
    without = choose(cheap, majority, gold=gold, prefer="channel", switch_p=switch_p)
    assert with_all[0] == without[0] == "channel" and with_all[2] == without[2]

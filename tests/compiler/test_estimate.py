"""Held-out estimates for few-example compiles: folds, intervals, F1, threshold calibration (no model)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compiler.estimate import (
    Estimate,
    best_bias,
    decide,
    macro_f1,
    majority_label,
    midpoint_bias,
    nested_bias_predictions,
    stratified_folds,
    wilson_interval,
)


@given(st.lists(st.sampled_from(["A", "B", "C"]), min_size=1, max_size=40), st.integers(2, 8), st.integers(0, 5))
def test_folds_partition_the_rows_and_spread_each_label(labels, folds, seed):
    split = stratified_folds(labels, folds, seed)
    flat = sorted(i for fold in split for i in fold)
    assert flat == list(range(len(labels)))  # every row held out exactly once
    assert len(split) == min(folds, len(labels))
    for label in set(labels):
        counts = [sum(labels[i] == label for i in fold) for fold in split]
        assert max(counts) - min(counts) <= 1 or len(split) == 1 or sum(counts) > 0


def test_as_many_folds_as_rows_is_leave_one_out():
    assert stratified_folds(["A", "B", "A", "B"], 4) == [[0], [1], [2], [3]] or all(
        len(f) == 1 for f in stratified_folds(["A", "B", "A", "B"], 4)
    )
    assert all(len(f) == 1 for f in stratified_folds(["A", "B", "A"], 10))


@pytest.mark.parametrize(
    "k,n,low,high",
    [(8, 8, 0.6756, 1.0), (4, 8, 0.2152, 0.7848), (0, 8, 0.0, 0.3244), (45, 50, 0.7864, 0.9565)],
)
def test_wilson_interval_matches_the_textbook_values(k, n, low, high):
    got = wilson_interval(k, n)
    assert got == pytest.approx((low, high), abs=1e-3)


def test_small_n_gives_wide_intervals_and_the_estimate_says_n():
    est = Estimate.of(["A", "B"] * 4, ["A", "B"] * 3 + ["B", "A"], ["A", "B"])
    assert est.n == 8 and est.correct == 6 and est.accuracy_high - est.accuracy_low > 0.4
    assert "n=8" in est.describe() and est.summary()["accuracy_95"][0] < 0.75 < est.summary()["accuracy_95"][1]


def test_macro_f1_punishes_answering_one_label_everywhere():
    gold = ["ALERT"] * 8 + ["QUIET"] * 2
    assert macro_f1(gold, ["ALERT"] * 10, ["ALERT", "QUIET"]) == pytest.approx((2 * 8 / 18) / 2)
    assert macro_f1(gold, gold, ["ALERT", "QUIET"]) == 1.0


def test_majority_label_is_the_most_frequent_with_ties_in_label_order():
    assert majority_label(["B", "A", "B"], ["A", "B"]) == "B"
    assert majority_label(["B", "A"], ["A", "B"]) == "A"


def _scores(margin: float) -> dict[str, float]:
    import math

    p = 1 / (1 + math.exp(-margin))
    return {"A": math.log(p), "B": math.log(1 - p)}


def test_bias_moves_the_threshold_to_where_the_labels_separate():
    # the model is biased towards A: every row has margin > 0, but B rows have the smaller margins
    scores = [_scores(m) for m in (3.0, 2.5, 2.0, 0.6, 0.5, 0.4)]
    gold = ["A", "A", "A", "B", "B", "B"]
    assert [decide(s) for s in scores] == ["A"] * 6
    bias = best_bias(scores, gold, ["A", "B"])
    assert [decide(s, bias) for s in scores] == gold


def test_nested_calibration_never_sees_the_fold_it_predicts():
    # one fold's B row has a high margin: a bias chosen with it would differ from one chosen without
    scores = [_scores(m) for m in (3.0, 2.0, 0.5, 0.4, 2.5, 1.5)]
    gold = ["A", "A", "B", "B", "A", "B"]
    folds = [[0, 2], [1, 3], [4, 5]]
    nested = nested_bias_predictions(scores, gold, ["A", "B"], folds)
    for fold in folds:
        rest = [i for i in range(6) if i not in fold]
        bias = best_bias([scores[i] for i in rest], [gold[i] for i in rest], ["A", "B"])
        assert [nested[i] for i in fold] == [decide(scores[i], bias) for i in fold]


def test_midpoint_bias_puts_the_threshold_between_the_labels_median_margins():
    # a model that answers A everywhere, but ranks: A rows have margins 3, 2.5, 2; B rows 0.6, 0.5, 0.4
    scores = [_scores(m) for m in (3.0, 2.5, 2.0, 0.6, 0.5, 0.4)]
    gold = ["A", "A", "A", "B", "B", "B"]
    bias = midpoint_bias(scores, gold, ["A", "B"])
    assert set(bias) == {"B"} and bias["B"] == pytest.approx((2.5 + 0.5) / 2, abs=1e-3)
    assert [decide(s, bias) for s in scores] == gold
    # the runtime applies the same offsets (LabelsOutput.apply_bias) and decides the same way
    from pawflow.program import LabelsOutput

    output = LabelsOutput(labels=["A", "B"], bias=bias)
    assert [max(output.apply_bias(s).items(), key=lambda kv: kv[1])[0] for s in scores] == gold


def test_midpoint_bias_weighs_labels_equally_and_needs_two_of_them():
    scores = [_scores(m) for m in (3.0, 2.9, 2.8, 2.7, 2.6, 0.0)]
    gold = ["A"] * 5 + ["B"]
    assert midpoint_bias(scores, gold, ["A", "B"])["B"] == pytest.approx((2.8 + 0.0) / 2, abs=1e-3)
    assert midpoint_bias(scores, ["A"] * 6, ["A", "B"]) == {}


def test_nested_midpoint_predictions_use_the_other_folds_only():
    scores = [_scores(m) for m in (3.0, 2.0, 0.5, 0.4, 2.5, 1.5)]
    gold = ["A", "A", "B", "B", "A", "B"]
    folds = [[0, 2], [1, 3], [4, 5]]
    nested = nested_bias_predictions(scores, gold, ["A", "B"], folds, "midpoint")
    for fold in folds:
        rest = [i for i in range(6) if i not in fold]
        bias = midpoint_bias([scores[i] for i in rest], [gold[i] for i in rest], ["A", "B"])
        assert [nested[i] for i in fold] == [decide(scores[i], bias) for i in fold]


def test_paired_better_p_is_the_one_sided_exact_mcnemar_test():
    from compiler.estimate import paired_better_p

    gold = ["A"] * 8
    # challenger right on 5 rows where the incumbent is wrong, never the reverse: 1/2**5
    assert paired_better_p(gold, ["A"] * 8, ["B"] * 5 + ["A"] * 3) == pytest.approx(1 / 32)
    # one row each way: P(X >= 1 | n=2) = 3/4; the reverse question has the same p
    assert paired_better_p(gold, ["A", "B"] + ["A"] * 6, ["B", "A"] + ["A"] * 6) == pytest.approx(0.75)
    # no row where exactly one is right: no evidence at all
    assert paired_better_p(gold, ["B"] * 8, ["B"] * 8) == 1.0
    # the incumbent better: the challenger's p is large
    assert paired_better_p(gold, ["B"] * 4 + ["A"] * 4, ["A"] * 8) == 1.0

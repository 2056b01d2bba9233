"""Honest held-out estimates for programs compiled from a handful of examples.

Why: with eight examples and no held-out file, the only rows that can say how well a program does
are the examples themselves — and a program fitted on (or prompted with) an example says nothing
about itself on that example. So each example is scored by a program built *without* it (stratified
k-fold cross-validation; leave-one-out when there are no more examples than folds), the predictions
are pooled, and the estimate is reported with its size and its uncertainty: with n = 8 a 95% Wilson
interval on accuracy is typically ±0.3, and a compile that hides that is lying.

Metrics are macro-F1 (the mean over labels of each label's F1: a program answering one label
everywhere scores low even when that label is common) and accuracy with its Wilson score interval
(Wilson 1927; better than the normal approximation at small n and near 0 or 1). They are a few lines
each and written out here rather than pulling scipy/sklearn into the compile extra.

Decision-threshold calibration: the runtime answers the label with the highest probability after
adding the program's per-label bias (``LabelsOutput.bias``). A small base often leans to one label
everywhere while its confidence still ranks the inputs well, so a bias chosen on held-out scores turns
a constant answer into a useful one. Two rules choose it (``BIAS_RULES``):

* ``midpoint`` — each label's log-probability is shifted by minus its label-balanced median over the
  held-out rows; for two labels the threshold on the margin sits halfway between the two labels'
  median margins. One number per label from a few rows each: little variance, no search.
* ``f1`` — the shift of one label that maximises macro-F1 on the rows (exact search over the cut
  points). Fits the rows harder, so it needs more of them.

The benefit of a rule is estimated by nested cross-validation (each fold's bias is chosen on the other
folds' scores only), so choosing a bias is never scored on the rows it was chosen with.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field


def stratified_folds(labels: Sequence[str], folds: int, seed: int = 0) -> list[list[int]]:
    """Indices split into ``min(folds, n)`` folds, each label spread evenly (seeded, deterministic)."""
    n = len(labels)
    k = max(1, min(folds, n))
    rng = random.Random(f"pawflow-folds:{seed}")
    by_label: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        by_label.setdefault(label, []).append(index)
    out: list[list[int]] = [[] for _ in range(k)]
    at = 0
    for label in sorted(by_label):
        members = by_label[label][:]
        rng.shuffle(members)
        for index in members:
            out[at % k].append(index)
            at += 1
    return [sorted(fold) for fold in out if fold]


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95% Wilson score interval for a proportion (``(0, 1)`` when ``n`` is 0)."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def f1_per_label(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> dict[str, float]:
    out = {}
    for label in labels:
        tp = sum(g == label and p == label for g, p in zip(gold, predicted))
        fp = sum(g != label and p == label for g, p in zip(gold, predicted))
        fn = sum(g == label and p != label for g, p in zip(gold, predicted))
        out[label] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return out


def macro_f1(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> float:
    present = [label for label in labels if label in gold or label in predicted]
    scores = f1_per_label(gold, predicted, present or labels)
    return sum(scores.values()) / max(1, len(scores))


class Estimate(BaseModel):
    """A held-out estimate: how it was measured, on how many rows, and how uncertain it is."""

    model_config = ConfigDict(frozen=True)
    n: int
    correct: int
    accuracy: float
    accuracy_low: float  # 95% Wilson interval
    accuracy_high: float
    macro_f1: float
    f1: dict[str, float] = Field(default_factory=dict)

    @classmethod
    def of(cls, gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> "Estimate":
        n = len(gold)
        correct = sum(g == p for g, p in zip(gold, predicted))
        low, high = wilson_interval(correct, n)
        return cls(
            n=n, correct=correct, accuracy=correct / n if n else 0.0, accuracy_low=low, accuracy_high=high,
            macro_f1=macro_f1(gold, predicted, labels), f1=f1_per_label(gold, predicted, labels),
        )

    def describe(self) -> str:
        return (
            f"macro-F1 {self.macro_f1:.2f}, accuracy {self.accuracy:.2f} "
            f"[{self.accuracy_low:.2f}, {self.accuracy_high:.2f}] (95% Wilson, n={self.n})"
        )

    def summary(self) -> dict[str, float | int]:
        return {
            "n": self.n,
            "accuracy": round(self.accuracy, 4),
            "accuracy_95": [round(self.accuracy_low, 4), round(self.accuracy_high, 4)],
            "macro_f1": round(self.macro_f1, 4),
        }


def majority_label(gold: Sequence[str], labels: Sequence[str]) -> str:
    """The most frequent label of the examples (ties: the first in the program's label order).

    The floor a compile must not fall below is this label answered everywhere, scored on the same
    rows. (Cross-validating a majority *classifier* would be lower than that on balanced examples —
    holding one row out makes the other label the majority — and so a weaker floor.)
    """
    counts = Counter(gold)
    return max(labels, key=lambda label: (counts.get(label, 0), -list(labels).index(label)))


def decide(scores: dict[str, float], bias: dict[str, float] | None = None) -> str:
    """The runtime's rule (argmax of label log-probability), with an optional per-label bias."""
    bias = bias or {}
    return max(scores, key=lambda label: (scores[label] + bias.get(label, 0.0), -list(scores).index(label)))


def best_bias(
    scores: Sequence[dict[str, float]], gold: Sequence[str], labels: Sequence[str]
) -> dict[str, float]:
    """A bias on one label's log-probability (the others at 0) that maximises macro-F1 on ``scores``.

    Candidate thresholds are the midpoints between sorted score margins, so the search is exact for
    two labels; for more labels one label at a time is shifted. Ties prefer the smallest shift.
    """
    if not scores:
        return {}
    best: tuple[float, float, dict[str, float]] = (macro_f1(gold, [decide(s) for s in scores], labels), 0.0, {})
    for label in labels:
        margins = sorted(
            max(s[other] for other in labels if other != label) - s[label] for s in scores
        )
        cuts = [(a + b) / 2 for a, b in zip(margins, margins[1:])] + [margins[0] - 1e-3, margins[-1] + 1e-3]
        for cut in cuts:
            bias = {label: cut}
            score = macro_f1(gold, [decide(s, bias) for s in scores], labels)
            if (score, -abs(cut)) > (best[0], -abs(best[1])):
                best = (score, cut, bias)
    return {k: round(v, 4) for k, v in best[2].items()}


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def midpoint_bias(
    scores: Sequence[dict[str, float]], gold: Sequence[str], labels: Sequence[str]
) -> dict[str, float]:
    """Minus each label's label-balanced median log-probability (relative to the first label's).

    Every gold label present gets equal weight: its rows' median, then the mean over the labels. For
    two labels the decision becomes "margin above the midpoint of the two labels' median margins".
    Empty when fewer than two labels are present (nothing to put a threshold between).
    """
    present = [label for label in labels if label in gold]
    if not scores or len(present) < 2:
        return {}
    shift: dict[str, float] = {}
    for label in labels:
        per_gold = [
            _median([s[label] for s, g in zip(scores, gold) if g == truth]) for truth in present
        ]
        shift[label] = -sum(per_gold) / len(per_gold)
    ref = shift[labels[0]]
    return {label: round(value - ref, 4) for label, value in shift.items() if label != labels[0]}


BIAS_RULES = {"midpoint": midpoint_bias, "f1": best_bias}


def nested_bias_predictions(
    scores: Sequence[dict[str, float]],
    gold: Sequence[str],
    labels: Sequence[str],
    folds: Sequence[Sequence[int]],
    rule: str = "f1",
) -> list[str]:
    """Predictions where each fold's bias was chosen (by ``rule``) on the other folds' scores only."""
    choose_bias = BIAS_RULES[rule]
    predicted = [""] * len(gold)
    for fold in folds:
        held = set(fold)
        rest = [i for i in range(len(gold)) if i not in held]
        bias = choose_bias([scores[i] for i in rest], [gold[i] for i in rest], labels)
        for index in fold:
            predicted[index] = decide(scores[index], bias)
    return predicted


def paired_better_p(gold: Sequence[str], challenger: Sequence[str], incumbent: Sequence[str]) -> float:
    """One-sided exact McNemar p-value that ``challenger`` is right more often than ``incumbent`` on the same rows.

    Only the rows where exactly one of the two is right count; under "no difference" each such row is a
    fair coin. With eight held-out rows the smallest p is 1/256 and a 5-0 split is needed for p < 0.05:
    a choice between two candidates on a handful of rows is usually *not* evidence, and this says so.
    """
    wins = sum(c == g and i != g for g, c, i in zip(gold, challenger, incumbent))
    losses = sum(i == g and c != g for g, c, i in zip(gold, challenger, incumbent))
    n = wins + losses
    if n == 0:
        return 1.0
    return sum(math.comb(n, j) for j in range(wins, n + 1)) / 2**n

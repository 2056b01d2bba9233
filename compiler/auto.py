"""The ``auto`` compile method: build what can be built from a spec and a few examples, ship what its
own held-out estimate says is best — and say how sure it is.

Why: a user with a spec and eight examples cannot tell whether prompting the base or fitting a LoRA
will work, and a compile that reports an accuracy measured on the rows it fitted (100%!) tells them
the wrong thing. So ``auto``:

1. pools the source's examples and ``data.train`` rows and splits them into stratified folds
   (compiler.estimate; leave-one-out when there are no more rows than folds);
2. for every fold builds each candidate *without* that fold's rows — the pseudo-program shows only
   the other rows, the LoRA is fitted only on them and on rows derived from them (compiler.augment:
   label-keeping perturbations, near-misses the spec names) — and scores the held-out rows:
   ``prompt`` through the llama.cpp runtime, ``fit`` with the torch model (same decision rule);
3. pools the held-out predictions into one estimate per candidate: macro-F1 and accuracy with its
   95% Wilson interval and n, next to the majority-label baseline measured the same way — cheapest
   candidates first, and a costlier one (``fit``) is skipped, with the reason recorded, when even a
   candidate right on every held-out row could not change the choice (``futile_reason``);
4. ships the best candidate by macro-F1 (ties go to the cheaper ``prompt``), rebuilt on all rows —
   and refuses (``CompileError``) when the best is worse than answering the majority label of the
   examples everywhere (a tie ships, and the record says so), unless ``allow_weak``;
5. records all of it — estimates, the choice and why, derived rows, calibration, seconds — in the
   program's ``compile.details.auto`` and the build manifest.

The ``fit`` candidate is regularised for few examples: few steps, rank 4, weight decay, batches
balanced across labels, and a prefix recomputed every few steps (the prefix holding the examples is
longer than all the rows together; see compiler.fit). The LM pseudo-compiler is off by default here:
it writes examples of its own from the spec, which cannot be held out, and on the embedded 135M base
its output is refused almost always anyway (docs/compiling.md).

Every built candidate also comes *calibrated*: a per-label decision bias (``LabelsOutput.bias``,
applied by the runtime before its argmax) chosen on the pooled held-out scores
(compiler.estimate: the ``midpoint`` rule by default). Why: the 135M base often answers one label
everywhere (macro-F1 of a constant) while its confidence still ranks the inputs well. A calibrated
candidate's estimate is nested — each fold's bias chosen on the other folds' scores only — and it
competes with the plain ones on that estimate; the shipped program carries the bias of the winner.
"""

from __future__ import annotations

import math
import time
from typing import Any, Literal

from pydantic import BaseModel, Field

from compiler.estimate import (
    Estimate,
    BIAS_RULES,
    decide,
    majority_label,
    nested_bias_predictions,
    paired_better_p,
    stratified_folds,
)
from compiler.methods import (
    BaseSpec,
    CommonOptions,
    CompileMethod,
    CompileRequest,
    MethodOutcome,
    ProgressFn,
    Quant,
    _template,
    register_method,
    shared_interpreter,
)
from pawflow.errors import CompileError
from pawflow.program import LabelsOutput

Pair = tuple[str, str]
# Ties go to the cheaper program; another registered method (the hypernetwork compiler, say) ranks
# between prompt and fit: one forward pass, no gradient descent. A plain candidate beats its calibrated
# twin on a tie (one fewer number chosen on a handful of rows).
_PREFERENCE: dict[str, int] = {"prompt": 0, "channel": 1, "fit": 2}
CALIBRATED = "+calibrated"
BiasRule = Literal["midpoint", "f1"]


def calibrated_name(method: str, rule: str) -> str:
    """``prompt+calibrated`` (the default midpoint rule) or ``prompt+calibrated-f1``."""
    return method + CALIBRATED + ("" if rule == "midpoint" else f"-{rule}")


class AutoOptions(CommonOptions):
    """Few-example compiling with a cross-validated choice. Defaults sized for 8 examples, 2 CPU cores."""

    pseudo_lm: bool = Field(
        default=False,
        description="ignored by auto: the LM's invented examples cannot be held out, so pseudo-programs are "
        "always built from the spec and the examples",
    )
    candidates: list[str] = Field(
        default_factory=lambda: ["prompt", "channel", "fit"], min_length=1,
        description="prompt, channel (noisy-channel label scoring, compiler.channel), fit (the regularised "
        "few-example recipe below) or any other registered method, built through the registry on each fold's "
        "rows (e.g. hypernet)",
    )
    candidate_options: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="options for candidates that are other registered methods, by name"
    )
    folds: int = Field(default=3, ge=2, le=20, description="cross-validation folds (leave-one-out below this many rows)")
    max_cv_rows: int = Field(default=48, ge=4, description="rows cross-validated at most (a stratified subset beyond)")
    steps: int = Field(default=16, ge=1, le=10_000)
    lr: float = Field(default=1e-3, gt=0, le=1.0)
    rank: int = Field(default=4, ge=1, le=256)
    alpha: float = Field(default=8.0, gt=0)
    targets: list[Literal["q", "k", "v", "o", "gate", "up", "down"]] = Field(default_factory=lambda: ["q", "k", "v", "o"])
    batch_size: int = Field(default=4, ge=1, le=512)
    weight_decay: float = Field(default=0.05, ge=0)
    balance_labels: bool = True
    objective: Literal["tokens", "labels"] = Field(
        default="tokens",
        description="fit loss: the gold label's tokens (tokens) or cross-entropy over the labels' scores (labels)",
    )
    prefix_refresh: int = Field(default=8, ge=1, description="recompute the training prefix every N steps")
    augment: bool = Field(default=True, description="fit on rows derived from the spec and examples too")
    augment_per_example: int = Field(default=3, ge=0, le=20)
    calibrate: bool = Field(
        default=True,
        description="add a calibrated twin of every candidate: a per-label decision bias chosen on held-out "
        "scores, estimated by nested cross-validation, shipped in the program when it wins",
    )
    calibration: list[BiasRule] = Field(
        default_factory=lambda: ["midpoint"], min_length=1,
        description="how a bias is chosen: midpoint (halfway between the labels' median margins) and/or f1 "
        "(the cut that maximises macro-F1 on the rows); each rule is a calibrated candidate",
    )
    prefer: str | None = Field(
        default="channel",
        description="the candidate shipped unless another one's held-out answers are significantly better "
        "(one-sided exact McNemar test on the same rows, p < switch_p) — or unless its own estimate is below "
        "the majority label's or plain prompt's. None: the best point estimate wins, however few the rows",
    )
    switch_p: float = Field(default=0.05, gt=0, le=1, description="significance a candidate needs to replace `prefer`")
    allow_weak: bool = Field(default=False, description="ship the best candidate even if it is worse than the majority label")
    seed: int = 0
    quant: Quant = "q8_0"
    check_agreement: bool = True
    agreement_rows: int = Field(
        default=8, ge=1, le=64,
        description="examples replayed through llama.cpp to check the exported adapter answers as torch did "
        "(a sanity check on fitted rows, not an estimate; each row costs a runtime call)",
    )


class CandidateReport(BaseModel):
    """One candidate's cross-validated result: a built method, plain or with a calibrated bias.

    ``estimate`` of a calibrated candidate is nested (each fold's bias chosen without that fold);
    ``bias`` is what ships with it, chosen by ``rule`` on all pooled held-out scores.
    """

    name: str
    estimate: Estimate
    rule: str | None = None
    bias: dict[str, float] | None = None
    seconds: float = 0.0
    predictions: list[str] = Field(default_factory=list, exclude=True)  # pooled held-out answers, row order

    @property
    def method(self) -> str:
        """The method that builds this candidate (``prompt`` for ``prompt+calibrated``)."""
        return self.name.split("+", 1)[0]


def _ordered_for_prompt(pairs: list[Pair]) -> list[Pair]:
    """Labels interleaved, so the first examples the pseudo-program shows cover every label."""
    by_label: dict[str, list[Pair]] = {}
    for pair in pairs:
        by_label.setdefault(pair[1], []).append(pair)
    out: list[Pair] = []
    while any(by_label.values()):
        for label in sorted(by_label):
            if by_label[label]:
                out.append(by_label[label].pop(0))
    return out


def _pseudo_for(request: CompileRequest, pairs: list[Pair]) -> str:
    from pawflow.prompting import default_pseudo_program

    shown = [{"input": text, "output": label} for text, label in _ordered_for_prompt(pairs)]
    return default_pseudo_program(request.spec, shown, request.output)


def _stratified_subset(pairs: list[Pair], limit: int, seed: int) -> list[Pair]:
    if len(pairs) <= limit:
        return pairs
    folds = stratified_folds([label for _, label in pairs], math.ceil(len(pairs) / limit), seed)
    return [pairs[i] for i in folds[0]][:limit]


class _Context:
    """What every fold needs: the request, the options, the base, the progress callback."""

    def __init__(self, request: CompileRequest, options: AutoOptions, base: BaseSpec, progress: ProgressFn) -> None:
        from pawflow.config import load_settings

        self.request = request
        self.options = options
        self.base = base
        self.progress = progress
        assert isinstance(request.output, LabelsOutput)
        self.labels = list(request.output.labels)
        # folds are scored by the model's own label log-probabilities; a bias is chosen from them
        self.unbiased = request.output.model_copy(update={"bias": None})
        self.threads = load_settings().threads
        self.derived_counts: dict[str, int] = {"perturbed": 0, "near_miss": 0}
        self.cues: dict[str, list[str]] = {}

    def derived(self, pairs: list[Pair]) -> list[Pair]:
        if not self.options.augment:
            return []
        from compiler.augment import derive_rows

        derived = derive_rows(
            self.request.spec, pairs, self.labels, per_example=self.options.augment_per_example, seed=self.options.seed
        )
        self.cues = derived.cues
        self.derived_counts = derived.counts
        return derived.rows

    def prompt_scores(self, train: list[Pair], inputs: list[str]) -> list[dict[str, float]]:
        from pawflow.function import Function
        from pawflow.program import CompileInfo, Program

        pseudo = _pseudo_for(self.request, train)
        program = Program.build(
            name=self.request.name, base=self.base.info, prompt_template=_template(self.base, pseudo),
            pseudo_program=pseudo, output=self.unbiased, generation=self.request.generation,
            compile=CompileInfo(method="prompt"),
        )
        results = Function(program, shared_interpreter(self.base)).run_many(inputs)
        return [{label: math.log(max(p, 1e-300)) for label, p in (r.scores or {}).items()} for r in results]

    def other_method(self, name: str, train: list[Pair]) -> MethodOutcome:
        """Another registered method's build on ``train`` rows only (its examples are those rows)."""
        from compiler.methods import get_method
        from pawflow.source import Example

        method = get_method(name)
        options = method.Options.model_validate({"evaluate": False, **self.options.candidate_options.get(name, {})})
        request = self.request.model_copy(update={"examples": [Example(input=t, output=o) for t, o in _ordered_for_prompt(train)], "train": [], "heldout": []})
        return method.run(request, options, self.base, self.progress)

    def outcome_scores(self, outcome: MethodOutcome, inputs: list[str]) -> list[dict[str, float]]:
        from pawflow.function import Function
        from pawflow.program import CompileInfo, Program

        # a method may shape the output (channel documents); its scores are taken without any bias
        output = outcome.output.model_copy(update={"bias": None}) if isinstance(outcome.output, LabelsOutput) else self.unbiased
        program = Program.build(
            name=self.request.name, base=self.base.info, prompt_template=outcome.prompt_template,
            pseudo_program=outcome.pseudo_program, adapter=outcome.adapter, output=output,
            generation=self.request.generation, compile=CompileInfo(method="candidate"),
        )
        results = Function(program, shared_interpreter(self.base)).run_many(inputs)
        return [{label: math.log(max(p, 1e-300)) for label, p in (r.scores or {}).items()} for r in results]

    def fit(self, train: list[Pair], *, score_inputs: list[str], export: bool, note: str):
        from compiler.fit import StepInfo, fit_lora
        from pawflow.prompting import format_output

        rows = [(text, format_output(label)) for text, label in train + self.derived(train)]
        options = self.options

        def on_step(info: StepInfo) -> None:
            self.progress(note, info.step, info.steps, f"loss {info.loss:.3f}")

        return fit_lora(
            base_path=self.base.path,
            prompt_template=_template(self.base, _pseudo_for(self.request, train)),
            train=rows,
            output_type=self.request.output,
            rank=options.rank, alpha=options.alpha, targets=tuple(options.targets), steps=options.steps,
            lr=options.lr, weight_decay=options.weight_decay, balance_labels=options.balance_labels, objective=options.objective,
            batch_size=options.batch_size, seed=options.seed, prefix_refresh=options.prefix_refresh,
            evaluate_fitted_rows=options.agreement_rows if export and options.check_agreement else False,
            score_inputs=score_inputs, export=export,
            generation=self.request.generation, quant=options.quant, threads=self.threads, progress=False,
            check=export and options.check_agreement, callback=on_step,
        )


def clears_floor(own_f1: float, majority_f1: float, prompt_f1: float | None) -> bool:
    """Whether a preferred candidate's macro-F1 is at least the majority label's and plain ``prompt``'s:
    below either, ``choose`` does not keep it (the issue's rule: never ship what its own estimate puts lower)."""
    floor = max(majority_f1, prompt_f1 if prompt_f1 is not None else 0.0)
    return round(own_f1, 6) >= round(floor, 6)


def best_possible_p(gold: list[str], incumbent: list[str]) -> float:
    """The smallest one-sided McNemar p any challenger could reach against ``incumbent`` on these rows.

    A challenger right on every row (and so right on every row the incumbent gets wrong, wrong on none it
    gets right) has the most lopsided split there is: ``0.5 ** wrong``. If even that is not below
    ``switch_p``, no candidate can replace the incumbent, whatever it answers.
    """
    return paired_better_p(gold, gold, incumbent)


def futile_reason(
    gold: list[str], labels: list[str], preferred: list[str], prompt: list[str] | None, *, prefer: str, switch_p: float
) -> str | None:
    """Why no further candidate can change what ``choose`` ships — or None when one could.

    ``choose`` ships ``prefer`` unless it falls below the majority label or plain ``prompt``, or unless a
    challenger answered the held-out rows *significantly* better. Once ``prefer`` (its pooled answers
    ``preferred``) and ``prompt`` are cross-validated, both conditions can be checked against the best
    case of any other candidate, calibrated or not — right on every row: if the preferred candidate is
    wrong on too few rows for even that to be significant, cross-validating ``fit`` (minutes of LoRA
    fitting per fold on long prompts) cannot change what ships. Skipping it is a decision-preserving
    shortcut (futility stopping), not a new rule; tests/compiler/test_auto.py checks the equivalence.
    """
    own = Estimate.of(gold, preferred, labels).macro_f1
    majority = Estimate.of(gold, [majority_label(gold, labels)] * len(gold), labels).macro_f1
    if not clears_floor(own, majority, Estimate.of(gold, prompt, labels).macro_f1 if prompt is not None else None):
        return None
    p_best = best_possible_p(gold, preferred)
    if p_best < switch_p:
        return None
    wrong = sum(p != g for p, g in zip(preferred, gold))
    return (
        f"{prefer} is wrong on {wrong} of {len(gold)} held-out rows, so a candidate right on every row would "
        f"beat it with one-sided McNemar p = {p_best:.3f}, not below switch_p = {switch_p}: "
        f"no other candidate could replace it"
    )


def cross_validate(
    ctx: _Context, pool: list[Pair], prefer: str | None = None
) -> tuple[dict[str, CandidateReport], Estimate, dict[str, Any]]:
    """Every candidate scored on every row by a program built without that row's fold.

    Candidates run cheapest first (``prompt``, the preferred one, then by cost); before each costlier one,
    ``futile_reason`` checks whether it could still change the choice, and skips it (recorded under
    ``skipped``) when it could not.
    """
    options = ctx.options
    gold = [label for _, label in pool]
    folds = stratified_folds(gold, options.folds, options.seed)
    order = sorted(options.candidates, key=lambda n: (n != "prompt", n != prefer, _PREFERENCE.get(n, 1)))
    scores: dict[str, list[dict[str, float]]] = {}
    seconds: dict[str, float] = {}
    skipped: dict[str, str] = {}
    for name in order:
        if name not in ("prompt", prefer):
            reason = None
            if prefer in scores:
                reason = futile_reason(
                    gold, ctx.labels, [decide(s) for s in scores[prefer]],
                    [decide(s) for s in scores["prompt"]] if "prompt" in scores else None,
                    prefer=prefer, switch_p=options.switch_p,
                )
            if reason is not None:
                skipped[name] = reason
                ctx.progress(f"skipping {name}", 1, 1, "cannot change the choice")
                continue
        scores[name] = [{}] * len(pool)
        seconds[name] = 0.0
        for number, fold in enumerate(folds, start=1):
            held = set(fold)
            train = [pair for i, pair in enumerate(pool) if i not in held]
            inputs = [pool[i][0] for i in fold]
            started = time.perf_counter()
            if name == "prompt":
                ctx.progress("cross-validating prompt", number - 1, len(folds), f"fold {number}/{len(folds)}")
                fold_scores = ctx.prompt_scores(train, inputs)
            elif name != "fit":
                ctx.progress(f"cross-validating {name}", number - 1, len(folds), f"fold {number}/{len(folds)}")
                fold_scores = ctx.outcome_scores(ctx.other_method(name, train), inputs)
            else:
                fold_scores = ctx.fit(train, score_inputs=inputs, export=False, note=f"cross-validating fit {number}/{len(folds)}").scores
            seconds[name] += time.perf_counter() - started
            for index, value in zip(fold, fold_scores):
                scores[name][index] = value
        ctx.progress(f"cross-validating {name}", len(folds), len(folds), "done")
    reports: dict[str, CandidateReport] = {}
    labels = ctx.labels
    calibration: dict[str, Any] = {}
    for name in [n for n in options.candidates if n in scores]:
        answers = [decide(s) for s in scores[name]]
        plain = Estimate.of(gold, answers, labels)
        reports[name] = CandidateReport(name=name, estimate=plain, seconds=round(seconds[name], 1), predictions=answers)
        if not options.calibrate:
            continue
        for rule in dict.fromkeys(options.calibration):
            nested_answers = nested_bias_predictions(scores[name], gold, labels, folds, rule)
            nested = Estimate.of(gold, nested_answers, labels)
            bias = BIAS_RULES[rule](scores[name], gold, labels) or None
            twin = calibrated_name(name, rule)
            reports[twin] = CandidateReport(
                name=twin, estimate=nested, rule=rule, bias=bias, seconds=round(seconds[name], 1), predictions=nested_answers
            )
            calibration[twin] = {"rule": rule, "bias": bias, "nested_cv": nested.summary(), "without": plain.summary()}
    majority = Estimate.of(gold, [majority_label(gold, labels)] * len(gold), labels)
    fold_info = {
        "kind": "leave-one-out" if len(folds) == len(pool) else f"stratified {len(folds)}-fold",
        "folds": len(folds),
        "sizes": [len(f) for f in folds],
    }
    extra: dict[str, Any] = {"calibration": calibration, "folds": fold_info, "gold": gold}
    if skipped:
        extra["skipped"] = skipped
    return reports, majority, extra


def choose(
    reports: dict[str, CandidateReport], majority: Estimate, *, gold: list[str] | None = None,
    prefer: str | None = None, switch_p: float = 0.05,
) -> tuple[str, str, bool]:
    """(candidate, why, beats_majority).

    With ``prefer`` (and ``gold``, the pooled held-out labels): the preferred candidate ships unless another
    candidate answered the same held-out rows significantly better (``compiler.estimate.paired_better_p``
    below ``switch_p``), or unless the preferred one's own estimate is below the majority label's or plain
    ``prompt``'s — then, as without ``prefer``, the best macro-F1 wins (then accuracy, then the cheaper
    program). Why a preference: on 4–16 rows the candidates' 95% intervals overlap almost always, and
    picking the best point estimate picked noise (docs/compiling.md: the calibrated prompt won choices it
    then lost on the test rows); a default backed by evidence measured elsewhere does better than a coin.
    """
    ranked = sorted(
        reports.values(),
        key=lambda r: (
            -round(r.estimate.macro_f1, 6), -round(r.estimate.accuracy, 6), _PREFERENCE.get(r.method, 1), r.bias is not None
        ),
    )
    best = ranked[0]
    parts = [f"{r.name}: {r.estimate.describe()}" for r in ranked]
    parts.append(f"majority label: {majority.describe()}")
    preferred = reports.get(prefer) if prefer and gold is not None else None
    prompt_f1 = reports["prompt"].estimate.macro_f1 if "prompt" in reports else None
    lead = ""
    if preferred is not None and clears_floor(preferred.estimate.macro_f1, majority.macro_f1, prompt_f1):
        challengers = [
            (paired_better_p(gold, r.predictions, preferred.predictions), r)
            for r in ranked if r.name != preferred.name and r.estimate.macro_f1 > preferred.estimate.macro_f1
        ]
        significant = [(p, r) for p, r in challengers if p < switch_p]
        if significant:
            p_value, best = significant[0]
            lead = f"{best.name} answered the held-out rows significantly better than the preferred {preferred.name} (one-sided McNemar p = {p_value:.3f})"
        else:
            best = preferred
            tested = ", ".join(f"{r.name} p = {p:.2f}" for p, r in challengers)
            lead = (
                f"{preferred.name} is the preferred candidate and no other answered the held-out rows significantly "
                f"better (one-sided McNemar, p < {switch_p}" + (f"; {tested}" if tested else "") + ")"
            )
    below = preferred is not None and not lead
    beats = round(best.estimate.macro_f1, 6) >= round(majority.macro_f1, 6)
    ties_majority = round(best.estimate.macro_f1, 6) == round(majority.macro_f1, 6)
    if not lead:
        if len(ranked) > 1 and round(ranked[1].estimate.macro_f1, 6) == round(best.estimate.macro_f1, 6) and round(
            ranked[1].estimate.accuracy, 6
        ) == round(best.estimate.accuracy, 6):
            lead += f"{best.name} ties {ranked[1].name} and is the cheaper program" + (
                "" if best.method != ranked[1].method else " (no bias chosen on a few rows)"
            )
        elif len(ranked) > 1:
            lead += f"{best.name} has the best held-out estimate"
        else:
            lead += f"{best.name} is the only candidate"
        if below:
            lead += f" (the preferred {prefer} scored below the majority label or plain prompt)"
    if not beats:
        lead += ", but it is worse than answering the majority label"
    elif ties_majority:
        lead += ", though it is no better than answering the majority label"
    return best.name, f"{lead} ({'; '.join(parts)})", beats


class AutoResult(BaseModel):
    """Everything ``auto`` measured and built; ``outcomes`` holds the candidates built on all rows."""

    model_config = {"arbitrary_types_allowed": True}
    chosen: str
    why: str
    beats_majority: bool
    reports: dict[str, CandidateReport]
    majority: Estimate
    extra: dict[str, Any]
    estimate_how: str
    pool_size: int
    outcomes: dict[str, MethodOutcome] = Field(default_factory=dict)
    cv_seconds: float = 0.0
    build_seconds: dict[str, float] = Field(default_factory=dict)
    derived_counts: dict[str, int] = Field(default_factory=dict)
    cues: dict[str, list[str]] = Field(default_factory=dict)

    @property
    def chosen_method(self) -> str:
        """The method that builds the chosen candidate (``prompt`` for ``prompt+calibrated``)."""
        return self.reports[self.chosen].method

    @property
    def chosen_bias(self) -> dict[str, float] | None:
        """The decision bias the shipped program carries (None: the model's own argmax)."""
        return self.reports[self.chosen].bias

    def shipped_output(self, request: CompileRequest) -> LabelsOutput:
        """The request's labels (or the chosen method's, e.g. channel documents) with the chosen bias: what goes into the .paw."""
        assert isinstance(request.output, LabelsOutput)
        built = self.outcomes[self.chosen_method].output if self.chosen_method in self.outcomes else None
        shaped = built if isinstance(built, LabelsOutput) else request.output
        return shaped.model_copy(update={"bias": self.chosen_bias})

    def details(self, request: CompileRequest, options: "AutoOptions") -> dict[str, Any]:
        """The program's ``compile.details`` for the shipped candidate (``chosen``)."""
        est = self.reports[self.chosen].estimate
        outcome = self.outcomes[self.chosen_method]
        bias = self.chosen_bias
        details: dict[str, Any] = {
            "pseudo_compiler": "fallback",
            "pseudo_reasons": ["auto builds every pseudo-program from the spec and the examples it may show (held-out folds need that)"],
            "chosen": self.chosen,
            "estimate": {**est.summary(), "how": self.estimate_how},
            "auto": {
                "chosen": self.chosen,
                "why": self.why,
                "beats_majority": self.beats_majority,
                "estimate_how": self.estimate_how,
                "candidates": {
                    name: {
                        **r.estimate.summary(), "f1": {k: round(v, 4) for k, v in r.estimate.f1.items()},
                        "cv_seconds": r.seconds, **({"rule": r.rule, "bias": r.bias} if r.rule else {}),
                    }
                    for name, r in self.reports.items()
                },
                "majority": self.majority.summary(),
                **self.extra,
                "derived_rows": {"last_build": self.derived_counts, "spec_cues": self.cues} if options.augment else None,
                "rows": {"examples": len(request.examples), "train": len(request.train), "cross_validated": self.pool_size},
                "seconds": {"cross_validation": round(self.cv_seconds, 1), "final": round(self.build_seconds.get(self.chosen_method, 0.0), 1)},
                "calibration_applied": bias is not None,
                "bias": bias,
                "calibration_note": (
                    f"output.bias {bias} ({self.reports[self.chosen].rule} rule on the pooled held-out scores) is applied by "
                    "the runtime before its argmax; the estimate is nested (each fold's bias chosen without that fold)"
                    if bias is not None else "no bias shipped: the plain candidate's estimate was at least as good"
                ),
            },
        }
        fit_details = outcome.details.get("fit")
        if fit_details:
            details["fit"] = fit_details
            details["adapter_bytes"] = fit_details.get("adapter_bytes", {})
            details["quant"] = fit_details.get("quant")
        return details


def auto_compile(
    request: CompileRequest,
    options: AutoOptions,
    base: BaseSpec,
    progress: ProgressFn,
    *,
    build: str = "chosen",
) -> AutoResult:
    """Cross-validate the candidates, choose, and build on all rows: the chosen one, or ``build="all"``.

    ``build="all"`` is for the benchmark, which scores every candidate on its own test rows.
    """
    where = request.origin or request.name
    if not isinstance(request.output, LabelsOutput):
        raise CompileError(
            f"{where}: the auto method needs a labels program (output.type: labels) to estimate held-out accuracy",
            hint="use --method prompt or --method fit for text and JSON programs",
        )
    from compiler.methods import method_names

    unknown = [name for name in options.candidates if name not in method_names() or name == "auto"]
    if unknown:
        raise CompileError(
            f"{where}: auto cannot use {unknown} as candidates; registered methods: {', '.join(method_names())}"
        )
    started = time.perf_counter()
    pool_all: list[Pair] = [(row.input, row.output) for row in [*request.examples, *request.train]]
    present = {label for _, label in pool_all}
    if len(pool_all) < 2 or len(present) < 2:
        raise CompileError(
            f"{where}: auto needs examples of at least two labels to hold any out "
            f"(it has {len(pool_all)} row(s) of {len(present)} label(s))",
            hint="add examples, or compile with --method prompt",
        )
    ctx = _Context(request, options, base, progress)
    pool = _stratified_subset(pool_all, options.max_cv_rows, options.seed)
    prefer = options.prefer if options.prefer in options.candidates else None
    reports, majority, extra = cross_validate(ctx, pool, prefer)
    cv_seconds = time.perf_counter() - started
    chosen, why, beats = choose(reports, majority, gold=extra.pop("gold"), prefer=prefer, switch_p=options.switch_p)
    for name, reason in extra.get("skipped", {}).items():
        why += f"; {name} not cross-validated: {reason}"
    how = extra["folds"]["kind"] + f" cross-validation over {len(pool)} example(s): each scored by a program built without it"
    result = AutoResult(
        chosen=chosen, why=why, beats_majority=beats, reports=reports, majority=majority, extra=extra,
        estimate_how=how, pool_size=len(pool), cv_seconds=cv_seconds,
    )
    pseudo = _pseudo_for(request, pool_all)
    template = _template(base, pseudo)
    for name in options.candidates if build == "all" else [reports[chosen].method]:
        built = time.perf_counter()
        if name == "fit":
            fitted = ctx.fit(pool_all, score_inputs=[], export=True, note="fitting LoRA (all examples)")
            outcome = MethodOutcome(pseudo_program=pseudo, prompt_template=template, adapter=fitted.adapter, details={"fit": fitted.details()})
        elif name != "prompt":
            outcome = ctx.other_method(name, pool_all)
        else:
            outcome = MethodOutcome(pseudo_program=pseudo, prompt_template=template)
        result.outcomes[name] = outcome
        result.build_seconds[name] = time.perf_counter() - built
    result.derived_counts = ctx.derived_counts
    result.cues = ctx.cues
    return result


@register_method
class AutoMethod(CompileMethod):
    """Cross-validate the candidates (prompt, channel, a regularised fit) on the examples; ship the
    preferred one unless another is significantly better; record the estimate and why."""

    name = "auto"
    summary = "cross-validated choice among prompt, channel and a few-example fit"
    Options = AutoOptions

    def run(self, request: CompileRequest, options: BaseModel, base: BaseSpec, progress: ProgressFn) -> MethodOutcome:
        assert isinstance(options, AutoOptions)
        result = auto_compile(request, options, base, progress, build="chosen")
        if not result.beats_majority and not options.allow_weak:
            raise CompileError(
                f"{request.origin or request.name}: every candidate is worse than answering the majority label on "
                f"held-out examples — {result.why}",
                hint="add examples (especially of the rarer labels) or sharpen the spec; "
                "allow_weak: true ships the best anyway",
            )
        est = result.reports[result.chosen].estimate
        progress("done", 1, 1, f"{result.chosen}: {est.describe()}")
        outcome = result.outcomes[result.chosen_method]
        return MethodOutcome(
            pseudo_program=outcome.pseudo_program, prompt_template=outcome.prompt_template,
            adapter=outcome.adapter, output=result.shipped_output(request), details=result.details(request, options),
        )

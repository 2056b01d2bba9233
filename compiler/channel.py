"""The ``channel`` compile method: a labels program scored the noisy-channel way, from the spec and examples.

Why: with a handful of examples a 135M base prompted to *answer* a label leans to one label everywhere
(docs/compiling.md: plain ``prompt`` macro-F1 0.27–0.44 on the few-shot sets, a constant), and a LoRA
fitted on eight rows memorises them. Asked instead how likely the input is as the next item of each
label's document — the spec, "Examples of inputs labelled L:", that label's examples — the same base
ranks inputs far better (Min et al. 2022, "Noisy Channel Language Model Prompting for Few-Shot Text
Classification": channel beats direct prompting most where examples are few and labels unbalanced).

What it builds: no adapter and no training; ``LabelsOutput.channel`` holds each label's document
(``pawflow.prompting.channel_text``) and the runtime (``pawflow.backends.llamacpp_channel``) scores
log P(input | document) per label. The prompt template is the ordinary pseudo-program's, kept so the
program still reads as one for tools that show it. Inside ``auto`` it is one more candidate,
cross-validated like ``prompt`` (each fold's documents list only that fold's training examples) and
with its calibrated twin (a per-label bias chosen on held-out scores).

Each label's document carries the spec *as it describes that label* (``label_description``): the
sentences naming no label (what the input is) and those naming this label, without the sentences
that describe only the others. Why: with the whole spec in every document the documents differ only
in their examples, and two examples per label say little; with the label's own description the input
is scored against "Say COMPLAINT when the product broke, did not work, ..." on one side and "Say
PRAISE when it works well, ..." on the other, so the spec's words count for the label they describe.
Decided on the few-shot benchmark's dev rows (bench/fewshot.py --split dev, docs/compiling.md) before
any test row was scored with it; ``spec_in_documents: full`` restores the whole spec.
"""

from __future__ import annotations

import re
from typing import Literal, Sequence

from pydantic import BaseModel, Field

from compiler.methods import (
    BaseSpec,
    CommonOptions,
    CompileMethod,
    CompileRequest,
    MethodOutcome,
    ProgressFn,
    _template,
    register_method,
)
from pawflow.errors import CompileError
from pawflow.program import LabelsOutput


class ChannelOptions(CommonOptions):
    """Channel documents list the examples; nothing is trained."""

    pseudo_lm: bool = Field(default=False, description="ignored: the documents are built from the spec and examples")
    max_examples_per_label: int = Field(
        default=16, ge=0, le=256, description="examples listed in each label's document (the first N of that label)"
    )
    spec_in_documents: Literal["label", "full"] = Field(
        default="label",
        description="label: each document carries the spec's sentences about its own label (and those naming no "
        "label); full: the whole spec in every document",
    )


def _spec_sentences(spec: str) -> list[str]:
    """The spec's sentences (sentencex, a maintained rule-based segmenter: "e.g." and "Ver. 2" do not end
    one), each further split at semicolons so "X is ALERT; Y is QUIET" gives each clause its own label."""
    from sentencex import segment

    text = " ".join(spec.split())
    return [part.strip() for sentence in segment("en", text) for part in re.split(r";\s+", sentence) if part.strip()]


def label_descriptions(spec: str, labels: Sequence[str]) -> dict[str, str]:
    """The spec as it describes each label: without the sentences that name only other labels.

    Sentences naming no label (what the input is, "Only the label.") and sentences naming the label
    (alone or with others) are kept in order; a spec that names no label comes back whole. The spec
    is segmented once for all labels.
    """
    from compiler.augment import names_label

    named = [(sentence, {name for name in labels if names_label(sentence, name)}) for sentence in _spec_sentences(spec)]
    return {label: " ".join(sentence for sentence, names in named if not names or label in names) for label in labels}


def label_description(spec: str, label: str, labels: Sequence[str]) -> str:
    """The spec as it describes ``label`` (see ``label_descriptions``)."""
    return label_descriptions(spec, labels)[label]


def channel_output(
    request: CompileRequest, pairs: list[tuple[str, str]], max_per_label: int = 16, spec_in_documents: str = "label"
) -> LabelsOutput:
    """The request's labels with one channel document per label: the spec (as it describes that label,
    or whole) and that label's examples."""
    from pawflow.prompting import channel_text

    assert isinstance(request.output, LabelsOutput)
    labels = request.output.labels
    if spec_in_documents == "label":
        described = label_descriptions(request.spec, labels)
    else:
        described = dict.fromkeys(labels, request.spec)
    documents = {
        label: channel_text(described[label], label, [text for text, gold in pairs if gold == label][:max_per_label])
        for label in labels
    }
    return request.output.model_copy(update={"channel": documents})


@register_method
class ChannelMethod(CompileMethod):
    """Per-label documents (the label's description from the spec + its examples); the runtime scores
    P(input | label's document)."""

    name = "channel"
    summary = "noisy-channel labels: P(input | the label's description + examples), no adapter"
    Options = ChannelOptions

    def run(self, request: CompileRequest, options: BaseModel, base: BaseSpec, progress: ProgressFn) -> MethodOutcome:
        assert isinstance(options, ChannelOptions)
        where = request.origin or request.name
        if not isinstance(request.output, LabelsOutput):
            raise CompileError(
                f"{where}: the channel method scores labels; this program's output is {request.output.type}",
                hint="use --method prompt or --method fit for text and JSON programs",
            )
        from compiler.auto import _pseudo_for

        pairs = [(row.input, row.output) for row in [*request.examples, *request.train]]
        progress("building channel documents", 0, 1)
        output = channel_output(request, pairs, options.max_examples_per_label, options.spec_in_documents)
        pseudo = _pseudo_for(request, pairs)
        progress("building channel documents", 1, 1)
        shown = {label: min(options.max_examples_per_label, sum(gold == label for _, gold in pairs)) for label in output.labels}
        details = {
            "pseudo_compiler": "fallback",
            "scoring": "channel",
            "examples_per_label": shown,
            "spec_in_documents": options.spec_in_documents,
            "note": "labels are scored as log P(input | label's document); no adapter",
        }
        return MethodOutcome(pseudo_program=pseudo, prompt_template=_template(base, pseudo), output=output, details=details)

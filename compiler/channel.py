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
"""

from __future__ import annotations

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


def channel_output(request: CompileRequest, pairs: list[tuple[str, str]], max_per_label: int = 16) -> LabelsOutput:
    """The request's labels with one channel document per label, listing that label's examples."""
    from pawflow.prompting import channel_text

    assert isinstance(request.output, LabelsOutput)
    documents = {
        label: channel_text(request.spec, label, [text for text, gold in pairs if gold == label][:max_per_label])
        for label in request.output.labels
    }
    return request.output.model_copy(update={"channel": documents})


@register_method
class ChannelMethod(CompileMethod):
    """Per-label documents (spec + that label's examples); the runtime scores P(input | label's document)."""

    name = "channel"
    summary = "noisy-channel labels: P(input | spec + the label's examples), no adapter"
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
        output = channel_output(request, pairs, options.max_examples_per_label)
        pseudo = _pseudo_for(request, pairs)
        progress("building channel documents", 1, 1)
        shown = {label: min(options.max_examples_per_label, sum(gold == label for _, gold in pairs)) for label in output.labels}
        details = {
            "pseudo_compiler": "fallback",
            "scoring": "channel",
            "examples_per_label": shown,
            "note": "labels are scored as log P(input | label's document); no adapter",
        }
        return MethodOutcome(pseudo_program=pseudo, prompt_template=_template(base, pseudo), output=output, details=details)

"""Rendering the interpreter prompt (the paper's Fig. 15 layout) with the base model's own chat template.

A program's ``prompt_template.txt`` is fully rendered at compile time, so the runtime never needs to know
chat formats: it splits the template at ``{INPUT_PLACEHOLDER}`` and caches everything before it. The
chat template comes from the base GGUF (``tokenizer.chat_template``), rendered with a sandboxed jinja2,
so any base — SmolLM2, Gemma 3, Qwen3 — gets its own turn markers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from jinja2.sandbox import ImmutableSandboxedEnvironment

from pawflow.base import BaseModelInfo
from pawflow.program import INPUT_PLACEHOLDER, JsonOutput, LabelsOutput, TextOutput

_SENTINEL = "\u0000PAWFLOW_INPUT\u0000"
_INPUT_BLOCK = "[INPUT]\n{input}\n[END_INPUT]"
# A base without a chat template (a pretrained GGUF such as the Gemma 3 270M wheel) has no answer turn to
# start, so the plain layout opens an output block itself: without it such a base continued the prompt's
# own markup ("[INPUT]", "[OUTPUT]") instead of answering (0 of 20 validation facts answered, vs 5 with
# the marker; measured on gemma3-270m). The markers that would start the next block end a text answer.
OUTPUT_MARKER = "[OUTPUT]\n"
PLAIN_LAYOUT_STOPS: tuple[str, ...] = ("[END_OUTPUT]", "[INPUT]", "[OUTPUT]")


def render_chat(
    base: BaseModelInfo,
    messages: Sequence[dict[str, str]],
    *,
    add_generation_prompt: bool = True,
    base_path: Path | None = None,
) -> str:
    """Render chat messages with the base's template; bases without one get a plain layout."""
    if not base.chat_template:
        # The runtime tokenizes prompts without adding BOS (chat templates write it themselves), so a
        # base whose tokenizer wants one gets it here: Gemma 3 without BOS repeats markup instead of answering.
        bos = base.bos_token if base.add_bos and base.bos_token else ""
        text = bos + "\n\n".join(m["content"] for m in messages)
        return text + ("\n" if add_generation_prompt else "")
    bos, eos = base.bos_token or "", base.eos_token or ""
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = _raise
    template = env.from_string(base.chat_template)
    return template.render(
        messages=list(messages),
        add_generation_prompt=add_generation_prompt,
        bos_token=bos,
        eos_token=eos,
        enable_thinking=False,  # Qwen3: answer directly, the interpreter is not a reasoner
    )


def _raise(message: str) -> None:
    raise ValueError(f"chat template error: {message}")


def render_template(base: BaseModelInfo, pseudo_program: str, *, base_path: Path | None = None) -> str:
    """The program's prompt template: one user turn = pseudo-program + input block, then the answer turn.

    A base without a chat template gets the plain layout with an ``[OUTPUT]`` line where the answer
    turn would start (see ``OUTPUT_MARKER``); the runtime then also stops text at ``PLAIN_LAYOUT_STOPS``.
    """
    user = f"{pseudo_program.strip()}\n\n" + _INPUT_BLOCK.format(input=_SENTINEL)
    rendered = render_chat(base, [{"role": "user", "content": user}], base_path=base_path)
    if not base.chat_template:
        rendered += OUTPUT_MARKER
    if rendered.count(_SENTINEL) != 1:
        raise ValueError("the base's chat template dropped or duplicated the user message")
    return rendered.replace(_SENTINEL, INPUT_PLACEHOLDER)


def text_stops(stop: Sequence[str], base: BaseModelInfo) -> tuple[str, ...]:
    """A text program's stop strings on ``base``: its own, plus the plain layout's block markers.

    Every backend that generates text asks here, so a pretrained base stops after its answer whichever
    backend runs it (it would otherwise run on into the next ``[INPUT]`` block)."""
    return tuple(stop) + (() if base.chat_template else PLAIN_LAYOUT_STOPS)


def format_output(value: Any) -> str:
    """How an example's output appears in a pseudo-program and in training targets."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def output_contract(output: LabelsOutput | TextOutput | JsonOutput) -> str:
    if isinstance(output, LabelsOutput):
        return "Answer with exactly one of: " + ", ".join(output.labels) + "."
    if isinstance(output, JsonOutput):
        return "Answer with JSON only, matching this schema: " + json.dumps(output.json_schema, separators=(",", ":"))
    return "Answer with the output text only."


def default_pseudo_program(
    spec: str,
    examples: Sequence[Any],
    output: LabelsOutput | TextOutput | JsonOutput,
    *,
    max_examples: int = 8,
) -> str:
    """A deterministic pseudo-program: the spec as a task paragraph, the output contract, then examples.

    This is what the pseudo-compiler falls back to when the LM writes something unusable, and the
    layout the LM is asked to produce (task paragraph + examples), so both kinds read the same way.
    """
    lines = [spec.strip(), "", output_contract(output)]
    shown = list(examples)[:max_examples]
    if shown:
        lines += ["", "Examples:"]
        for example in shown:
            item_in = example["input"] if isinstance(example, dict) else example.input
            item_out = example["output"] if isinstance(example, dict) else example.output
            lines.append(f"Input: {item_in}")
            lines.append(f"Output: {format_output(item_out)}")
    return "\n".join(lines).strip()


# ------------------------------------------------------------------------- noisy-channel labels
# A channel program (LabelsOutput.channel) reads every label as a short document: the spec, then
# "Examples of inputs labelled L:" and one example per line. The runtime scores how likely the input
# is as the next line of each label's document. One item per line, so an input's own line breaks
# and runs of spaces are folded (the compiler lists its examples through the same function).


def channel_item(text: str) -> str:
    """An input as one item line of a channel document (whitespace folded, no line breaks)."""
    return " ".join(str(text).split())


CHANNEL_ITEM_END = "\n"  # scored after the input: "the item ends here" is part of its likelihood


def channel_text(spec: str, label: str, examples: Sequence[str]) -> str:
    """Label ``label``'s document: the spec (the compiler passes the spec as it describes this label,
    ``compiler.channel.label_description``), that label's examples as items, and the open next item."""
    head = spec.strip() + "\n\n" + f"Examples of inputs labelled {label}:\n"
    return head + "".join(f"- {channel_item(text)}\n" for text in examples) + "- "

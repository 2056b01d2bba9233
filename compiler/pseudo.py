"""The pseudo-compiler: spec (+ examples) -> a pseudo-program, written by an LM and checked before use.

The paper's compiler writes the discrete half of a program — a self-contained task paragraph plus a
few input/output examples — from the user's spec (its Fig. 14 prompt). pawflow asks the interpreter's
own base model to do the same through :meth:`pawflow.Interpreter.complete`, so compiling needs no
second model. A 135M model usually writes something unusable (the markers echoed back, the template's
placeholders, the same example six times), and a bad pseudo-program is worse than none because every
later call and every LoRA fit is conditioned on it. So its output is parsed and validated, and when it
fails we fall back to :func:`pawflow.prompting.default_pseudo_program`, the deterministic rendering of
the spec and the source's own examples, and record which one happened and why.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pawflow.program import JsonOutput, LabelsOutput, TextOutput
from pawflow.prompting import default_pseudo_program, format_output, output_contract
from pawflow.source import Example, check_output

Output = LabelsOutput | TextOutput | JsonOutput

BEGIN = "[PSEUDO_PROGRAM]"
END = "[END_PSEUDO_PROGRAM]"

# Modelled on the paper's pseudo-compiler prompt (Fig. 14): role, the "interpreter never sees the spec"
# constraint, the exact output layout, and the spec between [SPEC] markers. pawflow's wording.
COMPILER_TEMPLATE = """You are PAW-Compiler. You write a PSEUDO-PROGRAM: the only instructions a much smaller model will get for a task.
The smaller model will NOT see the specification below, so the pseudo-program must say everything it needs.

Write it in exactly this layout:
[PSEUDO_PROGRAM]
Task: <one paragraph: what to do, the edge cases, and the exact output format>

Examples:
Input: <an input>
Output: <its output>

Input: <another input>
Output: <its output>
[END_PSEUDO_PROGRAM]

Rules:
- The task paragraph restates every requirement of the specification in your own words.
- Give 3 to 6 examples that cover typical cases and the edge cases the specification mentions.
- {output_rule}
- Keep it under 250 tokens and finish with [END_PSEUDO_PROGRAM].

[SPEC]
{spec}
[END_SPEC]"""

# Strings that only appear when the LM echoes the prompt instead of writing a program.
_ECHO_MARKERS = ("[SPEC]", "[END_SPEC]", BEGIN, "PAW-Compiler", "<one paragraph", "<an input>", "<its output>", "<another input>")


class PseudoExample(BaseModel):
    model_config = ConfigDict(frozen=True)
    input: str
    output: str  # as written in the pseudo-program (labels and text verbatim, JSON serialised)


class ParsedPseudoProgram(BaseModel):
    """A pseudo-program split into its task paragraph and examples."""

    task: str
    examples: list[PseudoExample] = Field(default_factory=list)


class Verdict(BaseModel):
    """Why an LM-written pseudo-program was accepted or refused (refusals list every reason)."""

    ok: bool
    reasons: list[str] = Field(default_factory=list)
    parsed: ParsedPseudoProgram | None = None


class PseudoCompileResult(BaseModel):
    """The pseudo-program a compile will use, and its provenance for ``CompileInfo.details``."""

    pseudo_program: str
    pseudo_compiler: Literal["lm", "fallback"]
    reasons: list[str] = Field(default_factory=list, description="why the LM output was refused (fallback only)")
    lm_output: str = ""
    seconds: float = 0.0

    def details(self) -> dict[str, Any]:
        info: dict[str, Any] = {"pseudo_compiler": self.pseudo_compiler, "pseudo_compile_s": round(self.seconds, 2)}
        if self.pseudo_compiler == "fallback":
            info["pseudo_compiler_reasons"] = self.reasons
            info["pseudo_compiler_lm_output"] = self.lm_output[:600]
        return info


def output_rule(output: Output) -> str:
    if isinstance(output, LabelsOutput):
        return "Every Output is exactly one of: " + ", ".join(output.labels) + "."
    if isinstance(output, JsonOutput):
        return "Every Output is one line of JSON matching: " + json.dumps(output.json_schema, separators=(",", ":"))
    return "Every Output is the answer text only, on one line."


def compiler_prompt(spec: str, examples: Sequence[Example], output: Output, *, max_examples: int = 4) -> str:
    """The user turn sent to the pseudo-compiler LM: the template around the spec and a few examples."""
    body = spec.strip()
    shown = list(examples)[:max_examples]
    if shown:
        body += "\n\nExamples from the user:\n" + "\n".join(
            f"Input: {ex.input}\nOutput: {format_output(ex.output)}" for ex in shown
        )
    return COMPILER_TEMPLATE.format(spec=body, output_rule=output_rule(output))


_EXAMPLE = re.compile(r"^\s*Input:\s*(?P<input>.*?)\s*\n\s*Output:\s*(?P<output>.*?)\s*$", re.S)


def parse_pseudo_program(text: str) -> ParsedPseudoProgram | None:
    """Split ``Task: ... Examples: Input/Output ...`` (markers optional); None if there is no task."""
    body = text.replace(BEGIN, "").split(END)[0].strip()
    match = re.match(r"^\s*Task:\s*(?P<task>.*?)(?:\n\s*Examples?:\s*\n(?P<examples>.*))?$", body, re.S)
    if match is None:
        return None
    task = match.group("task").strip()
    examples: list[PseudoExample] = []
    block = match.group("examples") or ""
    for chunk in re.split(r"\n\s*(?=Input:)", block.strip()):
        found = _EXAMPLE.match(chunk)
        if found:
            examples.append(PseudoExample(input=found.group("input").strip(), output=found.group("output").strip()))
    return ParsedPseudoProgram(task=task, examples=examples)


def _value_of(written: str, output: Output) -> Any:
    """An example's output as the program would return it (JSON parsed, quotes around labels tolerated)."""
    if isinstance(output, JsonOutput):
        return json.loads(written)
    return written


def validate_pseudo_program(
    text: str,
    output: Output,
    *,
    min_examples: int = 2,
    max_chars: int = 2400,
    min_task_words: int = 8,
) -> Verdict:
    """Accept an LM-written pseudo-program only if the interpreter could follow it.

    Checks, each a refusal reason when it fails: not empty or overlong; no echoed prompt scaffolding;
    a task paragraph of real words; at least ``min_examples`` parseable examples whose outputs are
    valid for the program's output type (labels from the label set, JSON matching the schema);
    distinct example inputs, several labels shown for a classifier, and no degenerate repetition.
    """
    reasons: list[str] = []
    stripped = text.strip()
    if not stripped:
        return Verdict(ok=False, reasons=["empty output"])
    if len(stripped) > max_chars:
        reasons.append(f"too long ({len(stripped)} chars > {max_chars})")
    body = stripped.replace(BEGIN, "", 1) if stripped.startswith(BEGIN) else stripped
    echoed = [marker for marker in _ECHO_MARKERS if marker in body.split(END)[0]]
    if echoed:
        reasons.append(f"echoes the compiler prompt ({', '.join(echoed)})")
    parsed = parse_pseudo_program(stripped)
    if parsed is None:
        reasons.append("no 'Task:' paragraph")
        return Verdict(ok=False, reasons=reasons)
    words = re.findall(r"[A-Za-z]{2,}", parsed.task)
    if len(words) < min_task_words:
        reasons.append(f"task paragraph has {len(words)} words, need at least {min_task_words}")
    if len(parsed.examples) < min_examples:
        reasons.append(f"{len(parsed.examples)} parseable examples, need at least {min_examples}")
    bad_outputs = []
    for index, example in enumerate(parsed.examples):
        if not example.input:
            bad_outputs.append(f"example {index + 1} has an empty input")
            continue
        try:
            check_output(output, _value_of(example.output, output), f"example {index + 1} output")
        except (ValueError, json.JSONDecodeError) as exc:
            bad_outputs.append(str(exc).split("\n")[0])
        if isinstance(output, TextOutput) and not example.output:
            bad_outputs.append(f"example {index + 1} has an empty output")
    reasons.extend(bad_outputs[:3])
    inputs = [example.input for example in parsed.examples]
    if len(set(inputs)) < len(inputs):
        reasons.append("repeats the same example input")
    if isinstance(output, LabelsOutput) and parsed.examples and len({ex.output for ex in parsed.examples}) < 2:
        reasons.append("all examples have the same label; a classifier needs contrast")
    lines = [line.strip() for line in stripped.splitlines() if line.strip()]
    most = Counter(lines).most_common(1)
    if most and most[0][1] >= 3 and most[0][0] not in (BEGIN, END):
        reasons.append(f"repetitive: the line {most[0][0][:40]!r} occurs {most[0][1]} times")
    task_tokens = parsed.task.lower().split()
    if len(task_tokens) >= 12 and len(set(task_tokens)) / len(task_tokens) < 0.4:
        reasons.append("task paragraph is degenerate (few distinct words)")
    return Verdict(ok=not reasons, reasons=reasons, parsed=parsed)


def render_parsed(parsed: ParsedPseudoProgram, output: Output) -> str:
    """The accepted LM program in the same layout as the fallback: task, output contract, examples.

    Markers and anything after END are dropped; the contract line is added because a small LM's task
    paragraph rarely states the exact label set, and the fallback always does.
    """
    lines = [f"Task: {parsed.task}", "", output_contract(output)]
    if parsed.examples:
        lines += ["", "Examples:"]
        for example in parsed.examples:
            lines += [f"Input: {example.input}", f"Output: {example.output}", ""]
    return "\n".join(lines).strip()


Complete = Callable[[str], str]


_COMPLETIONS: dict[tuple[str, str, int, str], str] = {}


def lm_complete(max_tokens: int = 256, interpreter: Any = None) -> Complete:
    """A completion function on the shared interpreter: the chat-rendered compiler prompt, primed
    with the opening marker so the model starts writing the program instead of chatting.

    Decoding is greedy, so the same prompt on the same base always gives the same text; completions
    are memoised per process, which spares ``fit`` re-running the LM after ``prompt`` for one source.
    """
    from pawflow.interpreter import Interpreter
    from pawflow.prompting import render_chat

    interpreter = interpreter or Interpreter.shared()

    def complete(user_turn: str) -> str:
        key = (interpreter.base_info.sha256, COMPILER_TEMPLATE, max_tokens, user_turn)
        if key not in _COMPLETIONS:
            prompt = render_chat(
                interpreter.base_info, [{"role": "user", "content": user_turn}], base_path=interpreter.base_path
            )
            _COMPLETIONS[key] = BEGIN + "\n" + interpreter.complete(prompt + BEGIN + "\n", max_tokens=max_tokens, stop=[END])
        return _COMPLETIONS[key]

    return complete


def pseudo_compile(
    spec: str,
    examples: Sequence[Example],
    output: Output,
    *,
    complete: Complete | None = None,
    use_lm: bool = True,
) -> PseudoCompileResult:
    """Ask the LM for a pseudo-program; use it if it validates, else the deterministic fallback."""
    started = time.perf_counter()
    fallback = default_pseudo_program(spec, examples, output)
    if not use_lm:
        return PseudoCompileResult(
            pseudo_program=fallback, pseudo_compiler="fallback", reasons=["LM pseudo-compiler disabled (use_lm: false)"]
        )
    complete = complete or lm_complete()
    raw = complete(compiler_prompt(spec, examples, output))
    verdict = validate_pseudo_program(raw, output)
    seconds = time.perf_counter() - started
    if verdict.ok and verdict.parsed is not None:
        return PseudoCompileResult(
            pseudo_program=render_parsed(verdict.parsed, output), pseudo_compiler="lm", lm_output=raw, seconds=seconds
        )
    return PseudoCompileResult(
        pseudo_program=fallback, pseudo_compiler="fallback", reasons=verdict.reasons, lm_output=raw, seconds=seconds
    )

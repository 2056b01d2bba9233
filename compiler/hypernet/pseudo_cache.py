"""Pseudo-programs for a whole dataset, generated once into a JSONL keyed by spec (Appendix G).

Training reads the pseudo-program of every spec many times; generating it with an LM each time would
cost more than the training step. So they are generated once, before training, by the best engine
installed — vLLM (batched, GPU) when it imports, pawflow's llama.cpp interpreter otherwise, or the
deterministic fallback only (``engine="none"``) — and appended to a JSONL file, one object per line:
``{"key", "spec", "pseudo_program", "pseudo_compiler"}``. A rerun skips keys already there, so an
interrupted generation resumes. Every LM output goes through the same validator as ``pawflow compile``
(``compiler.pseudo.validate_pseudo_program``), so what training sees is what a compile would ship.

The key covers the spec, the shown examples and the output type: the same spec with other examples
is another pseudo-program.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from pawflow.errors import CompileError
from pawflow.program import LabelsOutput, TextOutput
from pawflow.source import Example

Engine = Literal["auto", "vllm", "llama.cpp", "none"]


class PseudoEntry(BaseModel):
    key: str
    spec: str
    pseudo_program: str
    pseudo_compiler: str


def pseudo_key(spec: str, shown: Sequence[Example], output: LabelsOutput | TextOutput) -> str:
    payload = json.dumps([spec.strip(), [[e.input, e.output] for e in shown], output.model_dump()], sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def read_cache(path: Path) -> dict[str, PseudoEntry]:
    """Entries by key; a torn last line (a crash mid-append) is ignored, earlier lines must parse."""
    entries: dict[str, PseudoEntry] = {}
    if not path.is_file():
        return entries
    lines = path.read_text(encoding="utf-8").split("\n")
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = PseudoEntry.model_validate_json(line)
        except ValueError as exc:
            if number >= len(lines) - 1:
                break
            raise CompileError(f"{path}:{number}: not a pseudo-program cache line ({exc})") from exc
        entries[entry.key] = entry
    return entries


def _drop_torn_tail(path: Path) -> None:
    """Cut a last line without its newline (a crash mid-append) so new lines start clean."""
    if not path.is_file():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with open(path, "r+b") as handle:
            handle.truncate(data.rfind(b"\n") + 1)


def resolve_engine(engine: Engine) -> Engine:
    if engine != "auto":
        return engine
    import importlib.util

    return "vllm" if importlib.util.find_spec("vllm") is not None else "llama.cpp"


def _vllm_completer(model_path: Path, max_tokens: int) -> Callable[[list[str]], list[str]]:
    """Batched greedy completions with vLLM on the same prompt the llama.cpp path uses."""
    from vllm import LLM, SamplingParams  # type: ignore[import-not-found]

    from compiler.pseudo import BEGIN, END
    from pawflow.base import inspect_base
    from pawflow.prompting import render_chat

    info = inspect_base(model_path)
    llm = LLM(model=str(model_path), tokenizer=str(model_path.parent) if model_path.suffix != ".gguf" else None)
    params = SamplingParams(temperature=0.0, max_tokens=max_tokens, stop=[END])

    def complete(user_turns: list[str]) -> list[str]:
        prompts = [render_chat(info, [{"role": "user", "content": u}]) + BEGIN + "\n" for u in user_turns]
        return [BEGIN + "\n" + out.outputs[0].text for out in llm.generate(prompts, params)]

    return complete


def pregenerate(
    items: Sequence[tuple[str, Sequence[Example], LabelsOutput | TextOutput]],
    path: str | Path,
    *,
    engine: Engine = "auto",
    base_path: Path | None = None,
    max_tokens: int = 256,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, PseudoEntry]:
    """Make sure every ``(spec, shown examples, output)`` has a cached pseudo-program; return them all."""
    from compiler.pseudo import compiler_prompt, pseudo_compile, validate_pseudo_program, render_parsed
    from pawflow.prompting import default_pseudo_program

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cache = read_cache(path)
    _drop_torn_tail(path)
    todo = []
    for spec, shown, output in items:
        key = pseudo_key(spec, shown, output)
        if key not in cache and key not in {k for k, *_ in todo}:
            todo.append((key, spec, list(shown), output))
    engine = resolve_engine(engine)
    done = 0
    with open(path, "a", encoding="utf-8") as handle:

        def keep(entry: PseudoEntry) -> None:
            nonlocal done
            cache[entry.key] = entry
            handle.write(entry.model_dump_json() + "\n")
            handle.flush()
            done += 1
            if progress:
                progress(done, len(todo))

        if engine == "vllm" and todo:
            from pawflow.config import load_settings

            complete = _vllm_completer(base_path or load_settings().base_path(), max_tokens)
            for begin in range(0, len(todo), 64):
                chunk = todo[begin : begin + 64]
                outs = complete([compiler_prompt(spec, shown, output) for _, spec, shown, output in chunk])
                for (key, spec, shown, output), raw in zip(chunk, outs):
                    verdict = validate_pseudo_program(raw, output)
                    if verdict.ok and verdict.parsed is not None:
                        keep(PseudoEntry(key=key, spec=spec, pseudo_program=render_parsed(verdict.parsed, output), pseudo_compiler="lm"))
                    else:
                        keep(PseudoEntry(key=key, spec=spec, pseudo_program=default_pseudo_program(spec, shown, output), pseudo_compiler="fallback"))
        else:
            complete = None
            if engine == "llama.cpp" and todo:
                from compiler.pseudo import lm_complete
                from pawflow.config import load_settings
                from pawflow.interpreter import Interpreter

                complete = lm_complete(max_tokens, interpreter=Interpreter.shared(load_settings(base=base_path)))
            for key, spec, shown, output in todo:
                result = pseudo_compile(spec, shown, output, complete=complete, use_lm=engine != "none")
                keep(PseudoEntry(key=key, spec=spec, pseudo_program=result.pseudo_program, pseudo_compiler=result.pseudo_compiler))
    return cache

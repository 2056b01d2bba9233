"""A faithful Python port of the ToolCall-15 tool-calling benchmark (pack v1.0.1).

Use :func:`run_benchmark` to score any OpenAI-compatible ``/chat/completions`` endpoint, or
:func:`replay` to score a scripted transcript offline. ``pawflow eval toolcall15`` wraps both with a
local proxy for pawflow pipelines and a llama.cpp baseline. See ``docs/toolcall15.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from integrations.toolcall15.runner import (
        AssistantTurn,
        HttpCompleter,
        ModelRequestError,
        ScriptedCompleter,
        arun_benchmark,
        replay,
        resolve_scenarios,
        run_benchmark,
        run_scenario,
        warmup,
    )
    from integrations.toolcall15.scenarios import SCENARIOS, Evaluation, Scenario, generic_tool_fallback
    from integrations.toolcall15.scoring import CategoryScore, EvalReport, ScenarioResult, ToolCallTrace
    from integrations.toolcall15.spec import PACK_VERSION, load_spec

# Names are imported on first use (PEP 562), so ``pawflow --help`` can register ``pawflow eval
# toolcall15`` through ``integrations.toolcall15.cli`` without httpx installed: the command then
# answers with the pip line for the ``toolcall15`` extra instead of disappearing.
_WHERE = {
    **dict.fromkeys(
        ["AssistantTurn", "HttpCompleter", "ModelRequestError", "ScriptedCompleter", "arun_benchmark", "replay",
         "resolve_scenarios", "run_benchmark", "run_scenario", "warmup"],
        "runner",
    ),
    **dict.fromkeys(["SCENARIOS", "Evaluation", "Scenario", "generic_tool_fallback"], "scenarios"),
    **dict.fromkeys(["CategoryScore", "EvalReport", "ScenarioResult", "ToolCallTrace"], "scoring"),
    **dict.fromkeys(["PACK_VERSION", "load_spec"], "spec"),
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "PACK_VERSION",
    "SCENARIOS",
    "AssistantTurn",
    "CategoryScore",
    "EvalReport",
    "Evaluation",
    "HttpCompleter",
    "ModelRequestError",
    "Scenario",
    "ScenarioResult",
    "ScriptedCompleter",
    "ToolCallTrace",
    "arun_benchmark",
    "generic_tool_fallback",
    "load_spec",
    "replay",
    "resolve_scenarios",
    "run_benchmark",
    "run_scenario",
    "warmup",
]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

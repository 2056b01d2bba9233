"""A faithful Python port of the ToolCall-15 tool-calling benchmark (pack v1.0.1).

Use :func:`run_benchmark` to score any OpenAI-compatible ``/chat/completions`` endpoint, or
:func:`replay` to score a scripted transcript offline. ``pawflow eval toolcall15`` wraps both with a
local proxy for pawflow pipelines and a llama.cpp baseline. See ``docs/toolcall15.md``.
"""

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

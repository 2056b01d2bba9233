"""The ToolCall-15 conversation loop and its OpenAI-compatible HTTP client.

The loop is upstream's ``runScenarioForModel``: system prompt + date suffix, the user message, then
up to 8 assistant turns; every request offers all 12 tools with ``tool_choice: "auto"`` and
``parallel_tool_calls: true``; each tool call is answered by the scenario's mock and appended as a
``role: tool`` message carrying the call's id. Any request error (HTTP error, bad JSON, no message,
a 30 s timeout) fails the scenario with 0 points, as upstream: a model that cannot answer in time
does not get partial credit for its earlier turns.

The model side is a :data:`Completer`, so the same loop runs against a real endpoint
(:class:`HttpCompleter`) or replays a scripted transcript (:func:`replay`), which is how the golden
fixtures prove that mocks, loop and scoring together reproduce upstream's verdicts.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import httpx

from integrations.toolcall15.jsvalues import (
    js_trim,
    json_stringify,
    number_to_string,
    parse_tool_arguments,
    to_js_string,
)
from integrations.toolcall15.scenarios import SCENARIOS, Scenario, ScenarioState, ToolCallRecord, ToolResultRecord
from integrations.toolcall15.scoring import EvalReport, ScenarioResult, ToolCallTrace, build_report
from integrations.toolcall15.spec import MAX_TURNS, REQUEST_TIMEOUT_S, load_spec
from pawflow.errors import IntegrationError

_PROVIDER_RETRY = re.compile(r"provider returned error", re.IGNORECASE)
MAX_PROVIDER_ATTEMPTS = 3
RETRY_BACKOFF_S = 0.75


class ModelRequestError(IntegrationError):
    """The model endpoint could not produce an assistant message; fails the scenario.

    A :class:`pawflow.errors.IntegrationError`, so ``except PawflowError`` in a caller (the CLI) turns
    one that escapes — a failed warm-up, say — into one clear line.
    """

    code = "model-request"


@dataclass
class AssistantTurn:
    """One assistant response, normalised the way upstream's ``callModel`` normalises it."""

    content: str
    tool_calls: list[dict[str, Any]]
    reasoning_content: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0


Completer = Callable[[list[dict[str, Any]]], Awaitable[AssistantTurn]]


def _normalize_content(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            (part.get("text") or "") if isinstance(part, dict) and part.get("type") == "text" else ""
            for part in content
        ]
        return js_trim("".join(p if isinstance(p, str) else "" for p in parts))
    return ""


def _normalize_tool_calls(raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ModelRequestError("Provider returned tool_calls that is not a list.")
    calls = []
    for index, call in enumerate(raw):
        call = call if isinstance(call, dict) else {}
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        name = function.get("name")
        arguments = function.get("arguments")
        call_id = call.get("id")
        calls.append(
            {
                "id": to_js_string(call_id) if call_id is not None else f"tool_call_{index + 1}",
                "type": "function",
                "function": {
                    "name": to_js_string(name) if name is not None else "unknown_tool",
                    # Object arguments are re-serialised; strings go through untouched, even invalid JSON.
                    "arguments": arguments if isinstance(arguments, str) else json_stringify(arguments if arguments is not None else {}),
                },
            }
        )
    return calls


def parse_chat_completion(payload: Any) -> AssistantTurn:
    """Extract ``choices[0].message`` from an OpenAI chat.completion body, as upstream does."""
    choices = payload.get("choices") if isinstance(payload, dict) else None
    first = choices[0] if isinstance(choices, list) and choices else None
    message = first.get("message") if isinstance(first, dict) else None
    if not isinstance(message, dict):
        raise ModelRequestError("Provider returned no assistant message.")
    reasoning = message.get("reasoning_content")
    usage = payload.get("usage") if isinstance(payload.get("usage"), dict) else {}

    def count(key: str) -> int:
        value = usage.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    return AssistantTurn(
        content=_normalize_content(message.get("content")),
        tool_calls=_normalize_tool_calls(message.get("tool_calls")),
        reasoning_content=reasoning if isinstance(reasoning, str) else None,
        prompt_tokens=count("prompt_tokens"),
        completion_tokens=count("completion_tokens"),
    )


def initial_messages(user_message: str) -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": load_spec().full_system_prompt},
        {"role": "user", "content": user_message},
    ]


@dataclass
class HttpCompleter:
    """Calls ``POST {base_url}/chat/completions`` with exactly upstream's v1.0.1 request body.

    ``temperature`` defaults to 0 as the pack does; pass ``None`` to omit it. Other sampling
    parameters are sent only when given, never ``max_tokens``.
    """

    base_url: str
    model: str
    timeout_s: float = REQUEST_TIMEOUT_S
    temperature: float | None = 0.0
    api_key: str | None = None
    sampling: dict[str, float] = field(default_factory=dict)
    client: httpx.AsyncClient | None = None

    def request_body(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "tools": load_spec().tools,
            "tool_choice": "auto",
            "parallel_tool_calls": True,
        }
        if self.temperature is not None:
            body["temperature"] = self.temperature
        body.update(self.sampling)
        return body

    async def __call__(self, messages: list[dict[str, Any]]) -> AssistantTurn:
        url = self.base_url.rstrip("/") + "/chat/completions"
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        body = self.request_body(messages)
        try:
            return await asyncio.wait_for(self._post(url, body, headers), timeout=self.timeout_s)
        except asyncio.TimeoutError:
            raise ModelRequestError(f"Request timed out after {number_to_string(self.timeout_s)}s.") from None

    async def _post(self, url: str, body: dict[str, Any], headers: dict[str, str]) -> AssistantTurn:
        own_client = self.client is None
        client = self.client or httpx.AsyncClient(timeout=None)
        try:
            response = await client.post(url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise ModelRequestError(f"Request to {url} failed: {exc.__class__.__name__}: {exc}") from exc
        finally:
            if own_client:
                await client.aclose()
        try:
            payload = response.json()
        except ValueError:
            raise ModelRequestError(f"Provider returned a non-JSON body with HTTP {response.status_code}.") from None
        if not response.is_success:
            error = payload.get("error") if isinstance(payload, dict) else None
            message = error.get("message") if isinstance(error, dict) else None
            raise ModelRequestError(message or f"Provider request failed with {response.status_code}.")
        return parse_chat_completion(payload)


async def _call_with_retry(complete: Completer, messages: list[dict[str, Any]]) -> AssistantTurn:
    for attempt in range(1, MAX_PROVIDER_ATTEMPTS + 1):
        try:
            return await complete(messages)
        except ModelRequestError as exc:
            if not _PROVIDER_RETRY.search(str(exc)) or attempt == MAX_PROVIDER_ATTEMPTS:
                raise
            await asyncio.sleep(RETRY_BACKOFF_S * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


async def run_scenario(scenario: Scenario, complete: Completer, *, max_turns: int = MAX_TURNS) -> ScenarioResult:
    """Run one scenario's conversation to a verdict; never raises for model-side failures."""
    state = ScenarioState()
    messages = initial_messages(scenario.spec.user_message)
    traces: list[ToolCallTrace] = []
    turns = prompt_tokens = completion_tokens = 0
    started = time.perf_counter()
    error: str | None = None
    try:
        for turn in range(1, max_turns + 1):
            response = await _call_with_retry(complete, [dict(m) for m in messages])
            turns = turn
            prompt_tokens += response.prompt_tokens
            completion_tokens += response.completion_tokens
            state.assistant_messages.append(response.content)
            assistant: dict[str, Any] = {"role": "assistant", "content": response.content}
            if response.reasoning_content is not None:
                assistant["reasoning_content"] = response.reasoning_content
            assistant["tool_calls"] = response.tool_calls
            messages.append(assistant)
            if not response.tool_calls:
                state.final_answer = response.content
                break
            for call in response.tool_calls:
                record = ToolCallRecord(
                    id=call["id"],
                    name=call["function"]["name"],
                    raw_arguments=call["function"]["arguments"],
                    arguments=parse_tool_arguments(call["function"]["arguments"]),
                    turn=turn,
                )
                state.tool_calls.append(record)
                result = scenario.handle(state, record)
                state.tool_results.append(ToolResultRecord(call_id=record.id, name=record.name, result=result))
                content = json_stringify(result)
                traces.append(ToolCallTrace(result=content, **dataclasses.asdict(record)))
                messages.append({"role": "tool", "tool_call_id": record.id, "content": content})
    except ModelRequestError as exc:
        error = str(exc)
    latency = round(time.perf_counter() - started, 3)
    common = {
        "id": scenario.id,
        "title": scenario.spec.title,
        "category": scenario.spec.category,
        "latency_s": latency,
        "turns": turns,
        "tool_calls": traces,
        "assistant_messages": state.assistant_messages,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
    }
    if error is not None:
        return ScenarioResult(status="fail", points=0, summary=error, error=error, final_answer="", **common)
    if not state.final_answer:
        state.final_answer = state.assistant_messages[-1] if state.assistant_messages else "Model did not return a final answer."
    verdict = scenario.evaluate(state)
    return ScenarioResult(
        status=verdict.status,
        points=verdict.points,
        summary=verdict.summary,
        note=verdict.note,
        final_answer=state.final_answer,
        **common,
    )


def resolve_scenarios(scenario_ids: Iterable[str] | None) -> list[Scenario]:
    """Scenarios in benchmark order; unknown ids are an error listing the valid ones."""
    requested = [s.strip().upper() for s in scenario_ids or [] if s.strip()]
    if not requested:
        return list(SCENARIOS.values())
    unknown = [s for s in requested if s not in SCENARIOS]
    if unknown:
        raise ValueError(f"Unknown scenario id(s): {', '.join(unknown)}; valid ids are TC-01 … TC-15.")
    return [scenario for sid, scenario in SCENARIOS.items() if sid in set(requested)]


ResultCallback = Callable[[ScenarioResult], None]


async def arun_benchmark(
    complete: Completer,
    *,
    base_url: str,
    model: str,
    scenario_ids: Iterable[str] | None = None,
    on_result: ResultCallback | None = None,
) -> EvalReport:
    scenarios = resolve_scenarios(scenario_ids)
    started_at = datetime.now(timezone.utc)
    started = time.perf_counter()
    results = []
    for scenario in scenarios:
        result = await run_scenario(scenario, complete)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return build_report(
        results, base_url=base_url, model=model, started_at=started_at, duration_s=time.perf_counter() - started
    )


def run_benchmark(
    base_url: str,
    model: str,
    *,
    scenario_ids: Iterable[str] | None = None,
    timeout_s: float = REQUEST_TIMEOUT_S,
    temperature: float | None = 0.0,
    api_key: str | None = None,
    on_result: ResultCallback | None = None,
) -> EvalReport:
    """Score an OpenAI-compatible endpoint on ToolCall-15 (blocking; runs its own event loop)."""

    async def main() -> EvalReport:
        async with httpx.AsyncClient(timeout=None) as client:
            completer = HttpCompleter(
                base_url, model, timeout_s=timeout_s, temperature=temperature, api_key=api_key, client=client
            )
            return await arun_benchmark(
                completer, base_url=base_url, model=model, scenario_ids=scenario_ids, on_result=on_result
            )

    return asyncio.run(main())


WARMUP_TIMEOUT_S = 300.0


def warmup(base_url: str, model: str, *, timeout_s: float = WARMUP_TIMEOUT_S, api_key: str | None = None) -> float:
    """Send one unscored request before the benchmark and return how long it took.

    Upstream's client has the same idea (``warmupModel``: ``"Hi"``, ``max_tokens: 1``). Ours also
    carries the benchmark's system prompt and 12 tools, because every scored request starts with
    that ~1,000-token prefix: a local server then has it in its prompt cache instead of spending
    the first scenarios' 30 s on it (on a slow CPU, llama-cpp-python's server would otherwise keep
    interrupting half-evaluated prefixes and time out on every request).
    """
    url = base_url.rstrip("/") + "/chat/completions"
    body = {
        "model": model,
        "temperature": 0,
        "max_tokens": 1,
        "messages": initial_messages("Hi"),
        "tools": load_spec().tools,
        "tool_choice": "auto",
    }
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    started = time.perf_counter()
    try:
        response = httpx.post(url, json=body, headers=headers, timeout=timeout_s)
    except httpx.TimeoutException:
        raise ModelRequestError(f"Warm-up timed out after {number_to_string(timeout_s)}s.") from None
    except httpx.HTTPError as exc:
        raise ModelRequestError(f"Warm-up request to {url} failed: {exc.__class__.__name__}: {exc}") from exc
    if not response.is_success:
        try:
            error = response.json().get("error", {})
            message = error.get("message") if isinstance(error, dict) else None
        except (ValueError, AttributeError):
            message = None
        raise ModelRequestError(message or f"Warm-up failed with {response.status_code}.")
    return time.perf_counter() - started


class ScriptedCompleter:
    """Answers with pre-written assistant turns, in order; records every request it was given.

    Turns use the OpenAI message shape (``content``, ``tool_calls`` with ``function.name`` and
    ``function.arguments``), or the golden-fixture shorthand ``{"name", "arguments"}`` per call.
    """

    def __init__(self, turns: Sequence[dict[str, Any]]) -> None:
        self.turns = list(turns)
        self.requests: list[list[dict[str, Any]]] = []

    async def __call__(self, messages: list[dict[str, Any]]) -> AssistantTurn:
        self.requests.append(messages)
        if len(self.requests) > len(self.turns):
            raise ModelRequestError(f"Script exhausted after {len(self.turns)} assistant turns.")
        turn = self.turns[len(self.requests) - 1]
        calls = [
            call if "function" in call else {"function": {"name": call.get("name"), "arguments": call.get("arguments")}}
            for call in turn.get("tool_calls") or []
        ]
        return parse_chat_completion({"choices": [{"message": {**turn, "tool_calls": calls}}]})


def replay(scenario_id: str, turns: Sequence[dict[str, Any]]) -> ScenarioResult:
    """Score a scripted transcript offline: the mocks answer its tool calls, then upstream's rule judges it."""
    return asyncio.run(run_scenario(SCENARIOS[scenario_id], ScriptedCompleter(turns)))

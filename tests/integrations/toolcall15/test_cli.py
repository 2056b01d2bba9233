"""``pawflow eval toolcall15`` and ``pawflow serve openai`` as a user runs them: real subprocesses.

The pipelines here are deterministic python-step pipelines (no model), so the tests check the CLI's
plumbing — proxy in-process, harness, JSON contract, errors — in a few seconds.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from integrations.openai.server import create_app, serve_in_thread

STEPS = '''
def reply(messages: list, tools: list) -> dict:
    user = next(m["content"] for m in messages if m["role"] == "user")
    if messages[-1]["role"] == "tool":
        return {"role": "assistant", "content": "It is " + messages[-1]["content"]}
    if "Berlin" in user and len(tools) == 12:
        return {"role": "assistant", "content": None,
                "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"location": "Berlin"}}}]}
    if "World War II" in user:
        return {"role": "assistant", "content": "It ended in 1945."}
    return {"role": "assistant", "content": "I am not sure."}
'''

PIPELINE = """
name: tc_demo
inputs:
  messages: {type: list}
  tools: {type: list}
steps:
  reply:
    kind: python
    function: tc_cli_steps:reply
    inputs: {messages: inputs.messages, tools: inputs.tools}
outputs:
  message: steps.reply.value
"""


def _pawflow(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pawflow.cli.main", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def demo_pipeline(tmp_path: Path) -> Path:
    (tmp_path / "tc_cli_steps.py").write_text(STEPS)
    path = tmp_path / "demo.yaml"
    path.write_text(PIPELINE)
    return path


def test_missing_pipeline_is_a_one_line_error(tmp_path: Path) -> None:
    result = _pawflow("eval", "toolcall15", "--pipeline", "nowhere/tc.yaml", cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip().splitlines() == ["error: Pipeline file not found: nowhere/tc.yaml"]


def test_default_mode_names_the_missing_default_pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.toolcall15.cli import resolve_default_pipeline
    from pawflow.errors import ConfigError

    # The working directory has no pipelines/toolcall15.yaml; the checkout pawflow runs from is never searched.
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"Pipeline file not found: pipelines/toolcall15\.yaml"):
        resolve_default_pipeline()
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "toolcall15.yaml").write_text(PIPELINE)
    assert resolve_default_pipeline() == tmp_path / "pipelines" / "toolcall15.yaml"


def test_unknown_scenario_and_conflicting_targets_are_errors(tmp_path: Path, demo_pipeline: Path) -> None:
    unknown = _pawflow("eval", "toolcall15", "--pipeline", str(demo_pipeline), "--scenario", "TC-16", cwd=tmp_path)
    assert unknown.returncode == 1 and "Unknown scenario id(s): TC-16" in unknown.stderr
    both = _pawflow("eval", "toolcall15", "--baseline", "--base-url", "http://x/v1", cwd=tmp_path)
    assert both.returncode == 1 and "Choose one target" in both.stderr


def test_pipeline_mode_json_contract(tmp_path: Path, demo_pipeline: Path) -> None:
    result = _pawflow("eval", "toolcall15", "--pipeline", str(demo_pipeline), "-s", "TC-10,TC-01", "-s", "TC-11", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)  # exactly one JSON document, nothing else on stdout
    assert result.stdout.count("\n") == 1
    assert report["model"] == "pawflow-demo" and report["base_url"].startswith("http://127.0.0.1:")
    scenarios = {s["id"]: s for s in report["scenarios"]}
    assert list(scenarios) == ["TC-01", "TC-10", "TC-11"]
    assert {k: scenarios["TC-01"][k] for k in ("status", "points")} == {"status": "pass", "points": 2}
    assert scenarios["TC-10"]["status"] == "pass" and scenarios["TC-11"]["status"] == "fail"
    assert all(isinstance(s["latency_s"], float) and s["summary"] for s in report["scenarios"])
    assert report["points"] == 4 and report["categories"]["A"]["percent"] == 33 and report["categories"]["D"]["points"] == 2
    assert report["score"] == round((33 + 33) / 5) and report["complete"] is False
    assert "Warm-up request answered" in result.stderr and "[3/3]" in result.stderr  # progress went to stderr


def test_base_url_mode_discovers_the_model_and_prints_a_table(tmp_path: Path) -> None:
    def responder(request: Any) -> dict[str, Any]:
        return {"content": "World War II ended in 1945."}

    with serve_in_thread(create_app(responder, model="remote-model")) as base_url:
        result = _pawflow("eval", "toolcall15", "--base-url", base_url, "--scenario", "TC-10", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "remote-model" in result.stdout and "TC-10" in result.stdout
    assert "Answered directly without tool use." in result.stdout
    assert re.search(r"Score 7/100\s+\(2/30 points\)", result.stdout)
    assert "Partial run: 1 of 15 scenarios" in result.stdout


def test_serve_openai_command_serves_the_pipeline(tmp_path: Path, demo_pipeline: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "pawflow.cli.main", "serve", "openai", "--pipeline", str(demo_pipeline), "--port", "0", "--model", "demo"],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stderr is not None
        banner = process.stderr.readline()
        match = re.search(r"at (http://127\.0\.0\.1:\d+/v1)", banner)
        assert match, banner
        base_url = match.group(1)
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(base_url + "/models").status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        body = {"model": "demo", "messages": [{"role": "user", "content": "What year did World War II end?"}]}
        reply = httpx.post(base_url + "/chat/completions", json=body, timeout=30).json()
        assert reply["choices"][0]["message"]["content"] == "It ended in 1945."
    finally:
        process.terminate()
        process.wait(timeout=15)

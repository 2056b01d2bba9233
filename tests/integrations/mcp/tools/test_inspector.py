"""The official MCP Inspector (``@modelcontextprotocol/inspector``, npm) in CLI mode as a real client.

``.ci/run`` installs it into ``build/mcp-inspector`` when node is present; the fixture installs it
there itself if that has not happened (npm registry), and skips only when node itself is absent.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integrations.mcp.conftest import PAWFLOW, REPO, HttpServer, mcp_args, server_env

INSPECTOR_VERSION = "2.12.0"  # keep in step with .ci/run
INSPECTOR_DIR = REPO / "build" / "mcp-inspector"
INSPECTOR_BIN = INSPECTOR_DIR / "node_modules" / ".bin" / "mcp-inspector"


@pytest.fixture(scope="module")
def inspector() -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node/npm is not installed: the MCP Inspector CLI runs on node (.ci/run installs it where node exists)")
    INSPECTOR_DIR.mkdir(parents=True, exist_ok=True)
    with (INSPECTOR_DIR / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not INSPECTOR_BIN.exists():
            proc = subprocess.run(
                ["npm", "install", "--prefix", str(INSPECTOR_DIR), f"@modelcontextprotocol/inspector@{INSPECTOR_VERSION}",
                 "--no-audit", "--no-fund", "--loglevel=error"],
                capture_output=True, text=True, timeout=900,
            )
            assert proc.returncode == 0, f"npm could not install the MCP Inspector:\n{proc.stderr[-3000:]}"
    return INSPECTOR_BIN


def run_inspector(inspector: Path, tmp_path: Path, target: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {**server_env(), "MCP_CATALOG_PATH": str(tmp_path / "inspector-catalog.json")}
    return subprocess.run([str(inspector), "--cli", *target, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def test_inspector_cli_over_stdio(inspector, tiny_programs, tiny_pipelines, tmp_path) -> None:
    server = [*PAWFLOW, *mcp_args(tiny_programs, tiny_pipelines)]

    listed = run_inspector(inspector, tmp_path, server, "--method", "tools/list", "--strict")
    assert listed.returncode == 0, listed.stderr[-3000:]  # --strict: no schema-portability problem of error severity
    tools = {tool["name"]: tool for tool in json.loads(listed.stdout)["tools"]}
    assert {"tiny-alert", "tiny-mood", "tiny_check", "list_programs", "run_program", "run_pipeline", "watch_log"} <= set(tools)
    assert tools["tiny-mood"]["outputSchema"]["properties"]["label"]["enum"] == ["happy", "sad"]
    assert "Warning: tool" not in listed.stderr  # our schemas draw no portability warning either

    called = run_inspector(inspector, tmp_path, server, "--method", "tools/call", "--tool-name", "tiny-alert",
                           "--tool-arg", "input=Traceback (most recent call last):")
    assert called.returncode == 0, called.stderr[-3000:]
    result = json.loads(called.stdout)
    assert result["isError"] is False and result["structuredContent"]["label"] in ("ALERT", "QUIET")
    assert json.loads(result["content"][0]["text"]) == result["structuredContent"]

    pipeline = run_inspector(inspector, tmp_path, server, "--method", "tools/call", "--tool-name", "run_pipeline",
                             "--tool-arg", "name=tiny_check", 'inputs={"line": "disk quota exceeded"}')
    assert pipeline.returncode == 0, pipeline.stderr[-3000:]
    assert json.loads(pipeline.stdout)["structuredContent"]["outputs"]["sentence"].startswith("DISK QUOTA EXCEEDED is ")

    bad = run_inspector(inspector, tmp_path, server, "--method", "tools/call", "--tool-name", "run_program",
                        "--tool-arg", "name=no-such-program", "input=x")
    answer = json.loads(bad.stdout)
    assert answer["isError"] is True and "no program named 'no-such-program'" in answer["content"][0]["text"]


def test_inspector_cli_over_http(inspector, tiny_programs, tmp_path) -> None:
    with HttpServer(*mcp_args(tiny_programs, None, "--no-watch")) as server:
        listed = run_inspector(inspector, tmp_path, [server.url], "--transport", "http", "--method", "tools/list")
        assert listed.returncode == 0, listed.stderr[-3000:]
        assert "tiny-alert" in {tool["name"] for tool in json.loads(listed.stdout)["tools"]}
        called = run_inspector(inspector, tmp_path, [server.url], "--transport", "http", "--method", "tools/call",
                               "--tool-name", "tiny-mood", "--tool-arg", "input=what a lovely day")
        assert called.returncode == 0, called.stderr[-3000:]
        assert json.loads(called.stdout)["structuredContent"]["label"] in ("happy", "sad")

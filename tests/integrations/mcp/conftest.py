"""Shared pieces of the MCP server tests: real servers (``pawflow mcp`` subprocesses) and real clients.

Servers are started exactly as an agent starts them (``python -m pawflow.cli.main mcp …``), over stdio
through the official ``mcp`` SDK's ``stdio_client`` or over streamable HTTP on a loopback port the
server picks (``--port 0``, read back from its stderr announcement). Programs are the shipped builds
in ``programs/build`` or tiny prompt-only programs made with :func:`tests.conftest.build_program`.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from pawflow.program import LabelsOutput
from tests.conftest import build_program

REPO = Path(__file__).resolve().parents[3]
SHIPPED_PROGRAMS = REPO / "programs" / "build"
SHIPPED_PIPELINES = REPO / "pipelines"
PAWFLOW = [sys.executable, "-m", "pawflow.cli.main"]
START_TIMEOUT_S = 180  # a loaded 2-core machine can take a while to import fastmcp and bind


def server_env(**extra: str) -> dict[str, str]:
    """The test process's environment (PAWFLOW_CACHE and all) for a server subprocess."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **extra}
    env.pop("PAWFLOW_PATH", None)
    return env


def mcp_args(programs: Path | None = None, pipelines: Path | None = None, *extra: str) -> list[str]:
    args = ["mcp"]
    if programs is not None:
        args += ["--programs", str(programs)]
    if pipelines is not None:
        args += ["--pipelines", str(pipelines)]
    return [*args, *extra]


def stdio_params(*args: str, cwd: Path | None = None, **env: str):
    from mcp.client.stdio import StdioServerParameters

    return StdioServerParameters(command=PAWFLOW[0], args=[*PAWFLOW[1:], *args], env=server_env(**env), cwd=str(cwd or REPO))


@contextlib.asynccontextmanager
async def stdio_session(*args: str, errlog: Any = None, message_handler: Any = None, cwd: Path | None = None):
    """An initialized ``ClientSession`` on a fresh ``pawflow mcp`` subprocess."""
    from mcp import ClientSession
    from mcp.client.stdio import stdio_client

    log = errlog if errlog is not None else sys.stderr
    async with stdio_client(stdio_params(*args, cwd=cwd), errlog=log) as (read, write):
        async with ClientSession(read, write, message_handler=message_handler, read_timeout_seconds=START_TIMEOUT_S) as session:
            await session.initialize()
            yield session


class HttpServer:
    """A ``pawflow mcp --transport http --port 0`` subprocess; ``url`` once it announced its port."""

    def __init__(self, *args: str, **env: str) -> None:
        self.args = args
        self.env = env
        self.url = ""
        self.stderr_lines: list[str] = []
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> "HttpServer":
        self.proc = subprocess.Popen(
            [*PAWFLOW, *self.args, "--transport", "http", "--port", "0"],
            cwd=REPO, env=server_env(**self.env), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        found = threading.Event()

        def pump() -> None:
            assert self.proc is not None and self.proc.stderr is not None
            for line in self.proc.stderr:
                self.stderr_lines.append(line)
                match = re.search(r"serving at (http://\S+)", line)
                if match and not found.is_set():
                    self.url = match.group(1)
                    found.set()

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not found.wait(0.2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise AssertionError(f"server did not start (exit {self.proc.returncode}):\n{''.join(self.stderr_lines)[-4000:]}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def stderr(self) -> str:
        return "".join(self.stderr_lines)


@contextlib.asynccontextmanager
async def http_session(url: str, *, token: str | None = None, message_handler: Any = None):
    import httpx2
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(START_TIMEOUT_S)) as client:
        async with streamable_http_client(url, http_client=client) as (read, write, *_):
            async with ClientSession(read, write, message_handler=message_handler, read_timeout_seconds=START_TIMEOUT_S) as session:
                await session.initialize()
                yield session


def structured(result: Any) -> dict[str, Any]:
    """A successful tool result's structured content (failing the test with the error text otherwise)."""
    assert not result.is_error, result.content[0].text if result.content else result
    assert result.structured_content is not None
    return result.structured_content


def error_text(result: Any) -> str:
    assert result.is_error, f"expected a tool error, got {result.structured_content}"
    return result.content[0].text


TINY_EXAMPLES = [
    {"input": "Traceback (most recent call last):", "output": "ALERT"},
    {"input": "step 10 loss 0.41", "output": "QUIET"},
]


def tiny_program(base_info, base_path, folder: Path, name: str, labels: tuple[str, ...] = ("ALERT", "QUIET"),
                 spec: str = "Is this log line a problem?", examples: list[dict[str, str]] | None = None) -> Path:
    """A prompt-only labels program with a short prefix (fast to evaluate), written to ``folder/name.paw``."""
    if examples is None:
        examples = [ex for ex in TINY_EXAMPLES if ex["output"] in labels] or []
    program = build_program(base_info, base_path, name=name, spec=spec, output=LabelsOutput(labels=list(labels)),
                            examples=examples, max_tokens=4)
    return program.write(folder / f"{name}.paw")


@pytest.fixture
def tiny_programs(tmp_path, base_info, base_path) -> Path:
    """A programs folder with two tiny labels programs: ``tiny-alert`` and ``tiny-mood``."""
    folder = tmp_path / "programs"
    folder.mkdir()
    tiny_program(base_info, base_path, folder, "tiny-alert")
    tiny_program(base_info, base_path, folder, "tiny-mood", labels=("happy", "sad"), spec="Is the writer happy or sad?",
                 examples=[{"input": "I love it", "output": "happy"}, {"input": "this is awful", "output": "sad"}])
    return folder


TINY_PIPELINE = """\
name: tiny_check
description: Judge a log line and echo it back in a sentence.
inputs:
  line: {type: str, description: one log line}
steps:
  judge:
    kind: program
    program: tiny-alert
    inputs: {text: inputs.line}
  noisy:
    kind: python
    function: noisy_steps:shout
    inputs: {text: inputs.line}
  say:
    kind: template
    template: "{{ text }} is {{ verdict }}"
    inputs: {text: steps.noisy.value, verdict: steps.judge.value}
outputs:
  verdict: steps.judge.value
  sentence: steps.say.value
"""

NOISY_STEPS = '''\
import sys
import warnings


def shout(text: str) -> str:
    """A step that misbehaves the way libraries do: prints to stdout, warns, writes to fd 1 directly."""
    print("STRAY PRINT FROM A PIPELINE STEP")
    warnings.warn("a stray warning from a pipeline step")
    import os
    os.write(1, b"STRAY BYTES ON FD 1\\n")
    return text.upper()
'''


@pytest.fixture
def tiny_pipelines(tmp_path) -> Path:
    """A pipelines folder with ``tiny_check`` (tiny-alert + a python step that prints to stdout)."""
    folder = tmp_path / "pipelines"
    folder.mkdir()
    (folder / "tiny-check.yaml").write_text(TINY_PIPELINE)
    (folder / "noisy_steps.py").write_text(NOISY_STEPS)
    return folder


@pytest.fixture
def shipped_copy(tmp_path) -> Path:
    """A copy of two shipped programs, so a test can change the folder without touching the repository."""
    folder = tmp_path / "shipped"
    folder.mkdir()
    for name in ("log-alert", "support-triage"):
        shutil.copy(SHIPPED_PROGRAMS / f"{name}.paw", folder / f"{name}.paw")
    return folder


LIST_CHANGED = "notifications/tools/list_changed"


class Notifications:
    """A ClientSession message handler that records notification methods (tools/list_changed, …)."""

    def __init__(self) -> None:
        self.methods: list[str] = []

    async def __call__(self, message) -> None:
        method = getattr(message, "method", None)
        if method:
            self.methods.append(method)

    async def wait_for(self, count: int, timeout: float = 60) -> None:
        with anyio.fail_after(timeout):
            while self.methods.count(LIST_CHANGED) < count:
                await anyio.sleep(0.05)

"""The raw-base-model baseline: llama-cpp-python's own OpenAI server on the same GGUF.

A pipeline's ToolCall-15 score only means something next to what the bare interpreter model does
with the same prompt and tools. llama-cpp-python ships an OpenAI-compatible server whose
``chatml-function-calling`` chat format turns a ChatML model's output into ``tool_calls``; we run it
as a subprocess (it is a separate FastAPI app with its own dependencies, the ``baseline`` extra) on a
free loopback port and point the unchanged harness at it.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from pawflow.cli.registry import require
from pawflow.errors import BackendError, ConfigError

SERVER_EXTRA_MODULES = ("fastapi", "sse_starlette", "starlette_context", "pydantic_settings", "uvicorn")
BASELINE_MODEL_ALIAS = "smollm2-135m-instruct-q4_1"


def _free_port(host: str) -> int:
    # llama_cpp.server cannot adopt a bound socket, so pick a free port and hand it over; the gap is tiny.
    from integrations.openai.server import bind_socket

    sock = bind_socket(host, 0)
    port = sock.getsockname()[1]
    sock.close()
    return port


def _die_with_parent() -> None:
    """Linux: ask the kernel to SIGTERM the server if pawflow dies without cleaning up (kill -9)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def check_server_dependencies() -> None:
    """llama-cpp-python's server needs its ``[server]`` packages: the ``baseline`` extra (MissingExtraError)."""
    require("baseline", *SERVER_EXTRA_MODULES, command="eval toolcall15 --baseline")


@contextlib.contextmanager
def llama_cpp_server(
    model_path: str | Path,
    *,
    host: str = "127.0.0.1",
    chat_format: str = "chatml-function-calling",
    n_ctx: int = 8192,
    n_threads: int | None = None,
    alias: str = BASELINE_MODEL_ALIAS,
    start_timeout_s: float = 180.0,
) -> Iterator[str]:
    """Start ``python -m llama_cpp.server`` on ``model_path``; yield its base URL; always stop it."""
    check_server_dependencies()
    model_path = Path(model_path)
    if not model_path.is_file():
        raise ConfigError(f"Baseline model file not found: {model_path}")
    port = _free_port(host)
    command = [
        sys.executable, "-m", "pawflow.backends.llamacpp_server",
        "--model", str(model_path),
        "--chat_format", chat_format,
        "--model_alias", alias,
        "--host", host,
        "--port", str(port),
        "--n_ctx", str(n_ctx),
        "--verbose", "False",
    ]  # fmt: skip
    if n_threads is not None:
        command += ["--n_threads", str(n_threads), "--n_threads_batch", str(n_threads)]
    base_url = f"http://{host}:{port}/v1"
    with tempfile.TemporaryFile(mode="w+b") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        try:
            _wait_until_ready(process, base_url, log, start_timeout_s)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def _log_tail(log: object, limit: int = 800) -> str:
    log.seek(0)  # type: ignore[attr-defined]
    text = log.read().decode("utf-8", errors="replace")  # type: ignore[attr-defined]
    return text[-limit:].strip()


def _wait_until_ready(process: subprocess.Popen[bytes], base_url: str, log: object, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BackendError(
                f"The llama.cpp baseline server exited with code {process.returncode} before it was ready: "
                + (_log_tail(log).splitlines() or ["(no output)"])[-1]
            )
        try:
            if httpx.get(base_url + "/models", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise BackendError(f"The llama.cpp baseline server did not answer on {base_url} within {timeout_s:.0f} s.")

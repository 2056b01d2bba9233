"""A real OpenAI-compatible multi-LoRA server for the tests: llama-cpp-python's, one alias per program.

It stands in for vLLM (which needs a GPU): each program's adapter is served under the name
:func:`pawflow.backends.openai_lora.remote_model_name` gives it — the base plus that adapter — which is how
vLLM exposes ``--lora-modules NAME=DIR``. Started through the AMX-safe launcher
``python -m pawflow.backends.llamacpp_server --config_file …`` on a loopback port, and stopped, killed,
paused and restarted on the same port by the tests.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from pawflow.backends.openai_lora import remote_model_name
from pawflow.program import Program

API_KEY = "test-key-123"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def write_config(folder: Path, base_path: Path, programs: list[Program], *, port: int) -> Path:
    """One model entry for the bare base (first: the default) and one per program with an adapter."""
    models = [{"model": str(base_path), "model_alias": "base", "n_ctx": 1024, "n_threads": 1, "n_threads_batch": 1,
               "logits_all": True, "verbose": False}]
    for program in programs:
        if program.adapter is None:
            continue
        adapter = folder / f"{remote_model_name(program)}.gguf"
        adapter.write_bytes(program.adapter)
        models.append({**models[0], "model_alias": remote_model_name(program), "lora_path": str(adapter)})
    config = folder / "server.json"
    config.write_text(json.dumps({"host": "127.0.0.1", "port": port, "api_key": API_KEY, "models": models}, indent=1))
    return config


class LlamaServer:
    def __init__(self, config: Path, port: int) -> None:
        self.config = config
        self.port = port
        self.url = f"http://127.0.0.1:{port}/v1"
        self.process: subprocess.Popen | None = None
        self._log = tempfile.TemporaryFile()

    def start(self, timeout_s: float = 240.0) -> "LlamaServer":
        command = [sys.executable, "-m", "pawflow.backends.llamacpp_server", "--config_file", str(self.config)]
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        preexec_fn=_die_with_parent)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._log.seek(0)
                raise RuntimeError(f"server exited early: {self._log.read()[-2000:].decode(errors='replace')}")
            try:
                answer = httpx.get(self.url + "/models", headers={"Authorization": f"Bearer {API_KEY}"}, timeout=2)
                if answer.status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"server on port {self.port} not ready after {timeout_s} s")

    def kill(self) -> None:
        """SIGKILL: the server dies mid-whatever, like a crashed GPU box."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def pause(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()

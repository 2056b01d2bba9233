"""The openai-lora backend against a real OpenAI-compatible multi-LoRA server on loopback.

llama-cpp-python's server stands in for vLLM (no GPU here): one alias per program = the embedded base
plus that program's adapter, addressed as ``model=<adapter name>``. Labels are scored through the
server's echoed prompt logprobs and compared with the local llama.cpp backend on the same program;
errors, timeouts (a paused server), retries, a server killed mid-batch and brought back, and a pipeline
batch that loses nothing when its server dies are all exercised for real.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time

import pytest

pytest.importorskip("fastapi", reason="llama-cpp-python's server needs the 'baseline' extra (pip install -e '.[baseline]')")

from pawflow.backends import backend_class  # noqa: E402
from pawflow.backends.openai_lora import OpenAILoraBackend, RemoteSettings, load_remote_settings, remote_model_name  # noqa: E402
from pawflow.config import load_settings  # noqa: E402
from pawflow.errors import BackendError, ConfigError  # noqa: E402
from pawflow.function import Function  # noqa: E402
from pawflow.interpreter import Interpreter  # noqa: E402
from pawflow.program import CompileInfo, GenerationSettings, JsonOutput, LabelsOutput, Program, TextOutput  # noqa: E402
from pawflow.prompting import render_template  # noqa: E402
from tests.conftest import random_adapter  # noqa: E402
from tests.integrations.scale.llama_server import API_KEY, LlamaServer, free_port, write_config  # noqa: E402

LOG_LINES = ["loss is nan at step 300", "epoch 2 step 10 loss 0.41", "CUDA out of memory"]


def short_program(base_info, base_path, name: str, task: str, output, *, adapter: bytes | None, max_tokens: int = 8) -> Program:
    """A real program with a one-line pseudo-program: the stand-in server's echo logprobs cost ~O(prompt x vocab)."""
    return Program.build(name=name, base=base_info, spec=task, prompt_template=render_template(base_info, task, base_path=base_path),
                         pseudo_program=task, adapter=adapter, output=output, generation=GenerationSettings(max_tokens=max_tokens),
                         compile=CompileInfo(method="test-random-lora" if adapter else "prompt"))


@pytest.fixture(scope="module")
def programs(base_info, base_path) -> dict[str, Program]:
    return {
        "alert": short_program(base_info, base_path, "alert", "Is this training-log line an ALERT or QUIET?",
                               LabelsOutput(labels=["ALERT", "QUIET"]), adapter=random_adapter(base_info, 21, scale=0.02)),
        "echo": short_program(base_info, base_path, "echo", "Repeat the line in capital letters.", TextOutput(),
                              adapter=random_adapter(base_info, 22, scale=0.01), max_tokens=6),
        "fields": short_program(base_info, base_path, "fields", "Extract the step number as JSON.",
                                JsonOutput(schema={"type": "object", "properties": {"step": {"type": "integer"}},
                                                   "required": ["step"], "additionalProperties": False}),
                                adapter=None, max_tokens=16),
        "unserved": short_program(base_info, base_path, "unserved", "Say hi.", TextOutput(),
                                  adapter=random_adapter(base_info, 23, scale=0.01)),
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory, base_path, programs):
    folder = tmp_path_factory.mktemp("llama-server")
    port = free_port()
    served = [p for name, p in programs.items() if name != "unserved"]
    running = LlamaServer(write_config(folder, base_path, served, port=port), port).start()
    try:
        yield running
    finally:
        running.stop()


def remote(server: LlamaServer, **options) -> RemoteSettings:
    return RemoteSettings(url=server.url, api_key=API_KEY, **options)


@pytest.fixture
def backend_for(base_info, base_path):
    made: list[OpenAILoraBackend] = []

    def make(server: LlamaServer, **options) -> tuple[OpenAILoraBackend, Interpreter]:
        settings = load_settings()
        backend = OpenAILoraBackend(base_path, base_info, settings, remote(server, **options))
        made.append(backend)
        return backend, Interpreter(settings, backend=backend)

    yield make
    for backend in made:
        backend.close()


def test_labels_scored_through_logprobs_agree_with_local_llamacpp(server, programs, backend_for, base_path) -> None:
    backend, interpreter = backend_for(server)
    alert = programs["alert"]
    remote_results = Function(alert, interpreter).run_many(LOG_LINES)
    local = Interpreter(load_settings(threads=1, backend="llama.cpp"))
    try:
        local_results = Function(alert, local).run_many(LOG_LINES)
    finally:
        local.close()
    assert backend.dialect() == "llama.cpp" and remote_model_name(alert) in backend.served_models()
    for got, want in zip(remote_results, local_results):
        assert got.value in ("ALERT", "QUIET") and got.value == want.value
        assert math.isclose(sum(got.scores.values()), 1.0, abs_tol=1e-9)
        assert abs(got.scores["ALERT"] - want.scores["ALERT"]) < 0.05, (got.scores, want.scores)
    assert backend.stats.calls == len(LOG_LINES) and backend.stats.swaps == 1


def test_guided_labels_and_constrained_json_and_text(server, programs, backend_for) -> None:
    backend, interpreter = backend_for(server, label_scoring="guided")
    guided = Function(programs["alert"], interpreter).run(LOG_LINES[0])
    assert guided.value in ("ALERT", "QUIET") and guided.scores[guided.value] == 1.0  # grammar-constrained, validated
    fields = Function(programs["fields"], interpreter).run("step 4200 loss 0.31")  # prompt-only: runs on the bare base
    assert isinstance(fields.value, dict) and isinstance(fields.value["step"], int)
    echo = Function(programs["echo"], interpreter).run("hello world")
    assert isinstance(echo.value, str) and echo.output_tokens <= 6
    assert backend.stats.swaps == 3  # alert adapter -> base -> echo adapter


def test_unserved_adapter_and_runtime_loading_errors_are_actionable(server, programs, backend_for) -> None:
    _, interpreter = backend_for(server)
    name = remote_model_name(programs["unserved"])
    with pytest.raises(BackendError, match=f"does not serve '{name}'") as missing:
        Function(programs["unserved"], interpreter).run("x")
    assert "export-peft" in str(missing.value) and f"--lora-modules {name}=" in str(missing.value)
    _, loading = backend_for(server, adapter_root="/srv/adapters")
    with pytest.raises(BackendError, match="cannot load adapters at run time") as no_endpoint:
        Function(programs["unserved"], loading).run("x")
    assert "VLLM_ALLOW_RUNTIME_LORA_UPDATING" in str(no_endpoint.value)


def test_wrong_api_key_is_not_retried(server, programs, base_info, base_path) -> None:
    backend = OpenAILoraBackend(base_path, base_info, load_settings(), RemoteSettings(url=server.url, api_key="wrong", retries=3, backoff_s=2))
    started = time.monotonic()
    try:
        with pytest.raises(BackendError, match="HTTP 401") as rejected:
            backend.served_models()
    finally:
        backend.close()
    assert time.monotonic() - started < 5  # a 4xx is final: no backoff
    assert "PAWFLOW_OPENAI_API_KEY" in str(rejected.value)


def test_a_hung_server_times_out_with_bounded_retries(server, programs, backend_for) -> None:
    _, interpreter = backend_for(server, timeout_s=1.0, retries=1, backoff_s=0.1)
    echo = Function(programs["echo"], interpreter)
    server.pause()  # the socket accepts, nothing answers
    try:
        started = time.monotonic()
        with pytest.raises(BackendError, match=r"failed after 2 attempts: no answer within 1 s"):
            echo.run("hello")
        assert time.monotonic() - started < 10
    finally:
        server.resume()
    assert isinstance(echo.run("hello again").value, str)  # the same backend works once the server does


def test_server_killed_mid_batch_and_restarted_is_bridged_by_retries(server, programs, backend_for) -> None:
    _, interpreter = backend_for(server, retries=8, backoff_s=0.5, timeout_s=120)
    echo = Function(programs["echo"], interpreter)
    texts = [f"line number {i}" for i in range(6)]
    results: list[str] = []
    failure: list[BaseException] = []

    def one_by_one() -> None:
        try:
            for text in texts:
                results.append(echo.run(text).value)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failure.append(exc)

    worker = threading.Thread(target=one_by_one)
    worker.start()
    deadline = time.monotonic() + 300
    while len(results) < 2 and worker.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()  # mid-batch: 2 of 6 rows done
    server.start()  # same port; the client's retries (0.5 s, 1 s, 2 s, …) reach the new process
    worker.join(timeout=600)
    assert not failure, failure
    assert len(results) == len(texts) and all(isinstance(value, str) for value in results)


def test_pipeline_batch_loses_no_row_when_its_server_dies(server, programs, tmp_path, monkeypatch) -> None:
    """Rows whose calls fail are recorded as errors; after the server is back, --retry-failed completes them."""
    from pawflow.pipeline import Pipeline
    from pawflow.pipeline.batch import done_ids, run_batch_file

    programs["echo"].write(tmp_path / "echo.paw")
    (tmp_path / "p.yaml").write_text("name: remote\ninputs: {text: {type: str}}\n"
                                     "steps:\n  loud: {kind: program, program: echo.paw, inputs: {text: inputs.text}}\n"
                                     "outputs: {loud: steps.loud.value}\n")
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"id": i, "text": f"row {i}"}) + "\n" for i in range(6)))
    out = tmp_path / "out.jsonl"
    monkeypatch.setenv("PAWFLOW_BACKEND", "openai-lora")
    monkeypatch.setenv("PAWFLOW_OPENAI_URL", server.url)
    monkeypatch.setenv("PAWFLOW_OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("PAWFLOW_OPENAI_RETRIES", "1")
    monkeypatch.setenv("PAWFLOW_OPENAI_BACKOFF_S", "0.1")
    Interpreter.reset_shared()
    try:
        assert isinstance(Interpreter.shared().backend, backend_class("openai-lora"))

        def kill_after_two(done: int, total: int) -> None:
            if done == 2:
                server.kill()

        first = run_batch_file(Pipeline.load(tmp_path / "p.yaml"), rows, out, chunk=2, on_progress=kill_after_two)
        assert (first.ok, first.failed) == (2, 4)
        failed = [json.loads(line) for line in out.read_text().splitlines()][2:]
        assert all(r["failed_step"] == "loud" and "failed after 2 attempts" in r["error"] for r in failed)
        server.start()
        second = run_batch_file(Pipeline.load(tmp_path / "p.yaml"), rows, out, chunk=2, retry_failed=True)
        assert (second.already_done, second.ok, second.failed) == (2, 4, 0)
        assert done_ids(out, retry_failed=True) == {str(i) for i in range(6)}
    finally:
        Interpreter.reset_shared()


def test_settings_come_from_env_and_the_toml_table(tmp_path, monkeypatch) -> None:
    (tmp_path / "pawflow.toml").write_text('[pawflow]\nbackend = "openai-lora"\n\n[openai_lora]\nurl = "http://gpu-1:8000/v1"\n'
                                           'concurrency = 32\nmodels = {alert = "alert-v2"}\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PAWFLOW_OPENAI_CONCURRENCY", "4")
    settings = load_settings()
    remote = load_remote_settings(settings)
    assert settings.backend == "openai-lora" and remote.url == "http://gpu-1:8000/v1"
    assert remote.concurrency == 4 and remote.models == {"alert": "alert-v2"}  # env beats the file
    monkeypatch.delenv("PAWFLOW_OPENAI_CONCURRENCY")
    (tmp_path / "pawflow.toml").write_text('[pawflow]\nbackend = "openai-lora"\n')
    monkeypatch.delenv("PAWFLOW_OPENAI_URL", raising=False)
    with pytest.raises(ConfigError, match="needs the server's URL"):
        load_remote_settings(load_settings())
    assert os.environ.get("PAWFLOW_OPENAI_URL") is None

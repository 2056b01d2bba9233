"""The OpenAI-compatible proxy: protocol shape, OpenAI-style errors, serialised responder, real clients.

Every test talks to a real uvicorn server on a loopback port through real HTTP clients (httpx and,
where installed, the official ``openai`` package).
"""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from integrations.openai.server import (
    AssistantMessage,
    AssistantReply,
    ChatRequest,
    PipelineResponder,
    Usage,
    create_app,
    serve_in_thread,
)
from pawflow.errors import BackendError, ConfigError, ContextLengthError

USER = [{"role": "user", "content": "hello"}]


class Recorder:
    """Echo responder that also proves calls never overlap (the interpreter is single-context)."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.active = 0
        self.max_active = 0
        self.threads: set[str] = set()
        self._lock = threading.Lock()
        self.gate: threading.Event | None = None
        self.seen: list[str] = []

    def __call__(self, request: ChatRequest) -> Any:
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self.threads.add(threading.current_thread().name)
            self.seen.append(request.messages[-1].text())
        try:
            if self.gate is not None:
                self.gate.wait(10)
            time.sleep(self.delay_s)
            text = request.messages[-1].text()
            if text.startswith("call "):
                name = text.split()[1]
                return {"content": None, "tool_calls": [{"function": {"name": name, "arguments": {"echo": text}}}]}
            if text == "usage":
                return AssistantReply(message=AssistantMessage(content="counted"), usage=Usage(prompt_tokens=7, completion_tokens=3))
            if text == "pawflow error":
                raise BackendError("the interpreter ran out of context")
            if text.startswith("overflow "):
                raise ContextLengthError(
                    f"input needs 9000 tokens of context, the interpreter has 4096: {text[:40]}", needed=9000, limit=4096
                )
            if text == "crash":
                raise ZeroDivisionError("boom")
            if text == "bad reply":
                return {"content": "x", "tool_calls": [{"function": {"arguments": "{}"}}]}
            return {"content": f"echo: {text}"}
        finally:
            with self._lock:
                self.active -= 1


@pytest.fixture(scope="module")
def server():
    recorder = Recorder()
    with serve_in_thread(create_app(recorder, model="pawflow-test", max_pending=64)) as base_url:
        yield base_url, recorder


def _post(base_url: str, body: Any = None, *, raw: bytes | None = None) -> httpx.Response:
    content = raw if raw is not None else json.dumps(body).encode()
    return httpx.post(base_url + "/chat/completions", content=content, headers={"content-type": "application/json"}, timeout=10)


# ------------------------------------------------------------------------------ request validation


@pytest.mark.parametrize(
    ("body", "raw", "status", "param", "code"),
    [
        (None, b"{not json", 400, None, "invalid_json"),
        (None, b"[1, 2]", 400, None, "invalid_json"),
        ({"model": "pawflow-test"}, None, 400, "messages", "missing_required_parameter"),
        ({"model": "pawflow-test", "messages": "hello"}, None, 400, "messages", "invalid_value"),
        ({"model": "pawflow-test", "messages": []}, None, 400, "messages", "invalid_value"),
        ({"messages": USER}, None, 400, "model", "missing_required_parameter"),
        ({"model": "pawflow-test", "messages": [{"role": "robot", "content": "x"}]}, None, 400, "messages[0].role", "invalid_value"),
        ({"model": "pawflow-test", "messages": [{"role": "user", "content": 5}]}, None, 400, "messages[0].content", "invalid_value"),
        ({"model": "pawflow-test", "messages": [{"role": "user"}]}, None, 400, "messages[0]", "invalid_value"),
        ({"model": "pawflow-test", "messages": [{"role": "tool", "content": "{}"}]}, None, 400, "messages[0]", "invalid_value"),
        ({"model": "pawflow-test", "messages": USER, "temperature": "0"}, None, 400, "temperature", "invalid_value"),
        ({"model": "pawflow-test", "messages": USER, "temperature": 3}, None, 400, "temperature", "invalid_value"),
        ({"model": "pawflow-test", "messages": USER, "stream": "yes"}, None, 400, "stream", "invalid_value"),
        ({"model": "pawflow-test", "messages": USER, "tools": [{"type": "function", "function": {}}]}, None, 400, "tools[0].function.name", "missing_required_parameter"),
        ({"model": "pawflow-test", "messages": USER, "n": 2}, None, 400, "n", "unsupported_value"),
        ({"model": "gpt-4o", "messages": USER}, None, 404, "model", "model_not_found"),
    ],
)  # fmt: skip
def test_invalid_requests_get_openai_style_errors(server, body, raw, status, param, code) -> None:
    base_url, _ = server
    response = _post(base_url, body, raw=raw)
    assert response.status_code == status
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert (error["param"], error["code"], error["type"]) == (param, code, "invalid_request_error")
    assert error["message"]


def test_unknown_route_and_wrong_method_are_json_errors(server) -> None:
    base_url, _ = server
    missing = httpx.get(base_url + "/embeddings")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong = httpx.get(base_url + "/chat/completions")
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"


def test_models_endpoints(server) -> None:
    base_url, _ = server
    listing = httpx.get(base_url + "/models").json()
    assert listing["object"] == "list" and [m["id"] for m in listing["data"]] == ["pawflow-test"]
    assert httpx.get(base_url + "/models/pawflow-test").json()["object"] == "model"
    assert httpx.get(base_url + "/models/other").json()["error"]["code"] == "model_not_found"


# ------------------------------------------------------------------------------ response shape


def test_tool_call_reply_is_a_proper_chat_completion(server) -> None:
    base_url, _ = server
    body = _post(base_url, {"model": "pawflow-test", "messages": [{"role": "user", "content": "call get_weather"}]}).json()
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    assert isinstance(body["created"], int) and body["model"] == "pawflow-test"
    choice = body["choices"][0]
    assert choice["index"] == 0 and choice["finish_reason"] == "tool_calls"
    call = choice["message"]["tool_calls"][0]
    assert call["id"].startswith("call_") and len(call["id"]) > 10 and call["type"] == "function"
    assert call["function"]["name"] == "get_weather"
    assert isinstance(call["function"]["arguments"], str)
    assert json.loads(call["function"]["arguments"]) == {"echo": "call get_weather"}
    assert choice["message"]["role"] == "assistant" and choice["message"]["content"] is None
    assert set(body["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}


def test_text_reply_and_usage(server) -> None:
    base_url, _ = server
    body = _post(base_url, {"model": "pawflow-test", "messages": USER}).json()
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "echo: hello"}
    counted = _post(base_url, {"model": "pawflow-test", "messages": [{"role": "user", "content": "usage"}]}).json()
    assert counted["usage"] == {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}


def test_content_parts_and_full_tool_conversations_are_accepted(server) -> None:
    base_url, _ = server
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "call "}, {"type": "text", "text": "lookup"}]},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "{\"ok\":true}"},
    ]
    body = _post(base_url, {"model": "pawflow-test", "messages": messages, "unknown_field": 1}).json()
    assert body["choices"][0]["message"]["content"] == 'echo: {"ok":true}'


@pytest.mark.parametrize(
    ("text", "needle"),
    [("pawflow error", "ran out of context"), ("crash", "ZeroDivisionError: boom"), ("bad reply", "invalid assistant message")],
)
def test_responder_failures_are_500_server_errors(server, text: str, needle: str) -> None:
    base_url, _ = server
    response = _post(base_url, {"model": "pawflow-test", "messages": [{"role": "user", "content": text}]})
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["type"] == "server_error" and needle in error["message"]
    # The server survives its responder's failure.
    assert _post(base_url, {"model": "pawflow-test", "messages": USER}).status_code == 200


def test_streaming_sends_chunks_then_done(server) -> None:
    base_url, _ = server
    body = {"model": "pawflow-test", "messages": [{"role": "user", "content": "call get_stock_price"}], "stream": True,
            "stream_options": {"include_usage": True}}  # fmt: skip
    with httpx.stream("POST", base_url + "/chat/completions", json=body) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line[len("data: ") :] for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    calls = [d for c in chunks if c["choices"] for d in c["choices"][0]["delta"].get("tool_calls", [])]
    assert calls[0]["index"] == 0 and calls[0]["function"]["name"] == "get_stock_price"
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "tool_calls"
    assert chunks[-1]["choices"] == [] and "usage" in chunks[-1]


# ------------------------------------------------------------------------------ concurrency


def test_concurrent_requests_are_serialised_and_each_gets_its_own_answer() -> None:
    recorder = Recorder(delay_s=0.1)
    with serve_in_thread(create_app(recorder, model="m")) as base_url:

        def ask(i: int) -> str:
            with httpx.Client(timeout=60) as client:
                r = client.post(base_url + "/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": f"question {i}"}]})
                r.raise_for_status()
                return r.json()["choices"][0]["message"]["content"]

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(ask, range(8)))
        elapsed = time.perf_counter() - started
    assert answers == [f"echo: question {i}" for i in range(8)]
    assert recorder.max_active == 1 and len(recorder.threads) == 1
    assert elapsed >= 8 * 0.1  # serialised, not parallel


def test_server_stays_responsive_while_the_responder_is_busy() -> None:
    recorder = Recorder()
    recorder.gate = threading.Event()
    with serve_in_thread(create_app(recorder, model="m")) as base_url:
        root = base_url.removesuffix("/v1")
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(httpx.post, base_url + "/chat/completions", json={"model": "m", "messages": USER}, timeout=30)
            deadline = time.monotonic() + 10
            while httpx.get(root + "/health").json()["pending"] < 1:
                assert time.monotonic() < deadline, "the request never reached the responder"
                time.sleep(0.01)
            # The responder is blocked; the event loop must still answer everything that does not need it.
            assert httpx.get(base_url + "/models", timeout=5).status_code == 200
            assert _post(base_url, {"model": "other", "messages": USER}).status_code == 404
            assert not pending.done()
            recorder.gate.set()
            assert pending.result().json()["choices"][0]["message"]["content"] == "echo: hello"


def test_requests_abandoned_while_queued_are_never_computed() -> None:
    recorder = Recorder()
    recorder.gate = threading.Event()
    with serve_in_thread(create_app(recorder, model="m")) as base_url:
        root = base_url.removesuffix("/v1")
        with ThreadPoolExecutor(max_workers=1) as pool:
            first = pool.submit(
                httpx.post, base_url + "/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "first"}]}, timeout=30
            )
            while httpx.get(root + "/health").json()["pending"] < 1:
                time.sleep(0.01)
            # A client that gives up while queued (as the harness does after its timeout)...
            with pytest.raises(httpx.ReadTimeout):
                httpx.post(base_url + "/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "abandoned"}]}, timeout=0.3)
            recorder.gate.set()
            assert first.result().status_code == 200
            # ...costs no responder time: the next request is answered right after the running one.
            after = httpx.post(base_url + "/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "next"}]}, timeout=30)
    assert after.json()["choices"][0]["message"]["content"] == "echo: next"
    assert recorder.seen == ["first", "next"]


def test_queue_limit_answers_429_instead_of_piling_up() -> None:
    recorder = Recorder()
    recorder.gate = threading.Event()
    with serve_in_thread(create_app(recorder, model="m", max_pending=1)) as base_url:
        with ThreadPoolExecutor(max_workers=1) as pool:
            first = pool.submit(httpx.post, base_url + "/chat/completions", json={"model": "m", "messages": USER}, timeout=10)
            deadline = time.monotonic() + 5
            while httpx.get(base_url.removesuffix("/v1") + "/health").json()["pending"] < 1 and time.monotonic() < deadline:
                time.sleep(0.01)
            second = httpx.post(base_url + "/chat/completions", json={"model": "m", "messages": USER}, timeout=10)
            recorder.gate.set()
            assert first.result().status_code == 200
    assert second.status_code == 429 and second.json()["error"]["code"] == "queue_full"


# ------------------------------------------------------------------------------ official openai client


def test_official_openai_client_round_trip(server) -> None:
    openai = pytest.importorskip("openai")
    base_url, _ = server
    client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0)
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}}}]
    completion = client.chat.completions.create(
        model="pawflow-test", messages=[{"role": "user", "content": "call get_weather"}], tools=tools, tool_choice="auto"
    )
    call = completion.choices[0].message.tool_calls[0]
    assert completion.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"echo": "call get_weather"}

    stream = client.chat.completions.create(model="pawflow-test", messages=USER, stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "echo: hello"

    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="gpt-4o", messages=USER)
    assert missing.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="pawflow-test", messages=[{"role": "wizard", "content": "x"}])


# ------------------------------------------------------------------------------ pipeline responder


STEP_MODULE = '''
def reply(messages: list, tools: list) -> dict:
    last = messages[-1]
    if last["role"] == "tool":
        return {"role": "assistant", "content": "The tool said " + last["content"]}
    first_tool = tools[0]["function"]["name"] if tools else "none"
    return {"role": "assistant", "content": None,
            "tool_calls": [{"type": "function", "function": {"name": first_tool, "arguments": {"n_tools": len(tools)}}}]}
'''

PIPELINE = """
name: demo_proxy
inputs:
  messages: {type: list}
  tools: {type: list}
steps:
  reply:
    kind: python
    function: proxy_demo_steps:reply
    inputs: {messages: inputs.messages, tools: inputs.tools}
outputs:
  message: steps.reply.value
"""


def test_pipeline_responder_serves_a_real_pipeline(tmp_path: Path) -> None:
    (tmp_path / "proxy_demo_steps.py").write_text(STEP_MODULE)
    (tmp_path / "demo.yaml").write_text(PIPELINE)
    responder = PipelineResponder(tmp_path / "demo.yaml")
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    with serve_in_thread(create_app(responder, model="demo")) as base_url:
        first = httpx.post(base_url + "/chat/completions", json={"model": "demo", "messages": USER, "tools": tools}).json()
        call = first["choices"][0]["message"]["tool_calls"][0]
        assert call["function"] == {"name": "lookup", "arguments": json.dumps({"n_tools": 1})}
        follow = USER + [
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": call["id"], "content": "42"},
        ]
        second = httpx.post(base_url + "/chat/completions", json={"model": "demo", "messages": follow, "tools": tools}).json()
    assert second["choices"][0]["message"]["content"] == "The tool said 42"


def test_pipeline_responder_reports_missing_file_and_missing_output(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Pipeline file not found: .*nope.yaml"):
        PipelineResponder(tmp_path / "nope.yaml")
    # Module names are global in a process: a second folder brings its own steps module under its own name.
    (tmp_path / "proxy_wrong_steps.py").write_text(STEP_MODULE)
    (tmp_path / "wrong.yaml").write_text(
        PIPELINE.replace("  message: steps", "  answer: steps").replace("proxy_demo_steps:", "proxy_wrong_steps:")
    )
    responder = PipelineResponder(tmp_path / "wrong.yaml")
    with pytest.raises(BackendError, match="no 'message' output .*answer"):
        responder(ChatRequest.model_validate({"model": "m", "messages": USER, "tools": []}))


# ------------------------------------------------------------------------------ request size limit


def _connect(base_url: str) -> http.client.HTTPConnection:
    host, port = base_url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    return http.client.HTTPConnection(host, int(port), timeout=10)


def _too_large(response: http.client.HTTPResponse) -> dict[str, Any]:
    assert response.status == 413
    error = json.loads(response.read())["error"]
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", None, "request_too_large")
    return error


def test_oversized_declared_body_is_refused_from_its_headers() -> None:
    recorder = Recorder()
    with serve_in_thread(create_app(recorder, model="m", max_body_bytes=100_000)) as base_url:
        connection = _connect(base_url)
        connection.putrequest("POST", "/v1/chat/completions")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(20 * 1024 * 1024))
        connection.endheaders()
        connection.send(b'{"model": "m", "messages": [')  # 28 of the 20 MiB announced; the rest never comes
        error = _too_large(connection.getresponse())  # answered anyway: nothing waited for the body
        connection.close()
        assert "20971520 bytes" in error["message"] and "at most 100000 bytes" in error["message"]
        # A body under the limit still gets through, on the same server.
        assert _post(base_url, {"model": "m", "messages": USER}).status_code == 200
    assert recorder.seen == ["hello"]


def test_oversized_chunked_body_is_cut_off_while_it_streams() -> None:
    recorder = Recorder()
    with serve_in_thread(create_app(recorder, model="m", max_body_bytes=100_000)) as base_url:
        connection = _connect(base_url)
        connection.putrequest("POST", "/v1/chat/completions")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Transfer-Encoding", "chunked")
        connection.endheaders()
        chunk = b"x" * 16_384
        for _ in range(8):  # 128 KiB, past the limit, and the chunked body is never terminated
            connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        _too_large(connection.getresponse())  # so the server counted as it read, it did not wait for the end
        connection.close()
        # Chunked bodies under the limit are read whole and served.
        body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "streamed"}]}).encode()
        small = httpx.post(base_url + "/chat/completions", content=iter([body[:20], body[20:]]), timeout=10)
        assert small.status_code == 200 and small.json()["choices"][0]["message"]["content"] == "echo: streamed"
    assert recorder.seen == ["streamed"]


def test_curl_posting_20_mb_gets_413_without_uploading_it(tmp_path: Path) -> None:
    """The issue's reproduction: curl posts a 20 MB file; curl asks first (Expect: 100-continue) and the
    server answers 413 from the headers, so not one byte of the body is uploaded."""
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    big = tmp_path / "big.json"
    big.write_bytes(b"[" + b"0," * (10 * 1024 * 1024) + b"0]")
    assert big.stat().st_size > 20_000_000
    with serve_in_thread(create_app(Recorder(), model="m")) as base_url:  # the default limit, 4 MiB
        result = subprocess.run(
            [curl, "-s", "-o", "-", "-w", "\\n%{http_code} %{size_upload}", "-H", "Content-Type: application/json",
             "--data-binary", f"@{big}", base_url + "/chat/completions"],
            capture_output=True, text=True, timeout=60,
        )
    body, status_line = result.stdout.rsplit("\n", 1)
    status, uploaded = status_line.split()
    assert status == "413" and json.loads(body)["error"]["code"] == "request_too_large"
    assert "at most 4194304 bytes (4 MiB)" in json.loads(body)["error"]["message"]
    assert int(uploaded) < 4 * 1024 * 1024  # curl never sent the 20 MB (0 with Expect: 100-continue)


def test_max_body_bytes_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="max_body_bytes"):
        create_app(Recorder(), model="m", max_body_bytes=0)


# ------------------------------------------------------------------------------ context overflow


def test_context_overflow_is_a_400_that_does_not_echo_the_input(server) -> None:
    base_url, _ = server
    secret = "overflow " + "the quick brown fox " * 2000
    response = _post(base_url, {"model": "pawflow-test", "messages": [{"role": "user", "content": secret}]})
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", "messages", "context_length_exceeded")
    assert "maximum context length is 4096 tokens" in error["message"] and "9000 tokens" in error["message"]
    assert "quick brown fox" not in response.text and "overflow" not in response.text


def test_official_client_sees_context_length_exceeded(server) -> None:
    openai = pytest.importorskip("openai")
    base_url, _ = server
    client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0)
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="pawflow-test", messages=[{"role": "user", "content": "overflow " + "x " * 500}])
    assert info.value.code == "context_length_exceeded" and info.value.param == "messages"


OVERFLOW_STEPS = """
def last_user_text(messages: list) -> str:
    return [m["content"] for m in messages if m["role"] == "user"][-1]


def reply(label: str) -> dict:
    return {"role": "assistant", "content": label}
"""

OVERFLOW_PIPELINE = """
name: classify_proxy
inputs:
  messages: {type: list}
  tools: {type: list}
steps:
  text:
    kind: python
    function: overflow_proxy_steps:last_user_text
    inputs: {messages: inputs.messages}
  intent:
    kind: program
    program: site-intent.paw
    inputs: {text: steps.text.value}
  reply:
    kind: python
    function: overflow_proxy_steps:reply
    inputs: {label: steps.intent.value}
outputs:
  message: steps.reply.value
"""


def test_real_model_context_overflow_through_a_pipeline_is_a_400(tmp_path: Path) -> None:
    """End to end: a program step on the embedded model gets an input longer than the interpreter's
    context; the backend's ContextLengthError travels through the pipeline's run error to a 400."""
    from tests.pipeline_support import REPO, compile_prompt_only

    compile_prompt_only(REPO / "programs" / "site-intent.yaml", tmp_path)
    (tmp_path / "overflow_proxy_steps.py").write_text(OVERFLOW_STEPS)
    (tmp_path / "proxy.yaml").write_text(OVERFLOW_PIPELINE)
    responder = PipelineResponder(tmp_path / "proxy.yaml")
    tools: list[dict[str, Any]] = []
    long_text = "please tell me about the pricing page " * 1500  # ~9000 tokens, over the 4096 context
    with serve_in_thread(create_app(responder, model="proxy")) as base_url:
        response = httpx.post(base_url + "/chat/completions", timeout=120,
                              json={"model": "proxy", "messages": [{"role": "user", "content": long_text}], "tools": tools})
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", "messages", "context_length_exceeded")
        assert "pricing page" not in response.text
        # A question that fits is answered by the same server.
        fits = httpx.post(base_url + "/chat/completions", timeout=120,
                          json={"model": "proxy", "messages": [{"role": "user", "content": "how much is the team plan?"}]})
        assert fits.status_code == 200 and fits.json()["choices"][0]["message"]["content"] in ("site", "chitchat")


def test_server_errors_name_the_step_but_not_its_inputs(tmp_path: Path) -> None:
    (tmp_path / "failing_proxy_steps.py").write_text(
        "def reply(messages: list, tools: list) -> dict:\n    raise RuntimeError('the lookup service is down')\n"
    )
    (tmp_path / "failing.yaml").write_text(PIPELINE.replace("proxy_demo_steps:", "failing_proxy_steps:"))
    responder = PipelineResponder(tmp_path / "failing.yaml")
    with serve_in_thread(create_app(responder, model="demo")) as base_url:
        secret = "my account number is 4242-4242"
        response = _post(base_url, {"model": "demo", "messages": [{"role": "user", "content": secret}]})
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["type"] == "server_error" and error["code"] == "responder_error"
    assert "step 'reply' failed: RuntimeError: the lookup service is down" in error["message"]
    assert "4242" not in response.text

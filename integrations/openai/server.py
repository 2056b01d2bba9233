"""An OpenAI-compatible ``/v1/chat/completions`` endpoint whose "model" is any Python callable.

Why: benchmarks and agent frameworks speak the OpenAI chat protocol. Serving a pawflow pipeline
behind it lets them use the pipeline as if it were a tool-calling LLM, with no adapter on their side
(this is how the PAW paper's proxy was scored on ToolCall-15).

The callable (a :data:`Responder`) gets the validated :class:`ChatRequest` and returns the next
assistant message (a dict or :class:`AssistantMessage`, optionally wrapped in
:class:`AssistantReply` with token usage). The server does the protocol: request validation with
OpenAI-style 4xx error bodies, ``call_…`` ids, ``arguments`` as JSON strings, ``finish_reason``,
and ``stream: true`` (the reply is computed first, then sent as SSE chunks ending in ``[DONE]``).

The pawflow interpreter holds one llama.cpp context and is not thread-safe, so every responder call
runs on one dedicated worker thread, one at a time, while the event loop keeps answering other
requests (``/v1/models``, validation errors) immediately.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import queue
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from pawflow.errors import BackendError, ConfigError, PawflowError

log = logging.getLogger("pawflow.openai_server")

# ------------------------------------------------------------------------------------ request models


class _Lenient(BaseModel):
    """Unknown fields are ignored (clients send many we do not use); known ones are type-checked."""

    model_config = ConfigDict(extra="ignore", strict=True)


class FunctionDefinition(_Lenient):
    name: str = Field(min_length=1)
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ToolDefinition(_Lenient):
    type: Literal["function"]
    function: FunctionDefinition


class FunctionCall(_Lenient):
    name: str
    arguments: str


class ToolCall(_Lenient):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class ContentPart(_Lenient):
    model_config = ConfigDict(extra="allow", strict=True)

    type: str
    text: str | None = None


class ChatMessage(_Lenient):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    reasoning_content: str | None = None

    @model_validator(mode="after")
    def _role_rules(self) -> ChatMessage:
        if self.role == "tool" and not self.tool_call_id:
            raise ValueError("a message with role 'tool' needs a tool_call_id")
        if self.role in ("system", "developer", "user") and self.content is None:
            raise ValueError(f"a message with role '{self.role}' needs content")
        return self

    def text(self) -> str:
        """The message's text, with content parts of type ``text`` joined."""
        if isinstance(self.content, str):
            return self.content
        if isinstance(self.content, list):
            return "".join(part.text or "" for part in self.content if part.type == "text")
        return ""


class NamedToolChoice(_Lenient):
    type: Literal["function"]
    function: dict[str, str]


class StreamOptions(_Lenient):
    include_usage: bool = False


class ChatRequest(_Lenient):
    """The subset of the OpenAI chat-completions request a responder can act on."""

    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    tools: list[ToolDefinition] | None = None
    tool_choice: Literal["auto", "none", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    n: int | None = Field(default=None, ge=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: str | None = None


# ----------------------------------------------------------------------------------- responder side


class ReplyFunction(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1)
    arguments: str | dict[str, Any] = "{}"


class ReplyToolCall(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    type: Literal["function"] = "function"
    function: ReplyFunction


class AssistantMessage(BaseModel):
    """What a responder returns: the next assistant turn. Dict-shaped replies are validated into this."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["assistant"] = "assistant"
    content: str | None = None
    tool_calls: list[ReplyToolCall] | None = None
    reasoning_content: str | None = None


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class AssistantReply(BaseModel):
    """A reply with token counts, for responders that know them (a pipeline may not)."""

    message: AssistantMessage
    usage: Usage | None = None


Responder = Callable[[ChatRequest], "dict[str, Any] | AssistantMessage | AssistantReply"]


def _new_call_id() -> str:
    return "call_" + secrets.token_hex(12)


def render_message(message: AssistantMessage) -> dict[str, Any]:
    """The wire form: ``call_`` ids, ``type: function``, ``arguments`` always a JSON string."""
    wire: dict[str, Any] = {"role": "assistant", "content": message.content}
    if message.tool_calls:
        calls = []
        for call in message.tool_calls:
            arguments = call.function.arguments
            if not isinstance(arguments, str):
                arguments = json.dumps(arguments, ensure_ascii=False)
            call_id = call.id if call.id and call.id.startswith("call_") else _new_call_id()
            calls.append({"id": call_id, "type": "function", "function": {"name": call.function.name, "arguments": arguments}})
        wire["tool_calls"] = calls
    if message.reasoning_content is not None:
        wire["reasoning_content"] = message.reasoning_content
    return wire


def _coerce_reply(raw: Any) -> AssistantReply:
    if isinstance(raw, AssistantReply):
        return raw
    if isinstance(raw, AssistantMessage):
        return AssistantReply(message=raw)
    if isinstance(raw, dict):
        return AssistantReply(message=AssistantMessage.model_validate(raw))
    raise TypeError(f"a responder must return a dict, AssistantMessage or AssistantReply, not {type(raw).__name__}")


# --------------------------------------------------------------------------------------- errors


def error_response(
    status: int, message: str, *, type_: str = "invalid_request_error", param: str | None = None, code: str | None = None
) -> JSONResponse:
    """An OpenAI-style error body, so OpenAI client libraries raise their usual typed exceptions."""
    return JSONResponse({"error": {"message": message, "type": type_, "param": param, "code": code}}, status_code=status)


_UNION_TAGS = {"str", "int", "float", "bool", "list", "dict", "none"}


def _loc_to_param(loc: tuple[Any, ...]) -> str:
    """``('messages', 0, 'role')`` → ``messages[0].role``; pydantic's union-branch tags are dropped."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        text = str(part)
        if text in _UNION_TAGS or "[" in text or text[:1].isupper():
            continue  # e.g. 'str', 'list[ContentPart]', 'function-after[...]', 'NamedToolChoice'
        out += ("." if out else "") + text
    return out


def _validation_error(exc: ValidationError) -> JSONResponse:
    first = exc.errors()[0]
    param = _loc_to_param(tuple(first["loc"]))
    problems = "; ".join(
        f"{_loc_to_param(tuple(e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()[:5]
    )
    missing = first["type"] == "missing"
    return error_response(
        400,
        f"Invalid request: {problems}",
        param=param or None,
        code="missing_required_parameter" if missing else "invalid_value",
    )


# ------------------------------------------------------------------------------------------ server


class _Worker:
    """One daemon thread that runs submitted calls in order.

    Not a ThreadPoolExecutor: Python joins executor threads at exit, so a pipeline run abandoned by
    a timed-out client would keep the process alive until it finished. The interpreter can simply
    be dropped mid-call when the process ends.
    """

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...], concurrent.futures.Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while (job := self._jobs.get()) is not None:
            fn, args, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting request
                future.set_exception(exc)

    def submit(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._jobs.put((fn, args, future))
        return future

    def stop(self) -> None:
        self._jobs.put(None)


class OpenAIServer:
    """Holds the responder, its single worker thread and the Starlette app."""

    def __init__(self, responder: Responder, *, model: str, owned_by: str = "pawflow", max_pending: int = 64) -> None:
        self.responder = responder
        self.model = model
        self.owned_by = owned_by
        self.max_pending = max_pending
        self.created = int(time.time())
        self._pending = 0
        self._closing = False
        # Requests wait their turn on this lock, in the event loop, so one whose client has gone away
        # (a harness timeout) is dropped before it reaches the worker instead of holding up the next.
        self._turn = asyncio.Lock()
        self._worker = _Worker("pawflow-responder")
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self.chat_completions, methods=["POST"]),
                Route("/v1/models", self.list_models, methods=["GET"]),
                Route("/v1/models/{model_id:path}", self.get_model, methods=["GET"]),
                Route("/health", self.health, methods=["GET"]),
            ],
            exception_handlers={HTTPException: self._http_error},
            lifespan=self._lifespan,
        )
        self.app.state.openai_server = self

    def close(self) -> None:
        """Mark the server as shutting down: a request still running is now expected to fail quietly."""
        self._closing = True

    @contextlib.asynccontextmanager
    async def _lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        yield
        self.close()
        self._worker.stop()

    async def _http_error(self, _request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            return error_response(404, "Unknown URL. This server implements /v1/chat/completions and /v1/models.", code="not_found")
        if exc.status_code == 405:
            return error_response(405, "Method not allowed for this URL.", code="method_not_allowed")
        return error_response(exc.status_code, str(exc.detail))

    def _model_card(self) -> dict[str, Any]:
        return {"id": self.model, "object": "model", "created": self.created, "owned_by": self.owned_by}

    async def list_models(self, _request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [self._model_card()]})

    async def get_model(self, request: Request) -> Response:
        if request.path_params["model_id"] != self.model:
            return self._unknown_model(request.path_params["model_id"])
        return JSONResponse(self._model_card())

    async def health(self, _request: Request) -> Response:
        return JSONResponse({"status": "ok", "model": self.model, "pending": self._pending})

    def _unknown_model(self, name: str) -> JSONResponse:
        return error_response(
            404,
            f"The model '{name}' does not exist. This server serves '{self.model}'.",
            param="model",
            code="model_not_found",
        )

    async def chat_completions(self, request: Request) -> Response:
        body = await request.body()
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return error_response(400, f"We could not parse the JSON body of your request: {exc}", code="invalid_json")
        if not isinstance(data, dict):
            return error_response(400, "The request body must be a JSON object.", code="invalid_json")
        try:
            chat = ChatRequest.model_validate(data)
        except ValidationError as exc:
            return _validation_error(exc)
        if chat.model != self.model:
            return self._unknown_model(chat.model)
        if chat.n not in (None, 1):
            return error_response(400, "Only n=1 is supported.", param="n", code="unsupported_value")
        if self._pending >= self.max_pending:
            return error_response(
                429, f"Too many requests queued ({self.max_pending}); retry later.", type_="rate_limit_error", code="queue_full"
            )
        self._pending += 1
        try:
            async with self._turn:
                if await request.is_disconnected():
                    return Response(status_code=499)  # nobody is listening; nothing is computed
                raw = await asyncio.wrap_future(self._worker.submit(self.responder, chat))
        except asyncio.CancelledError:
            if self._closing:  # uvicorn cancels requests still in flight when it stops; nobody awaits them
                return error_response(503, "The server is shutting down.", type_="server_error", code="shutting_down")
            raise
        except PawflowError as exc:
            log.warning("responder failed: %s", exc)
            return error_response(500, str(exc), type_="server_error", code="responder_error")
        except Exception as exc:  # noqa: BLE001 - any responder bug must become a 500, not a dropped connection
            if self._closing:
                # The process is shutting down under a still-running request (its client timed out);
                # its failure is an artefact of the shutdown, not a responder bug worth a traceback.
                log.debug("responder interrupted by shutdown: %s", exc)
            else:
                log.exception("responder crashed")
            return error_response(500, f"The responder failed: {type(exc).__name__}: {exc}", type_="server_error")
        finally:
            self._pending -= 1
        try:
            reply = _coerce_reply(raw)
        except (ValidationError, TypeError) as exc:
            log.error("responder returned an invalid message: %s", exc)
            return error_response(500, f"The responder returned an invalid assistant message: {exc}", type_="server_error")
        return self._completion(chat, reply)

    def _completion(self, chat: ChatRequest, reply: AssistantReply) -> Response:
        message = render_message(reply.message)
        finish_reason = "tool_calls" if message.get("tool_calls") else "stop"
        usage = (reply.usage or Usage()).model_dump()
        usage["total_tokens"] = usage["total_tokens"] or usage["prompt_tokens"] + usage["completion_tokens"]
        completion_id = "chatcmpl-" + secrets.token_hex(12)
        created = int(time.time())
        if chat.stream:
            include_usage = bool(chat.stream_options and chat.stream_options.include_usage)
            return StreamingResponse(
                self._sse(completion_id, created, message, finish_reason, usage if include_usage else None),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache"},
            )
        return JSONResponse(
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": self.model,
                "system_fingerprint": None,
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
                "usage": usage,
            }
        )

    async def _sse(
        self, completion_id: str, created: int, message: dict[str, Any], finish_reason: str, usage: dict[str, int] | None
    ) -> AsyncIterator[bytes]:
        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
            payload = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": self.model,
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
                **extra,
            }
            return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()

        yield chunk({"role": "assistant", "content": ""})
        if message.get("content"):
            yield chunk({"content": message["content"]})
        for index, call in enumerate(message.get("tool_calls") or []):
            yield chunk({"tool_calls": [{"index": index, **call}]})
        yield chunk({}, finish_reason)
        if usage is not None:
            payload = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": self.model,
                "choices": [],
                "usage": usage,
            }
            yield f"data: {json.dumps(payload)}\n\n".encode()
        yield b"data: [DONE]\n\n"


def create_app(responder: Responder, *, model: str, max_pending: int = 64) -> Starlette:
    """A Starlette app serving ``responder`` as the OpenAI model ``model``."""
    return OpenAIServer(responder, model=model, max_pending=max_pending).app


# ------------------------------------------------------------------------------- pipeline responder


class PipelineResponder:
    """Runs a pawflow pipeline with inputs ``messages`` and ``tools``; its ``message`` output is the reply.

    The pipeline is loaded once, at construction, so a broken pipeline file fails the server's start
    rather than its first request.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ConfigError(f"Pipeline file not found: {self.path}")
        try:
            from pawflow.pipeline import Pipeline  # heavy: imports the interpreter stack
        except ImportError as exc:
            raise ConfigError(f"Cannot serve {self.path}: the pipeline engine is unavailable ({exc}).") from exc
        self.pipeline = Pipeline.load(self.path)

    def __call__(self, request: ChatRequest) -> AssistantMessage:
        # OpenAI's shape: unset optional fields are left out, but every message keeps its content key
        # (null for tool-call-only assistant turns) so pipeline steps can index it unconditionally.
        inputs = {
            "messages": [
                {"content": None, **m.model_dump(mode="json", exclude_none=True)} for m in request.messages
            ],
            "tools": [t.model_dump(mode="json", exclude_none=True) for t in request.tools or []],
        }
        result = self.pipeline.run(inputs)
        outputs = getattr(result, "outputs", None)
        if not isinstance(outputs, dict) or "message" not in outputs:
            names = ", ".join(sorted(outputs)) if isinstance(outputs, dict) else type(outputs).__name__
            raise BackendError(f"Pipeline {self.path} returned no 'message' output (it returned: {names}).")
        try:
            return AssistantMessage.model_validate(outputs["message"])
        except ValidationError as exc:
            raise BackendError(f"Pipeline {self.path} returned an invalid assistant message: {exc}") from exc


# ------------------------------------------------------------------------------------- run helpers


def bind_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """Bind before serving so a free port (port=0) is known up front and cannot be taken meanwhile."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


@contextlib.contextmanager
def serve_in_thread(app: Any, *, host: str = "127.0.0.1", port: int = 0, start_timeout_s: float = 15.0) -> Iterator[str]:
    """Run ``app`` under uvicorn on a background thread; yields the base URL (``http://host:port/v1``)."""
    import uvicorn

    sock = bind_socket(host, port)
    actual_port = sock.getsockname()[1]
    # A request whose client gave up may still be running on the worker; do not wait long for it.
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False, timeout_graceful_shutdown=3)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="pawflow-openai-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise BackendError(f"The OpenAI-compatible server did not start on {host}:{actual_port}.")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{actual_port}/v1"
    finally:
        owner = getattr(getattr(app, "state", None), "openai_server", None)
        if isinstance(owner, OpenAIServer):
            owner.close()
        # Cancelling requests whose clients already gave up is expected here, not an error to print.
        uvicorn_log = logging.getLogger("uvicorn.error")
        level = uvicorn_log.level
        uvicorn_log.setLevel(logging.CRITICAL)
        server.should_exit = True
        thread.join(timeout=10)
        uvicorn_log.setLevel(level)
        sock.close()

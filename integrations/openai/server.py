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

Two limits protect that one interpreter. A request body larger than ``max_body_bytes`` is refused
with 413 before it is read: a declared ``Content-Length`` over the limit is answered from the headers
alone, and a chunked body is counted while it streams and cut off as soon as it passes the limit.
An input the interpreter's context cannot hold is the client's to shorten, so it is a 400 with
OpenAI's ``context_length_exceeded`` code, and no error body ever repeats the input back.

The protocol's models are in :mod:`.protocol`, the error replies in :mod:`.error_replies`; both are
re-exported here.
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
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from integrations.openai import DEFAULT_MAX_BODY_BYTES
from integrations.openai.error_replies import (
    BodyTooLarge,
    context_length_response,
    context_overflow,
    error_response,
    server_error_message,
    too_large_response,
    validation_error,
)
from integrations.openai.protocol import (
    AssistantMessage,
    AssistantReply,
    ChatMessage,
    ChatRequest,
    ContentPart,
    FunctionCall,
    FunctionDefinition,
    NamedToolChoice,
    ReplyFunction,
    ReplyToolCall,
    Responder,
    StreamOptions,
    ToolCall,
    ToolDefinition,
    Usage,
    coerce_reply,
    render_message,
)
from pawflow.errors import BackendError, ConfigError, PawflowError

# The protocol models and error replies are part of this module's public names, as before the split.
__all__ = [
    "AssistantMessage",
    "AssistantReply",
    "ChatMessage",
    "ChatRequest",
    "ContentPart",
    "FunctionCall",
    "FunctionDefinition",
    "NamedToolChoice",
    "OpenAIServer",
    "PipelineResponder",
    "ReplyFunction",
    "ReplyToolCall",
    "Responder",
    "StreamOptions",
    "ToolCall",
    "ToolDefinition",
    "Usage",
    "bind_socket",
    "create_app",
    "error_response",
    "render_message",
    "serve_in_thread",
]

log = logging.getLogger("pawflow.openai_server")


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

    def __init__(
        self,
        responder: Responder,
        *,
        model: str,
        owned_by: str = "pawflow",
        max_pending: int = 64,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        if max_body_bytes < 1:
            raise ConfigError(f"max_body_bytes must be at least 1, got {max_body_bytes}")
        self.responder = responder
        self.model = model
        self.owned_by = owned_by
        self.max_pending = max_pending
        self.max_body_bytes = max_body_bytes
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

    async def _read_body(self, request: Request) -> bytes:
        """The body, refusing (``BodyTooLarge``) as soon as it is known to pass ``max_body_bytes``.

        A declared Content-Length is checked before a byte of the body is read; a chunked body (or one
        whose Content-Length lies) is counted as it streams, so at most one chunk past the limit is
        ever held. uvicorn stops reading the socket while the app does not consume, so an unread body
        stays in the client's buffers, not ours.
        """
        declared = request.headers.get("content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > self.max_body_bytes:
            raise BodyTooLarge(int(declared))
        chunks: list[bytes] = []
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > self.max_body_bytes:
                raise BodyTooLarge(None)
            chunks.append(chunk)
        return b"".join(chunks)

    async def chat_completions(self, request: Request) -> Response:
        try:
            body = await self._read_body(request)
        except BodyTooLarge as exc:
            log.info("refused a request body over %d bytes", self.max_body_bytes)
            return too_large_response(self.max_body_bytes, exc.declared)
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return error_response(400, f"We could not parse the JSON body of your request: {exc}", code="invalid_json")
        if not isinstance(data, dict):
            return error_response(400, "The request body must be a JSON object.", code="invalid_json")
        try:
            chat = ChatRequest.model_validate(data)
        except ValidationError as exc:
            return validation_error(exc)
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
            overflow = context_overflow(exc)
            if overflow is not None:
                log.warning("input over the context window: %s", overflow.message)
                return context_length_response(overflow)
            message = server_error_message(exc)
            log.warning("responder failed: %s", message)
            return error_response(500, message, type_="server_error", code="responder_error")
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
            reply = coerce_reply(raw)
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


def create_app(
    responder: Responder, *, model: str, max_pending: int = 64, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
) -> Starlette:
    """A Starlette app serving ``responder`` as the OpenAI model ``model``."""
    return OpenAIServer(responder, model=model, max_pending=max_pending, max_body_bytes=max_body_bytes).app


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

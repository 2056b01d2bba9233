"""The process-wide interpreter: one base model, many programs.

Loading a base costs hundreds of milliseconds and its size in memory; a program costs an adapter and
a cached prefix. So a process holds exactly one :class:`Interpreter` per base (``Interpreter.shared()``),
and every :class:`~pawflow.function.Function` runs through it. A lock serialises use of the single
llama.cpp context: callers on many threads queue instead of corrupting each other's KV state.

Queued callers are *coalesced*: servers (OpenAI, MCP) and threads calling the same program while the
context is busy wait in a queue, and whoever takes the lock next runs every waiting request of its
program as one batch (:mod:`pawflow.backends.llamacpp_batch`). No timer is needed for that — requests
pile up exactly while the model is busy — so a lone call pays nothing. ``coalesce_ms`` adds an
optional wait before a batch starts, for bursty callers; ``bench/interpreter.py`` measures both.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Sequence

from pawflow.backends.base import Backend, BackendStats, RawOutput
from pawflow.base import BaseModelInfo, inspect_base
from pawflow.config import Settings, load_settings
from pawflow.errors import InputTypeError
from pawflow.program import Program

_SHARED: "Interpreter | None" = None


class _Request:
    """One caller's inputs, waiting to be run (possibly in a batch with other callers' inputs)."""

    __slots__ = ("program", "inputs", "cache_prefix", "truncate", "key", "outputs", "error", "done")

    def __init__(self, program: Program, inputs: list[str], cache_prefix: bool, truncate: bool) -> None:
        self.program = program
        self.inputs = inputs
        self.cache_prefix = cache_prefix
        self.truncate = truncate
        self.key = (program.key, cache_prefix, truncate)
        self.outputs: list[RawOutput] | None = None
        self.error: BaseException | None = None
        self.done = False
_SHARED_LOCK = threading.Lock()


class Interpreter:
    """Runs programs on one base. Thread-safe; use :meth:`shared` unless you need a private one."""

    def __init__(self, settings: Settings | None = None, *, backend: Backend | None = None) -> None:
        self.settings = settings or load_settings()
        self.base_path: Path = self.settings.base_path()
        self.base_info: BaseModelInfo = inspect_base(self.base_path)
        self._lock = threading.RLock()
        self._queue_lock = threading.Lock()
        self._queue: list[_Request] = []
        self._busy = False
        self.coalesced_batches = 0
        self.coalesced_requests = 0
        started = time.perf_counter()
        if backend is None:
            from pawflow.backends import backend_class

            backend = backend_class(self.settings.backend)(self.base_path, self.base_info, self.settings)
        self.backend: Backend = backend
        self.load_seconds = time.perf_counter() - started

    # ------------------------------------------------------------------ process-wide instance

    @classmethod
    def shared(cls, settings: Settings | None = None) -> "Interpreter":
        """The process's interpreter, created on first use with ``settings`` (or resolved settings).

        Asking for it with settings naming another base replaces it (the old one is closed): a
        process runs one base at a time, so two would only double memory.
        """
        global _SHARED
        with _SHARED_LOCK:
            wanted = settings or (None if _SHARED is not None else load_settings())
            if _SHARED is not None and wanted is not None and wanted.base_path() != _SHARED.base_path:
                _SHARED.close()
                _SHARED = None
            if _SHARED is None:
                _SHARED = cls(wanted)
            return _SHARED

    @classmethod
    def reset_shared(cls) -> None:
        """Close the process-wide interpreter (tests; switching base explicitly)."""
        global _SHARED
        with _SHARED_LOCK:
            if _SHARED is not None:
                _SHARED.close()
            _SHARED = None

    # ------------------------------------------------------------------ running programs

    def check(self, program: Program) -> None:
        program.check_base(self.base_info, allow_mismatch=self.settings.allow_base_mismatch)

    def run(
        self, program: Program, inputs: Sequence[str], *, cache_prefix: bool = True, truncate: bool = False
    ) -> list[RawOutput]:
        """Run one program over inputs as one batch; concurrent calls of the same program are merged."""
        inputs = list(inputs)
        for text in inputs:
            if not isinstance(text, str):
                raise InputTypeError(
                    f"program {program.name!r} takes text input, got {type(text).__name__}",
                    hint="pass a str (serialise structured data with json.dumps first)",
                )
        request = _Request(program, inputs, cache_prefix, truncate)
        with self._queue_lock:
            self._queue.append(request)
        if self.settings.coalesce_ms > 0 and self._busy:
            time.sleep(self.settings.coalesce_ms / 1000)
        with self._lock:
            self._busy = True
            try:
                if not request.done:
                    self._run_group(self._take_group(request))
            finally:
                self._busy = False
        if request.error is not None:
            raise request.error
        assert request.outputs is not None
        return request.outputs

    def _take_group(self, leader: "_Request") -> list["_Request"]:
        """The leader and every queued request that can share its batch (same program and options)."""
        with self._queue_lock:
            group = [r for r in self._queue if r.key == leader.key]
            self._queue = [r for r in self._queue if r.key != leader.key]
        return group

    def _run_group(self, group: list["_Request"]) -> None:
        inputs = [text for request in group for text in request.inputs]
        if len(group) > 1:
            self.coalesced_batches += 1
            self.coalesced_requests += len(group)
        try:
            outputs = self.backend.run(group[0].program, inputs, cache_prefix=group[0].cache_prefix,
                                       truncate=group[0].truncate)
        except BaseException as exc:  # noqa: BLE001 - handed to every caller of the batch
            for request in group:
                request.error, request.done = exc, True
            return
        start = 0
        for request in group:
            request.outputs = outputs[start : start + len(request.inputs)]
            request.done = True
            start += len(request.inputs)

    def complete(self, prompt: str, *, max_tokens: int = 256, stop: Sequence[str] = (), grammar: str | None = None) -> str:
        """Raw completion on the bare base (used by the pseudo-compiler and raw-spec baselines)."""
        with self._lock:
            return self.backend.complete(prompt, max_tokens=max_tokens, stop=stop, grammar=grammar)

    def tokenize(self, text: str, *, special: bool = False) -> list[int]:
        with self._lock:
            return self.backend.tokenize(text, special=special)  # type: ignore[attr-defined]

    @property
    def stats(self) -> BackendStats:
        return self.backend.stats

    def info(self) -> dict[str, Any]:
        return {
            "base_model": str(self.base_path),
            "base": self.base_info.model_dump(exclude={"chat_template"}),
            "base_load_s": round(self.load_seconds, 3),
            **self.backend.describe(),
        }

    def close(self) -> None:
        with self._lock:
            self.backend.close()

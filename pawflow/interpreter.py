"""The process-wide interpreter: one base model, many programs.

Loading a base costs hundreds of milliseconds and its size in memory; a program costs an adapter and
a cached prefix. So a process holds exactly one :class:`Interpreter` per base (``Interpreter.shared()``),
and every :class:`~pawflow.function.Function` runs through it. A lock serialises use of the single
llama.cpp context: callers on many threads queue instead of corrupting each other's KV state.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Sequence

from pawflow.backends.base import Backend, BackendStats, RawOutput
from pawflow.base import BaseModelInfo, inspect_base
from pawflow.config import Settings, load_settings
from pawflow.program import Program

_SHARED: "Interpreter | None" = None
_SHARED_LOCK = threading.Lock()


class Interpreter:
    """Runs programs on one base. Thread-safe; use :meth:`shared` unless you need a private one."""

    def __init__(self, settings: Settings | None = None, *, backend: Backend | None = None) -> None:
        self.settings = settings or load_settings()
        self.base_path: Path = self.settings.base_path()
        self.base_info: BaseModelInfo = inspect_base(self.base_path)
        self._lock = threading.RLock()
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

    def run(self, program: Program, inputs: Sequence[str], *, cache_prefix: bool = True) -> list[RawOutput]:
        """Run one program over inputs, holding the context for the whole batch (one adapter swap)."""
        with self._lock:
            return self.backend.run(program, inputs, cache_prefix=cache_prefix)

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

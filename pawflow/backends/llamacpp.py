"""llama.cpp backend: one base model and one context, adapters hot-swapped, prefixes cached.

Why it is built this way:

* The base is loaded once. Programs differ only by an adapter and a prompt prefix, so switching
  program = ``llama_set_adapters_lora`` (microseconds), never a reload.
* The KV cache is only valid for the adapter it was computed under. After a swap nothing resident
  is reused; each program's prefix state is saved once (``llama_state_seq_get_data``) right after it
  is evaluated under that program's adapter, and restored before that program's next call.
* The same program called twice in a row keeps its prefix resident: we only drop the tokens after it.
* We drive decoding ourselves (not ``Llama.generate``), because its automatic prompt-prefix matching
  would happily reuse KV computed under another adapter.
"""

from __future__ import annotations

import atexit
import ctypes
import json
import math
import os
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from pawflow.backends.base import BackendStats, RawOutput
from pawflow.backends.cpu_load import ThreadAdvisor
from pawflow.base import BaseModelInfo
from pawflow.config import Settings, cache_root
from pawflow.errors import BackendError, InputTypeError
from pawflow.program import JsonOutput, LabelsOutput, Program
from pawflow.storage import atomic_write_bytes


@dataclass
class _Adapter:
    handle: object
    nbytes: int
    sha256: str


@dataclass
class _PrefixState:
    tokens: list[int]
    blob: ctypes.Array | None  # None when the prefix is empty
    nbytes: int


# Backends and llama.cpp models still open at interpreter exit are closed while llama.cpp's bindings are
# intact; left to garbage collection at shutdown, Llama.__del__ runs after the ctypes module is torn
# down and prints "TypeError: 'NoneType' object is not callable" on every exit.
_OPEN_AT_EXIT: "weakref.WeakSet[object]" = weakref.WeakSet()


def close_at_exit(closeable: object) -> object:
    """Register anything with ``close()`` that holds llama.cpp memory (backends, the compiler's tokenizer)."""
    _OPEN_AT_EXIT.add(closeable)
    return closeable


@atexit.register
def _close_at_exit() -> None:
    for item in list(_OPEN_AT_EXIT):
        try:
            item.close()  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


class LlamaCppBackend:
    """Not thread-safe by itself: the Interpreter serialises calls with its lock."""

    name = "llama.cpp"

    def __init__(self, base_path: Path, base_info: BaseModelInfo, settings: Settings) -> None:
        from pawflow.backends import llamacpp_build

        # The build is checked (a wheel built for another CPU is refused instead of dying with SIGILL)
        # and the model is loaded with the parameters that are safe on it (no AMX extra buffer types).
        self.build = llamacpp_build.ensure_build_fits()
        import llama_cpp

        self._lib = llama_cpp
        self.base_path = Path(base_path)
        self.base_info = base_info
        self.settings = settings
        self.stats = BackendStats()
        self.load_options = llamacpp_build.load_options()
        try:
            self._llm = llamacpp_build.open_llama(
                base_path,
                n_ctx=settings.n_ctx,
                n_batch=settings.n_batch,
                n_threads=settings.threads,
                n_threads_batch=settings.threads,
                n_gpu_layers=0,
                logits_all=False,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise BackendError(f"llama.cpp could not load base model {base_path}: {exc}") from exc
        self._ctx = self._llm.ctx
        self._vocab = self._llm._model.vocab
        self._n_vocab = self._llm.n_vocab()
        self._memory = llama_cpp.llama_get_memory(self._ctx)
        self._adapters: OrderedDict[str, _Adapter] = OrderedDict()
        self._adapter_bytes = 0
        self._active: str | None = None  # sha256 of the active adapter, None = bare base
        self._prefixes: OrderedDict[str, _PrefixState] = OrderedDict()
        self._prefix_bytes = 0
        self._prefix_budget = 512 << 20
        self._resident: str | None = None  # program key whose prefix is in the KV cache right now
        self._grammars: dict[str, object] = {}
        self._adapter_dir = cache_root() / "adapters"
        self._advisor = ThreadAdvisor(settings.threads) if settings.thread_policy == "adaptive" else None
        self._n_threads = settings.threads
        self._lock = threading.RLock()
        self._closed = False
        close_at_exit(self)

    # ------------------------------------------------------------------ public API

    def run(self, program: Program, inputs: Sequence[str], *, cache_prefix: bool = True) -> list[RawOutput]:
        with self._lock:
            self._choose_threads()
            outputs = []
            for text in inputs:
                if not isinstance(text, str):
                    raise InputTypeError(
                        f"program {program.name!r} takes text input, got {type(text).__name__}",
                        hint="pass a str (serialise structured data with json.dumps first)",
                    )
                n_prefix = self._activate(program, cache_prefix)
                outputs.append(self._decode(program, text, n_prefix))
                self.stats.calls += 1
            return outputs

    def complete(self, prompt: str, *, max_tokens: int = 256, stop: Sequence[str] = (), grammar: str | None = None) -> str:
        with self._lock:
            self._choose_threads()
            self._set_adapter(None)
            self._clear()
            tokens = self._tokenize(prompt, special=True)
            self._check_room(len(tokens) + max_tokens, "prompt")
            self._eval(tokens)
            sampler = self._grammar_sampler(grammar) if grammar else None
            text, _ = self._generate(max_tokens, tuple(stop), sampler, temperature=0.0)
            self._resident = None
            return text

    def describe(self) -> dict[str, object]:
        return {
            "backend": self.name,
            "llama_cpp_python": getattr(self._lib, "__version__", "?"),
            "threads": self.settings.threads,
            "thread_policy": self.settings.thread_policy,
            "threads_last_call": self._n_threads,
            "n_ctx": self.settings.n_ctx,
            "cpu_features": self.build.used_features(),
            "extra_bufts": bool(self.load_options["use_extra_bufts"]),
            "adapters_loaded": len(self._adapters),
            "adapter_cache_bytes": self._adapter_bytes,
            "prefix_states": len(self._prefixes),
            "prefix_cache_bytes": self._prefix_bytes,
        }

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for adapter in self._adapters.values():
                self._lib.llama_adapter_lora_free(adapter.handle)
            self._adapters.clear()
            self._llm.close()

    def tokenize(self, text: str, *, special: bool = False) -> list[int]:
        return self._tokenize(text, special=special)

    def set_thread_policy(self, policy: str) -> None:
        """Switch between "adaptive" and "fixed" at run time (benchmarks compare the two)."""
        with self._lock:
            self._advisor = ThreadAdvisor(self.settings.threads) if policy == "adaptive" else None
            if self._advisor is None and self._n_threads != self.settings.threads:
                self._lib.llama_set_n_threads(self._ctx, self.settings.threads, self.settings.threads)
                self._n_threads = self.settings.threads

    def _choose_threads(self) -> None:
        """Per call: no more llama.cpp threads than free cores (see pawflow.backends.cpu_load)."""
        if self._advisor is None:
            return
        wanted = self._advisor.threads()
        if wanted != self._n_threads:
            self._lib.llama_set_n_threads(self._ctx, wanted, wanted)
            self._n_threads = wanted
            self.stats.thread_changes += 1

    # ------------------------------------------------------------------ adapters

    def _load_adapter(self, program: Program) -> _Adapter:
        sha = program.adapter_sha256
        assert sha is not None and program.adapter is not None
        cached = self._adapters.get(sha)
        if cached is not None:
            self._adapters.move_to_end(sha)
            return cached
        path = self._adapter_dir / f"{sha}.gguf"
        if not path.is_file() or path.stat().st_size != len(program.adapter):
            atomic_write_bytes(path, program.adapter)
        handle = self._lib.llama_adapter_lora_init(self._llm.model, str(path).encode())
        if not handle:
            raise BackendError(
                f"llama.cpp refused the adapter of program {program.name!r}",
                hint="the adapter does not fit this base (tensor names or shapes); recompile the program for it",
            )
        adapter = _Adapter(handle=handle, nbytes=len(program.adapter), sha256=sha)
        self._adapters[sha] = adapter
        self._adapter_bytes += adapter.nbytes
        self.stats.adapters_loaded += 1
        self._evict_adapters(keep=sha)
        return adapter

    def _evict_adapters(self, keep: str) -> None:
        limit_count = self.settings.adapter_cache_count
        limit_bytes = self.settings.adapter_cache_mb << 20
        while len(self._adapters) > 1 and (len(self._adapters) > limit_count or self._adapter_bytes > limit_bytes):
            sha, victim = next(iter(self._adapters.items()))
            if sha == keep:
                self._adapters.move_to_end(sha)
                continue
            if self._active == sha:
                self._set_adapter(None)
            del self._adapters[sha]
            self._adapter_bytes -= victim.nbytes
            self._lib.llama_adapter_lora_free(victim.handle)
            self.stats.adapters_evicted += 1
            # Prefix states computed under that adapter stay valid (they are keyed by program and
            # restored only after its adapter is re-applied), so they are kept.

    def _set_adapter(self, adapter: _Adapter | None) -> None:
        sha = adapter.sha256 if adapter else None
        if sha == self._active:
            return
        if adapter is None:
            rc = self._lib.llama_set_adapters_lora(self._ctx, None, 0, None)
        else:
            handles = (self._lib.llama_adapter_lora_p_ctypes * 1)(adapter.handle)
            scales = (ctypes.c_float * 1)(1.0)
            rc = self._lib.llama_set_adapters_lora(self._ctx, handles, 1, scales)
        if rc not in (0, None):
            raise BackendError(f"llama_set_adapters_lora failed with code {rc}")
        self._active = sha
        self._resident = None  # KV computed under the previous adapter is stale now
        self.stats.swaps += 1

    # ------------------------------------------------------------------ prefix KV states

    def _activate(self, program: Program, cache_prefix: bool) -> int:
        """Apply the program's adapter and put its prefix in the KV cache; return the prefix length."""
        self._set_adapter(self._load_adapter(program) if program.adapter is not None else None)
        if not cache_prefix:
            self._clear()
            tokens = self._tokenize(program.prefix, special=True)
            self._eval(tokens)
            self._resident = None
            return len(tokens)
        key = program.key
        state = self._prefixes.get(key)
        if self._resident == key and state is not None:
            self._truncate(len(state.tokens))
            return len(state.tokens)
        self._clear()
        if state is not None:
            if state.blob is not None:
                done = self._lib.llama_state_seq_set_data(self._ctx, state.blob, state.nbytes, 0)
                if done == 0:
                    raise BackendError(f"restoring the cached prefix of {program.name!r} failed")
            self._llm.n_tokens = len(state.tokens)
            self._llm.input_ids[: len(state.tokens)] = state.tokens
            self._prefixes.move_to_end(key)
            self.stats.prefix_restores += 1
        else:
            tokens = self._tokenize(program.prefix, special=True)
            self._check_room(len(tokens), f"the prefix of {program.name!r}")
            self._eval(tokens)
            state = self._save_prefix(key, tokens)
            self.stats.prefix_evals += 1
        self._resident = key
        return len(state.tokens)

    def _save_prefix(self, key: str, tokens: list[int]) -> _PrefixState:
        if not tokens:
            state = _PrefixState(tokens=[], blob=None, nbytes=0)
        else:
            size = self._lib.llama_state_seq_get_size(self._ctx, 0)
            blob = (ctypes.c_uint8 * size)()
            written = self._lib.llama_state_seq_get_data(self._ctx, blob, size, 0)
            state = _PrefixState(tokens=list(tokens), blob=blob, nbytes=written)
        self._prefixes[key] = state
        self._prefix_bytes += state.nbytes
        while self._prefix_bytes > self._prefix_budget and len(self._prefixes) > 1:
            _, old = self._prefixes.popitem(last=False)
            self._prefix_bytes -= old.nbytes
        return state

    # ------------------------------------------------------------------ decoding

    def _decode(self, program: Program, text: str, n_prefix: int) -> RawOutput:
        body = self._tokenize(text, special=False) + self._tokenize(program.suffix, special=True)
        if not body:  # degenerate template: re-evaluate the last prefix token to get logits
            self._truncate(n_prefix - 1)
            body = [int(self._llm.input_ids[n_prefix - 1])]
        output = program.output
        max_tokens = program.generation.max_tokens
        self._check_room(n_prefix + len(body) + (8 if isinstance(output, LabelsOutput) else max_tokens), "input")
        self._eval(body)
        if isinstance(output, LabelsOutput):
            scores = self._score_labels(output.labels)
            best = max(scores, key=scores.__getitem__)
            return RawOutput(text=best, label_logprobs=scores, input_tokens=len(body), output_tokens=0)
        sampler = None
        if isinstance(output, JsonOutput):
            sampler = self._grammar_sampler(self._json_grammar(output))
        generated, n_out = self._generate(
            max_tokens, tuple(program.generation.stop), sampler, temperature=program.generation.temperature
        )
        return RawOutput(text=generated, input_tokens=len(body), output_tokens=n_out)

    def _score_labels(self, labels: Sequence[str]) -> dict[str, float]:
        """Exact log-probability of each label's token sequence (no sampling, so always a label).

        Labels with distinct first tokens need only the logits already computed; labels sharing a
        prefix are walked as a trie, evaluating each shared token once. A label that is a prefix of
        another is scored with the end-of-turn token appended, so "AL" and "ALERT" stay distinct.
        """
        sequences = {label: self._tokenize(label, special=False) for label in labels}
        for label, seq in sequences.items():
            if not seq:
                raise BackendError(f"label {label!r} tokenizes to nothing")
            if any(other != label and sequences[other][: len(seq)] == seq for other in labels):
                sequences[label] = seq + [self._eot_token()]
        base_n = self._llm.n_tokens
        root = self._logprobs()
        scores: dict[str, float] = {}

        def walk(depth: int, logprobs: np.ndarray, group: list[str], acc: dict[str, float]) -> None:
            by_token: dict[int, list[str]] = {}
            for label in group:
                by_token.setdefault(sequences[label][depth], []).append(label)
            for token, members in by_token.items():
                for label in members:
                    acc[label] += float(logprobs[token])
                unfinished = [m for m in members if len(sequences[m]) > depth + 1]
                if unfinished:
                    self._truncate(base_n + depth)
                    self._eval([token])
                    walk(depth + 1, self._logprobs(), unfinished, acc)

        acc = {label: 0.0 for label in labels}
        walk(0, root, list(labels), acc)
        self._truncate(base_n)
        total = max(acc.values())
        norm = math.log(sum(math.exp(v - total) for v in acc.values())) + total
        for label in labels:
            scores[label] = acc[label] - norm
        return scores

    def _generate(
        self, max_tokens: int, stop: tuple[str, ...], sampler, *, temperature: float
    ) -> tuple[str, int]:
        out: list[int] = []
        text = ""
        rng = np.random.default_rng(0) if temperature > 0 else None
        for _ in range(max_tokens):
            if sampler is not None:
                token = sampler.sample(self._llm._ctx, -1)
            else:
                logits = self._logits()
                if rng is None:
                    token = int(np.argmax(logits))
                else:
                    probs = np.exp((logits - logits.max()) / temperature)
                    token = int(rng.choice(len(probs), p=probs / probs.sum()))
            if self._lib.llama_vocab_is_eog(self._vocab, token):
                break
            out.append(token)
            text = self._llm.detokenize(out).decode("utf-8", errors="ignore")
            hit = next((s for s in stop if s and s in text), None)
            if hit is not None:
                text = text[: text.index(hit)]
                break
            self._eval([token])
        return text, len(out)

    def _json_grammar(self, output: JsonOutput) -> str:
        key = json.dumps(output.json_schema, sort_keys=True)
        if key not in self._grammars:
            from llama_cpp import LlamaGrammar

            try:
                self._grammars[key] = LlamaGrammar.from_json_schema(key, verbose=False)
            except Exception as exc:  # the converter raises plain Exceptions on unsupported schemas
                raise BackendError(f"cannot build a grammar for this JSON schema: {exc}") from exc
        return self._grammars[key]

    def _grammar_sampler(self, grammar):
        from llama_cpp import LlamaGrammar
        from llama_cpp._internals import LlamaSampler

        if isinstance(grammar, str):
            grammar = LlamaGrammar.from_string(grammar, verbose=False)
        sampler = LlamaSampler()
        sampler.add_grammar(self._llm._model, grammar)
        sampler.add_greedy()
        return sampler

    # ------------------------------------------------------------------ low level

    def _tokenize(self, text: str, *, special: bool) -> list[int]:
        if not text:
            return []
        return self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=special)

    def _eot_token(self) -> int:
        eot = self._lib.llama_vocab_eot(self._vocab)
        return eot if eot >= 0 else self._lib.llama_vocab_eos(self._vocab)

    def _eval(self, tokens: Sequence[int]) -> None:
        if not tokens:
            return
        self._llm.eval(list(tokens))
        self.stats.tokens_evaluated += len(tokens)

    def _logits(self) -> np.ndarray:
        ptr = self._lib.llama_get_logits_ith(self._ctx, -1)
        return np.ctypeslib.as_array(ptr, shape=(self._n_vocab,)).astype(np.float64)

    def _logprobs(self) -> np.ndarray:
        logits = self._logits()
        top = logits.max()
        return logits - (top + np.log(np.exp(logits - top).sum()))

    def _clear(self) -> None:
        self._lib.llama_memory_clear(self._memory, True)
        self._llm.n_tokens = 0
        self._resident = None

    def _truncate(self, n: int) -> None:
        self._lib.llama_memory_seq_rm(self._memory, 0, n, -1)
        self._llm.n_tokens = n

    def _check_room(self, needed: int, what: str) -> None:
        if needed > self.settings.n_ctx:
            raise BackendError(
                f"{what} needs {needed} tokens of context, the interpreter has {self.settings.n_ctx}",
                hint="shorten the input, or raise the context with PAWFLOW_N_CTX / n_ctx in pawflow.toml",
            )


def rss_bytes() -> int:
    """Resident memory of this process (Linux), for benchmarks and ``pawflow info``."""
    try:
        with open(f"/proc/{os.getpid()}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0

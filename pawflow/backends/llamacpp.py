"""llama.cpp backend: one base model and one context, adapters hot-swapped, prefixes cached, inputs batched.

Why it is built this way:

* The base is loaded once. Programs differ only by an adapter and a prompt prefix, so switching
  program = ``llama_set_adapters_lora`` (microseconds), never a reload.
* The KV cache is only valid for the adapter it was computed under. After a swap nothing resident
  is reused; each program's prefix state is saved once (``llama_state_seq_get_data``) right after it
  is evaluated under that program's adapter, and restored before that program's next call. The same
  program called again keeps its prefix resident in sequence 0.
* Many inputs of one program run together (:mod:`pawflow.backends.llamacpp_batch`): each input gets
  sequences that share the prefix's cells in a *unified* KV cache, and one ``llama_decode`` evaluates
  all inputs and every label-trie branch. Chunks are sized by the runtime from the KV cells, the batch
  size, the sequence count and a bound on the logits buffer; nobody has to choose ``n_seq_max``.
* We own the ``llama_model``/``llama_context`` (not ``llama_cpp.Llama``): its automatic prompt-prefix
  matching would reuse KV computed under another adapter, and it knows nothing of sequences.
"""

from __future__ import annotations

import ctypes
import json
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from pawflow.backends.base import BackendStats, RawOutput
from pawflow.backends.cpu_load import ThreadAdvisor
from pawflow.backends.llamacpp_batch import LabelPlan, TokenBatch, log_softmax_rows
from pawflow.backends.llamacpp_channel import run_channel
from pawflow.backends.process import close_at_exit, rss_bytes  # noqa: F401 - re-exported for callers
from pawflow.base import BaseModelInfo
from pawflow.config import Settings, cache_root
from pawflow.errors import BackendError, ContextLengthError, InputTypeError
from pawflow.program import JsonOutput, LabelsOutput, Program
from pawflow.prompting import text_stops
from pawflow.storage import atomic_write_bytes

N_SEQ_MAX = 64  # sequences per context; llama.cpp allows 256, but each chunk's inputs share one KV view
MAX_BATCH_TOKENS = 2048  # tokens per llama_decode (n_batch); llama.cpp splits it into ubatches of N_UBATCH
# Batch-invariant numerics: a row's result must not depend on what else is in its batch. ggml picks
# kernels by shape: flash attention is tiled (cell-layout dependent) from GGML_FA_TILE_Q = 64 query
# rows and splits the KV across threads for a single row; llamafile's sgemm declines fewer than two
# rows. So every ubatch holds 2..63 tokens (one-token decodes get a padding token), where attention
# walks the cells in order skipping masked ones and every matmul element sums in the same order.
# Measured: bitwise-identical labels and texts batched vs one at a time (tests/test_batching.py);
# with 512-token ubatches confidences moved by up to 2.6e-3 and 3 of 8 texts changed.
N_UBATCH = 63
# Flash attention is on for the invariance above (Settings.batch_invariant, the default), at a measured
# price on a 2-core Xeon: a cached call took 406-466 ms with it and 193-265 ms without (same program and
# input, quiet machine): its CPU kernel walks the cells one by one for ubatches under 64 rows. Without
# it the cells' layout changes the sums and batched confidences moved by up to 6e-3 (over the 1e-3
# contract); batch_invariant=False trades that for the speed.
LOGITS_BUDGET_BYTES = 48 << 20  # logits rows kept per decode: n_outputs * n_vocab * 4 bytes
MAX_INPUTS_PER_CHUNK = 32  # attention over a unified cache spans every chunk's cells: measured in bench/interpreter.py


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


@dataclass
class _Row:
    """One input's work in a chunk."""

    index: int
    body: list[int]
    truncated: bool = False
    start: int = 0  # position of the body's first token
    seqs: list[int] = field(default_factory=list)
    first_row: int = -1
    chain_rows: list[list[int]] = field(default_factory=list)
    # generation
    pos: int = 0
    out: list[int] = field(default_factory=list)
    text: str = ""
    batch_index: int = -1
    sampler: object = None
    rng: object = None
    done: bool = False


class LlamaCppBackend:
    """Not thread-safe by itself: the Interpreter serialises calls with its lock."""

    name = "llama.cpp"

    def __init__(self, base_path: Path, base_info: BaseModelInfo, settings: Settings) -> None:
        from pawflow.backends import llamacpp_build

        # The build is checked (a wheel built for another CPU is refused instead of dying with SIGILL)
        # and the model is loaded with the parameters that are safe on it (no AMX extra buffer types).
        self.build = llamacpp_build.ensure_build_fits()
        import llama_cpp
        from llama_cpp import _internals

        self._lib = llama_cpp
        self.base_path = Path(base_path)
        self.base_info = base_info
        self.settings = settings
        self.stats = BackendStats()
        self.load_options = llamacpp_build.load_options()
        self.kv_cells = self._plan_kv_cells(base_info, settings)
        self.n_batch = min(MAX_BATCH_TOKENS, self.kv_cells)
        try:
            self._model = llamacpp_build.open_model(self.base_path)
            params = llama_cpp.llama_context_default_params()
            params.n_ctx = self.kv_cells
            params.n_batch = self.n_batch
            params.n_ubatch = N_UBATCH
            params.n_seq_max = N_SEQ_MAX
            params.kv_unified = True
            params.n_threads = settings.threads
            params.n_threads_batch = settings.threads
            params.no_perf = True
            params.flash_attn_type = (llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED if settings.batch_invariant
                                      else llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED)
            self._context = _internals.LlamaContext(model=self._model, params=params, verbose=False)
        except (ValueError, RuntimeError) as exc:
            raise BackendError(f"llama.cpp could not load base model {base_path}: {exc}") from exc
        self._ctx = self._context.ctx
        self._vocab = self._model.vocab
        self._n_vocab = llama_cpp.llama_vocab_n_tokens(self._vocab)
        self._memory = llama_cpp.llama_get_memory(self._ctx)
        self._pad_seq = llama_cpp.llama_n_seq_max(self._ctx) - 1
        self._batch = TokenBatch(llama_cpp, self.n_batch, 8)
        self._adapters: OrderedDict[str, _Adapter] = OrderedDict()
        self._adapter_bytes = 0
        self._active: str | None = None  # sha256 of the active adapter, None = bare base
        self._prefixes: OrderedDict[str, _PrefixState] = OrderedDict()
        self._prefix_bytes = 0
        self._prefix_budget = 512 << 20
        self._resident: str | None = None  # program key whose prefix is in sequence 0 right now
        self._prefix_tokens: list[int] = []
        self._grammars: dict[str, object] = {}
        self._label_plans: dict[tuple[str, ...], LabelPlan] = {}
        self._adapter_dir = cache_root() / "adapters"
        self._advisor = ThreadAdvisor(settings.threads) if settings.thread_policy == "adaptive" else None
        self._n_threads = settings.threads
        self._lock = threading.RLock()
        self._closed = False
        close_at_exit(self)

    @staticmethod
    def _plan_kv_cells(base_info: BaseModelInfo, settings: Settings) -> int:
        """KV cells for the context: room for batches within ``kv_cache_mb``, never below ``n_ctx``."""
        head_dim = base_info.head_dim or (base_info.n_embd // max(1, base_info.n_head))
        per_token = base_info.n_layer * 2 * max(1, base_info.n_head_kv) * head_dim * 2  # f16 K and V
        by_memory = (settings.kv_cache_mb << 20) // max(1, per_token)
        cells = max(settings.n_ctx, min(by_memory, 4 * settings.n_ctx))
        return int(cells // 256 * 256) or 256

    # ------------------------------------------------------------------ public API

    def run(
        self, program: Program, inputs: Sequence[str], *, cache_prefix: bool = True, truncate: bool = False
    ) -> list[RawOutput]:
        """Run one program on many inputs; a row that cannot run carries ``error``, the others answer."""
        for text in inputs:
            if not isinstance(text, str):
                raise InputTypeError(
                    f"program {program.name!r} takes text input, got {type(text).__name__}",
                    hint="pass a str (serialise structured data with json.dumps first)",
                )
        with self._lock:
            if not inputs:
                return []
            self._choose_threads()
            output = program.output
            if isinstance(output, LabelsOutput) and output.channel is not None:
                self._set_adapter(self._load_adapter(program) if program.adapter is not None else None)
                try:
                    results_channel = run_channel(self, program, list(inputs), cache_prefix=cache_prefix, truncate=truncate)
                finally:
                    self._drop_rows()
                    if not cache_prefix:
                        self._clear()
                self.stats.calls += len(inputs)
                return results_channel
            n_prefix = self._activate(program, cache_prefix)
            plan = self._label_plan(output.labels) if isinstance(output, LabelsOutput) else None
            extra = plan.chain_tokens if plan else program.generation.max_tokens
            suffix = self._tokenize(program.suffix, special=True)
            results: list[RawOutput | None] = [None] * len(inputs)
            rows: list[_Row] = []
            for index, text in enumerate(inputs):
                row = self._prepare(index, text, suffix, n_prefix, extra, truncate)
                if isinstance(row, RawOutput):
                    results[index] = row
                else:
                    rows.append(row)
            try:
                for chunk in self._chunks(rows, n_prefix, plan, extra):
                    if plan is not None:
                        self._score_chunk(chunk, n_prefix, plan, results)
                    else:
                        self._generate_chunk(chunk, n_prefix, program, results)
            finally:
                self._drop_rows()
                if not cache_prefix:
                    self._clear()
            self.stats.calls += len(inputs)
            return [r for r in results if r is not None]

    def complete(self, prompt: str, *, max_tokens: int = 256, stop: Sequence[str] = (), grammar: str | None = None) -> str:
        """Raw completion on the bare base: no adapter, the prompt rendered by the caller."""
        with self._lock:
            self._choose_threads()
            self._set_adapter(None)
            self._clear()
            tokens = self._tokenize(prompt, special=True)
            self._check_room(len(tokens) + max_tokens, "prompt")
            row = _Row(index=0, body=tokens)
            if grammar:
                row.sampler = self._grammar_sampler(grammar)
            results: list[RawOutput | None] = [None]
            try:
                self._lockstep([row], 0, max_tokens, tuple(stop), 0.0, results)
            finally:
                self._clear()
            return results[0].text if results[0] is not None else ""

    def describe(self) -> dict[str, object]:
        return {
            "backend": self.name,
            "llama_cpp_python": getattr(self._lib, "__version__", "?"),
            "threads": self.settings.threads,
            "thread_policy": self.settings.thread_policy,
            "threads_last_call": self._n_threads,
            "n_ctx": self.settings.n_ctx,
            "kv_cells": self.kv_cells,
            "n_seq_max": N_SEQ_MAX,
            "n_batch": self.n_batch,
            "batch_invariant": self.settings.batch_invariant,
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
            self._context.close()
            self._model.close()

    def tokenize(self, text: str, *, special: bool = False) -> list[int]:
        return self._tokenize(text, special=special)

    def set_thread_policy(self, policy: str) -> None:
        """Switch between "adaptive" and "fixed" at run time (benchmarks compare the two)."""
        with self._lock:
            self._advisor = ThreadAdvisor(self.settings.threads) if policy == "adaptive" else None
            if self._advisor is None and self._n_threads != self.settings.threads:
                self._lib.llama_set_n_threads(self._ctx, self.settings.threads, self.settings.threads)
                self._n_threads = self.settings.threads

    # ------------------------------------------------------------------ for pawflow.backends.llamacpp_channel

    def tokenize_document(self, text: str) -> list[int]:
        """A channel document's tokens: BOS when the base asks for one, the text as plain text."""
        if not text:
            return []
        return self._model.tokenize(text.encode("utf-8"), add_bos=True, special=False)

    @property
    def prefix_tokens(self) -> list[int]:
        return self._prefix_tokens

    @property
    def max_sequences(self) -> int:
        return N_SEQ_MAX

    @property
    def max_logit_rows(self) -> int:
        return max(1, LOGITS_BUDGET_BYTES // (4 * self._n_vocab))

    @property
    def batch(self) -> TokenBatch:
        return self._batch

    def fork_sequence(self, seq: int, *, keep: int) -> None:
        """Sequence ``seq`` shares the first ``keep`` cells of sequence 0 (no data is copied)."""
        self._lib.llama_memory_seq_cp(self._memory, 0, seq, -1, -1)
        self._lib.llama_memory_seq_rm(self._memory, seq, keep, -1)

    def decode(self, batch: TokenBatch) -> None:
        self._decode(batch)

    def logits(self, n_rows: int) -> np.ndarray:
        return self._all_logits(n_rows)

    def drop_sequences(self, seqs: Sequence[int]) -> None:
        for seq in seqs:
            self._lib.llama_memory_seq_rm(self._memory, seq, -1, -1)

    # ------------------------------------------------------------------ planning rows and chunks

    def _prepare(self, index: int, text: str, suffix: list[int], n_prefix: int, extra: int, truncate: bool) -> _Row | RawOutput:
        body = self._tokenize(text, special=False)
        room = self.settings.n_ctx - n_prefix - extra - len(suffix)
        truncated = False
        if len(body) > room:
            if not truncate or room < 1:
                needed = n_prefix + len(body) + len(suffix) + extra
                return RawOutput(
                    text="", error=f"input needs {needed} tokens of context, the interpreter has {self.settings.n_ctx}",
                    error_code=ContextLengthError.code, input_tokens=len(body) + len(suffix),
                )
            body, truncated = body[:room], True
        return _Row(index=index, body=body + suffix, truncated=truncated)

    def _chunks(self, rows: list[_Row], n_prefix: int, plan: LabelPlan | None, extra: int):
        """Consecutive rows that fit together in the KV cells, one decode, the sequences and the logits bound."""
        width = plan.width if plan else 1
        max_rows_by_logits = max(1, LOGITS_BUDGET_BYTES // (4 * self._n_vocab))
        max_inputs = max(1, min(MAX_INPUTS_PER_CHUNK, (N_SEQ_MAX - 2) // width))  # seq 0: prefix; last: padding
        chunk: list[_Row] = []
        cells = tokens = outputs = 0
        for row in rows:
            n_body = max(1, len(row.body))
            row_cells = n_body + (plan.chain_tokens if plan else extra)
            row_tokens = n_body + (plan.chain_tokens if plan else 0)
            row_outputs = 1 + (plan.chain_tokens if plan else 0)
            if chunk and (
                len(chunk) >= max_inputs
                or n_prefix + cells + row_cells > self.kv_cells
                or tokens + row_tokens > self.n_batch
                or outputs + row_outputs > max_rows_by_logits
            ):
                yield chunk
                chunk, cells, tokens, outputs = [], 0, 0, 0
            chunk.append(row)
            cells, tokens, outputs = cells + row_cells, tokens + row_tokens, outputs + row_outputs
        if chunk:
            yield chunk

    def _share_prefix(self, chunk: list[_Row], n_prefix: int, width: int) -> None:
        """Give each row ``width`` sequences (1..) that share sequence 0's prefix cells.

        A row whose body is empty (a template ending at its placeholder) re-evaluates the prefix's
        last token in its own sequences, so it still gets the logits that follow the prefix.
        """
        next_seq = 1
        for row in chunk:
            row.seqs = list(range(next_seq, next_seq + width))
            next_seq += width
            row.start = n_prefix
            if not row.body:
                row.start = n_prefix - 1
                row.body = [self._prefix_tokens[-1]]
            for seq in row.seqs:
                self._lib.llama_memory_seq_cp(self._memory, 0, seq, -1, -1)  # whole sequence: works across streams too
                if row.start < n_prefix:
                    self._lib.llama_memory_seq_rm(self._memory, seq, row.start, -1)

    # ------------------------------------------------------------------ labels

    def _label_plan(self, labels: Sequence[str]) -> LabelPlan:
        key = tuple(labels)
        plan = self._label_plans.get(key)
        if plan is None:
            try:
                plan = LabelPlan.build(labels, lambda s: self._tokenize(s, special=False), self._eot_token())
            except ValueError as exc:
                raise BackendError(str(exc)) from exc
            self._label_plans[key] = plan
            if plan.width > self._batch.width:
                self._batch = TokenBatch(self._lib, self.n_batch, plan.width)
        return plan

    def _score_chunk(self, chunk: list[_Row], n_prefix: int, plan: LabelPlan, results: list) -> None:
        """One decode: every input's tokens (in all its chain sequences) and every chain after it."""
        self._share_prefix(chunk, n_prefix, plan.width)
        batch = self._batch
        batch.clear()
        for row in chunk:
            (row.first_row,) = batch.add(row.body, row.start, row.seqs, "last")
            after = row.start + len(row.body)
            row.chain_rows = [batch.add(chain, after, [row.seqs[c]], "all") for c, chain in enumerate(plan.chains)]
        self._decode(batch)
        logits = self._all_logits(batch.n_outputs)
        needed = sorted({r for row in chunk for r in [row.first_row, *[x for rs in row.chain_rows for x in rs]]})
        logprobs = dict(zip(needed, log_softmax_rows(logits[needed])))
        for row in chunk:
            chains = [[logprobs[r] for r in rows] for rows in row.chain_rows]
            scores = plan.score(logprobs[row.first_row], chains)
            best = max(scores, key=scores.__getitem__)
            results[row.index] = RawOutput(
                text=best, label_logprobs=scores, input_tokens=len(row.body), output_tokens=0, truncated=row.truncated
            )
        self._drop_rows(chunk)

    # ------------------------------------------------------------------ text and JSON

    def _generate_chunk(self, chunk: list[_Row], n_prefix: int, program: Program, results: list) -> None:
        output = program.output
        for row in chunk:
            if isinstance(output, JsonOutput):
                row.sampler = self._grammar_sampler(self._json_grammar(output))
        gen = program.generation
        stop = text_stops(gen.stop, self.base_info)
        self._lockstep(chunk, n_prefix, gen.max_tokens, stop, gen.temperature, results)

    def _lockstep(self, chunk: list[_Row], n_prefix: int, max_tokens: int, stop: tuple[str, ...],
                  temperature: float, results: list) -> None:
        """Decode the rows' inputs together, then one token per live row per decode until all stop."""
        batch = self._batch
        if n_prefix:
            self._share_prefix(chunk, n_prefix, 1)
        else:
            for k, row in enumerate(chunk):
                row.seqs, row.start = [k + 1], 0
        batch.clear()
        for row in chunk:
            batch.add(row.body, row.start, row.seqs, "last")
            row.batch_index = batch.n - 1
            row.pos = row.start + len(row.body)
            row.rng = np.random.default_rng(0) if temperature > 0 else None
        self._decode(batch)
        live = list(chunk)
        for _ in range(max_tokens):
            following = []
            pending: list[tuple[_Row, int]] = []
            for row in live:
                token = self._next_token(row, temperature)
                if self._lib.llama_vocab_is_eog(self._vocab, token):
                    continue
                row.out.append(token)
                row.text = self._detokenize(row.out)
                hit = next((s for s in stop if s and s in row.text), None)
                if hit is not None:
                    row.text = row.text[: row.text.index(hit)]
                    continue
                if len(row.out) >= max_tokens:
                    continue
                pending.append((row, token))
            if not pending:
                break
            batch.clear()
            for row, token in pending:
                batch.add([token], row.pos, row.seqs, "last")
                row.batch_index = batch.n - 1
                row.pos += 1
                following.append(row)
            self._decode(batch)
            live = following
        for row in chunk:
            results[row.index] = RawOutput(
                text=row.text, input_tokens=len(row.body), output_tokens=len(row.out), truncated=row.truncated
            )
        self._drop_rows(chunk)

    def _next_token(self, row: _Row, temperature: float) -> int:
        if row.sampler is not None:
            return int(self._lib.llama_sampler_sample(row.sampler.sampler, self._ctx, row.batch_index))
        logits = self._row_logits(row.batch_index)
        if row.rng is None:
            return int(np.argmax(logits))
        scaled = logits.astype(np.float64)
        probs = np.exp((scaled - scaled.max()) / temperature)
        return int(row.rng.choice(len(probs), p=probs / probs.sum()))

    def _json_grammar(self, output: JsonOutput):  # noqa: ANN202 - LlamaGrammar
        key = json.dumps(output.json_schema, sort_keys=True)
        if key not in self._grammars:
            from llama_cpp import LlamaGrammar

            try:
                self._grammars[key] = LlamaGrammar.from_json_schema(key, verbose=False)
            except Exception as exc:  # the converter raises plain Exceptions on unsupported schemas
                raise BackendError(f"cannot build a grammar for this JSON schema: {exc}") from exc
        return self._grammars[key]

    def _grammar_sampler(self, grammar):  # noqa: ANN001, ANN202
        from llama_cpp import LlamaGrammar
        from llama_cpp._internals import LlamaSampler

        if isinstance(grammar, str):
            grammar = LlamaGrammar.from_string(grammar, verbose=False)
        sampler = LlamaSampler()
        sampler.add_grammar(self._model, grammar)
        sampler.add_greedy()
        return sampler

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
        handle = self._lib.llama_adapter_lora_init(self._model.model, str(path).encode())
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
        """Apply the program's adapter and put its prefix in sequence 0; return the prefix length."""
        self._set_adapter(self._load_adapter(program) if program.adapter is not None else None)
        return self.use_prefix(
            program.key, lambda: self._tokenize(program.prefix, special=True), f"the prefix of {program.name!r}", cache_prefix
        )

    def use_prefix(self, key: str, tokens_of: Callable[[], list[int]], what: str, cache_prefix: bool) -> int:
        """Put the prefix ``key`` in sequence 0 (restored from the cache, or evaluated); return its length.

        ``tokens_of`` is only called when the prefix must be evaluated: a cached prefix is not even
        re-tokenised. The adapter must already be the one the prefix was computed under.
        """
        if not cache_prefix:
            self._clear()
            tokens = tokens_of()
            self._check_room(len(tokens), what)
            self._eval_prefix(tokens)
            return len(tokens)
        state = self._prefixes.get(key)
        if self._resident == key and state is not None:
            return len(state.tokens)
        self._clear()
        if state is not None:
            if state.blob is not None:
                done = self._lib.llama_state_seq_set_data(self._ctx, state.blob, state.nbytes, 0)
                if done == 0:
                    raise BackendError(f"restoring the cached {what} failed")
            self._prefixes.move_to_end(key)
            self.stats.prefix_restores += 1
        else:
            tokens = tokens_of()
            self._check_room(len(tokens), what)
            self._eval_prefix(tokens)
            state = self._save_prefix(key, tokens)
            self.stats.prefix_evals += 1
        self._prefix_tokens = state.tokens
        self._resident = key
        return len(state.tokens)

    def _eval_prefix(self, tokens: list[int]) -> None:
        self._prefix_tokens = list(tokens)
        for start in range(0, len(tokens), self.n_batch):
            self._batch.clear()
            self._batch.add(tokens[start : start + self.n_batch], start, [0], "none")
            self._decode(self._batch)

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

    # ------------------------------------------------------------------ low level

    def _choose_threads(self) -> None:
        """Per call: no more llama.cpp threads than free cores (see pawflow.backends.cpu_load)."""
        if self._advisor is None:
            return
        wanted = self._advisor.threads()
        if wanted != self._n_threads:
            self._lib.llama_set_n_threads(self._ctx, wanted, wanted)
            self._n_threads = wanted
            self.stats.thread_changes += 1

    def _tokenize(self, text: str, *, special: bool) -> list[int]:
        if not text:
            return []
        return self._model.tokenize(text.encode("utf-8"), add_bos=False, special=special)

    def _detokenize(self, tokens: list[int]) -> str:
        return self._model.detokenize(tokens).decode("utf-8", errors="ignore")

    def _eot_token(self) -> int:
        eot = self._lib.llama_vocab_eot(self._vocab)
        return eot if eot >= 0 else self._lib.llama_vocab_eos(self._vocab)

    def _decode(self, batch: TokenBatch) -> None:
        if batch.n == 0:
            return
        if batch.n == 1:  # one row would take other kernels (gemv, split-KV attention): pad to two
            batch.add([self._eot_token()], 0, [self._pad_seq], "none")
        batch.struct.n_tokens = batch.n
        rc = self._lib.llama_decode(self._ctx, batch.struct)
        self._lib.llama_memory_seq_rm(self._memory, self._pad_seq, -1, -1)
        if rc != 0:
            raise BackendError(
                f"llama_decode failed with code {rc}" + (" (no room left in the KV cache)" if rc == 1 else ""),
                hint="lower PAWFLOW_N_CTX or the batch size" if rc == 1 else None,
            )
        self.stats.decodes += 1
        self.stats.tokens_evaluated += batch.n

    def _all_logits(self, n_rows: int) -> np.ndarray:
        ptr = self._lib.llama_get_logits(self._ctx)
        return np.ctypeslib.as_array(ptr, shape=(n_rows, self._n_vocab))

    def _row_logits(self, batch_index: int) -> np.ndarray:
        ptr = self._lib.llama_get_logits_ith(self._ctx, batch_index)
        return np.ctypeslib.as_array(ptr, shape=(self._n_vocab,))

    def _drop_rows(self, chunk: list[_Row] | None = None) -> None:
        """Free every sequence but 0 (the resident prefix): a chunk's, or all after a call."""
        if chunk is None:
            for seq in range(1, self._lib.llama_n_seq_max(self._ctx)):
                self._lib.llama_memory_seq_rm(self._memory, seq, -1, -1)
            return
        for row in chunk:
            for seq in row.seqs:
                self._lib.llama_memory_seq_rm(self._memory, seq, -1, -1)

    def _clear(self) -> None:
        self._lib.llama_memory_clear(self._memory, True)
        self._resident = None
        self._prefix_tokens = []

    def _check_room(self, needed: int, what: str) -> None:
        if needed > self.settings.n_ctx:
            raise ContextLengthError(
                f"{what} needs {needed} tokens of context, the interpreter has {self.settings.n_ctx}",
                needed=needed, limit=self.settings.n_ctx,
                hint="shorten the input, or raise the context with PAWFLOW_N_CTX / n_ctx in pawflow.toml",
            )

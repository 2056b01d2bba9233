"""Does a LoRA fitted in torch do the same thing when llama.cpp runs it? Measured, not assumed.

Everything a LoRA program relies on sits between two implementations: peft's LoRA on a
transformers model (where adapters are trained) and llama.cpp's adapter path on the GGUF (where
they run). Tensor names, A/B orientation, the alpha/rank scale and, for llama-family bases, the
RoPE row permutation of q/k must all line up, and a mistake in any of them still produces a file
llama.cpp happily loads. So: apply one seeded random LoRA in both, and compare what it *changes* —
the next-token logit delta (with LoRA minus without) — by cosine similarity, per prompt.

The deltas are compared rather than the logits because the base logits already agree closely
(torch runs the dequantized GGUF weights); a wrong adapter hides inside a high logit cosine but
not inside a delta cosine. Perfect agreement is not expected: llama.cpp quantizes activations to
8 bits in its quantized matmuls and stores the adapter at f16.

This module also holds :class:`LlamaCppModel`, the small llama.cpp driver that
``compiler.fit.check_agreement`` reuses to replay held-out examples with an exported adapter.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pawflow.errors import BackendError, BaseModelError

DEFAULT_PROMPTS: tuple[str, ...] = (
    "The capital of France is",
    "Classify the sentiment of this review: I loved every minute of it. Sentiment:",
    "def fibonacci(n):\n    ",
    "Translate to French: good morning ->",
    "Q: What is 12 plus 7?\nA:",
    "Write one word that rhymes with cat:",
    "The quick brown fox jumps over the",
)


# --------------------------------------------------------------------------- llama.cpp side


class LlamaCppModel:
    """A llama.cpp context on a base GGUF that can switch one LoRA adapter on and off.

    Uses the C API that pawflow's runtime uses (``llama_adapter_lora_init`` +
    ``llama_set_adapters_lora``), so what it measures is what programs will get.
    """

    def __init__(self, base_path: str | Path, *, n_ctx: int = 1024, threads: int | None = None) -> None:
        import llama_cpp

        from pawflow.backends.llamacpp_build import open_llama

        self._llama_cpp = llama_cpp
        threads = threads or max(1, min(2, os.cpu_count() or 1))
        path = Path(base_path)
        if not path.is_file():
            raise BaseModelError(f"Base model file not found: {path}")
        try:
            self.llm = open_llama(
                path,
                n_ctx=n_ctx,
                n_batch=min(512, n_ctx),
                n_threads=threads,
                n_threads_batch=threads,
                logits_all=True,
                verbose=False,
            )
        except ValueError as exc:
            raise BaseModelError(f"{path}: llama.cpp cannot load this model ({exc})") from exc
        from pawflow.backends.llamacpp import close_at_exit

        close_at_exit(self.llm)
        self.vocab = llama_cpp.llama_model_get_vocab(self.llm.model)
        self.n_vocab = self.llm.n_vocab()

    def tokenize(self, text: str, *, special: bool, add_bos: bool = False) -> list[int]:
        return self.llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=special)

    def end_of_turn(self) -> int:
        """The token a chat turn ends with (EOT where the vocab defines one, else EOS)."""
        eot = self._llama_cpp.llama_vocab_eot(self.vocab)
        return int(eot) if eot >= 0 else int(self._llama_cpp.llama_vocab_eos(self.vocab))

    def is_end_of_generation(self, token: int) -> bool:
        return bool(self._llama_cpp.llama_vocab_is_eog(self.vocab, token))

    @contextlib.contextmanager
    def adapter(self, data: bytes | None, scale: float = 1.0) -> Iterator[None]:
        """Run the block with the GGUF adapter ``data`` applied (None: the bare base)."""
        lc = self._llama_cpp
        if data is None:
            yield
            return
        # llama.cpp reads adapters from a path; it copies the tensors at init, so the file can go.
        with tempfile.TemporaryDirectory(prefix="pawflow-adapter-") as tmp:
            path = Path(tmp) / "adapter.gguf"
            path.write_bytes(data)
            handle = lc.llama_adapter_lora_init(self.llm.model, str(path).encode())
        if not handle:
            raise BackendError("llama.cpp refused the LoRA adapter (wrong base, or a malformed GGUF)")
        try:
            adapters = (lc.llama_adapter_lora_p_ctypes * 1)(handle)
            scales = (ctypes.c_float * 1)(scale)
            if lc.llama_set_adapters_lora(self.llm.ctx, adapters, 1, scales) != 0:
                raise BackendError("llama_set_adapters_lora failed")
            self.llm.reset()  # cached KV was computed without the adapter
            yield
        finally:
            lc.llama_set_adapters_lora(self.llm.ctx, None, 0, None)
            self.llm.reset()
            lc.llama_adapter_lora_free(handle)

    def logits(self, tokens: Sequence[int], *, keep: int = 0) -> np.ndarray:
        """Logits at every position of ``tokens`` (n, vocab). ``keep`` reuses that many cached tokens."""
        if len(tokens) > self.llm.n_ctx():
            raise BackendError(f"{len(tokens)} tokens exceed the context of {self.llm.n_ctx()}")
        keep = min(keep, self.llm.n_tokens)
        self.llm.n_tokens = keep
        self.llm.eval(list(tokens[keep:]))
        return np.array(self.llm.scores[: len(tokens)], dtype=np.float32)

    def last_logits(self, tokens: Sequence[int]) -> np.ndarray:
        self.llm.reset()
        return self.logits(tokens)[-1]

    def close(self) -> None:
        self.llm.close()


def write_dequantized_base(source: str | Path, dest: str | Path) -> Path:
    """Write an F32 copy of a quantized base GGUF: same numbers, no quantized matmuls in llama.cpp.

    On a quantized base llama.cpp also rounds *activations* to 8 bits inside its matmuls, which
    torch does not; that noise, not the adapter, is what keeps the delta cosine below 1. On this
    copy the only differences left are the f16 KV cache and the f16 adapter, so a correctly exported
    adapter must reach ~1.0 — the sharp test of the exporter. Written atomically.
    """
    from gguf import GGUFReader, GGUFValueType, GGUFWriter, quants

    reader = GGUFReader(Path(source), "r")
    arch = str(reader.fields["general.architecture"].contents())
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    # GGUFWriter opens files by path, so storage.atomic_writer's handle can't be used; same
    # pattern by hand: temp file beside the target, fsync, os.replace, temp removed on any failure.
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        writer = GGUFWriter(tmp, arch)
        try:
            for name, field in reader.fields.items():
                if name.startswith("GGUF.") or name in ("general.architecture", "general.file_type"):
                    continue
                value_type = field.types[0]
                if value_type == GGUFValueType.ARRAY:
                    writer.add_key_value(name, field.contents(), value_type, sub_type=field.types[-1])
                else:
                    writer.add_key_value(name, field.contents(), value_type)
            for tensor in reader.tensors:
                shape = tuple(int(n) for n in reversed(tensor.shape))
                values = quants.dequantize(np.array(tensor.data), tensor.tensor_type).astype(np.float32)
                writer.add_tensor(tensor.name, values.reshape(shape))
            writer.write_header_to_file()
            writer.write_kv_data_to_file()
            writer.write_tensors_to_file()
        finally:
            writer.close()
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest


# --------------------------------------------------------------------------- the measurement


class PromptParity(BaseModel):
    model_config = ConfigDict(frozen=True)
    prompt: str
    n_tokens: int
    delta_cosine: float
    delta_norm_torch: float
    delta_norm_llama: float
    base_cosine: float  # torch vs llama.cpp logits without any adapter
    top1_agree_with_lora: bool


class ParityReport(BaseModel):
    """torch-vs-llama.cpp agreement of one random LoRA's effect on next-token logits."""

    model_config = ConfigDict(frozen=True)
    base: str
    architecture: str
    seed: int
    permute: bool  # as requested
    rope_permuted: bool  # what the export did (False where the architecture needs no permutation)
    rank: int
    alpha: float
    targets: list[str]
    relative_scale: float = Field(description="|delta W|_F / |W|_F of the random LoRA per projection")
    quant: str
    mean_delta_cosine: float
    min_delta_cosine: float
    mean_base_cosine: float
    prompts: list[PromptParity]
    seconds: float


def _cosine(x: np.ndarray, y: np.ndarray) -> float:
    nx, ny = float(np.linalg.norm(x)), float(np.linalg.norm(y))
    if nx == 0.0 or ny == 0.0:
        return 0.0
    return float(np.dot(x.astype(np.float64), y.astype(np.float64)) / (nx * ny))


def random_lora(base, *, rank: int, alpha: float, targets: tuple[str, ...], seed: int, relative_scale: float):
    """A seeded random LoRA whose update has Frobenius norm ``relative_scale * |W|`` per projection.

    peft initializes B to zero (an adapter that does nothing), which would make the comparison
    vacuous; here both A and B are Gaussian, sized so every adapted weight moves by a fixed fraction.
    With A ~ N(0, 1/in) and B ~ N(0, s^2), E|BA|_F^2 = out * rank * s^2, which fixes s.
    """
    from compiler.lora_gguf import LoraPair
    from compiler.torch_base import TARGET_MODULES, _module_at

    rng = np.random.default_rng(seed)
    pairs = {}
    scaling = alpha / rank
    for index, layer in enumerate(base.layers()):
        for target in targets:
            weight = _module_at(layer, TARGET_MODULES[target][0]).weight.detach().numpy()
            out_features, in_features = weight.shape
            s = relative_scale * float(np.linalg.norm(weight)) / (scaling * math.sqrt(out_features * rank))
            a = rng.standard_normal((rank, in_features)).astype(np.float32) / np.float32(math.sqrt(in_features))
            b = (rng.standard_normal((out_features, rank)) * s).astype(np.float32)
            pairs[(index, target)] = LoraPair(a=a, b=b)
    return pairs


class PermutationComparison(BaseModel):
    """The same random LoRA exported with and without the q/k RoPE permutation."""

    model_config = ConfigDict(frozen=True)
    cosine_permuted: float
    cosine_unpermuted: float
    permuted: ParityReport
    unpermuted: ParityReport


def measure_parity(
    base_path: str | Path | None = None,
    *,
    seed: int = 0,
    permute: bool = True,
    rank: int = 8,
    alpha: float = 16.0,
    targets: tuple[str, ...] = ("q", "k", "v", "o"),
    relative_scale: float = 0.1,
    quant: str = "f16",
    prompts: Sequence[str] = DEFAULT_PROMPTS,
    threads: int = 2,
) -> ParityReport:
    """Cosine between torch's and llama.cpp's logit change under one seeded random LoRA.

    ``permute`` controls only the q/k RoPE row permutation at export: True applies it where the
    base's architecture needs it (llama family; Gemma 3 and Qwen3 GGUFs keep HF's row order, so
    nothing changes there), False skips it, to show what it is worth. ``relative_scale`` sizes the
    random update per projection (|delta W| / |W|); on a quantized base small updates drown in
    llama.cpp's activation rounding (see the module docstring), so the default is a clearly visible 0.1.
    """
    return _measure(
        base_path, seed=seed, permutes=(permute,), rank=rank, alpha=alpha, targets=targets,
        relative_scale=relative_scale, quant=quant, prompts=prompts, threads=threads,
    )[permute]


def compare_rope_permutation(base_path: str | Path | None = None, *, seed: int = 0, **options: Any) -> PermutationComparison:
    """:func:`measure_parity` with and without the permutation, sharing the torch side (one model pass).

    bench/interpreter.py reports ``cosine_permuted`` as ``parity_delta_cosine``.
    """
    reports = _measure(base_path, seed=seed, permutes=(True, False), **options)
    return PermutationComparison(
        cosine_permuted=reports[True].mean_delta_cosine,
        cosine_unpermuted=reports[False].mean_delta_cosine,
        permuted=reports[True],
        unpermuted=reports[False],
    )


def _measure(
    base_path: str | Path | None,
    *,
    seed: int,
    permutes: tuple[bool, ...],
    rank: int = 8,
    alpha: float = 16.0,
    targets: tuple[str, ...] = ("q", "k", "v", "o"),
    relative_scale: float = 0.1,
    quant: str = "f16",
    prompts: Sequence[str] = DEFAULT_PROMPTS,
    threads: int = 2,
) -> dict[bool, ParityReport]:
    import torch

    from compiler.lora_gguf import export_lora_gguf
    from compiler.torch_base import attached_lora, check_targets, load_torch_base, set_lora_state
    from pawflow.config import embedded_base_path

    if len(prompts) < 1:
        raise ValueError("parity needs at least one prompt")
    started = time.perf_counter()
    path = Path(base_path) if base_path is not None else embedded_base_path()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        base = load_torch_base(path)
        targets = check_targets(base.facts, tuple(targets))
        pairs = random_lora(base, rank=rank, alpha=alpha, targets=targets, seed=seed, relative_scale=relative_scale)
        adapters = {
            permute: export_lora_gguf(
                pairs,
                architecture=base.facts.architecture,
                alpha=alpha,
                n_head=base.facts.n_head,
                n_head_kv=base.facts.n_head_kv,
                permute_rope=permute and base.facts.rope_permuted,
                quant=quant,  # type: ignore[arg-type]
                name=f"parity-seed{seed}",
            )[0]
            for permute in permutes
        }

        runner = LlamaCppModel(path, n_ctx=512, threads=threads)
        try:
            add_bos = bool(runner._llama_cpp.llama_vocab_get_add_bos(runner.vocab))
            token_lists = [runner.tokenize(p, special=True, add_bos=add_bos) for p in prompts]
            llama_base = [runner.last_logits(t) for t in token_lists]
            llama_lora = {}
            for permute, adapter in adapters.items():
                with runner.adapter(adapter):
                    llama_lora[permute] = [runner.last_logits(t) for t in token_lists]
        finally:
            runner.close()

        with attached_lora(base, rank=rank, alpha=alpha, targets=targets, seed=seed) as peft_model:
            set_lora_state(peft_model, pairs)
            torch_base, torch_lora = [], []
            with torch.no_grad():
                for tokens in token_lists:
                    ids = torch.tensor([tokens], dtype=torch.long)
                    torch_lora.append(peft_model(input_ids=ids).logits[0, -1].float().numpy())
                    with peft_model.disable_adapter():
                        torch_base.append(peft_model(input_ids=ids).logits[0, -1].float().numpy())
    finally:
        torch.set_num_threads(previous_threads)

    reports = {}
    for permute in permutes:
        rows = []
        for prompt, tokens, tb, tl, lb, ll in zip(prompts, token_lists, torch_base, torch_lora, llama_base, llama_lora[permute]):
            dt, dl = tl - tb, ll - lb
            rows.append(
                PromptParity(
                    prompt=prompt,
                    n_tokens=len(tokens),
                    delta_cosine=_cosine(dt, dl),
                    delta_norm_torch=float(np.linalg.norm(dt)),
                    delta_norm_llama=float(np.linalg.norm(dl)),
                    base_cosine=_cosine(tb, lb),
                    top1_agree_with_lora=int(np.argmax(tl)) == int(np.argmax(ll)),
                )
            )
        cosines = [r.delta_cosine for r in rows]
        reports[permute] = ParityReport(
            base=path.name,
            architecture=base.facts.architecture,
            seed=seed,
            permute=permute,
            rope_permuted=permute and base.facts.rope_permuted,
            rank=rank,
            alpha=alpha,
            targets=list(targets),
            relative_scale=relative_scale,
            quant=quant,
            mean_delta_cosine=float(np.mean(cosines)),
            min_delta_cosine=float(np.min(cosines)),
            mean_base_cosine=float(np.mean([r.base_cosine for r in rows])),
            prompts=rows,
            seconds=time.perf_counter() - started,
        )
    return reports

"""Export LoRA matrices as a GGUF adapter that llama.cpp's ``llama_adapter_lora_init`` accepts.

The format is what llama.cpp's loader (src/llama-adapter.cpp) checks, not a pawflow invention:

* KV ``general.type = "adapter"``, ``general.architecture`` equal to the base's, ``adapter.type =
  "lora"`` and ``adapter.lora.alpha`` (float32). llama.cpp scales each pair by ``alpha / rank``,
  with rank read from ``lora_b``'s inner dimension, exactly like peft's ``lora_alpha / r``.
* Per adapted weight two tensors, ``<base tensor name>.lora_a`` and ``.lora_b``, e.g.
  ``blk.3.attn_q.weight.lora_a``. In numpy (row-major) order ``lora_a`` is ``(rank, in_features)``
  and ``lora_b`` is ``(out_features, rank)`` — peft's ``lora_A.weight`` / ``lora_B.weight`` layout.

RoPE layout: for llama-family bases, the HF->GGUF conversion reorders the rows of ``attn_q`` and
``attn_k`` per head (HF's rotate-half pairs -> llama.cpp's adjacent pairs), and transformers undoes it
when loading a GGUF. A LoRA fitted in torch therefore lives in HF's row order, and since
``delta = B @ A`` only its output rows (``lora_b``) move: export applies the same per-head reorder to
q/k ``lora_b``. :func:`rope_permute_rows` does it; ``permute_rope=False`` exists only to measure
what skipping it costs (see compiler/parity.py).

Quantization: ``q8_0``/``q4_0`` quantize a tensor only when its rows (the innermost, contiguous
dimension) are a whole number of 32-value blocks. ``lora_a`` rows are ``in_features`` long (576 on
SmolLM2: fine); ``lora_b`` rows are ``rank`` long, so at rank < 32 every ``lora_b`` stays f16. The
returned :class:`ExportReport` lists the type each tensor got.

Output is deterministic: tensors are written in (layer, target) order, no timestamps or paths are
embedded, and the same inputs give byte-identical files.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from pawflow.errors import CompileError
from pawflow.storage import atomic_write_bytes

AdapterQuant = Literal["f16", "q8_0", "q4_0"]
ADAPTER_QUANTS: tuple[AdapterQuant, ...] = ("f16", "q8_0", "q4_0")

TARGET_TENSOR_STEMS: dict[str, str] = {
    "q": "attn_q",
    "k": "attn_k",
    "v": "attn_v",
    "o": "attn_output",
    "gate": "ffn_gate",
    "up": "ffn_up",
    "down": "ffn_down",
}
_TARGET_ORDER = tuple(TARGET_TENSOR_STEMS)
_STEM_TO_TARGET = {stem: target for target, stem in TARGET_TENSOR_STEMS.items()}


@dataclass(frozen=True)
class LoraPair:
    """One adapted weight: ``delta_W = (alpha / rank) * b @ a`` in the base's (torch/HF) row order."""

    a: np.ndarray  # (rank, in_features)
    b: np.ndarray  # (out_features, rank)

    def __post_init__(self) -> None:
        if self.a.ndim != 2 or self.b.ndim != 2:
            raise CompileError(f"LoRA matrices must be 2-D, got a{self.a.shape} b{self.b.shape}")
        if self.a.shape[0] != self.b.shape[1]:
            raise CompileError(f"LoRA rank mismatch: a{self.a.shape} vs b{self.b.shape}")

    @property
    def rank(self) -> int:
        return int(self.a.shape[0])


class TensorEntry(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    shape: tuple[int, ...]  # numpy (row-major) order
    type: str  # GGML type name: F16, Q8_0, Q4_0


class ExportReport(BaseModel):
    """What an export wrote: enough to check an adapter without parsing it again."""

    model_config = ConfigDict(frozen=True)
    architecture: str
    alpha: float
    rank: int
    quant: AdapterQuant
    rope_permuted: bool
    n_bytes: int
    tensors: list[TensorEntry]


class AdapterFile(BaseModel):
    """An adapter GGUF as read back: its header facts and tensor table."""

    model_config = ConfigDict(frozen=True)
    architecture: str
    general_type: str
    adapter_type: str
    alpha: float
    tensors: list[TensorEntry]


# --------------------------------------------------------------------------- RoPE row order


def rope_row_order(n_rows: int, n_head: int) -> np.ndarray:
    """Index array ``idx`` such that ``permuted = m[idx]`` is llama.cpp's row order for q/k.

    Within each head of ``d`` rows, HF rotates row ``i`` with row ``i + d/2``; llama.cpp rotates
    rows ``2i`` and ``2i + 1``. So llama.cpp's row ``2i + j`` (j in {0, 1}) is HF's row ``j*d/2 + i``.
    """
    if n_head <= 0 or n_rows % n_head:
        raise CompileError(f"cannot split {n_rows} rows into {n_head} heads")
    head_dim = n_rows // n_head
    if head_dim % 2:
        raise CompileError(f"RoPE needs an even head dimension, got {head_dim}")
    half = head_dim // 2
    i = np.arange(half)
    within = np.empty(head_dim, dtype=np.int64)
    within[0::2] = i  # j = 0
    within[1::2] = i + half  # j = 1
    return (np.arange(n_head)[:, None] * head_dim + within[None, :]).reshape(-1)


def rope_permute_rows(matrix: np.ndarray, n_head: int) -> np.ndarray:
    """Reorder rows from HF's rotate-half layout to llama.cpp's interleaved layout."""
    return np.ascontiguousarray(matrix[rope_row_order(matrix.shape[0], n_head)])


def rope_unpermute_rows(matrix: np.ndarray, n_head: int) -> np.ndarray:
    """Inverse of :func:`rope_permute_rows` (what transformers does to q/k when loading a GGUF)."""
    order = rope_row_order(matrix.shape[0], n_head)
    out = np.empty_like(matrix)
    out[order] = matrix
    return out


# --------------------------------------------------------------------------- export


def lora_tensor_name(layer: int, target: str) -> str:
    """The base tensor a pair adapts, as llama.cpp names it (the adapter appends .lora_a/.lora_b)."""
    try:
        return f"blk.{layer}.{TARGET_TENSOR_STEMS[target]}.weight"
    except KeyError:
        raise CompileError(f"unknown LoRA target {target!r}; expected one of {', '.join(_TARGET_ORDER)}") from None


def _encode(matrix: np.ndarray, quant: AdapterQuant):
    """Return (array to write, raw ggml type or None, type name) for one tensor."""
    from gguf import GGMLQuantizationType, quants
    from gguf.constants import GGML_QUANT_SIZES

    data = np.ascontiguousarray(matrix, dtype=np.float32)
    if not np.all(np.isfinite(data)):
        raise CompileError("LoRA weights contain NaN or infinity; training diverged (lower the learning rate)")
    if quant != "f16":
        qtype = GGMLQuantizationType.Q8_0 if quant == "q8_0" else GGMLQuantizationType.Q4_0
        block_size, _ = GGML_QUANT_SIZES[qtype]
        if data.shape[-1] % block_size == 0:
            return quants.quantize(data, qtype), qtype, qtype.name
    return data.astype(np.float16), None, "F16"


def export_lora_gguf(
    pairs: Mapping[tuple[int, str], LoraPair],
    *,
    architecture: str,
    alpha: float,
    n_head: int,
    n_head_kv: int,
    permute_rope: bool,
    quant: AdapterQuant = "f16",
    name: str = "pawflow-lora",
) -> tuple[bytes, ExportReport]:
    """Serialize ``{(layer, target): LoraPair}`` to GGUF adapter bytes.

    ``permute_rope`` must be True for bases whose q/k rows llama.cpp's converter reorders
    (``compiler.torch_base.ROPE_PERMUTED_ARCHITECTURES``); it is explicit so parity can measure both.
    """
    from gguf import GGUFWriter, GGUFType, Keys

    if quant not in ADAPTER_QUANTS:
        raise CompileError(f"unknown adapter quantization {quant!r}; expected one of {', '.join(ADAPTER_QUANTS)}")
    if not pairs:
        raise CompileError("no LoRA pairs to export")
    ranks = {pair.rank for pair in pairs.values()}
    if len(ranks) != 1:
        raise CompileError(f"all LoRA pairs must share one rank (alpha/rank is per file), got {sorted(ranks)}")
    order = sorted(pairs, key=lambda key: (key[0], _TARGET_ORDER.index(key[1]) if key[1] in _TARGET_ORDER else -1))
    entries: list[TensorEntry] = []
    with tempfile.TemporaryDirectory(prefix="pawflow-lora-") as tmp:
        out = Path(tmp) / "adapter.gguf"
        writer = GGUFWriter(out, architecture)
        try:
            writer.add_type(GGUFType.ADAPTER)
            writer.add_string(Keys.Adapter.TYPE, "lora")
            writer.add_float32(Keys.Adapter.LORA_ALPHA, float(alpha))
            writer.add_name(name)
            for layer, target in order:
                base_name = lora_tensor_name(layer, target)
                pair = pairs[(layer, target)]
                b = pair.b
                if permute_rope and target in ("q", "k"):
                    b = rope_permute_rows(b, n_head if target == "q" else n_head_kv)
                for suffix, matrix in (("lora_a", pair.a), ("lora_b", b)):
                    tensor_name = f"{base_name}.{suffix}"
                    array, raw_dtype, type_name = _encode(matrix, quant)
                    if raw_dtype is None:
                        writer.add_tensor(tensor_name, array)
                    else:
                        writer.add_tensor(tensor_name, array, raw_dtype=raw_dtype)
                    entries.append(TensorEntry(name=tensor_name, shape=tuple(matrix.shape), type=type_name))
            writer.write_header_to_file()
            writer.write_kv_data_to_file()
            writer.write_tensors_to_file()
        except ValueError as exc:  # GGUFWriter refuses duplicate names, bad states
            raise CompileError(f"GGUF adapter export failed: {exc}") from exc
        finally:
            writer.close()
        data = out.read_bytes()
    report = ExportReport(
        architecture=architecture,
        alpha=float(alpha),
        rank=ranks.pop(),
        quant=quant,
        rope_permuted=permute_rope,
        n_bytes=len(data),
        tensors=entries,
    )
    return data, report


def write_lora_gguf(path: str | Path, data: bytes) -> Path:
    """Persist adapter bytes atomically (a crash leaves the previous file or none)."""
    if data[:4] != b"GGUF":
        raise CompileError("refusing to write adapter bytes without the GGUF magic")
    path = Path(path)
    atomic_write_bytes(path, data)
    return path


# --------------------------------------------------------------------------- reading back


def _open(source: bytes | str | Path):
    from gguf import GGUFReader

    if isinstance(source, bytes):
        tmp = tempfile.NamedTemporaryFile(prefix="pawflow-lora-", suffix=".gguf", delete=False)
        try:
            tmp.write(source)
            tmp.close()
            # Callers copy what they need out of the memory map and then unlink the file.
            return GGUFReader(tmp.name, "r"), Path(tmp.name)
        except BaseException:
            Path(tmp.name).unlink(missing_ok=True)
            raise
    return GGUFReader(Path(source), "r"), None


def _kv(reader, key: str):
    field = reader.fields.get(key)
    return None if field is None else field.contents()


def read_lora_gguf(source: bytes | str | Path) -> AdapterFile:
    """Parse an adapter's header and tensor table with gguf's reader (used by tests and `inspect`)."""
    reader, tmp = _open(source)
    try:
        tensors = [
            TensorEntry(name=t.name, shape=tuple(int(n) for n in reversed(t.shape)), type=t.tensor_type.name)
            for t in reader.tensors
        ]
        return AdapterFile(
            architecture=str(_kv(reader, "general.architecture")),
            general_type=str(_kv(reader, "general.type")),
            adapter_type=str(_kv(reader, "adapter.type")),
            alpha=float(_kv(reader, "adapter.lora.alpha") or 0.0),
            tensors=tensors,
        )
    finally:
        del reader
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def load_lora_pairs(
    source: bytes | str | Path, *, n_head: int, n_head_kv: int, unpermute_rope: bool
) -> dict[tuple[int, str], LoraPair]:
    """Dequantize an adapter back into float32 pairs in torch's row order (the inverse of export)."""
    from gguf import quants

    reader, tmp = _open(source)
    try:
        halves: dict[tuple[int, str], dict[str, np.ndarray]] = {}
        for tensor in reader.tensors:
            parts = tensor.name.split(".")
            # blk.N.<stem>.weight.lora_a
            if len(parts) != 5 or parts[0] != "blk" or parts[3] != "weight" or parts[2] not in _STEM_TO_TARGET:
                raise CompileError(f"unexpected tensor {tensor.name!r} in LoRA adapter")
            key = (int(parts[1]), _STEM_TO_TARGET[parts[2]])
            values = quants.dequantize(np.array(tensor.data), tensor.tensor_type).astype(np.float32)
            values = values.reshape(tuple(int(n) for n in reversed(tensor.shape)))
            halves.setdefault(key, {})[parts[4]] = values
    finally:
        del reader
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    pairs: dict[tuple[int, str], LoraPair] = {}
    for key, half in sorted(halves.items()):
        if set(half) != {"lora_a", "lora_b"}:
            raise CompileError(f"adapter tensor pair for {lora_tensor_name(*key)} is incomplete")
        b = half["lora_b"]
        if unpermute_rope and key[1] in ("q", "k"):
            b = rope_unpermute_rows(b, n_head if key[1] == "q" else n_head_kv)
        pairs[key] = LoraPair(a=half["lora_a"], b=b)
    return pairs

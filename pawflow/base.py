"""Identity of a base model: what a program was compiled for and what the interpreter runs.

A LoRA adapter only means something on the weights it was fitted to, so every program records the
base's architecture, dimensions and the sha256 of the GGUF file, and loading compares them. Hashing a
multi-hundred-MB file on every start would be wasteful, so hashes are cached by (path, size, mtime).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from pawflow.errors import BaseModelError
from pawflow.storage import atomic_write_text

_HASH_LOCK = threading.Lock()
_INFO_VERSION = 3  # bump when BaseModelInfo gains fields, so cached header facts are re-read


class BaseModelInfo(BaseModel):
    """What identifies a base model, as recorded in a program's meta.json."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str
    architecture: str
    n_layer: int
    n_embd: int
    n_head: int
    n_head_kv: int
    n_vocab: int
    head_dim: int | None = None  # attention key width; not always n_embd / n_head (Gemma 3)
    sha256: str
    file: str = ""
    # Tokenizer facts used to render prompts; not part of a program's recorded identity.
    chat_template: str | None = None
    bos_token: str | None = None
    eos_token: str | None = None
    add_bos: bool = False  # tokenizer.ggml.add_bos_token: the plain layout (no chat template) starts with BOS

    def shape_key(self) -> tuple[str, int, int, int, int, int]:
        """The fields an adapter's tensor shapes depend on."""
        return (self.architecture, self.n_layer, self.n_embd, self.n_head, self.n_head_kv, self.n_vocab)

    def describe(self) -> str:
        return (
            f"{self.name} ({self.architecture}, {self.n_layer} layers, d={self.n_embd}, "
            f"sha256 {self.sha256[:12]}…)"
        )


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def cached_sha256(path: Path) -> str:
    """sha256 of a large file, memoised on disk by (resolved path, size, mtime_ns)."""
    from pawflow.config import cache_root

    path = path.resolve()
    stat = path.stat()
    key = f"{path}|{stat.st_size}|{stat.st_mtime_ns}"
    index_path = cache_root() / "base-hashes.json"
    with _HASH_LOCK:
        try:
            index = json.loads(index_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            index = {}
        if isinstance(index, dict) and isinstance(index.get(key), str):
            return index[key]
        digest = sha256_file(path)
        index = index if isinstance(index, dict) else {}
        index[key] = digest
        try:
            atomic_write_text(index_path, json.dumps(index, indent=1, sort_keys=True))
        except OSError:
            pass  # a read-only cache only costs a re-hash next time
        return digest


def _field(reader, key: str):
    field = reader.fields.get(key)
    if field is None:
        return None
    value = field.contents()
    return value


def _token_text(reader, key: str) -> str | None:
    index = _field(reader, key)
    tokens = reader.fields.get("tokenizer.ggml.tokens")
    if index is None or tokens is None or not 0 <= int(index) < len(tokens.data):
        return None
    return str(tokens.contents(int(index)))


def _read_info(path: Path) -> BaseModelInfo:
    from gguf import GGUFReader

    try:
        reader = GGUFReader(path, "r")
    except Exception as exc:  # gguf raises ValueError/struct errors of many kinds on a bad file
        raise BaseModelError(f"{path}: not a readable GGUF file ({exc})") from exc
    arch = _field(reader, "general.architecture")
    if not isinstance(arch, str):
        raise BaseModelError(f"{path}: GGUF has no general.architecture; is this a model file?")
    if _field(reader, "general.type") == "adapter":
        raise BaseModelError(f"{path}: this GGUF is a LoRA adapter, not a base model")

    def need(key: str) -> int:
        value = _field(reader, f"{arch}.{key}")
        if value is None:
            raise BaseModelError(f"{path}: GGUF lacks {arch}.{key}")
        return int(value)

    tokens = reader.fields.get("tokenizer.ggml.tokens")
    n_vocab = len(tokens.data) if tokens is not None else need("vocab_size")
    n_head = need("attention.head_count")
    head_kv = _field(reader, f"{arch}.attention.head_count_kv")
    name = _field(reader, "general.name") or path.stem
    key_length = _field(reader, f"{arch}.attention.key_length")
    return BaseModelInfo(
        name=str(name),
        architecture=arch,
        n_layer=need("block_count"),
        n_embd=need("embedding_length"),
        n_head=n_head,
        n_head_kv=int(head_kv) if head_kv is not None else n_head,
        n_vocab=n_vocab,
        head_dim=int(key_length) if key_length is not None else need("embedding_length") // n_head,
        sha256=cached_sha256(path),
        file=path.name,
        chat_template=_field(reader, "tokenizer.chat_template"),
        bos_token=_token_text(reader, "tokenizer.ggml.bos_token_id"),
        eos_token=_token_text(reader, "tokenizer.ggml.eos_token_id"),
        add_bos=bool(_field(reader, "tokenizer.ggml.add_bos_token") or False),
    )


@lru_cache(maxsize=8)
def _inspect(path_str: str, size: int, mtime_ns: int) -> BaseModelInfo:
    """Parsing a GGUF header walks the whole vocabulary (seconds on a busy machine): cache it on disk."""
    from pawflow.config import cache_root

    path = Path(path_str)
    cache_file = cache_root() / "base-info" / (hashlib.sha256(f"v{_INFO_VERSION}|{path_str}|{size}|{mtime_ns}".encode()).hexdigest() + ".json")
    try:
        return BaseModelInfo.model_validate_json(cache_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    info = _read_info(path)
    try:
        atomic_write_text(cache_file, info.model_dump_json())
    except OSError:
        pass
    return info


def inspect_base(path: Path) -> BaseModelInfo:
    """Read a base GGUF's identity (header only; the tensors are memory-mapped, not loaded)."""
    path = Path(path)
    if not path.is_file():
        raise BaseModelError(f"Base model file not found: {path}")
    stat = path.stat()
    return _inspect(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def interpreter_matches(interpreter: str, base: BaseModelInfo) -> bool:
    """Whether an SDK ``interpreter`` id (e.g. ``Qwen/Qwen3-0.6B``) names this base.

    SDK programs record a model id, not a file hash; the GGUF's ``general.name`` is the best we have.
    """
    wanted = _norm(interpreter.rsplit("/", 1)[-1])
    have = _norm(base.name) + "|" + _norm(os.path.splitext(base.file)[0])
    return bool(wanted) and wanted in have

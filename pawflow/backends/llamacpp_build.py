"""The installed llama.cpp build on this CPU: what it was compiled for, and how to open it safely.

Why this module exists (docs/runtime.md, "CPUs"):

* pip builds llama-cpp-python from source with ``-march=native``. On an Intel Xeon with AMX
  (Sapphire/Emerald Rapids) that build places quantized base weights in ggml's AMX *extra buffer
  type*; as soon as a LoRA adapter is active, or a prompt is long enough to take the batched path,
  the first decode executes ``tileloadd`` without a usable tile state and the process dies with
  SIGILL. Loading the model with ``use_extra_bufts = False`` keeps the weights in plain CPU buffers
  and the crash is gone. Extra buffer types are otherwise worth keeping (weight *repacking* speeds up
  Q4_0/Q4_K/IQ4_NL matmuls on AVX2 machines), so they are turned off only when the build contains
  AMX kernels: :func:`extra_buffer_types_allowed`.
* A native build copied or re-used on another CPU (pip caches the wheel it built) may contain
  instructions that CPU lacks, which also ends in SIGILL, uncatchable from Python. :func:`check_build`
  compares the features the build reports with the CPU's flags, in a child process (loading a
  mismatched library may itself fault), caches the answer per build and CPU, and the backend refuses
  to load with an actionable error instead of crashing.

``llama_cpp.Llama`` does not take ``use_extra_bufts``; :func:`open_llama` is the one place pawflow
opens a llama.cpp model, and it applies the decision by handing ``Llama`` model parameters that carry
it. ``python -m pawflow.backends.llamacpp_build`` prints the report (``--check`` exits 3 when the
build does not fit this CPU; the Makefile then rebuilds llama-cpp-python).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import subprocess
import sys
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

# Build feature (as llama_print_system_info names it) -> the /proc/cpuinfo flag it needs.
FEATURE_FLAGS: dict[str, tuple[str, ...]] = {
    "SSE3": ("pni",),
    "SSSE3": ("ssse3",),
    "AVX": ("avx",),
    "AVX_VNNI": ("avx_vnni",),
    "AVX2": ("avx2",),
    "F16C": ("f16c",),
    "FMA": ("fma",),
    "BMI2": ("bmi2",),
    "AVX512": ("avx512f",),
    "AVX512_VBMI": ("avx512vbmi",),
    "AVX512_VNNI": ("avx512_vnni",),
    "AVX512_BF16": ("avx512_bf16",),
    "AMX_INT8": ("amx_int8", "amx_tile"),
}
AMX_FEATURES = ("AMX_INT8", "AMX_TILE", "AMX_BF16")
ENV_EXTRA_BUFTS = "PAWFLOW_EXTRA_BUFTS"  # "1"/"0" forces the choice (for measuring; not needed normally)
CHECK_EXIT_MISMATCH = 3

_PATCH_LOCK = threading.Lock()


@dataclass(frozen=True)
class BuildReport:
    """What the installed llama.cpp was compiled with, and whether it fits the CPU we run on."""

    system_info: str
    features: dict[str, bool]
    cpu_flags: list[str] | None  # None where the CPU cannot be read (not Linux)
    missing: list[str] = field(default_factory=list)  # build features this CPU lacks
    crashed: str | None = None  # the child process died loading llama.cpp (signal name)
    machine: str = ""

    @property
    def amx(self) -> bool:
        return any(self.features.get(name) for name in AMX_FEATURES)

    @property
    def extra_bufts(self) -> bool:
        return extra_buffer_types_allowed(self.features)

    @property
    def fits(self) -> bool:
        return not self.missing and self.crashed is None

    def used_features(self) -> list[str]:
        return [name for name, on in self.features.items() if on]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(amx=self.amx, extra_bufts=self.extra_bufts, fits=self.fits)
        return data


def parse_system_info(text: str) -> dict[str, bool]:
    """``"CPU : SSE3 = 1 | AVX2 = 1 | AMX_INT8 = 1 | ..."`` -> ``{"SSE3": True, ...}`` (CPU section only)."""
    features: dict[str, bool] = {}
    for part in text.replace("\n", "|").split("|"):
        if "=" not in part:
            continue
        name, _, value = part.rpartition("=")
        name = name.split(":")[-1].strip()
        value = value.strip()
        if name and value in ("0", "1"):
            features[name] = value == "1"
    return features


def extra_buffer_types_allowed(features: dict[str, bool]) -> bool:
    """Whether to load models with ggml's extra buffer types (weight repacking, AMX).

    Off when the build contains AMX kernels: the AMX buffer type faults (SIGILL) with LoRA adapters
    and on batched prompts. On, otherwise, so weight repacking keeps its speed. ``PAWFLOW_EXTRA_BUFTS``
    forces either way.
    """
    forced = os.environ.get(ENV_EXTRA_BUFTS, "").strip().lower()
    if forced in ("1", "true", "yes", "on"):
        return True
    if forced in ("0", "false", "no", "off"):
        return False
    return not any(features.get(name) for name in AMX_FEATURES)


def read_cpu_flags(cpuinfo: str | None = None) -> frozenset[str] | None:
    """The CPU's feature flags from /proc/cpuinfo, or None where they cannot be read."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return None


def missing_instructions(features: dict[str, bool], flags: frozenset[str] | set[str] | None) -> list[str]:
    """Features the build was compiled with that the CPU does not have (empty when flags are unknown)."""
    if flags is None:
        return []
    return [name for name, on in features.items() if on and name in FEATURE_FLAGS
            and not all(flag in flags for flag in FEATURE_FLAGS[name])]


def llama_lib_dir() -> Path | None:
    """Where llama-cpp-python's shared libraries are, found without importing (and loading) them."""
    import importlib.util

    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        lib = Path(location) / "lib"
        if lib.is_dir():
            return lib
    return None


def _build_key(flags: frozenset[str] | None) -> str:
    digest = hashlib.sha256()
    lib = llama_lib_dir()
    if lib is not None:
        for item in sorted(lib.iterdir()):
            if item.is_file() and not item.is_symlink():
                stat = item.stat()
                digest.update(f"{item.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    digest.update(" ".join(sorted(flags or ())).encode())
    digest.update(platform.machine().encode())
    return digest.hexdigest()[:24]


_PROBE = "import llama_cpp, sys; sys.stdout.write(llama_cpp.llama_print_system_info().decode('utf-8', 'replace'))"


def check_build(*, use_cache: bool = True) -> BuildReport:
    """Probe the build in a child process (a mismatched library may fault on load); cached per build+CPU."""
    from pawflow.config import cache_root

    flags = read_cpu_flags()
    cache = cache_root() / "llama-build" / f"{_build_key(flags)}.json"
    if use_cache and cache.is_file():
        try:
            data = json.loads(cache.read_text(encoding="utf-8"))
            return BuildReport(**{k: data[k] for k in ("system_info", "features", "cpu_flags", "missing", "crashed", "machine")})
        except (OSError, ValueError, KeyError, TypeError):
            pass
    env = {k: v for k, v in os.environ.items() if k != "PYTHONSTARTUP"}
    proc = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, env=env, timeout=120)
    crashed = None
    if proc.returncode < 0:
        import signal

        crashed = signal.Signals(-proc.returncode).name
    elif proc.returncode != 0:
        from pawflow.errors import BackendError

        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        raise BackendError(f"llama-cpp-python cannot be imported: {tail[0]}", hint="pip install -e . (or: make setup)")
    info = proc.stdout.strip()
    features = parse_system_info(info)
    report = BuildReport(
        system_info=info, features=features, cpu_flags=sorted(flags) if flags is not None else None,
        missing=missing_instructions(features, flags), crashed=crashed, machine=platform.machine(),
    )
    if report.crashed is None:
        from pawflow.storage import atomic_write_bytes

        with contextlib.suppress(OSError):
            atomic_write_bytes(cache, json.dumps(asdict(report)).encode())
    return report


REBUILD_HINT = (
    "rebuild llama-cpp-python for this CPU: "
    "pip install --force-reinstall --no-deps --no-cache-dir llama-cpp-python==0.3.36 (or: make rebuild-llama)"
)


def ensure_build_fits() -> BuildReport:
    """Refuse, with the fix, a llama.cpp build that would execute instructions this CPU lacks."""
    from pawflow.errors import BackendError

    report = check_build()
    if report.crashed is not None:
        raise BackendError(f"loading llama.cpp killed a child process with {report.crashed}: the installed build "
                           "does not run on this CPU", hint=REBUILD_HINT)
    if report.missing:
        raise BackendError(
            f"the installed llama.cpp was built for another CPU: it uses {', '.join(report.missing)}, "
            "which this CPU does not have (pip re-used a wheel it built elsewhere)", hint=REBUILD_HINT)
    return report


def in_process_features() -> dict[str, bool]:
    """Features of the already loaded llama.cpp (call only after :func:`ensure_build_fits`)."""
    import llama_cpp

    return parse_system_info(llama_cpp.llama_print_system_info().decode("utf-8", "replace"))


@contextlib.contextmanager
def model_params(**fields: Any) -> Iterator[None]:
    """Make ``llama_cpp.Llama(...)`` built inside the block load its model with these model parameters.

    ``Llama.__init__`` starts from ``llama_model_default_params()`` and exposes no ``use_extra_bufts``
    argument, so the defaults it reads are replaced for the duration of the construction (under a lock:
    constructions are rare and short).
    """
    import llama_cpp.llama_cpp as low

    original = low.llama_model_default_params

    def patched():  # noqa: ANN202 - mirrors the ctypes function
        params = original()
        for name, value in fields.items():
            setattr(params, name, value)
        return params

    with _PATCH_LOCK:
        low.llama_model_default_params = patched
        try:
            yield
        finally:
            low.llama_model_default_params = original


def apply_model_params_for_process(**fields: Any) -> None:
    """Like :func:`model_params`, for the rest of the process (a child that only serves llama.cpp models)."""
    import llama_cpp.llama_cpp as low

    original = low.llama_model_default_params

    def patched():  # noqa: ANN202 - mirrors the ctypes function
        params = original()
        for name, value in fields.items():
            setattr(params, name, value)
        return params

    low.llama_model_default_params = patched


def load_options() -> dict[str, Any]:
    """The llama.cpp model parameters pawflow uses on this build (what the backend passes to llama.cpp)."""
    return {"use_extra_bufts": extra_buffer_types_allowed(in_process_features())}


def open_llama(model_path: str | Path, **kwargs: Any):  # noqa: ANN201 - llama_cpp.Llama, imported lazily
    """``llama_cpp.Llama(model_path, **kwargs)`` with the build checked and the safe model parameters."""
    ensure_build_fits()
    import llama_cpp

    with model_params(**load_options()):
        return llama_cpp.Llama(model_path=str(model_path), **kwargs)


def open_model(model_path: str | Path):  # noqa: ANN201 - llama_cpp._internals.LlamaModel
    """A bare ``llama_model`` (for backends that own their contexts), with the build checked and safe parameters."""
    ensure_build_fits()
    import llama_cpp
    from llama_cpp import _internals

    params = llama_cpp.llama_model_default_params()
    for name, value in load_options().items():
        setattr(params, name, value)
    params.n_gpu_layers = 0
    quiet_llama_logs()
    return _internals.LlamaModel(path_model=str(model_path), params=params, verbose=False)


def quiet_llama_logs() -> None:
    """Let llama.cpp's log reach stderr only from ERROR up.

    ``llama_cpp.Llama`` sets this level itself; a backend that owns bare models and contexts must too, or
    the messages llama.cpp logs outside construction (``~llama_context: ... compute buffer`` when a
    context is freed at exit) land on stderr, where `pawflow watch -- CMD` promises the child's bytes only
    and an MCP stdio server's host reads its logs.
    """
    from llama_cpp import _logger

    if _logger.logger.level == 0:  # NOTSET: nobody chose a level (a level set by the user is kept)
        _logger.set_verbose(False)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m pawflow.backends.llamacpp_build", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help=f"exit {CHECK_EXIT_MISMATCH} when the build does not fit this CPU")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    args = parser.parse_args(argv)
    report = check_build(use_cache=False)
    if args.json:
        data = report.to_dict()
        data.pop("cpu_flags", None)
        print(json.dumps(data))
    else:
        print(f"llama.cpp build: {', '.join(report.used_features()) or '?'}")
        print(f"AMX kernels: {'yes' if report.amx else 'no'}; extra buffer types: {'on' if report.extra_bufts else 'off'}")
        if report.crashed:
            print(f"loading it crashed a child process: {report.crashed}")
        elif report.missing:
            print(f"does NOT fit this CPU, which lacks: {', '.join(report.missing)}")
        else:
            print("fits this CPU")
    return 0 if report.fits or not args.check else CHECK_EXIT_MISMATCH


if __name__ == "__main__":
    raise SystemExit(main())

"""Runs on every x86-64 CPU: AMX builds, builds made for another CPU, and busy neighbours.

These tests do not need an AMX CPU to fail when the fix is undone: they assert on what the backend
passes to llama.cpp (``use_extra_bufts`` in the model parameters ``Llama`` was built with), on the
decision taken from the build's reported features, and on the refusal of a build that needs
instructions the CPU lacks.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pawflow.backends import llamacpp_build as lb
from pawflow.backends.cpu_load import ThreadAdvisor, available_cpus
from pawflow.errors import BackendError

REPO = Path(__file__).resolve().parents[1]

SAPPHIRE_RAPIDS_BUILD = (
    "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX_VNNI = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | "
    "AVX512 = 1 | AVX512_VBMI = 1 | AVX512_VNNI = 1 | AVX512_BF16 = 1 | AMX_INT8 = 1 | LLAMAFILE = 1 | "
    "OPENMP = 1 | REPACK = 1 | "
)
EPYC_BUILD = "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | AVX512 = 1 | OPENMP = 1 | REPACK = 1 |"
HASWELL_FLAGS = frozenset("fpu sse sse2 pni ssse3 sse4_1 sse4_2 avx avx2 fma f16c bmi2".split())


def test_system_info_is_parsed_into_features() -> None:
    features = lb.parse_system_info(SAPPHIRE_RAPIDS_BUILD)
    assert features["AMX_INT8"] and features["AVX512"] and features["REPACK"]
    assert lb.parse_system_info("CPU : AVX2 = 0 |") == {"AVX2": False}


def test_extra_buffer_types_are_off_exactly_when_the_build_has_amx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(lb.ENV_EXTRA_BUFTS, raising=False)
    assert lb.extra_buffer_types_allowed(lb.parse_system_info(SAPPHIRE_RAPIDS_BUILD)) is False
    assert lb.extra_buffer_types_allowed(lb.parse_system_info(EPYC_BUILD)) is True  # repacking kept
    monkeypatch.setenv(lb.ENV_EXTRA_BUFTS, "0")
    assert lb.extra_buffer_types_allowed(lb.parse_system_info(EPYC_BUILD)) is False


def test_a_build_for_another_cpu_is_detected() -> None:
    features = lb.parse_system_info(SAPPHIRE_RAPIDS_BUILD)
    missing = lb.missing_instructions(features, HASWELL_FLAGS)
    assert set(missing) == {"AVX_VNNI", "AVX512", "AVX512_VBMI", "AVX512_VNNI", "AVX512_BF16", "AMX_INT8"}
    assert lb.missing_instructions(lb.parse_system_info("CPU : SSE3 = 1 | AVX2 = 1 |"), HASWELL_FLAGS) == []
    assert lb.missing_instructions(features, None) == []  # unknown CPU: nothing claimed
    assert lb.read_cpu_flags("processor : 0\nflags\t\t: fpu avx2 amx_int8\n") == frozenset({"fpu", "avx2", "amx_int8"})


def test_a_mismatched_build_is_refused_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    report = lb.BuildReport(system_info=SAPPHIRE_RAPIDS_BUILD, features=lb.parse_system_info(SAPPHIRE_RAPIDS_BUILD),
                            cpu_flags=sorted(HASWELL_FLAGS), missing=["AVX512"], machine="x86_64")
    monkeypatch.setattr(lb, "check_build", lambda **_: report)
    with pytest.raises(BackendError, match="built for another CPU") as info:
        lb.ensure_build_fits()
    assert "--no-cache-dir" in str(info.value)
    crashed = lb.BuildReport(system_info="", features={}, cpu_flags=None, crashed="SIGILL")
    monkeypatch.setattr(lb, "check_build", lambda **_: crashed)
    with pytest.raises(BackendError, match="SIGILL"):
        lb.ensure_build_fits()


def test_the_installed_build_fits_this_cpu() -> None:
    report = lb.check_build(use_cache=False)
    assert report.crashed is None
    assert report.missing == [], f"llama-cpp-python was built for another CPU: {report.missing}"


def test_the_backend_passes_the_decision_to_llama_cpp(base_path: Path) -> None:
    """What reaches llama.cpp: the model parameters ``Llama`` was constructed with."""
    from pawflow.backends.llamacpp import LlamaCppBackend
    from pawflow.base import inspect_base
    from pawflow.config import load_settings

    backend = LlamaCppBackend(base_path, inspect_base(base_path), load_settings(n_ctx=512))
    try:
        features = lb.in_process_features()
        expected = lb.extra_buffer_types_allowed(features)
        assert backend._model.params.use_extra_bufts is expected
        if any(features.get(name) for name in lb.AMX_FEATURES):
            assert backend._model.params.use_extra_bufts is False
        described = backend.describe()
        assert described["extra_bufts"] is expected
        assert described["cpu_features"] == [name for name, on in features.items() if on]
    finally:
        backend.close()


def test_forcing_extra_buffer_types_off_reaches_llama_cpp_on_every_machine(base_path: Path) -> None:
    code = (
        "from pawflow.backends.llamacpp import LlamaCppBackend; from pawflow.base import inspect_base; "
        "from pawflow.config import load_settings, embedded_base_path; p = embedded_base_path(); "
        "b = LlamaCppBackend(p, inspect_base(p), load_settings(n_ctx=512)); "
        "print(b._model.params.use_extra_bufts, b.describe()['extra_bufts']); b.close()"
    )
    env = {**os.environ, lb.ENV_EXTRA_BUFTS: "0"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_every_llama_cpp_model_is_opened_through_open_llama() -> None:
    """``llama_cpp.Llama(...)`` constructed anywhere else would skip the AMX-safe parameters."""
    offenders = []
    for folder in ("pawflow", "compiler", "integrations", "bench", "programs"):
        for path in sorted((REPO / folder).rglob("*.py")):
            if path.name == "llamacpp_build.py":
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "Llama":
                    offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert offenders == [], "open llama.cpp models with pawflow.backends.llamacpp_build.open_llama"


def test_the_baseline_server_is_started_through_the_safe_launcher() -> None:
    source = (REPO / "integrations" / "toolcall15" / "baseline.py").read_text(encoding="utf-8")
    assert '"pawflow.backends.llamacpp_server"' in source and '"llama_cpp.server"' not in source


def test_a_lora_program_answers_with_a_long_prompt(base_info, base_path: Path, tmp_path: Path) -> None:
    """The call that died with SIGILL on AMX CPUs: an adapter active and a prompt past the short path."""
    from tests.conftest import build_program, random_adapter
    from pawflow.function import Function
    from pawflow.interpreter import Interpreter
    from pawflow.config import load_settings
    from pawflow.program import Program

    program = build_program(base_info, base_path, name="amx", adapter=random_adapter(base_info, seed=5))
    path = program.write(tmp_path / "amx.paw")
    interp = Interpreter(load_settings(n_ctx=2048))
    try:
        fn = Function(Program.read(path), interp)
        result = fn.run("Traceback (most recent call last): " + "frame " * 200)
        assert result.value in ("ALERT", "QUIET") and 0.0 < result.confidence <= 1.0
    finally:
        interp.close()


# ---------------------------------------------------------------- threads beside busy processes


def _spin(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def test_thread_advisor_arithmetic(monkeypatch: pytest.MonkeyPatch) -> None:
    from pawflow.backends import cpu_load

    advisor = ThreadAdvisor(4, cpus=4)
    monkeypatch.setattr(advisor, "others_busy", lambda: 0.1)
    assert advisor.threads() == 4
    monkeypatch.setattr(advisor, "others_busy", lambda: 1.0)
    assert advisor.threads() == 3
    monkeypatch.setattr(advisor, "others_busy", lambda: 9.0)
    assert advisor.threads() == 1
    assert ThreadAdvisor(1, cpus=8).threads() == 1
    # interval estimate: other processes' ticks only (ours are subtracted)
    ticks = iter([(1000, 500), (1000 + 300, 500 + 100)])
    monkeypatch.setattr(cpu_load, "_system_busy_ticks", lambda: current[0])
    monkeypatch.setattr(cpu_load, "_own_ticks", lambda: current[1])
    monkeypatch.setattr(cpu_load, "_runnable_others", lambda: 0.0)
    clock = iter([100.0, 101.0])
    monkeypatch.setattr(cpu_load.time, "monotonic", lambda: next(clock))
    advisor = ThreadAdvisor(2, cpus=2)
    advisor._hz = 100
    current = next(ticks)
    assert advisor.others_busy() == 0.0
    current = next(ticks)
    assert advisor.others_busy() == pytest.approx(2.0)  # 200 ticks of others in 1 s at 100 Hz


def test_busy_neighbours_take_threads_away(base_path: Path) -> None:
    """With every available core kept busy by other processes, the next call runs on one thread."""
    from pawflow.backends.llamacpp import LlamaCppBackend
    from pawflow.base import inspect_base
    from pawflow.config import load_settings

    cpus = available_cpus()
    if cpus < 2:
        pytest.skip("one CPU: there is only ever one thread")
    backend = LlamaCppBackend(base_path, inspect_base(base_path), load_settings(n_ctx=512, threads=2))
    procs = _spin(cpus)
    try:
        time.sleep(0.5)
        backend.complete("Hello", max_tokens=1)
        time.sleep(0.3)
        backend.complete("Hello", max_tokens=1)
        assert backend.describe()["threads_last_call"] == 1
        assert backend.stats.thread_changes >= 1
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
        backend.close()

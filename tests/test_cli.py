"""The ``pawflow`` command as users run it: a real subprocess, real files, exit codes and one-line errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PAWFLOW = [sys.executable, "-m", "pawflow.cli.main"]


def run_cli(*args: str, cwd: Path, env: dict | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([*PAWFLOW, *args], cwd=cwd, env=full_env, input=stdin, capture_output=True, text=True, timeout=300)


@pytest.fixture
def project(tmp_path, make_program):
    """A working directory with ./programs/build/alert.paw, as after `pawflow compile`."""
    build = tmp_path / "programs" / "build"
    build.mkdir(parents=True)
    shutil.copy(make_program("alert"), build / "alert.paw")
    return tmp_path


def test_call_json(project):
    proc = run_cli("call", "alert", "Traceback (most recent call last):", "--json", cwd=project)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["value"] in ("ALERT", "QUIET") and result["program"] == "alert"
    assert set(result["scores"]) == {"ALERT", "QUIET"}


def test_call_reads_stdin(project):
    proc = run_cli("call", "alert", "-", cwd=project, stdin="loss is nan")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() in ("ALERT", "QUIET")


def test_errors_are_one_line_and_nonzero(project):
    proc = run_cli("call", "missing-program", "hello", cwd=project)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: No program named 'missing-program'")
    assert "Traceback" not in proc.stderr
    (project / "broken.paw").write_bytes(b"not a zip")
    proc = run_cli("call", "./broken.paw", "hello", cwd=project)
    assert proc.returncode == 1 and "not a valid .paw zip archive" in proc.stderr


def test_programs_list_and_show(project):
    proc = run_cli("programs", "list", "--json", cwd=project)
    assert proc.returncode == 0, proc.stderr
    listing = json.loads(proc.stdout)
    assert [p["name"] for p in listing["programs"]] == ["alert"]
    assert listing["programs"][0]["output"] == "labels"
    proc = run_cli("programs", "show", "alert", "--json", cwd=project)
    shown = json.loads(proc.stdout)
    assert shown["meta"]["pawflow"]["output"]["labels"] == ["ALERT", "QUIET"]
    assert "Examples:" in shown["pseudo_program"]
    proc = run_cli("programs", "show", "alert", cwd=project)
    assert proc.returncode == 0 and "pseudo-program" in proc.stdout


def test_info_reports_base_backend_threads(project):
    proc = run_cli("info", "--json", cwd=project)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["embedded"] is True and info["base_model"].endswith("SmolLM2-135M-Instruct.Q4_1.gguf")
    assert info["backend"] == "llama.cpp" and info["threads"] >= 1
    assert info["base"]["architecture"] == "llama"


def test_base_chosen_by_flag_env_and_config_file(project, base_path):
    missing = project / "nope.gguf"
    proc = run_cli("--base", str(missing), "info", "--no-load", "--json", cwd=project)
    assert proc.returncode == 1 and "Base model file not found" in proc.stderr
    proc = run_cli("info", "--no-load", "--json", cwd=project, env={"PAWFLOW_BASE": str(missing)})
    assert proc.returncode == 1 and str(missing) in proc.stderr
    # a config file names the base relative to itself
    link = project / "models" / "base.gguf"
    link.parent.mkdir()
    link.symlink_to(base_path)
    (project / "pawflow.toml").write_text('[pawflow]\nbase = "models/base.gguf"\nthreads = 1\n')
    proc = run_cli("info", "--no-load", "--json", cwd=project)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["base_model"] == str(link.resolve()) or info["base_model"] == str(link)
    assert info["threads"] == 1 and info["embedded"] is False
    (project / "pawflow.toml").write_text('[pawflow]\nthreads = "many"\n')
    proc = run_cli("info", "--no-load", cwd=project)
    assert proc.returncode == 1 and "pawflow.toml" in proc.stderr and "threads" in proc.stderr

"""The layering rule: the runtime (pawflow/) imports neither ``compiler`` nor ``integrations``.

Commands that live elsewhere reach the CLI through the ``pawflow.commands`` entry points; these tests
fail as soon as someone imports across the line again, or ``import pawflow`` grows heavy.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FORBIDDEN = ("compiler", "integrations")


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def test_runtime_never_imports_compiler_or_integrations() -> None:
    offenders = [
        f"{path.relative_to(REPO)}:{line} imports {name}"
        for path in sorted((REPO / "pawflow").rglob("*.py"))
        for line, name in _imports(path)
        if name.split(".")[0] in FORBIDDEN
    ]
    assert offenders == []


def test_import_pawflow_stays_light() -> None:
    code = (
        "import sys, json, pawflow, pawflow.cli.registry; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'llama_cpp', 'compiler', 'integrations', 'transformers'))))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert json.loads(proc.stdout) == []


def test_commands_from_elsewhere_are_registered_through_entry_points() -> None:
    from pawflow.cli.registry import command_entry_points

    names = {ep.name: ep.value for ep in command_entry_points()}
    assert names["compile"] == "compiler.cli:register"
    assert names["serve-openai"] == "integrations.openai.cli:register"
    assert names["eval-toolcall15"] == "integrations.toolcall15.cli:register"
    help_text = subprocess.run(
        [sys.executable, "-m", "pawflow.cli.main", "--help"], capture_output=True, text=True, cwd=REPO
    ).stdout
    for command in ("compile", "serve", "eval", "call", "run"):
        assert f" {command} " in help_text


def test_missing_extra_names_the_pip_command() -> None:
    from pawflow.cli.registry import require
    from pawflow.errors import ConfigError, MissingExtraError

    with pytest.raises(MissingExtraError) as info:
        require("watch", "json", "no_such_module_pawflow_xyz", command="watch")
    assert isinstance(info.value, ConfigError)
    assert "no_such_module_pawflow_xyz" in str(info.value) and "pip install 'pawflow[watch]'" in str(info.value)
    require("core", "json")  # present: no error


# --------------------------------------------------------------------------- commands whose extra is missing

# Runs the real `pawflow` CLI in a fresh interpreter where some packages cannot be imported: a meta-path
# finder installed before pawflow loads raises ModuleNotFoundError for them, for `import` and
# `importlib.util.find_spec` alike, exactly as on a machine where the extra was never installed.
WITHOUT = """
import importlib.abc, sys
BLOCKED = set(sys.argv[1].split(","))

class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
sys.argv = ["pawflow", *sys.argv[2:]]
from pawflow.cli.main import main
main()
"""

TINY_SOURCE = """
name: tiny-intent
spec: Say site when the message is about the website, chitchat otherwise.
output: {type: labels, labels: [site, chitchat]}
examples:
  - {input: "how much is the pro plan?", output: site}
  - {input: "hi, how are you?", output: chitchat}
"""


def _pawflow_without(blocked: tuple[str, ...], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT, ",".join(blocked), *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


def test_the_blocker_really_hides_modules(tmp_path: Path) -> None:
    probe = _pawflow_without(("uvicorn",), "--help", cwd=tmp_path)
    assert probe.returncode == 0
    code = WITHOUT.replace("from pawflow.cli.main import main\nmain()", "import uvicorn")
    hidden = subprocess.run([sys.executable, "-c", code, "uvicorn"], capture_output=True, text=True, cwd=tmp_path)
    assert hidden.returncode == 1 and "ModuleNotFoundError: No module named 'uvicorn'" in hidden.stderr


SERVER_PACKAGES = ("starlette", "uvicorn", "httpx")
COMPILE_PACKAGES = ("torch", "transformers", "peft", "safetensors")


def test_help_lists_commands_whose_extra_is_missing(tmp_path: Path) -> None:
    result = _pawflow_without(SERVER_PACKAGES + COMPILE_PACKAGES, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "failed to load" not in result.stderr  # every plugin registered without its extra
    for command in ("compile", "serve", "eval"):
        assert f" {command} " in result.stdout
    serve = _pawflow_without(SERVER_PACKAGES, "serve", "openai", "--help", cwd=tmp_path)
    assert serve.returncode == 0 and "pip install 'pawflow[openai]'" in " ".join(serve.stdout.split())
    evaluate = _pawflow_without(SERVER_PACKAGES, "eval", "toolcall15", "--help", cwd=tmp_path)
    assert evaluate.returncode == 0 and "pip install 'pawflow[toolcall15]'" in " ".join(evaluate.stdout.split())
    installed = subprocess.run([sys.executable, "-m", "pawflow.cli.main", "serve", "openai", "--help"],
                               capture_output=True, text=True, cwd=tmp_path)
    assert installed.returncode == 0 and "not installed" not in installed.stdout  # the note only when missing


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_serve_openai_without_its_extra_answers_with_the_pip_line(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text("name: p\n")
    line = _one_error_line(_pawflow_without(("starlette", "uvicorn"), "serve", "openai", "--pipeline", "p.yaml", cwd=tmp_path))
    assert "`pawflow serve openai` needs the 'openai' extra (missing: starlette, uvicorn)" in line
    assert "pip install 'pawflow[openai]'" in line


def test_eval_toolcall15_without_its_extra_answers_with_the_pip_line(tmp_path: Path) -> None:
    line = _one_error_line(_pawflow_without(("httpx",), "eval", "toolcall15", "--base-url", "http://127.0.0.1:9/v1", cwd=tmp_path))
    assert "`pawflow eval toolcall15` needs the 'toolcall15' extra (missing: httpx)" in line
    assert "pip install 'pawflow[toolcall15]'" in line


def test_compile_fit_without_torch_answers_with_the_pip_line_and_prompt_still_works(tmp_path: Path) -> None:
    (tmp_path / "tiny.yaml").write_text(TINY_SOURCE)
    fit = _pawflow_without(COMPILE_PACKAGES, "compile", "tiny.yaml", "--method", "fit", "--no-lm", "--out", "fit.paw",
                           cwd=tmp_path)
    line = _one_error_line(fit)
    assert "needs the 'compile' extra (missing: torch, transformers, peft, safetensors)" in line
    assert "pip install 'pawflow[compile]'" in line and not (tmp_path / "fit.paw").exists()
    # The prompt method needs none of it: the same command line with --method prompt builds the program.
    prompt = _pawflow_without(COMPILE_PACKAGES, "compile", "tiny.yaml", "--method", "prompt", "--no-lm", "--out",
                              "prompt.paw", "--json", cwd=tmp_path)
    assert prompt.returncode == 0, prompt.stderr
    assert json.loads(prompt.stdout)["summary"]["built"] == 1 and (tmp_path / "prompt.paw").is_file()


def test_benchmarks_never_import_tests() -> None:
    offenders = [
        f"{path.relative_to(REPO)}:{line} imports {name}"
        for path in sorted((REPO / "bench").rglob("*.py"))
        for line, name in _imports(path)
        if name.split(".")[0] == "tests"
    ]
    assert offenders == []

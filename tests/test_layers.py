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

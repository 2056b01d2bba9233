"""``pawflow mcp`` as a command: registered through the entry point, light to import, clear refusals."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

from tests.integrations.mcp.conftest import PAWFLOW, REPO, server_env


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PAWFLOW, *args], cwd=REPO, env=server_env(), capture_output=True, text=True, timeout=300)


def test_registered_through_the_commands_entry_point() -> None:
    names = {ep.name: ep.value for ep in entry_points(group="pawflow.commands")}
    assert names["mcp"] == "integrations.mcp.cli:register"


def test_registering_imports_nothing_heavy() -> None:
    code = ("import sys, typer; from integrations.mcp.cli import register; register(typer.Typer()); "
            "print(sorted(m for m in ('fastmcp', 'mcp', 'llama_cpp', 'torch', 'pawflow.pipeline') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_help_lists_the_options() -> None:
    proc = run("mcp", "--help")
    assert proc.returncode == 0, proc.stderr
    for option in ("--programs", "--pipelines", "--transport", "--host", "--port", "--token", "--allow-remote", "--no-preload"):
        assert option in proc.stdout


def test_refusals_are_one_clear_line(tmp_path) -> None:
    missing = run("mcp", "--programs", str(tmp_path / "nope"), "--transport", "http")
    assert missing.returncode == 1 and "programs folder not found" in missing.stderr and "Traceback" not in missing.stderr
    bogus = run("mcp", "--transport", "carrier-pigeon")
    assert bogus.returncode != 0 and "choose stdio or http" in bogus.stderr

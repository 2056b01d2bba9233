"""The ``pawflow`` command.

Each command group lives in its own module exposing ``register(app)``; this file only assembles
them and turns every :class:`~pawflow.errors.PawflowError` into one clear line and exit code 1, so
users never see a traceback for a mistake they can fix.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Optional

import typer

from pawflow.cli.registry import register_all
from pawflow.errors import PawflowError

# The runtime's own commands; everything else (compile, eval, serve, integrations) registers itself
# through the ``pawflow.commands`` entry-point group (pawflow.cli.registry).
COMMAND_MODULES = [
    "pawflow.cli.program_cmds",
    "pawflow.cli.pipeline_cmds",
]

app = typer.Typer(
    name="pawflow",
    help="Fuzzy functions as local, composable tools (Program-as-Weights on llama.cpp).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _global(
    base: Optional[Path] = typer.Option(
        None, "--base", envvar="PAWFLOW_BASE", help="Base GGUF model (default: the embedded SmolLM2-135M-Instruct Q4_1)."
    ),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="CPU threads for the interpreter."),
) -> None:
    """Global options apply to every command through the environment the settings read."""
    if base is not None:
        os.environ["PAWFLOW_BASE"] = str(base)
    if threads is not None:
        os.environ["PAWFLOW_THREADS"] = str(threads)


for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(app)
register_all(app)


def main() -> None:
    try:
        app()
    except PawflowError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.secho("interrupted", fg=typer.colors.RED, err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()

"""Commands that live outside the runtime register themselves; the runtime never imports them by name.

The runtime (``pawflow/``) may not import ``compiler`` or ``integrations`` (the layering in the README's
ARCHITECTURE section). So ``pawflow compile``, ``pawflow eval``, ``pawflow serve`` and every
integration's command reach the CLI through the ``pawflow.commands`` entry-point group: each entry point
names a ``register(app: typer.Typer)`` function, declared in ``pyproject.toml``::

    [project.entry-points."pawflow.commands"]
    watch = "integrations.watch.cli:register"

A ``register`` function must import nothing heavy (typer, rich, pawflow only): the command body
imports its own dependencies and calls :func:`require` first, so a command whose extra is not installed
is still listed by ``pawflow --help`` and answers with the ``pip install`` line that adds it.
"""

from __future__ import annotations

import importlib.util
import sys
from importlib.metadata import EntryPoint, entry_points

import typer

from pawflow.errors import MissingExtraError

ENTRY_POINT_GROUP = "pawflow.commands"


def missing_modules(*modules: str) -> list[str]:
    """The modules among ``modules`` that cannot be imported (checked without importing them)."""
    missing = []
    for name in modules:
        try:
            if importlib.util.find_spec(name) is None:
                missing.append(name)
        except (ImportError, ValueError):
            missing.append(name)
    return missing


def install_hint(extra: str) -> str:
    return f"pip install 'pawflow[{extra}]'  (from a checkout: pip install -e '.[{extra}]')"


def require(extra: str, *modules: str, command: str | None = None) -> None:
    """Raise :class:`MissingExtraError` naming the extra to install when any of ``modules`` is missing."""
    missing = missing_modules(*modules)
    if missing:
        what = f"`pawflow {command}`" if command else "this command"
        raise MissingExtraError(
            f"{what} needs the '{extra}' extra (missing: {', '.join(missing)})", hint=install_hint(extra), extra=extra
        )


def needs_note(extra: str, *modules: str) -> str:
    """A suffix for a command's help when its extra is not installed (empty when it is).

    Escaped for rich markup, which typer renders help with: ``pawflow[openai]`` would otherwise be
    read as a style tag and vanish from the pip line.
    """
    from rich.markup import escape

    return escape(f" [not installed: {install_hint(extra)}]") if missing_modules(*modules) else ""


def command_entry_points() -> list[EntryPoint]:
    return sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)


def register_all(app: typer.Typer) -> list[str]:
    """Call every registered ``register(app)``; a broken plugin is reported on stderr, not fatal."""
    names = []
    for ep in command_entry_points():
        try:
            register = ep.load()
            register(app)
            names.append(ep.name)
        except Exception as exc:  # noqa: BLE001 - one broken plugin must not take the whole CLI down
            sys.stderr.write(f"pawflow: command plugin {ep.name!r} ({ep.value}) failed to load: {exc}\n")
    return names

"""Finding a program from what a user typed: a path, or a name on the program search path.

Search order for a bare name: ``./programs/build``, each ``PAWFLOW_PATH`` / ``program_path`` entry,
then ``~/.cache/pawflow/programs``. A name matches ``NAME.paw`` in those directories.
"""

from __future__ import annotations

from pathlib import Path

from pawflow.config import Settings, cache_root, load_settings
from pawflow.errors import ProgramNotFoundError


def search_path(settings: Settings | None = None) -> list[Path]:
    settings = settings or load_settings()
    dirs = [Path.cwd() / "programs" / "build", *settings.program_path, cache_root() / "programs"]
    seen: list[Path] = []
    for directory in dirs:
        directory = Path(directory).expanduser()
        if directory not in seen:
            seen.append(directory)
    return seen


def resolve_program(ref: str | Path, settings: Settings | None = None) -> Path:
    """Map a path or name to an existing ``.paw`` file, or explain where we looked."""
    ref_str = str(ref)
    candidate = Path(ref_str).expanduser()
    looks_like_path = ref_str.endswith(".paw") or "/" in ref_str or ref_str.startswith(".")
    if looks_like_path:
        if candidate.is_file():
            return candidate
        raise ProgramNotFoundError(
            f"Program file not found: {candidate}",
            hint="compile it with `pawflow compile programs/NAME.yaml`",
        )
    dirs = search_path(settings)
    for directory in dirs:
        path = directory / f"{ref_str}.paw"
        if path.is_file():
            return path
    looked = ", ".join(str(d) for d in dirs)
    raise ProgramNotFoundError(
        f"No program named {ref_str!r} (looked in {looked})",
        hint="compile it with `pawflow compile programs/" + ref_str + ".yaml`, or add its folder to PAWFLOW_PATH",
    )


def list_programs(settings: Settings | None = None) -> list[Path]:
    """Every .paw on the search path; earlier directories shadow later ones by name."""
    found: dict[str, Path] = {}
    for directory in search_path(settings):
        if directory.is_dir():
            for path in sorted(directory.glob("*.paw")):
                found.setdefault(path.stem, path)
    return list(found.values())

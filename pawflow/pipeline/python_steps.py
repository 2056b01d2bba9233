"""How a python step finds its function: the one convention, and the errors that explain it.

``function:`` is an *import path*, ``module:callable`` (both may be dotted), never a file path. The
module is imported the way Python imports anything, with the pipeline file's folder put first on
``sys.path`` for the duration of the import. So:

* a pipeline's own steps are a module **next to the pipeline file**, named after it
  (``pipelines/site-navigation.yaml`` → ``pipelines/site_navigation_steps.py``,
  ``function: site_navigation_steps:lookup_page``);
* steps shipped by a package are named by **their package path**
  (``function: integrations.toolcall15.pipeline.steps:analyze``).

Why one rule and not file paths: a module named by its import path is the same object for the
validator, the engine, the result cache (which hashes the function's source) and a test importing it,
and it can import its package's siblings. The price is that module names are global in a Python
process, so two different files cannot both be ``steps``: when the pipeline's folder has a module
whose name is already taken by another file, validation says so instead of silently calling the
other file's function.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterator

CONVENTION_HINT = (
    "python steps name `module:function` by import path, imported with the pipeline's folder first on sys.path: "
    "a module next to the pipeline file (e.g. site_navigation_steps:lookup_page for site_navigation_steps.py) "
    "or one from an installed package (e.g. integrations.toolcall15.pipeline.steps:analyze); see docs/pipelines.md"
)


@contextlib.contextmanager
def _import_path(base_dir: Path) -> Iterator[None]:
    """Put the pipeline's folder first on sys.path for the duration of an import."""
    entry = str(base_dir.resolve())
    added = entry not in sys.path
    if added:
        sys.path.insert(0, entry)
    try:
        yield
    finally:
        if added:
            with contextlib.suppress(ValueError):
                sys.path.remove(entry)


def _local_module(base_dir: Path, top: str) -> Path | None:
    """The file that makes ``top`` importable from the pipeline's folder, if there is one."""
    for candidate in (base_dir / f"{top}.py", base_dir / top / "__init__.py"):
        with contextlib.suppress(OSError):
            if candidate.is_file():
                return candidate.resolve()
    return None


def _check_not_shadowed(module_name: str, base_dir: Path) -> None:
    """The pipeline's folder comes first; refuse when an earlier import already holds its module's name."""
    top = module_name.partition(".")[0]
    local = _local_module(base_dir, top)
    loaded = sys.modules.get(top)
    if local is None or loaded is None:
        return
    origin = getattr(loaded, "__file__", None)
    with contextlib.suppress(OSError, TypeError):
        if origin is not None and Path(origin).resolve() == local:
            return
    raise ValueError(
        f"module {top!r} is already imported from {origin or 'a built-in or namespace package'}, so this pipeline's "
        f"{local} cannot be imported under the same name (module names are global in a Python process); "
        f"give the steps module a name of its own, e.g. <pipeline>_steps.py"
    )


def import_module(module_name: str, base_dir: Path) -> ModuleType:
    """Import ``module_name`` the way a pipeline in ``base_dir`` does (its folder first on sys.path).

    ValueError explains what failed and where it looked. Benchmarks and tests use this too, to import
    a module that sits next to a pipeline exactly as the pipeline does.
    """
    _check_not_shadowed(module_name, base_dir)
    with _import_path(base_dir):
        try:
            return importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                raise ValueError(
                    f"cannot import module {module_name!r}: it is neither next to the pipeline (in {base_dir.resolve()}) "
                    "nor an installed module"
                ) from exc
            raise ValueError(f"importing {module_name!r} failed: {exc}") from exc
        except Exception as exc:  # a user's module may raise anything at import time
            raise ValueError(f"importing {module_name!r} raised {type(exc).__name__}: {exc}") from exc


def import_function(spec: str, base_dir: Path) -> Callable[..., Any]:
    """Import ``module:attr`` (attr may be dotted); ValueError explains what failed and where it looked."""
    module_name, _, attr_path = spec.partition(":")
    module = import_module(module_name, base_dir)
    target: Any = module
    for part in attr_path.split("."):
        if not hasattr(target, part):
            names = [n for n in dir(target) if not n.startswith("_")]
            close = difflib.get_close_matches(part, names, n=1)
            more = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"module {module_name!r} has no attribute {attr_path!r}{more}")
        target = getattr(target, part)
    if not callable(target):
        raise ValueError(f"{spec} is a {type(target).__name__}, not a function")
    return target

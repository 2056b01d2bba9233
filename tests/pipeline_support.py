"""Helpers for the pipeline tests: the site-navigation programs, built the way the benchmark builds them.

The recipe itself lives next to the pipeline (``pipelines/site_navigation_build.py``), so the
benchmark uses it without importing tests; here it is imported the way the pipeline imports its own
steps (:func:`pawflow.pipeline.python_steps.import_module`) and re-exported under the names the tests
use. The resulting .paw files are real programs that run on the real interpreter, not mocks.
"""

from __future__ import annotations

from pathlib import Path

from pawflow.pipeline.python_steps import import_module

REPO = Path(__file__).resolve().parent.parent
_build = import_module("site_navigation_build", REPO / "pipelines")

SITE_PROGRAMS: tuple[str, ...] = _build.SITE_PROGRAMS
compile_prompt_only = _build.compile_prompt_only
compile_site_programs = _build.compile_site_programs

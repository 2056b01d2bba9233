"""Content-addressed step results, so re-running a pipeline over the same data skips the model.

A key is the sha256 of everything that determines a step's result: the pipeline's content, the step's
own definition, its resolved inputs and the identity of what it calls (a program's ``program_id``, a
python function's source). Change any of them and the key changes; nothing is ever invalidated by
hand. Entries are single JSON files written atomically, so concurrent runs and crashes never leave a
half-written entry, and a corrupt one is treated as a miss.

:class:`ResultCache` stores and finds entries; :class:`StepIdentity` decides which steps are cached
and what their key is made of.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pawflow.pipeline.spec import PipelineSpec, ProgramStep, PythonStep, RegexStep, TemplateStep, spec_to_data
from pawflow.storage import atomic_write_text

if TYPE_CHECKING:
    from pawflow.pipeline.analysis import StepInfo
    from pawflow.pipeline.rows import Task

FORMAT = 1


def canonical_json(value: Any) -> str:
    """Deterministic JSON (sorted keys, no whitespace); TypeError for values JSON cannot hold."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


class ResultCache:
    """Step results under ``root`` (default ``cache_root()/results``), one file per key."""

    def __init__(self, root: str | Path | None = None) -> None:
        if root is None:
            from pawflow.config import cache_root

            root = cache_root() / "results"
        self.root = Path(root)
        self.hits = 0
        self.misses = 0
        self.writes = 0

    def key(self, parts: dict[str, Any]) -> str | None:
        """The key for these parts, or None when some input is not JSON (then the step is not cached)."""
        try:
            payload = canonical_json({"format": FORMAT, **parts})
        except (TypeError, ValueError):
            return None
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            entry = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.misses += 1
            return None
        if not isinstance(entry, dict) or entry.get("format") != FORMAT or not isinstance(entry.get("outputs"), dict):
            self.misses += 1
            return None
        self.hits += 1
        return entry["outputs"]

    def put(self, key: str, outputs: dict[str, Any]) -> bool:
        """Store outputs; False (and nothing written) when they are not JSON."""
        try:
            text = canonical_json({"format": FORMAT, "outputs": outputs})
        except (TypeError, ValueError):
            return False
        atomic_write_text(self._path(key), text)
        self.writes += 1
        return True


class StepIdentity:
    """The cache identity of one pipeline's steps: which are cached, and the parts of each key.

    Program steps are cached by default (they are the slow part); python, regex and template steps
    only with ``cache: true`` (a python function may read the clock or the network). A key covers the
    pipeline's content, the step's definition, its inputs, and what it calls: the program's
    ``program_id``, or the sha256 of the python function's source.
    """

    def __init__(self, spec: PipelineSpec) -> None:
        self.digest = hashlib.sha256(canonical_json(spec_to_data(spec)).encode()).hexdigest()
        self._code_ids: dict[str, str] = {}

    @staticmethod
    def cacheable(info: StepInfo) -> bool:
        step = info.step
        if step.cache is not None:
            return step.cache and isinstance(step, (ProgramStep, PythonStep, RegexStep, TemplateStep))
        return isinstance(step, ProgramStep)

    def look_up(self, cache: ResultCache, task: Task) -> None:
        """Set ``task.cache_key`` (when the step is cacheable and its inputs are JSON) and, on a hit,
        ``task.result`` with ``task.cached``."""
        if not self.cacheable(task.info):
            return
        identity: dict[str, Any] = {"pipeline": self.digest, "step": task.name,
                                    "definition": task.info.step.model_dump(mode="json")}
        if task.info.program is not None:
            identity["program"] = task.info.program.meta.program_id
        if task.info.function is not None:
            identity["function"] = self.code_id(task.info)
        identity["inputs"] = task.inputs
        key = cache.key(identity)
        if key is None:
            return
        task.cache_key = key
        hit = cache.get(key)
        if hit is not None:
            task.result, task.cached = hit, True

    def code_id(self, info: StepInfo) -> str:
        """sha256 of a python step's function source (its repr when the source cannot be read)."""
        step: PythonStep = info.step  # type: ignore[assignment]
        if step.function not in self._code_ids:
            try:
                source = inspect.getsource(info.function)  # type: ignore[arg-type]
            except (OSError, TypeError):
                source = repr(info.function)
            self._code_ids[step.function] = hashlib.sha256(source.encode()).hexdigest()
        return self._code_ids[step.function]

"""Content-addressed step results, so re-running a pipeline over the same data skips the model.

A key is the sha256 of everything that determines a step's result: the pipeline's content, the step's
own definition, its resolved inputs and the identity of what it calls (a program's ``program_id``, a
python function's source). Change any of them and the key changes; nothing is ever invalidated by
hand. Entries are single JSON files written atomically, so concurrent runs and crashes never leave a
half-written entry, and a corrupt one is treated as a miss.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pawflow.storage import atomic_write_text

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

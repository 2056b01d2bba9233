"""Reading JSONL files that people edit by hand, with errors that point at the line.

Records are separated by ``"\\n"`` only (a stray ``"\\r"`` or U+2028 inside a string is part of the
record, not a new line, so line numbers match what ``wc -l`` and editors' ``:N`` show).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pawflow.errors import SourceError


def iter_jsonl(path: Path, *, what: str = "data file") -> Iterator[tuple[int, Any]]:
    """(line number, parsed value) for every non-blank line; SourceError names file and line."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SourceError(path, f"{what} not found") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(path, "not UTF-8 text", line=data[: exc.start].count(b"\n") + 1) from None
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            raise SourceError(path, f"not valid JSON ({exc.msg})", line=number) from exc

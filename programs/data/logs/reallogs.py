"""The real-log set: logs, their line-by-line labels, and the reference way to cut them into lines.

Why a reference cutter here, independent of the watcher: labels name lines by their position in the
log, and the evaluation checks that the watcher saw exactly these lines (none dropped, none
repeated). Lines are what a tail sees: text between ``\\n``, ``\\r\\n`` or a lone ``\\r`` (each tqdm
redraw is a line), ANSI escapes and control characters removed. Blank lines are numbered but never
scored.

Labels (``NAME.labels.json`` next to ``NAME.log``) list only the lines that need attention, as
ranges of 1-based line indexes with the failure kind::

    {"alerts": {"12-31": "traceback", "40": "nan"}, "note": "why, where it was not obvious"}

Every other non-blank line is QUIET. Labelling guide (what a person watching a training run would
want to be woken for): every line of a traceback or crash report, including frames, source and caret
lines and launcher failure summaries; non-finite or exploding losses (nan/inf, or ≥ 10⁴× the
starting loss), in plain lines, dicts or a progress bar's postfix; memory allocation failures; a
process killed or stopped by a signal, and the job line reporting a non-zero exit; DataLoader worker
failures; distributed timeouts and rank failures; checkpoint saves that failed. QUIET: progress,
normal metrics, configuration dumps, checkpoints saved, harmless warnings (deprecations, UserWarnings
about APIs) and their source lines, launcher banners, a job exiting 0.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
_SPLIT = re.compile(rb"\r\n|\r|\n")
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def reference_lines(data: bytes) -> list[str]:
    pieces = _SPLIT.split(data)
    if pieces and pieces[-1] == b"":
        pieces.pop()
    return [_CONTROL.sub("", _ANSI.sub("", p.replace(b"\x00", b"").decode("utf-8", "replace"))) for p in pieces]


@dataclass
class LabelledLog:
    name: str
    split: str
    path: Path
    lines: list[str]
    kinds: dict[int, str]  # 1-based index -> failure kind, for ALERT lines

    def label(self, index: int) -> str:
        return "ALERT" if index in self.kinds else "QUIET"

    def scored(self) -> list[int]:
        return [i for i, text in enumerate(self.lines, 1) if text.strip()]


def parse_ranges(spec: dict[str, str]) -> dict[int, str]:
    kinds: dict[int, str] = {}
    for key, kind in spec.items():
        first, _, last = key.partition("-")
        for i in range(int(first), int(last or first) + 1):
            kinds[i] = kind
    return kinds


def load(split: str | None = None) -> list[LabelledLog]:
    logs = []
    for path in sorted(HERE.glob("*/*.log")):
        if split is not None and path.parent.name != split:
            continue
        labels_path = path.with_suffix(".labels.json")
        if not labels_path.exists():
            raise FileNotFoundError(f"{path} has no labels ({labels_path.name})")
        labels = json.loads(labels_path.read_text())
        lines = reference_lines(path.read_bytes())
        kinds = parse_ranges(labels.get("alerts", {}))
        bad = [i for i in kinds if i < 1 or i > len(lines)]
        if bad:
            raise ValueError(f"{labels_path}: line indexes out of range: {bad[:5]}")
        logs.append(LabelledLog(path.stem, path.parent.name, path, lines, kinds))
    return logs

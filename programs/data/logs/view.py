"""Print a log as the labeller sees it: numbered lines (reference cutting), progress-bar runs folded.

    python programs/data/logs/view.py programs/data/logs/eval/hf-nan.log
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reallogs import reference_lines  # noqa: E402

BAR = re.compile(r"\d+%\|")

lines = reference_lines(Path(sys.argv[1]).read_bytes())
run = []
for i, text in enumerate(lines, 1):
    if BAR.search(text) and "nan" not in text and "inf" not in text:
        run.append(i)
        continue
    if run:
        print(f"{run[0]:5d}-{run[-1]} [{len(run)} progress-bar lines, e.g. {lines[run[-1]-1][:90]!r}]")
        run = []
    if text.strip():
        print(f"{i:5d} {text[:220]}")
if run:
    print(f"{run[0]:5d}-{run[-1]} [{len(run)} progress-bar lines]")

"""Python steps for the scale-out tests: real code that really kills the Ray worker process running it."""

from __future__ import annotations

import os
import signal
from pathlib import Path


def tag(text: str) -> str:
    return f"<{text}>"


def die_once(text: str, marker: str, victim: str) -> str:
    """SIGKILL this process the first time row ``victim`` arrives (the marker file says it happened)."""
    flag = Path(marker)
    if text == victim and not flag.exists():
        flag.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return text.upper()


def die_always(text: str, victim: str) -> str:
    """A poison row: the worker dies every time it runs it."""
    if text == victim:
        os.kill(os.getpid(), signal.SIGKILL)
    return text.upper()

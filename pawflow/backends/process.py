"""Process-level facts about llama.cpp objects: closing them before interpreter exit, resident memory."""

from __future__ import annotations

import atexit
import os
import weakref

# Backends and llama.cpp models still open at interpreter exit are closed while llama.cpp's bindings are
# intact; left to garbage collection at shutdown, Llama.__del__ runs after the ctypes module is torn
# down and prints "TypeError: 'NoneType' object is not callable" on every exit.
_OPEN_AT_EXIT: "weakref.WeakSet[object]" = weakref.WeakSet()


def close_at_exit(closeable: object) -> object:
    """Register anything with ``close()`` that holds llama.cpp memory (backends, the compiler's tokenizer)."""
    _OPEN_AT_EXIT.add(closeable)
    return closeable


@atexit.register
def _close_at_exit() -> None:
    for item in list(_OPEN_AT_EXIT):
        try:
            item.close()  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


def rss_bytes() -> int:
    """Resident memory of this process (Linux), for benchmarks and ``pawflow info``."""
    try:
        with open(f"/proc/{os.getpid()}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0

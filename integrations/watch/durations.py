"""``5m``, ``90s``, ``1h30m``, ``2.5`` (seconds) → seconds.

Hand-written because the grammar is four units and a number: ``dateparser`` parses dates, not
durations, and a dependency for ten lines is not worth it.
"""

from __future__ import annotations

import re

from integrations.watch.errors import WatchUsageError

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?", re.IGNORECASE)
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str, *, option: str = "duration") -> float:
    """Seconds in ``text``; raises :class:`WatchUsageError` naming ``option`` when it is not a duration."""
    cleaned = text.strip().replace(" ", "")
    pos, total, parts = 0, 0.0, 0
    while pos < len(cleaned):
        match = _PART.match(cleaned, pos)
        if not match or match.end() == pos:
            break
        unit = (match.group(2) or "s").lower()
        if match.group(2) is None and match.end() != len(cleaned):
            break
        total += float(match.group(1)) * _UNITS[unit]
        pos, parts = match.end(), parts + 1
    if not cleaned or pos != len(cleaned) or parts == 0 or total <= 0:
        raise WatchUsageError(f"{option} {text!r} is not a duration", hint="write it like 30s, 5m, 1h30m or 90 (seconds)")
    return total

"""``--state FILE``: where a restarted watcher resumes (pygtail's promise: no line repeated, none missed).

Why per inode and with a fingerprint: a path is not a file. Between two runs the log may have been
rotated (the path now names a new inode), truncated (same inode, shorter) or rewritten in place. The
state records, per watched path, the inode (device + number), the offset just after the last line
the watcher *finished handling* (not the last byte it read, so a crash between reading and reporting
re-reads those lines instead of losing them), the physical line number there, and a short
fingerprint (sha256 of up to 64 bytes before the offset). On resume the follower trusts the offset
only when inode and fingerprint still match; a rotated-away inode is looked for next to the file
(``train.log.1``, ``train.log-2024…``) and finished first. Writes are atomic (temporary file, fsync,
rename) through :func:`pawflow.storage.atomic_write_text`, so a watcher killed mid-write leaves the
previous state, never half a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from pawflow.storage import atomic_write_text

from integrations.watch.errors import StateFileError

STATE_FORMAT = "pawflow-watch-state/1"
FINGERPRINT_BYTES = 64


@dataclass(frozen=True)
class Position:
    """Where handling stopped in one file: inode identity, offset, physical line, fingerprint."""

    dev: int
    ino: int
    offset: int
    line_no: int
    fingerprint: str  # sha256 hex of the FINGERPRINT_BYTES (or fewer) bytes before ``offset``
    fingerprint_len: int

    @property
    def identity(self) -> tuple[int, int]:
        return (self.dev, self.ino)


def fingerprint_at(fd: int, offset: int) -> tuple[str, int]:
    """The fingerprint of the bytes just before ``offset`` in an open file."""
    length = min(FINGERPRINT_BYTES, offset)
    data = os.pread(fd, length, offset - length) if length else b""
    return hashlib.sha256(data).hexdigest(), len(data)


def fingerprint_matches(fd: int, position: Position) -> bool:
    if position.fingerprint_len > position.offset:
        return False
    data = os.pread(fd, position.fingerprint_len, position.offset - position.fingerprint_len) if position.fingerprint_len else b""
    return len(data) == position.fingerprint_len and hashlib.sha256(data).hexdigest() == position.fingerprint


class StateStore:
    """A JSON file mapping absolute watched paths to their :class:`Position`. Thread-safe."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._positions: dict[str, Position] = {}
        self._dirty = False
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise StateFileError(
                f"--state {self.path}: cannot be read as a watcher state file ({exc})",
                hint="point --state at a new file, or delete this one to start over",
            ) from exc
        if not isinstance(data, dict) or data.get("format") != STATE_FORMAT or not isinstance(data.get("files"), dict):
            raise StateFileError(
                f"--state {self.path}: not a pawflow watch state file (expected format {STATE_FORMAT!r})",
                hint="point --state at a new file; this one is left untouched",
            )
        for key, entry in data["files"].items():
            try:
                self._positions[key] = Position(**entry)
            except TypeError as exc:
                raise StateFileError(f"--state {self.path}: entry for {key!r} is malformed ({exc})") from exc

    @staticmethod
    def key(path: str | Path) -> str:
        return str(Path(path).absolute())

    def get(self, path: str | Path) -> Position | None:
        with self._lock:
            return self._positions.get(self.key(path))

    def set(self, path: str | Path, position: Position) -> None:
        with self._lock:
            if self._positions.get(self.key(path)) != position:
                self._positions[self.key(path)] = position
                self._dirty = True

    def save(self) -> bool:
        """Write the file if anything changed; returns whether it wrote."""
        with self._lock:
            if not self._dirty:
                return False
            payload = {"format": STATE_FORMAT, "files": {k: asdict(v) for k, v in sorted(self._positions.items())}}
            self._dirty = False
        atomic_write_text(self.path, json.dumps(payload, indent=1) + "\n")
        return True

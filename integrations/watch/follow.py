"""Following a file by name, like GNU ``tail -F``, without ever splitting, dropping or repeating a line.

Why hand-written on top of watchdog: watchdog (inotify on Linux, polling elsewhere) says *that*
something changed; deciding what the change means for a reader — appended, truncated, rotated,
replaced by an editor, copied then truncated — is the part every tail gets subtly wrong, and no
library does it with line-exact guarantees. pygtail gets close for one restart at a time (offset
files) but polls and has no rotation fingerprinting. So: watchdog wakes us, and one check routine
(:meth:`FileFollower.read`) decides from ``stat``/``fstat`` what happened. Every wake-up runs the same
check, so a missed or coalesced event can never desynchronise the reader; a slow safety poll runs
too, and when it finds data no event announced (network mounts, some containers) the follower
switches to polling and says so.

What happens when:

* **Start**: at the end of the file (``from_start=False``) or at its start; a ``--state`` position is
  used when its inode and fingerprint still match. A missing file is waited for, then read from its
  start (it is new).
* **Append**: bytes are read with ``pread`` from the last offset and cut into lines by
  :class:`~integrations.watch.lines.LineSplitter` (partial lines wait for their end).
* **Truncation** (size below our offset) or **rewrite in place** (the bytes just before our offset
  changed): the file is read again from its start, with a notice on stderr. Before that, a
  *copy-truncate* rotation is detected — a sibling (``train.log.1``, ``train.log-2024…``) whose bytes
  before our offset equal ours and that is longer — and its unread remainder is read first, so lines
  written between our last read and the copy are not lost (writes between the copy and the truncation
  are lost by copy-truncate itself; logrotate documents that window).
* **Rename-and-recreate rotation** (the path names another inode, or is gone): the old file is read to
  its end first (it stays open), its unterminated last line is emitted, and the new file is followed
  from its start. The old file is also watched for a short grace period, for writers that reopen late.
* **An editor replacing the file** (vim, ``sed -i``: a new inode whose first bytes equal everything we
  read): reading continues at the same offset in the new file, so nothing is repeated.
* **Binary files** are refused when opened (:class:`~integrations.watch.errors.BinaryFileError`).
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from integrations.watch.errors import BinaryFileError, UnreadableFileError
from integrations.watch.lines import DEFAULT_MAX_LINE_BYTES, Line, LineSplitter, looks_binary
from integrations.watch.state import Position, StateStore, fingerprint_at, fingerprint_matches

READ_CHUNK = 1 << 20
MAX_READ_PER_CYCLE = 8 << 20  # stay responsive while catching up on a big file
TAIL_KEEP = 64  # bytes before our offset kept to detect in-place rewrites
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz", ".zst", ".lz4", ".zip")
DEFAULT_POLL_INTERVAL = 0.25
SAFETY_POLL_INTERVAL = 1.0

Notice = Callable[[str], None]


@dataclass
class _OpenFile:
    fd: int
    identity: tuple[int, int]
    pos: int
    splitter: LineSplitter
    tail: bytes = b""
    seen_size: int = -1
    seen_mtime: int = -1
    deadline: float = 0.0  # for files kept open after a rotation


class _StopRaceFilter(logging.Filter):
    """watchdog logs an error when an observer stops while its reader thread is mid-read; harmless."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "called when the thread is inactive" not in record.getMessage()


logging.getLogger("watchdog.observers.inotify").addFilter(_StopRaceFilter())


def _identity(st: os.stat_result) -> tuple[int, int]:
    return (st.st_dev, st.st_ino)


def count_newlines(fd: int, end: int) -> int:
    """Physical lines before ``end`` (so line numbers are right when we start at the end)."""
    count, pos = 0, 0
    while pos < end:
        data = os.pread(fd, min(READ_CHUNK * 4, end - pos), pos)
        if not data:
            break
        count += data.count(b"\n")
        pos += len(data)
    return count


def _same_prefix(fd_a: int, fd_b: int, length: int) -> bool:
    pos = 0
    while pos < length:
        n = min(READ_CHUNK, length - pos)
        a, b = os.pread(fd_a, n, pos), os.pread(fd_b, n, pos)
        if a != b or len(a) != n:
            return False
        pos += n
    return True


class FileFollower:
    """Follows one path across truncation, rotation and replacement; see the module docstring.

    Use :meth:`start` (events), then call :meth:`read` whenever :meth:`wait` returns, and
    :meth:`close` at the end. ``read`` returns complete lines in file order.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        from_start: bool = False,
        poll: bool = False,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        state: StateStore | None = None,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        notice: Notice | None = None,
        rotate_grace_s: float = 2.0,
    ) -> None:
        self.path = Path(path)
        self.display = str(path)
        self.from_start = from_start
        self.poll_interval = poll_interval
        self.polling = poll
        self.state = state
        self.max_line_bytes = max_line_bytes
        self.notice: Notice = notice or (lambda message: None)
        self.rotate_grace_s = rotate_grace_s
        self.cur: _OpenFile | None = None
        self.draining: list[_OpenFile] = []
        self._first_open = True
        self._waiting_noticed = False
        self._missing_noticed = False
        self._wake = threading.Event()
        self._observer = None
        self._watched_dir: Path | None = None
        self._event_seen = False
        self._unannounced = 0
        self.more_pending = False  # read() stopped early: call it again without waiting
        self.rotations = 0
        self.truncations = 0
        self.recovered_lines = 0
        self._lock = threading.RLock()  # read() runs on the follower thread, position_after() on the engine's

    # ------------------------------------------------------------------ events and waiting

    def start(self) -> None:
        if not self.polling:
            self._ensure_observer()

    def _ensure_observer(self) -> None:
        """Watch the file's directory (creates, moves, deletes and writes of the file all show there)."""
        directory = self.path.parent if str(self.path.parent) else Path(".")
        if self._observer is not None or not directory.is_dir():
            return
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:  # pragma: no cover - watchdog is a dependency of the watch extra
            self._fall_back_to_polling("watchdog is not installed")
            return
        target = os.path.abspath(self.path)
        wake = self._wake
        follower = self

        class _Handler(FileSystemEventHandler):
            def on_any_event(self, event) -> None:  # noqa: D401 - watchdog's callback name
                paths = (getattr(event, "src_path", ""), getattr(event, "dest_path", ""))
                if any(p and os.path.abspath(os.fsdecode(p)) == target for p in paths):
                    follower._event_seen = True
                    wake.set()

        try:
            observer = Observer()
            observer.schedule(_Handler(), str(directory), recursive=False)
            observer.daemon = True
            observer.start()
        except (OSError, RuntimeError) as exc:
            self._fall_back_to_polling(f"file events are unavailable ({exc})")
            return
        self._observer = observer
        self._watched_dir = directory

    def _fall_back_to_polling(self, why: str) -> None:
        if not self.polling:
            self.polling = True
            self.notice(f"{self.display}: {why}; polling every {self.poll_interval:g} s")
        self._stop_observer()

    def _stop_observer(self) -> None:
        if self._observer is not None:
            observer, self._observer = self._observer, None
            observer.stop()
            observer.join(timeout=2)

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep until a file event, the poll interval or ``timeout``; True when an event woke us."""
        if self.more_pending:
            return True
        if not self.polling and self._observer is None:
            self._ensure_observer()  # the directory may exist by now
        interval = self.poll_interval if self.polling or self._observer is None else SAFETY_POLL_INTERVAL
        if self.draining:
            interval = min(interval, self.poll_interval)
        limit = interval if timeout is None else min(interval, timeout)
        woke = self._wake.wait(max(limit, 0.0))
        self._wake.clear()
        return woke

    def wake(self) -> None:
        self._wake.set()

    def close(self) -> None:
        self._stop_observer()
        with self._lock:
            self._close_all()

    def _close_all(self) -> None:
        for handle in [self.cur, *self.draining]:
            if handle is not None:
                os.close(handle.fd)
        self.cur = None
        self.draining = []

    # ------------------------------------------------------------------ the check

    def read(self) -> list[Line]:
        """One check: handle whatever happened to the path since the last call; return new lines."""
        with self._lock:
            return self._read()

    def _read(self) -> list[Line]:
        event_seen, self._event_seen = self._event_seen, False
        out: list[Line] = []
        self.more_pending = False
        if self.cur is None:
            out += self._open_first()
        if self.cur is not None:
            try:
                pst = os.stat(self.path)
            except FileNotFoundError:
                pst = None
            except OSError:
                pst = None
            if pst is None:
                if not self._missing_noticed:
                    self._missing_noticed = True
                    self.notice(f"{self.display}: has disappeared; reading what was written to it, then waiting for the file to reappear")
            elif _identity(pst) != self.cur.identity:
                out += self._read_available(self.cur, unlimited=True)
                out += self._switch_to_new_file()
            if self.cur is not None:
                out += self._check_truncation(self.cur)
                before = self.cur.pos
                out += self._read_available(self.cur)
                if self.cur.pos > before and not event_seen and not self.polling and self._observer is not None:
                    self._unannounced += 1
                    if self._unannounced >= 2:
                        self._fall_back_to_polling("file events are not arriving (network filesystem?)")
                elif event_seen:
                    self._unannounced = 0
        out += self._drain_rotated()
        return out

    def flush(self) -> list[Line]:
        """Stop following: emit unterminated last lines of every open file."""
        out: list[Line] = []
        for handle in [*self.draining, self.cur]:
            if handle is not None:
                out += self._read_available(handle, unlimited=True)
                out += handle.splitter.flush()
        return out

    # ------------------------------------------------------------------ opening

    def _open(self) -> tuple[int, os.stat_result] | None:
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            return None
        except IsADirectoryError as exc:
            raise UnreadableFileError(f"{self.display} is a directory, not a log file") from exc
        except PermissionError as exc:
            raise UnreadableFileError(f"{self.display}: permission denied", hint="check the file's permissions") from exc
        except OSError as exc:
            raise UnreadableFileError(f"{self.display}: cannot be opened ({exc.strerror})") from exc
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise UnreadableFileError(
                f"{self.display} is not a regular file", hint="to watch a pipe or a device, use: COMMAND | pawflow watch -"
            )
        reason = looks_binary(os.pread(fd, 8192, 0))
        if reason:
            os.close(fd)
            raise BinaryFileError(f"{self.display} is not a text log: {reason}", hint="pawflow watch follows text logs")
        return fd, st

    def _new_handle(self, fd: int, st: os.stat_result, pos: int, line_no: int) -> _OpenFile:
        splitter = LineSplitter(
            source=self.display, start_offset=pos, start_line_no=line_no, max_line_bytes=self.max_line_bytes, identity=_identity(st)
        )
        tail = os.pread(fd, min(TAIL_KEEP, pos), pos - min(TAIL_KEEP, pos)) if pos else b""
        return _OpenFile(fd=fd, identity=_identity(st), pos=pos, splitter=splitter, tail=tail)

    def _open_first(self) -> list[Line]:
        opened = self._open()
        if opened is None:
            if not self._waiting_noticed:
                self._waiting_noticed = True
                self.notice(f"{self.display}: does not exist yet; waiting for it to appear")
            return []
        fd, st = opened
        out: list[Line] = []
        first = self._first_open
        self._first_open = False
        if self._waiting_noticed:
            self.notice(f"{self.display}: has appeared; following it from its start")
            self.cur = self._new_handle(fd, st, 0, 1)
            return out
        saved = self.state.get(self.path) if self.state else None
        if first and saved is not None:
            pos, line_no, out = self._resume(fd, st, saved)
        elif self.from_start:
            pos, line_no = 0, 1
        else:
            pos = st.st_size
            line_no = 1 + count_newlines(fd, pos)
        self.cur = self._new_handle(fd, st, pos, line_no)
        return out

    def _resume(self, fd: int, st: os.stat_result, saved: Position) -> tuple[int, int, list[Line]]:
        """Where to start from a ``--state`` position; lines of a rotated-away old file come first."""
        if saved.identity == _identity(st):
            if st.st_size >= saved.offset and fingerprint_matches(fd, saved):
                if st.st_size > saved.offset:
                    self.notice(f"{self.display}: resuming after line {saved.line_no - 1} (offset {saved.offset})")
                return saved.offset, saved.line_no, []
            self.notice(f"{self.display}: was truncated or rewritten while the watcher was stopped; reading it from its start")
            return 0, 1, []
        out: list[Line] = []
        old = self._find_sibling(lambda cst: _identity(cst) == saved.identity)
        if old is not None:
            old_path, old_fd, old_st = old
            if old_st.st_size >= saved.offset and fingerprint_matches(old_fd, saved):
                handle = _OpenFile(
                    fd=old_fd,
                    identity=saved.identity,
                    pos=saved.offset,
                    splitter=LineSplitter(
                        source=self.display, start_offset=saved.offset, start_line_no=saved.line_no,
                        max_line_bytes=self.max_line_bytes, identity=saved.identity,
                    ),
                )
                out = self._read_available(handle, unlimited=True) + handle.splitter.flush()
                self.notice(
                    f"{self.display}: was rotated while the watcher was stopped; read the rest of the old file "
                    f"({old_path.name}, {len(out)} lines), now following the new one from its start"
                )
            os.close(old_fd)
        else:
            self.notice(
                f"{self.display}: is a different file than when the watcher stopped and the old one is not next to it; "
                "reading the new file from its start"
            )
        self.rotations += 1
        return 0, 1, out

    def _find_sibling(self, match: Callable[[os.stat_result], bool]) -> tuple[Path, int, os.stat_result] | None:
        """A regular, uncompressed file next to ours (``name*`` or ``stem*``) for which ``match`` holds."""
        directory = self.path.parent if str(self.path.parent) else Path(".")
        try:
            entries = list(os.scandir(directory))
        except OSError:
            return None
        stems = (self.path.name, self.path.stem)
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.name == self.path.name or not entry.name.startswith(stems) or entry.name.endswith(COMPRESSED_SUFFIXES):
                continue
            try:
                if not entry.is_file(follow_symlinks=False):
                    continue
                cst = entry.stat(follow_symlinks=False)
                if not match(cst):
                    continue
                fd = os.open(entry.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            except OSError:
                continue
            return Path(entry.path), fd, os.fstat(fd)
        return None

    # ------------------------------------------------------------------ reading

    def _read_available(self, handle: _OpenFile, *, unlimited: bool = False) -> list[Line]:
        out: list[Line] = []
        budget = None if unlimited else MAX_READ_PER_CYCLE
        while True:
            data = os.pread(handle.fd, READ_CHUNK, handle.pos)
            if not data:
                break
            handle.pos += len(data)
            handle.tail = (handle.tail + data[-TAIL_KEEP:])[-TAIL_KEEP:]
            out += handle.splitter.feed(data)
            if budget is not None:
                budget -= len(data)
                if budget <= 0:
                    self.more_pending = True
                    break
        return out

    def _check_truncation(self, handle: _OpenFile) -> list[Line]:
        st = os.fstat(handle.fd)
        reason = None
        if st.st_size < handle.pos:
            reason = "was truncated"
        elif handle.tail and (st.st_size != handle.seen_size or st.st_mtime_ns != handle.seen_mtime):
            if os.pread(handle.fd, len(handle.tail), handle.pos - len(handle.tail)) != handle.tail:
                reason = "was rewritten in place"
        handle.seen_size, handle.seen_mtime = st.st_size, st.st_mtime_ns
        if reason is None:
            return []
        out = self._recover_from_copy(handle)
        out += handle.splitter.flush()
        self.truncations += 1
        self.notice(f"{self.display}: {reason}; reading it again from its start")
        handle.pos = 0
        handle.tail = b""
        handle.splitter.reset(offset=0, line_no=1)
        handle.seen_size = handle.seen_mtime = -1
        return out

    def _recover_from_copy(self, handle: _OpenFile) -> list[Line]:
        """Copy-truncate: read what we had not read yet from the copy the rotation made."""
        if not handle.tail:
            return []
        tail, pos = handle.tail, handle.pos

        def is_copy(cst: os.stat_result) -> bool:
            return _identity(cst) != handle.identity and cst.st_size > pos

        found = self._find_sibling(is_copy)
        while found is not None:
            copy_path, fd, _ = found
            try:
                if os.pread(fd, len(tail), pos - len(tail)) == tail:
                    copy = _OpenFile(fd=fd, identity=handle.identity, pos=pos, splitter=handle.splitter, tail=tail)
                    out = self._read_available(copy, unlimited=True)
                    handle.pos = copy.pos
                    self.recovered_lines += len(out)
                    self.notice(f"{self.display}: copy-truncate rotation; read {len(out)} unread lines from {copy_path.name} first")
                    return out
            finally:
                os.close(fd)
            break
        return []

    def _switch_to_new_file(self) -> list[Line]:
        """The path names another inode: finish the old file, then follow the new one."""
        assert self.cur is not None
        old = self.cur
        opened = self._open()
        if opened is None:
            return []
        fd, st = opened
        self._missing_noticed = False
        self.rotations += 1
        if old.pos > 0 and st.st_size >= old.pos and _same_prefix(old.fd, fd, old.pos):
            # An editor (or sed -i) replaced the file with one that starts with everything we read.
            old.splitter.identity = _identity(st)
            self.cur = _OpenFile(fd=fd, identity=_identity(st), pos=old.pos, splitter=old.splitter, tail=old.tail)
            os.close(old.fd)
            self.notice(f"{self.display}: was replaced by a file with the same beginning (an editor saved it); continuing where we were")
            return []
        out = old.splitter.flush()
        old.deadline = time.monotonic() + self.rotate_grace_s
        self.draining.append(old)
        self.cur = self._new_handle(fd, st, 0, 1)
        self.notice(f"{self.display}: was rotated (a new file took its name); finished the old file, following the new one from its start")
        return out

    def _drain_rotated(self) -> list[Line]:
        out: list[Line] = []
        now = time.monotonic()
        for handle in list(self.draining):
            out += self._read_available(handle, unlimited=True)
            if now >= handle.deadline:
                out += handle.splitter.flush()
                os.close(handle.fd)
                self.draining.remove(handle)
        return out

    # ------------------------------------------------------------------ state

    def position_after(self, line: Line) -> Position | None:
        """The ``--state`` position just after ``line`` (None when the line has no offset)."""
        if line.end_offset is None or line.identity is None:
            return None
        with self._lock:
            return self._position_after(line)

    def _position_after(self, line: Line) -> Position | None:
        for handle in [self.cur, *self.draining]:
            if handle is not None and handle.identity == line.identity:
                digest, length = fingerprint_at(handle.fd, line.end_offset)
                return Position(line.identity[0], line.identity[1], line.end_offset, line.line_no + (1 if line.ends_line else 0), digest, length)
        try:  # closed already: the path may still name the same file
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return None
        try:
            if _identity(os.fstat(fd)) != line.identity:
                return None
            digest, length = fingerprint_at(fd, line.end_offset)
            return Position(line.identity[0], line.identity[1], line.end_offset, line.line_no + (1 if line.ends_line else 0), digest, length)
        finally:
            os.close(fd)

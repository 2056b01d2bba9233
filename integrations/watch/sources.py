"""Where lines come from: a followed file, or a byte stream (standard input, a wrapped command's pipe).

Each source runs on its own thread and pushes :class:`~integrations.watch.lines.Line` batches into
the watcher's queue, so a slow program call never delays reading (bytes keep being read, and in wrap
mode passed through, while a batch is classified). A source ends with an ``("end", source)`` item and
reports failures as ``("error", exc)`` items: errors surface on the watcher's thread, where the exit
code is decided.
"""

from __future__ import annotations

import os
import queue
import threading
from pathlib import Path

from integrations.watch.follow import FileFollower
from integrations.watch.lines import DEFAULT_MAX_LINE_BYTES, LineSplitter
from integrations.watch.state import StateStore

READ_BYTES = 1 << 16


class Source:
    name: str = ""

    def start(self, sink: "queue.Queue") -> None:
        raise NotImplementedError

    def stop(self) -> None: ...

    def join(self, timeout: float | None = None) -> None: ...


class FileSource(Source):
    """Follows a file (``once``: read what is there, then end)."""

    def __init__(
        self,
        path: str | Path,
        *,
        from_start: bool = False,
        once: bool = False,
        poll: bool = False,
        poll_interval: float = 0.25,
        state: StateStore | None = None,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    ) -> None:
        self.name = str(path)
        self.once = once
        self._opts = dict(from_start=from_start or once, poll=poll, poll_interval=poll_interval, state=state, max_line_bytes=max_line_bytes)
        self.path = Path(path)
        self.follower: FileFollower | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, sink: "queue.Queue") -> None:
        self.follower = FileFollower(self.path, notice=lambda message: sink.put(("notice", message)), **self._opts)
        self._thread = threading.Thread(target=self._loop, args=(sink,), name=f"pawflow-watch-{self.path.name}", daemon=True)
        self._thread.start()

    def _loop(self, sink: "queue.Queue") -> None:
        follower = self.follower
        assert follower is not None
        try:
            follower.start()
            while not self._stop.is_set():
                lines = follower.read()
                if lines:
                    sink.put(("lines", lines))
                if self.once and not follower.more_pending:
                    if follower.cur is None:
                        sink.put(("notice", f"{self.name}: does not exist"))
                    else:
                        tail = follower.flush()
                        if tail:
                            sink.put(("lines", tail))
                    break
                follower.wait()
        except Exception as exc:  # noqa: BLE001 - handed to the watcher's thread, which decides the exit
            sink.put(("error", exc))
        finally:
            sink.put(("end", self))

    def stop(self) -> None:
        self._stop.set()
        if self.follower is not None:
            self.follower.wake()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)
        if self.follower is not None:
            self.follower.close()


class StreamSource(Source):
    """Reads a file descriptor to its end; ``passthrough_fd`` gets every byte first, unchanged."""

    def __init__(self, fd: int, *, name: str, stream: str, passthrough_fd: int | None = None,
                 max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self.fd = fd
        self.name = name
        self.stream = stream
        self.passthrough_fd = passthrough_fd
        self.splitter = LineSplitter(source=name, stream=stream, max_line_bytes=max_line_bytes, track_offsets=False)
        self._thread: threading.Thread | None = None

    def start(self, sink: "queue.Queue") -> None:
        self._thread = threading.Thread(target=self._loop, args=(sink,), name=f"pawflow-watch-{self.stream}", daemon=True)
        self._thread.start()

    def _loop(self, sink: "queue.Queue") -> None:
        try:
            while True:
                data = os.read(self.fd, READ_BYTES)
                if not data:
                    break
                if self.passthrough_fd is not None:
                    _write_all(self.passthrough_fd, data)
                lines = self.splitter.feed(data)
                if lines:
                    sink.put(("lines", lines))
            tail = self.splitter.flush()
            if tail:
                sink.put(("lines", tail))
        except Exception as exc:  # noqa: BLE001
            sink.put(("error", exc))
        finally:
            sink.put(("end", self))

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BrokenPipeError:
            return  # our own stdout went away (a closed pager): keep watching, stop passing through
        view = view[written:]

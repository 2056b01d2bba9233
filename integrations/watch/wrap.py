"""Wrap mode: ``pawflow watch --program log-alert -- python train.py``.

Why wrap instead of ``python train.py 2>&1 | pawflow watch -``: a pipe loses the command's exit code
and merges stdout with stderr. Wrapped, the command's stdout goes to our stdout and its stderr to our
stderr byte for byte (passed through before anything is classified, so a slow program never delays
the command's output), both streams are classified (assembled apart, so a traceback on stderr is
not cut by a progress line on stdout), and the watcher exits with the command's own exit code
(``128 + N`` when a signal N killed it, as shells report it).

Two choices are visible to the command: its output goes to pipes, not a terminal (as with any
redirect), and ``PYTHONUNBUFFERED=1`` is set unless the environment already sets it, so a Python
program's prints arrive when printed rather than in 8 KB blocks (``--keep-buffering`` leaves it
unset). SIGTERM sent to the watcher is forwarded to the command; Ctrl-C reaches the command through
the terminal and the watcher waits for it to finish.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
from collections.abc import Sequence

from integrations.watch.errors import WatchError
from integrations.watch.lines import DEFAULT_MAX_LINE_BYTES
from integrations.watch.sources import StreamSource


class CommandNotFoundError(WatchError):
    """The wrapped command could not be started."""

    exit_code = 127


class WrappedCommand:
    def __init__(self, argv: Sequence[str], *, unbuffered: bool = True, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
                 stdout_fd: int = 1, stderr_fd: int = 2) -> None:
        if not argv:
            raise WatchError("no command given after --")
        self.argv = list(argv)
        self.display = shlex.join(self.argv)
        self.unbuffered = unbuffered
        self.max_line_bytes = max_line_bytes
        self.stdout_fd, self.stderr_fd = stdout_fd, stderr_fd
        self.proc: subprocess.Popen | None = None
        self._old_handlers: dict[int, object] = {}

    def start(self) -> list[StreamSource]:
        env = dict(os.environ)
        if self.unbuffered:
            env.setdefault("PYTHONUNBUFFERED", "1")
        try:
            self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0, env=env)
        except FileNotFoundError as exc:
            raise CommandNotFoundError(f"cannot run {self.argv[0]!r}: command not found") from exc
        except PermissionError as exc:
            raise CommandNotFoundError(f"cannot run {self.argv[0]!r}: permission denied") from exc
        self._install_signal_forwarding()
        assert self.proc.stdout is not None and self.proc.stderr is not None
        name = self.argv[0] if len(self.display) > 60 else self.display
        return [
            StreamSource(self.proc.stdout.fileno(), name=name, stream="stdout", passthrough_fd=self.stdout_fd, max_line_bytes=self.max_line_bytes),
            StreamSource(self.proc.stderr.fileno(), name=name, stream="stderr", passthrough_fd=self.stderr_fd, max_line_bytes=self.max_line_bytes),
        ]

    def _install_signal_forwarding(self) -> None:
        import threading

        if threading.current_thread() is not threading.main_thread():
            return

        def forward(signum, _frame) -> None:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.send_signal(signum)

        for signum in (signal.SIGTERM, signal.SIGHUP):
            self._old_handlers[signum] = signal.signal(signum, forward)
        # Ctrl-C reaches the command through the terminal's process group; the watcher keeps
        # classifying until the command's pipes close, then exits with its code.
        self._old_handlers[signal.SIGINT] = signal.signal(signal.SIGINT, lambda *_: None)

    def restore_signals(self) -> None:
        for signum, handler in self._old_handlers.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        self._old_handlers.clear()

    def wait(self) -> int:
        """The command's exit code, shell-style (128 + N for a signal)."""
        assert self.proc is not None
        code = self.proc.wait()
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()
        return 128 - code if code < 0 else code

    def terminate(self, grace_s: float = 5.0) -> None:
        """Stop the command (``--until``/``--timeout`` ended the watch): SIGTERM, then SIGKILL."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

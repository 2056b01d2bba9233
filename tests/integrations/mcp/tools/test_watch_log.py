"""``watch_log`` on real files appended while it waits: first alert, timeout with progress, cancellation."""

from __future__ import annotations

import threading
import time

import anyio

from tests.integrations.mcp.conftest import SHIPPED_PROGRAMS, error_text, mcp_args, stdio_session, structured

NORMAL = ["step 4100 | train loss 2.871 | lr 2.4e-04", "Checkpoint saved: runs/exp7/ckpt_0004000.pt"]
ALERT = "RuntimeError: CUDA out of memory. Tried to allocate 1.50 GiB"


class Appender:
    """Appends the same few lines to a file every 0.3 s until stopped (a training run writing its log)."""

    def __init__(self, path, lines: list[str]) -> None:
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._write, args=(path, lines), daemon=True)

    def _write(self, path, lines: list[str]) -> None:
        while not self.stop.is_set():
            for line in lines:
                with path.open("a") as handle:
                    handle.write(line + "\n")
                if self.stop.wait(0.3):
                    return

    def __enter__(self) -> "Appender":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def test_watch_log_alert_timeout_and_cancellation(tmp_path) -> None:
    log = tmp_path / "train.log"
    log.write_text("old line that is not read: Traceback (most recent call last):\n")
    quiet = tmp_path / "quiet.log"
    quiet.write_text("")

    async def scenario() -> None:
        async with stdio_session(*mcp_args(SHIPPED_PROGRAMS, None, "--no-watch")) as session:
            # 1. returns at the first alert among lines appended while it waits (lines already there are skipped)
            notes: list[float] = []

            async def on_progress(progress: float, total: float | None, message: str | None) -> None:
                notes.append(progress)

            with Appender(log, [*NORMAL, ALERT]):
                out = structured(await session.call_tool(
                    "watch_log", {"path": str(log), "program": "log-alert", "timeout_s": 240}, progress_callback=on_progress))
            assert out["reason"] == "alert" and not out["timed_out"]
            assert out["alert"]["label"] == "ALERT" and out["alert"]["text"] in [*NORMAL, ALERT]
            assert out["alert"]["file"] == str(log) and out["alerts"][0] == out["alert"]
            assert out["lines_seen"] >= 1 and "old line" not in " ".join(out["tail"])
            assert out["tail"][-1] == out["alert"]["text"] or out["alert"]["text"] in out["tail"]
            assert notes == sorted(notes)

            # 2. nothing new: timeout, with what was seen (nothing) and no alert
            started = time.monotonic()
            out = structured(await session.call_tool("watch_log", {"path": str(quiet), "timeout_s": 2}))
            assert out["reason"] == "timeout" and out["timed_out"] and out["alert"] is None and out["lines_seen"] == 0
            assert time.monotonic() - started < 60

            # 3. the client cancels a long watch: the server drops it and answers the next call at once
            with anyio.move_on_after(2):
                await session.call_tool("watch_log", {"path": str(quiet), "timeout_s": 600})
            started = time.monotonic()
            status = structured(await session.call_tool("list_programs", {}))
            assert time.monotonic() - started < 30 and status["queue"]["pending"] == 0

            # 4. a text program cannot judge lines
            assert "labels program" in error_text(await session.call_tool("watch_log", {"path": str(quiet), "program": "deadline"}))

    anyio.run(scenario)

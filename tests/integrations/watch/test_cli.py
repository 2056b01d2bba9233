"""``pawflow watch`` as a user runs it: a real process, real files, real wrapped commands, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from .conftest import REAL_LOGS, REPO

PAWFLOW = [sys.executable, "-m", "pawflow.cli.main"]
ENV = {**os.environ, "PAWFLOW_THREADS": os.environ.get("PAWFLOW_THREADS", "1")}


def pawflow(*args: str, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*PAWFLOW, *args], capture_output=True, timeout=timeout, cwd=REPO, env=ENV, **kwargs)


def test_help_documents_the_exit_codes():
    done = pawflow("watch", "--help")
    assert done.returncode == 0
    text = done.stdout.decode()
    for needle in ("3 --until", "4 --timeout", "5 --stall", "--from-start", "--state", "--exec", "--threshold"):
        assert needle in text


def test_binary_file_is_a_clear_error_with_exit_2(tmp_path):
    blob = tmp_path / "weights.bin"
    blob.write_bytes(bytes(range(256)) * 64)
    done = pawflow("watch", str(blob))
    assert done.returncode == 2
    assert b"not a text log" in done.stderr and b"Traceback" not in done.stderr


def test_bad_duration_is_a_usage_error(tmp_path):
    done = pawflow("watch", str(tmp_path / "x.log"), "--timeout", "soon")
    assert done.returncode == 2 and b"not a duration" in done.stderr


def test_timeout_exit_4_and_stall_exit_5(tmp_path):
    log = tmp_path / "idle.log"
    log.touch()
    assert pawflow("watch", str(log), "-q", "--timeout", "1s").returncode == 4
    stalled = pawflow("watch", str(log), "--json", "--until", "ALERT", "--stall", "0.5s", "--timeout", "60s")
    assert stalled.returncode == 5
    report = json.loads(stalled.stdout.decode().splitlines()[0])
    assert report["kind"] == "stall" and report["label"] == "ALERT"


def test_once_json_on_a_real_log(tmp_path):
    done = pawflow("watch", "--once", "--json", str(REAL_LOGS / "eval" / "torch-b-worker-error.log"))
    assert done.returncode == 0, done.stderr.decode()
    reports = [json.loads(line) for line in done.stdout.decode().splitlines()]
    tracebacks = [r for r in reports if r["kind"] == "traceback"]
    assert len(tracebacks) == 1 and tracebacks[0]["line_no"] == 6 and tracebacks[0]["end_line_no"] == 35
    assert set(["time", "file", "line_no", "text", "label", "confidence", "cached"]) <= set(tracebacks[0])
    assert b"cache hit rate" in done.stderr


def test_until_alert_exit_3_while_a_writer_appends(tmp_path):
    log = tmp_path / "train.log"
    log.write_text("step 1 loss 2.3\n")

    def write_later() -> None:
        time.sleep(3)
        with open(log, "a") as handle:
            handle.write("RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB\n")

    threading.Thread(target=write_later, daemon=True).start()
    done = pawflow("watch", str(log), "--json", "--until", "ALERT", "--timeout", "9m")
    assert done.returncode == 3, done.stderr.decode()
    (report,) = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert report["line_no"] == 2 and report["text"].startswith("RuntimeError: CUDA out of memory")


CHILD = r"""
import sys, time
sys.stdout.write("epoch 1 step 10 loss 2.31\n")
sys.stdout.write("\r 50%|#####     | 5/10 [00:01<00:01, 4.1it/s]\r100%|##########| 10/10 [00:02<00:00, 4.2it/s]\n")
sys.stdout.flush()
sys.stderr.write("Traceback (most recent call last):\n  File \"train.py\", line 3, in <module>\n    step()\nRuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB\n")
sys.stderr.write("no newline at the end \xff")
sys.exit(7)
"""


def test_wrap_mode_passes_output_through_unchanged_and_keeps_the_exit_code(tmp_path):
    alerts = tmp_path / "alerts.jsonl"
    direct = subprocess.run([sys.executable, "-c", CHILD], capture_output=True)
    done = pawflow("watch", "-q", "--json", "-o", str(alerts), "--", sys.executable, "-c", CHILD)
    assert done.returncode == 7
    assert done.stdout == direct.stdout and done.stderr == direct.stderr
    reports = [json.loads(line) for line in alerts.read_text().splitlines()]
    assert [(r["stream"], r["kind"], r["line_no"]) for r in reports if r["kind"] == "traceback"] == [("stderr", "traceback", 1)]


def test_wrap_mode_signal_exit_code_and_missing_command(tmp_path):
    killed = pawflow("watch", "-q", "--", sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)")
    assert killed.returncode == 128 + 15
    missing = pawflow("watch", "-q", "--", "no-such-command-pawflow")
    assert missing.returncode == 127 and b"command not found" in missing.stderr


def test_wrap_mode_timeout_stops_the_command(tmp_path):
    started = time.monotonic()
    done = pawflow("watch", "-q", "--timeout", "1s", "--", sys.executable, "-c", "import time; time.sleep(60)")
    assert done.returncode == 4 and time.monotonic() - started < 40

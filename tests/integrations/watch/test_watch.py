"""The watch loop end to end on real files with the real log-alert program on the embedded model."""

from __future__ import annotations

import json
import sys
import threading
import time

import pytest

import pawflow
from integrations.watch import watch_file
from integrations.watch.api import WatchOptions, load_classifier, run_watch
from integrations.watch.sources import FileSource
from integrations.watch.verdicts import Classifier, VerdictCache, split_labels

from .conftest import REAL_LOGS

OOM = "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 15.78 GiB total capacity)"
TRACEBACK = f"""Traceback (most recent call last):
  File "train.py", line 88, in <module>
    main()
  File "train.py", line 61, in main
    loss = model(batch).loss
           ^^^^^^^^^^^^^^^^^
{OOM}
"""


class Counting:
    """The real program, counting how it is called (to check batching and caching, not verdicts)."""

    def __init__(self, fn) -> None:
        self.fn, self.name, self.output = fn, fn.name, fn.output
        self.calls: list[int] = []

    def run_many(self, texts):
        self.calls.append(len(texts))
        return self.fn.run_many(texts)


@pytest.fixture(scope="module")
def log_alert():
    return pawflow.load("log-alert")


def writer(path, chunks, delay: float = 0.3) -> threading.Thread:
    def run() -> None:
        time.sleep(delay)
        for chunk in chunks:
            with open(path, "a") as handle:
                handle.write(chunk)
            time.sleep(0.05)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_until_alert_reports_a_traceback_once_with_all_its_lines(tmp_path, log_alert):
    log = tmp_path / "train.log"
    log.write_text("existing line, not re-read\n")
    writer(log, ["step 10 loss 2.31\n", "step 20 loss 2.27\n", TRACEBACK, "step 30 loss 2.20\n"])
    outcome = watch_file(log, program=log_alert, until="ALERT", timeout_s=120)
    assert outcome.reason == "until" and outcome.exit_code == 3
    alert = outcome.alert.to_json()
    assert list(alert)[:7] == ["time", "file", "line_no", "text", "label", "confidence", "cached"]
    assert alert["label"] == "ALERT" and alert["kind"] == "traceback"
    assert alert["line_no"] == 4 and alert["end_line_no"] == 10 and alert["text"] == TRACEBACK.rstrip("\n")
    assert alert["classified"] == OOM
    assert [r.kind for r in outcome.reports if r.alert] == ["traceback"]
    assert "existing line, not re-read" not in outcome.tail


def test_once_over_a_real_log_sees_every_line_and_alerts_on_the_crash(log_alert):
    log = REAL_LOGS / "eval" / "torch-b-oom.log"
    outcome = watch_file(log, program=log_alert, once=True, from_start=True, until=None)
    assert outcome.reason == "end" and outcome.exit_code == 0
    assert outcome.lines_seen == 17
    tracebacks = [r for r in outcome.reports if r.kind == "traceback"]
    assert len(tracebacks) == 1 and tracebacks[0].line_no == 10 and tracebacks[0].lines == 8
    assert tracebacks[0].alert


def test_timeout_and_stall_exit_codes(tmp_path, log_alert):
    log = tmp_path / "quiet.log"
    log.touch()
    timed = watch_file(log, program=log_alert, until="ALERT", timeout_s=0.5)
    assert (timed.reason, timed.exit_code, timed.alert) == ("timeout", 4, None)
    stalled = watch_file(log, program=log_alert, until="ALERT", stall_s=0.4, timeout_s=30)
    assert (stalled.reason, stalled.exit_code) == ("stall", 5)
    assert stalled.alert.kind == "stall" and "no new line for" in stalled.alert.text


def test_stall_without_until_is_reported_once_and_rearmed(tmp_path, log_alert):
    log = tmp_path / "train.log"
    log.touch()
    writer(log, ["step 1 loss 0.5\n"], delay=0.8)
    outcome = watch_file(log, program=log_alert, until=None, stall_s=0.5, timeout_s=2.2)
    stalls = [r for r in outcome.reports if r.kind == "stall"]
    assert outcome.reason == "timeout" and len(stalls) == 2  # before the line, and again after it


def test_burst_is_batched_and_cached_by_shape(tmp_path, log_alert):
    log = tmp_path / "burst.log"
    lines = [f"step {i} | loss {2.5 - i / 3000:.4f} | lr 3.0e-04 | {1.1 + (i % 7) / 10:.2f} s/it\n" for i in range(2000)]
    lines[1000] = "Checkpoint saved: runs/exp7/ckpt_0001000.pt\n"
    log.write_text("".join(lines))
    program = Counting(log_alert)
    options = WatchOptions(program=program, once=True, from_start=True)
    classifier = Classifier(program, cache=VerdictCache(64))
    outcome = run_watch([FileSource(log, once=True, from_start=True)], options, classifier=classifier)
    assert outcome.lines_seen == 2000
    assert sum(program.calls) == 2 and len(program.calls) <= 2  # two shapes, not 2,000 calls
    assert classifier.cache.hit_rate > 0.99

    uncached = Counting(log_alert)
    classifier = Classifier(uncached, cache=VerdictCache(0))
    short = tmp_path / "short.log"
    short.write_text("".join(lines[:40]))
    run_watch([FileSource(short, once=True)], WatchOptions(program=uncached, once=True), classifier=classifier)
    assert sum(uncached.calls) == 40 and len(uncached.calls) < 40  # cache off: every line, still batched

    # Cache off, and the burst repeats texts verbatim (a bar redrawn with the same postfix, a warning
    # printed twice): each distinct text of the batch is sent once, every line still gets its verdict.
    repeated = Counting(log_alert)
    classifier = Classifier(repeated, cache=VerdictCache(0))
    twice = tmp_path / "twice.log"
    twice.write_text("".join(lines[:10] + lines[:10] + ["step 5 | loss nan | lr 3.0e-04 | 1.1 s/it\n"] * 3))
    outcome = run_watch([FileSource(twice, once=True)], WatchOptions(program=repeated, once=True),
                        classifier=classifier)
    assert outcome.lines_seen == 23 and sum(repeated.calls) == 11
    assert classifier.cache.hits == 0 and len(classifier.cache) == 0  # nothing remembered across batches


def test_cache_is_bounded():
    cache = VerdictCache(3)
    for i in range(10):
        cache.put(f"shape {i}", ("QUIET", 0.9))
    assert len(cache) == 3 and cache.get("shape 0") is None and cache.get("shape 9") == ("QUIET", 0.9)


def test_label_roles():
    assert split_labels(["ALERT", "QUIET"], None) == (["ALERT"], "QUIET")
    assert split_labels(["PAGE", "TICKET", "OK"], None) == (["PAGE", "TICKET"], "OK")
    assert split_labels(["bad", "good"], None) == (["bad"], "good")
    assert split_labels(["PAGE", "TICKET", "OK"], ["PAGE"]) == (["PAGE"], "TICKET")


def test_threshold_and_exec_hook(tmp_path, log_alert):
    log = tmp_path / "train.log"
    log.touch()
    received = tmp_path / "hook.jsonl"
    writer(log, [OOM + "\n"])
    outcome = watch_file(log, program=log_alert, until="ALERT", timeout_s=120,
                         exec_command=f"{sys.executable} -c 'import sys; open(sys.argv[1], \"a\").write(sys.stdin.read())' {received}")
    assert outcome.reason == "until"
    hook = json.loads(received.read_text())
    assert hook["text"] == OOM and hook["label"] == "ALERT" and hook["line_no"] == 1
    confidence = outcome.alert.confidence
    log2 = tmp_path / "again.log"
    log2.write_text(OOM + "\n")
    below = watch_file(log2, program=log_alert, until=None, once=True, threshold=max(0.0, confidence - 0.01))
    assert [r.line_no for r in below.reports if r.alert] == [1]
    if confidence < 0.999:
        above = watch_file(log2, program=log_alert, until=None, once=True, threshold=confidence + 0.001)
        assert [r for r in above.reports if r.alert] == []


def test_state_file_resume_through_the_watcher(tmp_path, log_alert):
    log, state = tmp_path / "train.log", tmp_path / "watch.state"
    log.write_text("step 1 loss 0.5\nstep 2 loss 0.4\n")
    first = watch_file(log, program=log_alert, until=None, once=True, state_file=state)
    assert first.lines_seen == 2 and json.loads(state.read_text())["files"]
    with open(log, "a") as handle:
        handle.write("step 3 loss 0.3\n" + OOM + "\n")
    second = watch_file(log, program=log_alert, until=None, timeout_s=1.5, state_file=state)
    assert second.lines_seen == 2 and second.tail == ["step 3 loss 0.3", OOM]


def test_not_a_labels_program_is_refused(tmp_path, base_info, base_path):
    from pawflow.errors import PawflowError
    from pawflow.function import Function
    from pawflow.program import TextOutput

    from tests.conftest import build_program

    program = build_program(base_info, base_path, name="echo", output=TextOutput(), examples=[{"input": "a", "output": "b"}, {"input": "c", "output": "d"}])
    with pytest.raises(PawflowError) as err:
        load_classifier(WatchOptions(program=Function(program)))
    assert err.value.exit_code == 2 and "labels program" in str(err.value)

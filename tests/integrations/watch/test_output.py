"""Output formats and small parsers (no model): JSON keys, the human rendering, durations, exec hooks."""

from __future__ import annotations

import io
import json
import sys

import pytest
from rich.console import Console

from integrations.watch.durations import parse_duration
from integrations.watch.errors import WatchUsageError
from integrations.watch.output import ExecHook, HumanReporter, JsonReporter, Report


def report(**kwargs) -> Report:
    base = dict(time="2026-12-01T00:00:00.000+00:00", file="train.log", line_no=10, text="Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: bad",
                label="ALERT", confidence=0.93456, cached=True, end_line_no=12, kind="traceback", lines=3, context=[(9, "step 9 loss 0.3")])
    return Report(**(base | kwargs))


def test_json_object_starts_with_the_documented_keys():
    out = io.StringIO()
    JsonReporter(out, quiet=True).report(report())
    data = json.loads(out.getvalue())
    assert list(data)[:7] == ["time", "file", "line_no", "text", "label", "confidence", "cached"]
    assert data["confidence"] == 0.9346 and data["end_line_no"] == 12 and "context" not in data


def test_human_alert_shows_where_confidence_context_and_lines():
    out = io.StringIO()
    reporter = HumanReporter(Console(file=out, width=120, color_system=None), status_line=False, quiet=True)
    reporter.report(report())
    text = out.getvalue()
    assert "ALERT 0.93" in text and "train.log:10-12" in text and "traceback (3 lines)" in text
    assert "step 9 loss 0.3" in text and "ValueError: bad" in text


@pytest.mark.parametrize("text, seconds", [("5m", 300), ("90", 90), ("1h30m", 5400), ("2.5s", 2.5), ("250ms", 0.25), ("1d", 86400)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "", "5x", "-3s", "0"])
def test_bad_durations(text):
    with pytest.raises(WatchUsageError):
        parse_duration(text, option="--stall")


def test_exec_hook_gets_the_json_and_failures_are_reported(tmp_path):
    seen = tmp_path / "seen.json"
    notices: list[str] = []
    hook = ExecHook(f"{sys.executable} -c 'import sys; open(sys.argv[1], \"w\").write(sys.stdin.read())' {seen}", notice=notices.append)
    hook(report())
    hook.close()
    assert json.loads(seen.read_text())["line_no"] == 10 and hook.runs == 1
    failing = ExecHook("exit 3", notice=notices.append)
    failing(report())
    failing.close()
    assert failing.failures == 1 and any("exited with 3" in n for n in notices)

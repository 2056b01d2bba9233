"""The watch loop: lines from sources → records → verdicts → reports, with stall, until and timeout.

Why one loop on one thread: verdicts, reports, ``--until``, ``--timeout``, ``--stall`` and the state
file all depend on the *order* of lines, so they are decided in one place. Sources read on their own
threads and queue what they read; the loop drains everything queued (up to ``batch_max`` lines) and
classifies it in one batch. That is what makes bursts cheap (one ``run_many`` over a burst) and
trickles fast (a lone line is classified as soon as its record closes, ``gap_s`` after it arrived).
"""

from __future__ import annotations

import datetime as dt
import queue
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from integrations.watch.errors import WatchError
from integrations.watch.lines import Line
from integrations.watch.output import Report, Reporter, Status
from integrations.watch.records import DEFAULT_GAP_S, Record, RecordAssembler
from integrations.watch.sources import FileSource, Source
from integrations.watch.state import StateStore
from integrations.watch.verdicts import Classifier, Verdict

# Exit codes (docs/watch.md, "Exit codes"); wrap mode otherwise exits with the command's own code.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_UNTIL = 3
EXIT_TIMEOUT = 4
EXIT_STALL = 5

STATUS_EVERY_S = 0.5
STATE_SAVE_EVERY_S = 1.0
TAIL_KEEP = 20


@dataclass
class WatchConfig:
    until: str | None = None  # stop at the first reported record with this label
    timeout_s: float | None = None
    stall_s: float | None = None
    threshold: float = 0.5
    gap_s: float = DEFAULT_GAP_S
    batch_max: int = 512
    report_all: bool = False  # report every record (debugging, evaluation), not only alerts
    context_lines: int = 3


@dataclass
class WatchOutcome:
    """How a watch ended. ``alert`` is the report that satisfied ``until`` (or the stall report)."""

    reason: str  # "until" | "timeout" | "stall" | "end" | "stopped"
    exit_code: int
    alert: Report | None
    reports: list[Report]
    lines_seen: int
    tail: list[str]
    stats: dict


@dataclass
class _Stats:
    started: float = field(default_factory=time.monotonic)
    lines: int = 0
    records: int = 0
    alerts: int = 0
    last_line_at: float = field(default_factory=time.monotonic)
    last_line: Line | None = None


class Watcher:
    """Runs sources through a classifier and reporters until ``until``, ``timeout``, a stall, or the end."""

    def __init__(
        self,
        sources: Sequence[Source],
        classifier: Classifier,
        config: WatchConfig,
        *,
        reporters: Sequence[Reporter] = (),
        hooks: Sequence[Callable[[Report], None]] = (),
        state: StateStore | None = None,
        on_progress: Callable[[Status], None] | None = None,
        stop_requested: Callable[[], bool] | None = None,
        on_finish: Callable[[str], None] | None = None,
    ) -> None:
        self.sources = list(sources)
        self.on_finish = on_finish
        self.classifier = classifier
        self.config = config
        self.reporters = list(reporters)
        self.hooks = list(hooks)
        self.state = state
        self.on_progress = on_progress
        self.stop_requested = stop_requested or (lambda: False)
        self.stats = _Stats()
        self.reports: list[Report] = []
        self._queue: queue.Queue = queue.Queue()
        self._assemblers: dict[tuple[str, str], RecordAssembler] = {}
        self._context: dict[tuple[str, str], deque] = {}
        self._tail: deque[str] = deque(maxlen=TAIL_KEEP)
        self._ended: set[int] = set()
        self._stalled = False
        self._handled: dict[int, Line] = {}  # file source id -> last handled line (for --state)
        self._last_state_save = 0.0
        self._by_name = {source.name: source for source in self.sources}

    # ------------------------------------------------------------------ running

    def run(self) -> WatchOutcome:
        for source in self.sources:
            source.start(self._queue)
        started = time.monotonic()
        deadline = started + self.config.timeout_s if self.config.timeout_s else None
        next_status = started
        try:
            while True:
                now = time.monotonic()
                wait = self._next_wakeup(now, deadline, next_status)
                items = self._collect(wait)
                records = self._ingest(items)
                now = time.monotonic()
                for assembler in self._assemblers.values():
                    records += assembler.expire(now)
                all_ended = len(self._ended) == len(self.sources)
                if all_ended:
                    for assembler in self._assemblers.values():
                        records += assembler.flush()
                if records:
                    hit = self._handle(records)
                    if hit is not None:
                        return self._finish("until", EXIT_UNTIL, hit)
                if all_ended:
                    return self._finish("end", EXIT_OK, None)
                if self.stop_requested():
                    return self._finish("stopped", EXIT_OK, None)
                now = time.monotonic()
                stall = self._check_stall(now)
                if stall is not None and self.config.until is not None and self._matches_until(stall.label):
                    return self._finish("stall", EXIT_STALL, stall)
                if deadline is not None and now >= deadline:
                    return self._finish("timeout", EXIT_TIMEOUT, None)
                if now >= next_status:
                    self._emit_status(now)
                    next_status = now + STATUS_EVERY_S
        except KeyboardInterrupt:
            return self._finish("stopped", EXIT_OK, None)

    def _next_wakeup(self, now: float, deadline: float | None, next_status: float) -> float:
        times = [next_status]
        for assembler in self._assemblers.values():
            due = assembler.deadline()
            if due is not None:
                times.append(due)
        if deadline is not None:
            times.append(deadline)
        if self.config.stall_s and not self._stalled:
            times.append(self.stats.last_line_at + self.config.stall_s)
        return max(0.0, min(times) - now)

    def _collect(self, wait: float) -> list:
        items = []
        try:
            items.append(self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait())
        except queue.Empty:
            return items
        count = len(items[0][1]) if items[0][0] == "lines" else 0
        while count < self.config.batch_max:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            items.append(item)
            if item[0] == "lines":
                count += len(item[1])
        return items

    def _ingest(self, items: list) -> list[Record]:
        records: list[Record] = []
        for kind, payload in items:
            if kind == "lines":
                for line in payload:
                    records += self._assembler(line).feed(line)
                    self.stats.lines += 1
                    if not line.blank:
                        self._tail.append(line.text)
                    self.stats.last_line_at = line.arrived
                    self.stats.last_line = line
                    self._stalled = False
            elif kind == "notice":
                for reporter in self.reporters:
                    reporter.notice(payload)
            elif kind == "error":
                raise payload if isinstance(payload, WatchError) else WatchError(f"reading failed: {payload}")
            elif kind == "end":
                self._ended.add(id(payload))
        return records

    def _assembler(self, line: Line) -> RecordAssembler:
        key = (line.source, line.stream)
        assembler = self._assemblers.get(key)
        if assembler is None:
            assembler = self._assemblers[key] = RecordAssembler(self.config.gap_s)
            self._context[key] = deque(maxlen=self.config.context_lines)
        return assembler

    # ------------------------------------------------------------------ verdicts and reports

    def _handle(self, records: list[Record]) -> Report | None:
        verdicts = self.classifier.classify(records, self.config.threshold)
        hit: Report | None = None
        for record, verdict in zip(records, verdicts):
            self.stats.records += 1
            key = (record.first.source, record.first.stream)
            alert = self.classifier.is_alert(verdict, self.config.threshold)
            if alert or self.config.report_all:
                report = self._report(record, verdict, alert, list(self._context.get(key, ())))
                if alert and hit is None and self.config.until is not None and self._matches_until(report.label):
                    hit = report
            context = self._context.get(key)
            if context is not None:
                for line in record.lines:
                    if not line.blank:
                        context.append((line.line_no, line.text))
            self._note_handled(record.last)
        self._save_state()
        return hit

    def _report(self, record: Record, verdict: Verdict, alert: bool, context: list[tuple[int, str]]) -> Report:
        first = record.first
        report = Report(
            time=_wall_time(first.arrived),
            file=first.source,
            line_no=first.line_no,
            text=record.text,
            label=verdict.label,
            confidence=verdict.confidence,
            cached=verdict.cached,
            end_line_no=record.last.line_no,
            kind=record.kind,
            lines=len(record.lines),
            stream=first.stream,
            by=verdict.by,
            classified=verdict.classified,
            cut=verdict.cut or any(line.cut for line in record.lines),
            alert=alert,
            context=context,
        )
        if alert:
            self.stats.alerts += 1
        self.reports.append(report)
        for reporter in self.reporters:
            reporter.report(report)
        if alert:
            for hook in self.hooks:
                hook(report)
        return report

    def _matches_until(self, label: str) -> bool:
        return self.config.until is not None and label.upper() == self.config.until.upper()

    def _check_stall(self, now: float) -> Report | None:
        stall_s = self.config.stall_s
        if not stall_s or self._stalled or now - self.stats.last_line_at < stall_s:
            return None
        self._stalled = True
        last = self.stats.last_line
        since = f" (last line {last.line_no} at {_wall_time(last.arrived)})" if last is not None else ""
        names = ", ".join(source.name for source in self.sources)
        label = self.classifier.alert_labels[0] if self.classifier.alert_labels else "STALL"
        report = Report(
            time=_wall_time(time.monotonic()),
            file=names,
            line_no=last.line_no if last is not None else 0,
            text=f"no new line for {_duration(now - self.stats.last_line_at)}{since}: the run may be hung",
            label=label,
            confidence=1.0,
            cached=False,
            end_line_no=last.line_no if last is not None else 0,
            kind="stall",
            lines=0,
            by="rule",
        )
        self.stats.alerts += 1
        self.reports.append(report)
        for reporter in self.reporters:
            reporter.report(report)
        for hook in self.hooks:
            hook(report)
        return report

    # ------------------------------------------------------------------ state, status, end

    def _note_handled(self, line: Line) -> None:
        if self.state is None or line.end_offset is None:
            return
        source = self._by_name.get(line.source)
        if isinstance(source, FileSource):
            self._handled[id(source)] = line

    def _save_state(self, force: bool = False) -> None:
        if self.state is None:
            return
        now = time.monotonic()
        if not force and now - self._last_state_save < STATE_SAVE_EVERY_S:
            return
        self._last_state_save = now
        for source in self.sources:
            line = self._handled.get(id(source))
            if isinstance(source, FileSource) and line is not None and source.follower is not None:
                position = source.follower.position_after(line)
                if position is not None:
                    self.state.set(source.path, position)
        self.state.save()

    def status(self, now: float | None = None) -> Status:
        now = time.monotonic() if now is None else now
        elapsed = max(now - self.stats.started, 1e-9)
        return Status(
            file=", ".join(source.name for source in self.sources),
            lines=self.stats.lines,
            lines_per_s=self.stats.lines / elapsed,
            cache_hit_rate=self.classifier.cache.hit_rate,
            alerts=self.stats.alerts,
            program_calls=self.classifier.program_calls,
        )

    def _emit_status(self, now: float) -> None:
        status = self.status(now)
        for reporter in self.reporters:
            reporter.status(status)
        if self.on_progress is not None:
            self.on_progress(status)

    def summary(self) -> dict:
        elapsed = time.monotonic() - self.stats.started
        cache = self.classifier.cache
        return {
            "lines": self.stats.lines,
            "records": self.stats.records,
            "alerts": self.stats.alerts,
            "seconds": round(elapsed, 3),
            "lines_per_s": round(self.stats.lines / elapsed, 1) if elapsed > 0 else 0.0,
            "program_calls": self.classifier.program_calls,
            "program_batches": self.classifier.batches,
            "rule_verdicts": self.classifier.rule_verdicts,
            "cache_hits": cache.hits,
            "cache_misses": cache.misses,
            "cache_hit_rate": round(cache.hit_rate, 4),
            "cache_entries": len(cache),
        }

    def _finish(self, reason: str, code: int, alert: Report | None) -> WatchOutcome:
        if self.on_finish is not None:
            self.on_finish(reason)  # wrap mode stops the command here, so its pipes close
        for source in self.sources:
            source.stop()
        if reason in ("end", "stopped"):
            # Lines read but not handled yet (an open record) are handled before leaving.
            records: list[Record] = []
            for assembler in self._assemblers.values():
                records += assembler.flush()
            if records:
                self._handle(records)
        self._save_state(force=True)  # before join(): joining closes the files the positions are read from
        for source in self.sources:
            source.join(timeout=5)
        summary = self.summary()
        text = (
            f"{reason}: {summary['lines']:,} lines in {summary['seconds']:.1f} s ({summary['lines_per_s']:,.0f} lines/s), "
            f"{summary['alerts']} alerts, {summary['program_calls']:,} program calls, "
            f"cache hit rate {summary['cache_hit_rate']:.1%} ({summary['cache_hits']:,}/{summary['cache_hits'] + summary['cache_misses']:,})"
        )
        for reporter in self.reporters:
            reporter.close(text)
        return WatchOutcome(reason, code, alert, self.reports, self.stats.lines, list(self._tail), summary)


def _wall_time(monotonic_at: float) -> str:
    wall = time.time() - (time.monotonic() - monotonic_at)
    return dt.datetime.fromtimestamp(wall, dt.timezone.utc).astimezone().isoformat(timespec="milliseconds")


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"

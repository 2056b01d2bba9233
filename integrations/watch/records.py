"""Multi-line records: a Python traceback, an indented stack, a warning with its source line.

Why exact, in Python: where a traceback starts and ends is syntax — ``Traceback (most recent call
last):``, indented frames, the exception line, chained sections, torchrun's ``=====`` failure box —
and a program that sees lines one at a time cannot know that ``    ^^^^^^`` belongs to an error. So
lines are grouped here into :class:`Record` objects, the program classifies what *summarises* a
record (:attr:`Record.texts`: the final exception line of a traceback, the head of a stack, every line
of a small indented block), and the watcher reports a record once, with all its lines.

Grouping is per stream (a wrapped command's stdout and stderr are assembled apart), and by time:
indented continuation lines join the previous line only when they arrive within ``gap_s`` of it (a
traceback is written in one burst; an unrelated indented line a minute later is its own record). A
record that could still grow is held until the next line or until ``gap_s`` passes (see
:meth:`RecordAssembler.expire`), so the gap bounds the extra latency an alert pays for grouping.
Lines prefixed by torchrun (``[rank0]: ``, ``[default1]:``) are grouped by their prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from integrations.watch.lines import Line
from integrations.watch.progress import ProgressBar, parse_progress

DEFAULT_GAP_S = 0.1
MAX_RECORD_LINES = 400
MAX_CLASSIFIED_LINES = 12

_PREFIX = re.compile(r"^(\[(?:rank|default)\d+\]:\s?)")
_TB_HEADER = re.compile(r"Traceback \(most recent call last\):\s*$")  # searched: may follow a bar redraw
_CHAIN = re.compile(
    r"^(?:During handling of the above exception, another exception occurred:|"
    r"The above exception was the direct cause of the following exception:)\s*$"
)
_SEPARATOR = re.compile(r"^\s*([=\-*#~_])\1{7,}\s*$")
_FRAME = re.compile(r"^(?:frame #\d+:|\s*at [\w$.<>]+\(|Caused by:|\s*\.\.\. \d+ more|\s*#\d+\s+0x[0-9a-f]+)")
_STACK_HEADER = re.compile(r"(?:\(most recent call first\):|^Stack \(most recent call first\):|^Extension modules:)")
_FATAL = re.compile(r"Fatal Python error:")  # searched, like _TB_HEADER


@dataclass
class Record:
    """Consecutive lines that form one thing to report. ``kind`` says what grouped them:

    ``line`` (one line), ``block`` (a line and indented continuation), ``stack`` (a line and stack
    frames), ``traceback``, ``progress`` (a progress-bar update), ``blank``.
    """

    lines: list[Line]
    kind: str = "line"
    prefix: str = ""
    progress: ProgressBar | None = None
    exception_lines: list[str] = field(default_factory=list)
    state: str = "open"  # traceback: "frames" | "after" | "box"; others: "open"
    box_char: str = ""
    last_arrival: float = 0.0
    head: str = ""  # what the first line says, minus a torchrun prefix or a progress bar it follows

    @property
    def first(self) -> Line:
        return self.lines[0]

    @property
    def last(self) -> Line:
        return self.lines[-1]

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    @property
    def texts(self) -> list[str]:
        """What the program classifies for this record (empty: decided by rule, never by the program)."""
        if self.kind == "blank":
            return []
        if self.kind == "progress":
            assert self.progress is not None
            return [self.progress.text] if self.progress.text else []
        if self.kind == "traceback":
            if self.exception_lines:
                return [self.exception_lines[-1]]
            return [_body(self.first.text)[1]]
        if self.kind == "stack":
            return [(self.head or _body(self.first.text)[1]).strip()]
        if self.kind == "block":
            return [_body(line.text)[1].strip() for line in self.lines[:MAX_CLASSIFIED_LINES] if not line.blank]
        return [_body(self.first.text)[1].strip()]


def _body(text: str) -> tuple[str, str]:
    match = _PREFIX.match(text)
    if match:
        return match.group(1), text[match.end():]
    return "", text


def _indented(body: str) -> bool:
    return bool(body) and body[0] in " \t" and bool(body.strip())


class RecordAssembler:
    """Groups the lines of one stream into records. ``feed`` returns records that are complete."""

    def __init__(self, gap_s: float = DEFAULT_GAP_S) -> None:
        self.gap_s = gap_s
        self.open: Record | None = None
        self._blanks: list[Line] = []  # blank lines after an open record: inside it or not, the next line decides

    def feed(self, line: Line) -> list[Record]:
        done: list[Record] = []
        if self.open is not None and line.arrived - self.open.last_arrival > self.gap_s:
            done += self._close()
        if line.blank:
            if self.open is not None and self.open.kind in ("traceback", "stack") and len(self._blanks) < 3:
                self._blanks.append(line)
                return done
            done += self._close()
            done.append(Record([line], kind="blank", last_arrival=line.arrived))
            return done
        prefix, body = _body(line.text)
        if self.open is not None and self._continues(self.open, prefix, body):
            self.open.lines.extend(self._blanks)
            self._blanks = []
            self.open.lines.append(line)
            self.open.last_arrival = line.arrived
            if len(self.open.lines) >= MAX_RECORD_LINES:
                done += self._close()
            return done
        done += self._close()
        record = self._start(line, prefix, body)
        if record.kind == "progress":
            done.append(record)  # a bar update never continues: report it now
        else:
            self.open = record
        return done

    def expire(self, now: float) -> list[Record]:
        """Close the open record when no line has joined it for ``gap_s``."""
        if self.open is not None and now - self.open.last_arrival >= self.gap_s:
            return self._close()
        return []

    def flush(self) -> list[Record]:
        return self._close()

    def deadline(self) -> float | None:
        """When :meth:`expire` would close the open record (None: nothing open)."""
        return None if self.open is None else self.open.last_arrival + self.gap_s

    # ------------------------------------------------------------------ grammar

    def _start(self, line: Line, prefix: str, body: str) -> Record:
        if _TB_HEADER.search(body):
            return Record([line], kind="traceback", prefix=prefix, state="frames", last_arrival=line.arrived)
        fatal = _FATAL.search(body)
        if fatal:  # faulthandler's report, possibly right after a progress bar's redraw
            return Record([line], kind="stack", prefix=prefix, last_arrival=line.arrived, head=body[fatal.start():])
        bar = parse_progress(body)
        if bar is not None:
            return Record([line], kind="progress", prefix=prefix, progress=bar, last_arrival=line.arrived)
        kind = "stack" if _STACK_HEADER.search(body) else "line"
        return Record([line], kind=kind, prefix=prefix, last_arrival=line.arrived)

    def _continues(self, rec: Record, prefix: str, body: str) -> bool:
        if prefix != rec.prefix:
            return False
        blanks = bool(self._blanks)
        if rec.kind == "traceback":
            return self._continues_traceback(rec, body, blanks)
        if rec.kind == "stack":
            if _indented(body) or _FRAME.match(body) or _STACK_HEADER.search(body):
                return True
            return False
        if blanks or rec.kind in ("progress", "blank"):
            return False
        if _indented(body):
            rec.kind = "block" if rec.kind in ("line", "block") else rec.kind
            return True
        if _FRAME.match(body):
            rec.kind = "stack"
            return True
        return False

    def _continues_traceback(self, rec: Record, body: str, blanks: bool) -> bool:
        if rec.state == "box":
            if _SEPARATOR.match(body) and body.strip()[0] == rec.box_char:
                rec.state = "after"
            return True
        if rec.state == "frames":
            if blanks:
                return False
            if not _indented(body):
                if _TB_HEADER.search(body):
                    return True
                rec.exception_lines.append(body.strip())
                rec.state = "after"
            return True
        # after the exception line
        if _TB_HEADER.search(body):
            rec.state = "frames"
            return True
        if _CHAIN.match(body):
            return True
        if blanks:
            return False
        separator = _SEPARATOR.match(body)
        if separator:
            rec.state, rec.box_char = "box", separator.group(1)
            return True
        return _indented(body) or bool(_FRAME.match(body)) or bool(_STACK_HEADER.search(body))

    def _close(self) -> list[Record]:
        done: list[Record] = []
        if self.open is not None:
            done.append(self.open)
            self.open = None
        for blank in self._blanks:
            done.append(Record([blank], kind="blank", last_arrival=blank.arrived))
        self._blanks = []
        return done

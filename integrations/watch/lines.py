"""Bytes in, lines out: how a tail turns what a writer appended into whole, readable lines.

Why its own module: every source (a followed file, a wrapped command's pipes, standard input) must cut
lines the same way, and the rules are where log tails usually go wrong:

* A line is what ends in ``\\n``, ``\\r\\n`` or a lone ``\\r``. The lone ``\\r`` matters: tqdm and other
  progress bars redraw themselves with ``\\r``, so ``> log 2>&1`` stores hundreds of updates on one
  physical line; each update is a line here, as a terminal shows it. ``line_no`` still counts
  physical lines (``\\n``), the number ``grep -n`` and ``sed -n Np`` use, so every update of one bar
  shares its line number.
* Bytes that arrive in pieces are held until their terminator: a line is never split, whatever the
  size of the writes. A line only ends without a terminator when its source ends (a rotated or
  truncated file, a command that exited): :meth:`LineSplitter.flush`.
* Bad bytes never stop it: invalid UTF-8 is replaced (and flagged), NUL bytes are dropped before lines
  are cut (a copy-truncate rotation under a writer that keeps its offset leaves megabytes of them),
  ANSI escape sequences and other control characters are removed, and a line longer than
  ``max_line_bytes`` keeps its first ``max_line_bytes`` and is flagged ``cut`` (memory stays bounded
  even for a 10 MB line).
* Every line knows the byte offset just after its terminator, so a ``--state`` file can resume
  exactly after the last line that was handled.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

DEFAULT_MAX_LINE_BYTES = 64 * 1024

_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_TERMINATORS = re.compile(rb"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class Line:
    """One line as the watcher sees it.

    ``text`` is cleaned (decoded, ANSI codes and control characters removed, no terminator);
    ``raw_len`` is the line's length in bytes before cleaning and cutting; ``end_offset`` is the
    source offset just after the terminator (``None`` for sources without offsets, such as pipes).
    """

    text: str
    line_no: int
    source: str = ""
    stream: str = "file"
    cut: bool = False
    raw_len: int = 0
    invalid_utf8: bool = False
    nul_bytes: int = 0
    terminated: bool = True
    ends_line: bool = True  # the terminator held a \n (a lone \r redraws the same physical line)
    end_offset: int | None = None
    identity: tuple[int, int] | None = None
    arrived: float = field(default_factory=time.monotonic)

    @property
    def blank(self) -> bool:
        return not self.text.strip()


def clean_text(data: bytes) -> tuple[str, bool]:
    """Decode ``data`` for reading: UTF-8 (invalid bytes replaced), no ANSI codes or control characters."""
    try:
        text = data.decode("utf-8")
        invalid = False
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        invalid = True
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    text = _CONTROL.sub("", text)
    return text, invalid


class LineSplitter:
    """Incremental line cutter for one byte stream; see the module docstring for the rules."""

    def __init__(
        self,
        *,
        source: str = "",
        stream: str = "file",
        start_offset: int = 0,
        start_line_no: int = 1,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        identity: tuple[int, int] | None = None,
        track_offsets: bool = True,
    ) -> None:
        if max_line_bytes < 16:
            raise ValueError("max_line_bytes must be at least 16")
        self.source = source
        self.stream = stream
        self.max_line_bytes = max_line_bytes
        self.identity = identity
        self.track_offsets = track_offsets
        self.offset = start_offset  # offset of the next byte fed
        self.line_no = start_line_no  # physical line of the pending bytes
        self._buf = bytearray()
        self._overflow = 0  # bytes of the pending line dropped beyond max_line_bytes
        self._nuls = 0
        self._after_cr = False  # the last byte fed was a lone \r: a following \n completes \r\n
        self.total_nul_bytes = 0
        self.lines_emitted = 0

    @property
    def pending(self) -> int:
        """Bytes of an unterminated line held back (after dropping NULs and overflow)."""
        return len(self._buf) + self._overflow

    def feed(self, data: bytes) -> list[Line]:
        """Take the next bytes of the stream; return every line they completed, in order."""
        out: list[Line] = []
        if not data:
            return out
        pos = 0
        if self._after_cr:
            self._after_cr = False
            if data[:1] == b"\n":
                # The \n of a \r\n split across two reads: the line was already emitted at the \r.
                self.offset += 1
                self.line_no += 1
                pos = 1
        for match in _TERMINATORS.finditer(data, pos):
            self._append(data[pos : match.start()])
            self.offset += match.start() - pos + (match.end() - match.start())
            out.append(self._emit(terminated=True, ends_line=match.group() != b"\r"))
            if match.group() == b"\r":
                if match.end() == len(data):
                    self._after_cr = True
            else:
                self.line_no += 1
            pos = match.end()
        if pos < len(data):
            self._append(data[pos:])
            self.offset += len(data) - pos
        return out

    def flush(self) -> list[Line]:
        """The stream ended: emit the unterminated last line, if any."""
        self._after_cr = False
        if not self._buf and not self._overflow:
            self._nuls = 0
            return []
        return [self._emit(terminated=False, ends_line=False)]

    def reset(self, *, offset: int = 0, line_no: int = 1, identity: tuple[int, int] | None = None) -> None:
        """Start over on another stream position (truncation, a new file); pending bytes are dropped."""
        self._buf.clear()
        self._overflow = 0
        self._nuls = 0
        self._after_cr = False
        self.offset = offset
        self.line_no = line_no
        if identity is not None:
            self.identity = identity

    # ------------------------------------------------------------------ internals

    def _append(self, chunk: bytes) -> None:
        if not chunk:
            return
        if b"\x00" in chunk:
            nuls = chunk.count(b"\x00")
            self._nuls += nuls
            self.total_nul_bytes += nuls
            chunk = chunk.replace(b"\x00", b"")
        room = self.max_line_bytes - len(self._buf)
        if len(chunk) <= room:
            self._buf += chunk
        else:
            if room > 0:
                self._buf += chunk[:room]
            self._overflow += len(chunk) - max(room, 0)

    def _emit(self, *, terminated: bool, ends_line: bool) -> Line:
        raw = bytes(self._buf)
        cut = self._overflow > 0
        if cut:
            # Never end a cut line inside a multi-byte UTF-8 character.
            raw = raw.decode("utf-8", errors="ignore").encode("utf-8") if _ends_mid_char(raw) else raw
        text, invalid = clean_text(raw)
        line = Line(
            text=text,
            line_no=self.line_no,
            source=self.source,
            stream=self.stream,
            cut=cut,
            raw_len=len(self._buf) + self._overflow,
            invalid_utf8=invalid,
            nul_bytes=self._nuls,
            terminated=terminated,
            ends_line=ends_line,
            end_offset=self.offset if self.track_offsets else None,
            identity=self.identity,
        )
        self._buf.clear()
        self._overflow = 0
        self._nuls = 0
        self.lines_emitted += 1
        return line


def _ends_mid_char(raw: bytes) -> bool:
    """True when ``raw`` ends inside a UTF-8 sequence (so the cut must drop that partial character)."""
    for back in range(1, min(4, len(raw)) + 1):
        byte = raw[-back]
        if byte < 0x80:
            return False
        if byte >= 0xC0:
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return need > back
    return False


def looks_binary(sample: bytes) -> str | None:
    """Why ``sample`` (the start of a file) is not a text log, or ``None`` when it reads as text.

    Long runs of NUL bytes are allowed (a truncation under a writer that kept its offset leaves a
    sparse hole of NULs); scattered NULs, many control bytes or mostly invalid UTF-8 are not.
    """
    if not sample:
        return None
    if sample[:2] == b"\x1f\x8b":
        return "it is gzip-compressed (use: zcat FILE | pawflow watch -)"
    if sample[:4] in (b"PK\x03\x04", b"\x7fELF", b"\x89PNG") or sample[:3] == b"BZh" or sample[:6] == b"\xfd7zXZ\x00":
        return "it starts with the signature of a binary format (archive, executable or image)"
    body = re.sub(rb"\x00{16,}", b"", sample)
    if not body:
        return None
    nuls = body.count(b"\x00")
    controls = sum(1 for b in body if b < 0x20 and b not in (0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1B) or b == 0x7F)
    if nuls / len(body) > 0.01 or controls / len(body) > 0.10:
        return f"{(nuls + controls) * 100 // len(body)}% of its first {len(sample)} bytes are NUL or control bytes"
    text = body.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    if bad / max(len(text), 1) > 0.30:
        return f"{bad * 100 // len(text)}% of its first {len(sample)} bytes are not UTF-8"
    return None

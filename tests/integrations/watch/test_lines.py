"""Cutting bytes into lines: pieces, CR/CRLF, NUL, invalid UTF-8, huge lines, binary detection."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.watch.lines import LineSplitter, looks_binary


def cut(chunks: list[bytes], **kwargs) -> list:
    splitter = LineSplitter(**kwargs)
    out = []
    for chunk in chunks:
        out += splitter.feed(chunk)
    return out + splitter.flush()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(["step 1 loss 0.5", "é€😀 ünïcode", "", "Traceback (most recent call last):", "  File x"]), max_size=12),
       st.sampled_from(["\n", "\r\n", "\r"]), st.data())
def test_any_chunking_gives_the_same_lines(parts, newline, data):
    """However a writer splits its writes, the lines are the same (never split, dropped or repeated)."""
    payload = "".join(part + newline for part in parts).encode()
    cuts = sorted(data.draw(st.lists(st.integers(0, len(payload)), max_size=8)))
    chunks = [payload[a:b] for a, b in zip([0, *cuts], [*cuts, len(payload)])]
    assert [line.text for line in cut(chunks)] == parts
    whole = cut([payload])
    pieces = cut(chunks)
    assert [(line.text, line.line_no) for line in pieces] == [(line.text, line.line_no) for line in whole]
    # A \r\n split across two reads is emitted at its \r (no waiting), so the offset is one byte short.
    slack = 1 if newline == "\r\n" else 0
    assert all(0 <= w.end_offset - p.end_offset <= slack for p, w in zip(pieces, whole))


def test_crlf_split_across_reads_is_one_terminator():
    lines = cut([b"a\r", b"\nb\n"])
    assert [(l.text, l.line_no) for l in lines] == [("a", 1), ("b", 2)]
    assert lines[-1].end_offset == 5


def test_progress_redraws_are_lines_sharing_a_physical_line_number():
    lines = cut([b"start\n\r 10%|#  |\r 20%|## |\r 30%|###|\ndone\n"])
    assert [(l.text, l.line_no) for l in lines] == [("start", 1), ("", 2), (" 10%|#  |", 2), (" 20%|## |", 2), (" 30%|###|", 2), ("done", 3)]


def test_nul_bytes_dropped_and_counted_invalid_utf8_replaced():
    nul, bad = cut([b"\x00" * 5000 + b"after truncation\n", b"caf\xe9 \xff\xfe ok\n"])
    assert nul.text == "after truncation" and nul.nul_bytes == 5000 and not nul.cut
    assert bad.text == "caf\ufffd \ufffd\ufffd ok" and bad.invalid_utf8


def test_ansi_and_control_characters_removed_tabs_kept():
    (line,) = cut([b"\x1b[31mERROR\x1b[0m\tbad \x07bell\n"])
    assert line.text == "ERROR\tbad bell"


def test_ten_megabyte_line_is_cut_flagged_and_memory_stays_bounded():
    splitter = LineSplitter(max_line_bytes=4096)
    big = b"x" * (1 << 20)
    out = []
    for _ in range(10):
        out += splitter.feed(big)
        assert splitter.pending <= 10 << 20 and len(splitter._buf) <= 4096  # noqa: SLF001 - the bound itself
    out += splitter.feed(b"\nnext line\n")
    assert [(l.cut, len(l.text), l.raw_len) for l in out] == [(True, 4096, 10 << 20), (False, 9, 9)]


def test_cut_never_ends_inside_a_utf8_character():
    (line,) = cut(["é".encode() * 100 + b"\n"], max_line_bytes=31)
    assert line.cut and not line.invalid_utf8 and set(line.text) == {"é"}


def test_unterminated_last_line_only_on_flush():
    splitter = LineSplitter()
    assert splitter.feed(b"partial") == []
    (line,) = splitter.flush()
    assert line.text == "partial" and not line.terminated


def test_binary_detection():
    assert looks_binary(b"step 1 loss 0.3\n" * 100) is None
    assert looks_binary(b"\x00" * 8000 + b"a line after a sparse hole\n") is None  # copy-truncate leftovers are text
    assert "gzip" in looks_binary(b"\x1f\x8b\x08\x00" + bytes(range(256)) * 4)
    assert looks_binary(bytes(range(256)) * 16) is not None
    assert looks_binary("日本語のログ行です\n".encode() * 50) is None

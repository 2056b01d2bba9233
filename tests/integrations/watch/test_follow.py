"""Following real files like tail -F: appends in pieces, truncation, rotations, editors, NUL holes, resume.

Every test writes real files with real writers and checks the exact line sequence: nothing split,
dropped or repeated.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from integrations.watch.errors import BinaryFileError, StateFileError
from integrations.watch.follow import FileFollower
from integrations.watch.state import StateStore

from .conftest import drain, texts


def write(path: Path, data: str | bytes, mode: str = "ab") -> None:
    with open(path, mode) as handle:
        handle.write(data.encode() if isinstance(data, str) else data)


def numbered(prefix: str, a: int, b: int) -> str:
    return "".join(f"{prefix} {i}\n" for i in range(a, b))


def test_starts_at_end_with_right_line_numbers(tmp_path, follow):
    log = tmp_path / "train.log"
    write(log, numbered("old", 0, 5))
    follower = follow(log)
    assert follower.first_lines == [] and follower.read() == []
    write(log, numbered("new", 0, 3))
    lines = drain(follower, 3)
    assert texts(lines) == ["new 0", "new 1", "new 2"]
    assert [line.line_no for line in lines] == [6, 7, 8]


def test_from_start_reads_existing_lines(tmp_path, follow):
    log = tmp_path / "train.log"
    write(log, numbered("l", 0, 4))
    follower = follow(log, from_start=True)
    assert texts(follower.first_lines + drain(follower, 0)) == ["l 0", "l 1", "l 2", "l 3"]


def test_a_line_written_in_pieces_is_one_line(tmp_path, follow):
    log = tmp_path / "train.log"
    log.touch()
    follower = follow(log)
    for piece in ["Runtime", "Error: CUDA out ", "of memory"]:
        write(log, piece)
        assert follower.read() == []
    write(log, "\nnext\n")
    assert texts(drain(follower, 2)) == ["RuntimeError: CUDA out of memory", "next"]


def test_missing_file_is_waited_for_then_read_from_its_start(tmp_path, follow, notices):
    log = tmp_path / "later" / "train.log"
    follower = follow(log)
    assert follower.read() == []
    assert any("does not exist yet" in n for n in notices)
    log.parent.mkdir()
    write(log, numbered("first", 0, 3))
    assert texts(drain(follower, 3)) == ["first 0", "first 1", "first 2"]


def test_truncation_rereads_from_start_and_says_so(tmp_path, follow, notices):
    log = tmp_path / "train.log"
    write(log, numbered("a", 0, 3))
    follower = follow(log, from_start=True)
    assert len(follower.first_lines) == 3
    with open(log, "r+b") as handle:
        handle.truncate(0)
    write(log, numbered("b", 0, 2))
    lines = drain(follower, 2)
    assert texts(lines) == ["b 0", "b 1"] and [l.line_no for l in lines] == [1, 2]
    assert any("truncated" in n for n in notices)


def test_truncation_then_regrowth_past_the_offset_is_detected(tmp_path, follow, notices):
    log = tmp_path / "train.log"
    write(log, "short\n")
    follower = follow(log, from_start=True)
    assert texts(follower.first_lines) == ["short"]
    # Rewritten in place with more bytes than we had read, between two checks.
    write(log, "a much longer first line\nsecond\n", mode="wb")
    assert texts(drain(follower, 2)) == ["a much longer first line", "second"]
    assert any("rewritten" in n or "truncated" in n for n in notices)


def test_rename_and_recreate_finishes_the_old_file_first(tmp_path, follow, notices):
    log = tmp_path / "train.log"
    writer = open(log, "ab", buffering=0)
    writer.write(numbered("old", 0, 3).encode())
    follower = follow(log, from_start=True)
    assert len(follower.first_lines) == 3
    os.rename(log, tmp_path / "train.log.1")
    writer.write(b"old 3, after the rename\nold 4 unterminated")  # the writer has not reopened yet
    writer.close()
    write(log, numbered("new", 0, 2))
    lines = drain(follower, 4)
    assert texts(lines) == ["old 3, after the rename", "old 4 unterminated", "new 0", "new 1"]
    assert [l.line_no for l in lines] == [4, 5, 1, 2]
    assert any("rotated" in n for n in notices)


def test_copy_truncate_recovers_lines_written_before_the_copy(tmp_path, follow, notices):
    log = tmp_path / "train.log"
    write(log, numbered("a", 0, 3))
    follower = follow(log, from_start=True, poll=True)  # no reads happen between our writes below
    assert len(follower.first_lines) == 3
    write(log, numbered("unread", 0, 2))
    shutil.copyfile(log, tmp_path / "train.log.1")  # logrotate copytruncate: copy, then truncate
    with open(log, "r+b") as handle:
        handle.truncate(0)
    write(log, numbered("c", 0, 2))
    assert texts(drain(follower, 4)) == ["unread 0", "unread 1", "c 0", "c 1"]
    assert any("copy-truncate" in n for n in notices)


def test_editor_replacing_the_file_repeats_nothing(tmp_path, follow, notices):
    log = tmp_path / "notes.log"
    write(log, numbered("kept", 0, 3))
    follower = follow(log, from_start=True)
    assert len(follower.first_lines) == 3
    tmp = tmp_path / ".notes.log.swp"
    tmp.write_bytes(log.read_bytes() + b"added in the editor\n")
    os.replace(tmp, log)  # how vim (backupcopy=no), sed -i and most editors save
    lines = drain(follower, 1)
    time.sleep(0.2)
    lines += follower.read()
    assert texts(lines) == ["added in the editor"] and lines[0].line_no == 4
    assert any("same beginning" in n for n in notices)


def test_deleted_then_recreated(tmp_path, follow, notices):
    log = tmp_path / "train.log"
    write(log, "one\n")
    follower = follow(log, from_start=True)
    assert texts(follower.first_lines) == ["one"]
    log.unlink()
    assert follower.read() == []
    assert any("disappeared" in n for n in notices)
    write(log, "two\n")
    assert texts(drain(follower, 1)) == ["two"]


def test_nul_hole_left_by_a_writer_that_keeps_its_offset(tmp_path, follow):
    log = tmp_path / "train.log"
    fd = os.open(log, os.O_WRONLY | os.O_CREAT, 0o644)  # no O_APPEND: the writer keeps its offset
    os.write(fd, numbered("before", 0, 50).encode())
    follower = follow(log, from_start=True)
    assert len(follower.first_lines) == 50
    os.truncate(log, 0)  # copy-truncate under this writer
    os.write(fd, b"after the hole\n")
    os.close(fd)
    lines = drain(follower, 1)
    assert texts(lines) == ["after the hole"] and lines[0].nul_bytes > 0


def test_polling_mode(tmp_path, follow):
    log = tmp_path / "train.log"
    log.touch()
    follower = follow(log, poll=True, poll_interval=0.05)
    write(log, "polled\n")
    assert texts(drain(follower, 1)) == ["polled"]


def test_binary_file_is_refused(tmp_path):
    blob = tmp_path / "model.bin"
    blob.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(BinaryFileError) as err:
        FileFollower(blob).read()
    assert err.value.exit_code == 2 and "not a text log" in str(err.value)


# ---------------------------------------------------------------------------------------- --state


def _handled_all(follower: FileFollower, store: StateStore, lines) -> None:
    store.set(follower.path, follower.position_after(lines[-1]))
    store.save()


def test_state_resumes_without_repeating_or_missing(tmp_path):
    log, state = tmp_path / "train.log", tmp_path / "watch.state"
    write(log, numbered("a", 0, 3))
    store = StateStore(state)
    first = FileFollower(log, from_start=True, state=store)
    lines = drain(first, 3)
    _handled_all(first, store, lines)
    first.close()
    write(log, numbered("b", 0, 2))  # written while no watcher ran
    second = FileFollower(log, state=StateStore(state))
    resumed = drain(second, 2)
    second.close()
    assert texts(resumed) == ["b 0", "b 1"] and [l.line_no for l in resumed] == [4, 5]


def test_state_finishes_a_file_rotated_while_stopped(tmp_path):
    log, state = tmp_path / "train.log", tmp_path / "watch.state"
    write(log, numbered("a", 0, 2))
    store = StateStore(state)
    first = FileFollower(log, from_start=True, state=store)
    _handled_all(first, store, drain(first, 2))
    first.close()
    write(log, "a 2, missed unless the old file is found\n")
    os.rename(log, tmp_path / "train.log.1")
    write(log, "new 0\n")
    notes: list[str] = []
    second = FileFollower(log, state=StateStore(state), notice=notes.append)
    lines = drain(second, 2)
    second.close()
    assert texts(lines) == ["a 2, missed unless the old file is found", "new 0"]
    assert any("rotated while the watcher was stopped" in n for n in notes)


def test_state_after_truncation_while_stopped_reads_from_start(tmp_path):
    log, state = tmp_path / "train.log", tmp_path / "watch.state"
    write(log, numbered("a", 0, 5))
    store = StateStore(state)
    first = FileFollower(log, from_start=True, state=store)
    _handled_all(first, store, drain(first, 5))
    first.close()
    write(log, "fresh\n", mode="wb")
    second = FileFollower(log, state=StateStore(state))
    assert texts(drain(second, 1)) == ["fresh"]
    second.close()


def test_state_file_that_is_not_ours_is_refused_and_left_alone(tmp_path):
    state = tmp_path / "precious.json"
    state.write_text('{"something": "else"}')
    with pytest.raises(StateFileError):
        StateStore(state)
    assert state.read_text() == '{"something": "else"}'


# ---------------------------------------------------------------------------------------- GNU tail -F


@pytest.mark.skipif(shutil.which("tail") is None, reason="GNU tail not installed")
def test_same_lines_as_gnu_tail_F_across_appends_rotation_and_truncation(tmp_path, follow):
    """Run GNU ``tail -F`` and the follower side by side on one scripted life of a log."""
    log = tmp_path / "train.log"
    write(log, numbered("boot", 0, 3))
    tail = subprocess.Popen(["tail", "-F", "-n", "+1", "-s", "0.05", str(log)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    follower = follow(log, from_start=True)
    got = follower.first_lines

    def settle() -> None:
        time.sleep(1.2)  # let both notice (tail polls every 0.05 s, inotify wakes us)

    try:
        time.sleep(0.5)
        write(log, "piece one, ")
        write(log, "piece two\n" + numbered("step", 0, 4))
        settle()
        got += follower.read()
        os.rename(log, tmp_path / "train.log.1")
        write(log, numbered("rotated", 0, 3))
        settle()
        got += drain(follower, 3)
        with open(log, "r+b") as handle:
            handle.truncate(0)
        settle()
        got += follower.read()
        write(log, numbered("after-truncate", 0, 2))
        settle()
        got += drain(follower, 2)
        time.sleep(0.5)
    finally:
        tail.terminate()
        out, _ = tail.communicate(timeout=5)
    tail_lines = out.decode().splitlines()
    expected = ["boot 0", "boot 1", "boot 2", "piece one, piece two", "step 0", "step 1", "step 2", "step 3",
                "rotated 0", "rotated 1", "rotated 2", "after-truncate 0", "after-truncate 1"]
    assert tail_lines == expected
    assert texts(got) == tail_lines


def test_ten_megabyte_line_in_a_real_file_is_cut_and_flagged(tmp_path, follow):
    log = tmp_path / "train.log"
    log.touch()
    follower = follow(log, max_line_bytes=65536)
    with open(log, "ab") as handle:
        for _ in range(10):
            handle.write(b"x" * (1 << 20))
        handle.write(b"\nRuntimeError: after the long line\n")
    lines = drain(follower, 2)
    assert [(l.cut, len(l.text), l.raw_len) for l in lines] == [(True, 65536, 10 << 20), (False, 33, 33)]

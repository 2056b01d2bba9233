"""Records, progress bars and shapes on the real training logs (exact rules: no model involved)."""

from __future__ import annotations

import sys

import pytest

from integrations.watch.lines import Line, LineSplitter
from integrations.watch.progress import parse_progress
from integrations.watch.records import RecordAssembler
from integrations.watch.shape import line_shape

from .conftest import REAL_LOGS

sys.path.insert(0, str(REAL_LOGS))
import reallogs  # noqa: E402

ALL_LOGS = reallogs.load()


def records_of(data: bytes, gap: float = 1e9):
    splitter, assembler = LineSplitter(), RecordAssembler(gap)
    out = []
    for line in splitter.feed(data) + splitter.flush():
        out += assembler.feed(line)
    return out + assembler.flush()


@pytest.mark.parametrize("log", ALL_LOGS, ids=lambda log: f"{log.split}/{log.name}")
def test_records_cover_every_line_once_in_order(log):
    seen = [line.text for record in records_of(log.path.read_bytes()) for line in record.lines]
    assert seen == log.lines


@pytest.mark.parametrize("log", [l for l in ALL_LOGS if any("Traceback (most recent" in t for t in l.lines)], ids=lambda log: log.name)
def test_every_labelled_traceback_lies_inside_one_record(log):
    """A traceback is one record however its frames look (carets, chained sections, torchrun boxes)."""
    index = 0
    spans = []
    for record in records_of(log.path.read_bytes()):
        spans.append((index + 1, index + len(record.lines), record))
        index += len(record.lines)
    for i, text in enumerate(log.lines, 1):
        if "Traceback (most recent call last)" not in text:
            continue
        start, end, record = next(span for span in spans if span[0] <= i <= span[1])
        assert record.kind == "traceback"
        # the labelled alert block around this header ends inside the same record
        j = i
        while j + 1 <= len(log.lines) and (j + 1 in log.kinds or not log.lines[j].strip()) and j + 1 <= end:
            j += 1
        assert log.kinds.get(i) and all(log.kinds.get(k) or not log.lines[k - 1].strip() for k in range(i, end + 1)), (start, end)


def test_traceback_summary_is_the_final_exception_line():
    data = (REAL_LOGS / "eval" / "torch-b-worker-error.log").read_bytes()
    (record,) = [r for r in records_of(data) if r.kind == "traceback"]
    assert record.texts == ["ValueError: could not parse record 300: expected 16 features, got 'NaN,,3.2'"]
    assert len(record.lines) == 30


def test_torchrun_prefixes_and_failure_box():
    data = (REAL_LOGS / "eval" / "dist-crash.log").read_bytes()
    tracebacks = [r for r in records_of(data) if r.kind == "traceback"]
    assert [r.prefix for r in tracebacks] == ["[rank1]: ", "[rank0]: ", ""]
    assert tracebacks[-1].lines[-1].text.startswith("=====") and tracebacks[-1].texts == ["torch.distributed.elastic.multiprocessing.errors.ChildFailedError:"]


def test_warning_and_its_source_line_are_one_block():
    data = b"/x/loop.py:92: UserWarning: To copy construct from a tensor, use clone()\n  t = torch.tensor(x)\nstep 1 loss 0.3\n"
    records = records_of(data)
    assert [(r.kind, len(r.lines)) for r in records] == [("block", 2), ("line", 1)]
    assert records[0].texts == ["/x/loop.py:92: UserWarning: To copy construct from a tensor, use clone()", "t = torch.tensor(x)"]


def test_indented_line_after_the_gap_is_its_own_record():
    assembler = RecordAssembler(gap_s=0.1)
    first = Line("summary:", 1, arrived=100.0)
    late = Line("   loss: nan", 2, arrived=101.0)
    assert assembler.feed(first) == []
    (closed,) = assembler.feed(late)
    assert closed.lines == [first]
    (alone,) = assembler.flush()
    assert alone.lines == [late] and alone.kind == "line"


def test_open_record_closes_after_the_gap():
    assembler = RecordAssembler(gap_s=0.1)
    assembler.feed(Line("Killed", 1, arrived=10.0))
    assert assembler.expire(10.05) == []
    (record,) = assembler.expire(10.11)
    assert record.texts == ["Killed"]


def test_segfault_report_after_a_progress_bar_is_one_stack():
    data = (REAL_LOGS / "train" / "torch-a-segfault.log").read_bytes()
    (stack,) = [r for r in records_of(data) if r.kind == "stack"]
    assert stack.texts == ["Fatal Python error: Segmentation fault"]
    assert stack.lines[-1].text.startswith("Extension modules:")


@pytest.mark.parametrize(
    "text, kind, sent",
    [
        ("epoch 0:  12%|█▎        | 4/32 [00:00<00:02, 11.28it/s, loss=nan]", "tqdm", "epoch 0: loss=nan"),
        (" 10%|█         | 3/30 [00:00<00:02, 12.10it/s]", "tqdm", ""),
        (" 20%|██        | 8/40 [00:00<00:00, 69.88it/s]Terminated", "tqdm", "Terminated"),
        ("Downloading: 45it [00:01, 30.12it/s]", "tqdm", ""),
        ("12/100 [==>...........] - ETA: 3s - loss: nan - accuracy: 0.1", "keras", "loss: nan - accuracy: 0.1"),
        ("━━━━━━━━━━━━━━━━━━━━╸━━━━━━━ 65% 0:00:02", "generic", ""),
    ],
)
def test_progress_bars(text, kind, sent):
    bar = parse_progress(text)
    assert bar is not None and bar.kind == kind and bar.text == sent


@pytest.mark.parametrize("text", ["[rank 0] step 5/30 | loss 4.19 | allreduce ok", "RuntimeError: shapes (16x16 and 20x32)", "100% of tests passed"])
def test_not_progress_bars(text):
    assert parse_progress(text) is None


def test_shapes_share_values_but_keep_nan_and_magnitude():
    assert line_shape("step 4100 loss 2.871 lr 2.4e-04") == line_shape("step 12 loss 0.5 lr 1e-3")
    assert line_shape("pid 1234 at 0x7f3a1c2b4740 in /a/b/c.py 2026-12-01T00:46:52Z") == line_shape("pid 9 at 0xdeadbeef in /x/y.py 2025-01-02T03:04:05Z")
    assert line_shape("loss nan") != line_shape("loss 0.3")
    assert line_shape("loss inf") != line_shape("loss 0.3")
    assert line_shape("loss=16056408064.0000") != line_shape("loss=0.7281")
    assert line_shape("[job] exit code 0") != line_shape("[job] exit code 137")
    assert line_shape("run.sh: status 143") != line_shape("run.sh: status 0")
    assert line_shape("Errno 28 No space left") != line_shape("Errno 2 No such file")

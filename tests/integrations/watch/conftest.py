"""Helpers for the watcher's tests: real files, real writers, a follower driven until lines arrive."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from integrations.watch.follow import FileFollower

REPO = Path(__file__).resolve().parents[3]
REAL_LOGS = REPO / "programs" / "data" / "logs"


def drain(follower: FileFollower, want: int, timeout: float = 10.0) -> list:
    """Read until ``want`` lines arrived (or timeout); waits on the follower like the watcher does."""
    lines: list = []
    deadline = time.monotonic() + timeout
    while len(lines) < want and time.monotonic() < deadline:
        lines += follower.read()
        if len(lines) < want:
            follower.wait(0.05)
    return lines


def texts(lines) -> list[str]:
    return [line.text for line in lines]


@pytest.fixture
def notices() -> list[str]:
    return []


@pytest.fixture
def follow(tmp_path, notices):
    made: list[FileFollower] = []

    def make(path: Path, **kwargs) -> FileFollower:
        follower = FileFollower(path, notice=notices.append, **kwargs)
        follower.start()
        made.append(follower)
        follower.first_lines = follower.read()  # the watcher's first check happens when it starts
        return follower

    yield make
    for follower in made:
        follower.close()

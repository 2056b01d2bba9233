"""Generate the deadline extractor's train and held-out sets: a task message -> its deadline phrase, or NONE.

The output is the date/time words copied from the message without the preposition ("by", "before",
"due", "no later than"), so exact match is well defined. The splits differ in the deadline
vocabulary, the sentence shapes and the tasks, and both contain dates that are *not* deadlines
(meetings, past events) whose answer is NONE, which is what makes this a fuzzy function and not a regex.

    python programs/data/gen_deadline.py           # rewrites deadline.{train,heldout}.jsonl
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable
from pathlib import Path

from pawflow.storage import atomic_write_text

HERE = Path(__file__).resolve().parent
Row = dict[str, str]
Gen = Callable[[random.Random], Row]

TRAIN_WHEN = [
    "Friday", "tomorrow", "end of day", "Monday morning", "next week", "5pm today", "the 15th",
    "March 3", "Thursday at noon", "end of the month", "tonight", "Wednesday", "10am tomorrow",
    "the end of the sprint", "April 12", "Tuesday EOD",
]
HELD_WHEN = [
    "EOD Thursday", "noon on the 21st", "June 30", "the end of Q3", "Saturday night", "9:30 tomorrow",
    "close of business", "the 1st of August", "next Monday", "this weekend", "midnight", "Oct 4th",
    "the board meeting", "lunch", "Sunday 6pm",
]
TRAIN_TASKS = [
    "send me the slides", "review the pull request", "finish the budget draft", "book the flights",
    "update the onboarding doc", "file the expense report", "fix the login bug", "call the landlord",
]
HELD_TASKS = [
    "sign the NDA", "renew the SSL certificate", "submit the grant application", "order the catering",
    "migrate the staging database", "return the rental car", "write the release notes", "pay the electricity bill",
]


def _has(when: str, task: str, template: str) -> Row:
    return {"input": template.format(when=when, task=task), "output": when}


def _none(text: str) -> Row:
    return {"input": text, "output": "NONE"}


TRAIN: list[Gen] = [
    lambda r: _has(r.choice(TRAIN_WHEN), r.choice(TRAIN_TASKS), "Can you {task} by {when}?"),
    lambda r: _has(r.choice(TRAIN_WHEN), r.choice(TRAIN_TASKS), "Please {task} before {when}."),
    lambda r: _has(r.choice(TRAIN_WHEN), r.choice(TRAIN_TASKS), "reminder: {task}, due {when}"),
    lambda r: _has(r.choice(TRAIN_WHEN), r.choice(TRAIN_TASKS), "need you to {task} no later than {when} thx"),
    lambda r: _has(r.choice(TRAIN_WHEN), r.choice(TRAIN_TASKS), "By {when} we have to {task}."),
    lambda r: _none(f"Could you {r.choice(TRAIN_TASKS)} when you get a chance?"),
    lambda r: _none(f"We talked about it on {r.choice(['Monday', 'Friday', 'the 3rd'])}, let's {r.choice(TRAIN_TASKS)} at some point."),
    lambda r: _none(f"thanks for helping {r.choice(TRAIN_TASKS).split(' ', 1)[1]} yesterday!"),
    lambda r: _none(f"no rush, just {r.choice(TRAIN_TASKS)} whenever"),
]

HELD: list[Gen] = [
    lambda r: _has(r.choice(HELD_WHEN), r.choice(HELD_TASKS), "Hi! Just a heads-up that we need to {task} by {when}, otherwise we lose the slot."),
    lambda r: _has(r.choice(HELD_WHEN), r.choice(HELD_TASKS), "[todo] {task} (due {when})"),
    lambda r: _has(r.choice(HELD_WHEN), r.choice(HELD_TASKS), "Whoever is free: {task}. Hard deadline is before {when}."),
    lambda r: _has(r.choice(HELD_WHEN), r.choice(HELD_TASKS), "@team someone has to {task} no later than {when}, any volunteers?"),
    lambda r: _none(f"Great job last sprint! Next up we should {r.choice(HELD_TASKS)}, but there's no fixed date yet."),
    lambda r: _none(f"Remember when we had to {r.choice(HELD_TASKS)} last {r.choice(['June', 'winter', 'Tuesday'])}? What a mess."),
    lambda r: _none(f"FYI I'll {r.choice(HELD_TASKS)} myself, nothing needed from you."),
]


def sample(families: list[Gen], count: int, r: random.Random) -> list[Row]:
    rows: list[Row] = []
    seen: set[str] = set()
    attempts = 0
    while len(rows) < count and attempts < count * 50:
        row = families[attempts % len(families)](r)
        attempts += 1
        if row["input"] not in seen:
            seen.add(row["input"])
            rows.append(row)
    r.shuffle(rows)
    return rows


def build(seed: int = 3141) -> tuple[list[Row], list[Row]]:
    r = random.Random(seed)
    return sample(TRAIN, 240, r), sample(HELD, 100, r)


def write_jsonl(path: Path, rows: list[Row]) -> None:
    atomic_write_text(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


def main(argv: list[str]) -> int:
    train, heldout = build()
    write_jsonl(HERE / "deadline.train.jsonl", train)
    write_jsonl(HERE / "deadline.heldout.jsonl", heldout)
    print(f"deadline: {len(train)} train, {len(heldout)} held-out rows")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

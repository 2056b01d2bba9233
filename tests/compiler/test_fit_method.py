"""The ``fit`` method never calls fitted rows held-out (no model: the trainer is replaced)."""

from __future__ import annotations

import re
import textwrap

import compiler.fit
from compiler.driver import compile_file
from compiler.fit import StepInfo

SOURCE = textwrap.dedent(
    """\
    name: eight
    spec: Say ALERT for a failed login, else QUIET.
    output: {type: labels, labels: [ALERT, QUIET]}
    examples:
      - {input: "Failed password for root", output: ALERT}
      - {input: "Accepted password for bob", output: QUIET}
    compile: {method: fit, options: {pseudo_lm: false, evaluate: false}}
    """
)


class _Stop(Exception):
    pass


def test_without_heldout_rows_progress_shows_no_accuracy(tmp_path, monkeypatch):
    source = tmp_path / "eight.yaml"
    source.write_text(SOURCE)
    seen: dict = {}

    def fake_fit(**kwargs):
        seen.update(kwargs)
        # what fit_lora reports when it had no held-out rows: numbers on fitted rows
        kwargs["callback"](StepInfo(step=1, steps=2, loss=0.5, heldout_loss=0.1, heldout_exact=1.0, eval_split="train"))
        raise _Stop

    notes: list[str] = []
    monkeypatch.setattr(compiler.fit, "fit_lora", fake_fit)
    try:
        compile_file(source, progress=lambda stage, done, total, note="": notes.append(note))
    except _Stop:
        pass
    assert seen["heldout"] == []
    fitting = [n for n in notes if n.startswith("loss")]
    assert fitting and not any(re.search(r"acc \d|held-out (acc|loss)", n) for n in fitting)
    assert "no held-out rows" in fitting[0]

"""The hypernet's data side: synthetic task families, FuzzyBench format, split by task, pseudo-program cache.

No model is loaded here (seconds): answers are checked against their definitions, splits against the
rule that test specs are unseen in both parameters and wording.
"""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from compiler.hypernet.data import FuzzyTask, by_split, load_fuzzybench, split_of, write_fuzzybench
from compiler.hypernet.pseudo_cache import pregenerate, pseudo_key, read_cache
from compiler.hypernet.synthetic import FAMILIES, HELD_OUT_PHRASING, date_task, generate_tasks, list_task, typo_noise
from pawflow.errors import SourceError
from pawflow.program import LabelsOutput, TextOutput


@pytest.fixture(scope="module")
def tasks() -> list[FuzzyTask]:
    return generate_tasks(n_task_draws=330, rows_per_spec=16, seed=3)


def test_every_family_generates_tasks_with_valid_answers(tasks):
    assert {t.family for t in tasks} == set(FAMILIES)
    for task in tasks:
        assert len(task.rows) >= 8 and len({r.input for r in task.rows}) == len(task.rows)
        if isinstance(task.output, LabelsOutput):
            assert {r.output for r in task.rows} <= set(task.output.labels)
            assert len({r.output for r in task.rows}) >= 2, task.spec  # balanced, not one label only
        else:
            assert isinstance(task.output, TextOutput) and all(r.output for r in task.rows)


def test_ground_truth_is_programmatic():
    rng = random.Random(0)
    for _ in range(20):
        task = list_task(rng)
        text, answer = task.sample(rng)
        xs = json.loads(text)
        op = task.task_id.split(":")[1]
        expected = {"first": xs[0], "last": xs[-1], "max": max(xs), "min": min(xs), "sum": sum(xs), "length": len(xs),
                    "sort_asc": sorted(xs), "reverse": xs[::-1]}.get(op)
        if expected is not None:
            assert json.loads(answer) == expected
    task = next(t for t in (date_task(random.Random(i)) for i in range(200)) if t.task_id == "date:iso->eu")
    for _ in range(5):
        text, answer = task.sample(rng)
        year, month, day = text.split("-")
        assert answer == f"{day}/{month}/{year}"


def test_split_keeps_tasks_together_and_test_wording_unseen(tasks):
    splits = by_split(tasks)
    assert all(splits[s] for s in ("train", "val", "test"))
    ids = {s: {t.task_id for t in splits[s]} for s in splits}
    assert not ids["train"] & ids["test"] and not ids["train"] & ids["val"] and not ids["val"] & ids["test"]
    train_specs = {t.spec for t in splits["train"]}
    assert not train_specs & {t.spec for t in splits["test"]}
    # test specs use the reserved phrasing: its opening words never start a training spec of that family
    reserved = {FAMILIES[f](random.Random(0)).phrasings[HELD_OUT_PHRASING].split()[0] for f in ("topic", "case", "list_ops")}
    assert not any(t.spec.split()[0] in reserved and t.family in ("topic", "case", "list_ops") for t in splits["train"])
    # paraphrases: some training task has two specs
    assert max(Counter(t.task_id for t in splits["train"]).values()) == 2
    fractions = Counter(split_of(f"t{i}") for i in range(4000))
    assert 0.77 < fractions["train"] / 4000 < 0.83 and 0.08 < fractions["test"] / 4000 < 0.12


def test_typo_noise_keeps_words_and_changes_some():
    text = "Answer POSITIVE if the sentence mentions animals otherwise NEGATIVE please"
    noisy = typo_noise(text, random.Random(0), rate=0.5)
    assert noisy != text and len(noisy.split()) == len(text.split())
    assert typo_noise(text, random.Random(0), rate=0.0) == text


def test_fuzzybench_round_trip_and_inferred_labels(tasks, tmp_path):
    path = write_fuzzybench(tmp_path / "fb.jsonl", tasks[:20])
    again = load_fuzzybench(path)
    assert [(t.spec, t.task_id, t.split, t.output, t.rows) for t in again] == [(t.spec, t.task_id, t.split, t.output, t.rows) for t in tasks[:20]]
    plain = tmp_path / "plain.jsonl"  # the bare paper format: spec, input, output only
    rows = [{"spec": "Say YES for animals, else NO.", "input": f"a {w}", "output": o}
            for w, o in [("cat", "YES"), ("car", "NO"), ("dog", "YES"), ("pen", "NO"), ("cow", "YES")]]
    rows += [{"spec": "Uppercase it.", "input": w, "output": w.upper()} for w in ("ab", "cd", "ef", "gh")]
    plain.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    loaded = {t.spec: t for t in load_fuzzybench(plain)}
    assert loaded["Say YES for animals, else NO."].output == LabelsOutput(labels=["NO", "YES"])
    assert isinstance(loaded["Uppercase it."].output, TextOutput)
    assert loaded["Uppercase it."].task_id == "Uppercase it."


def test_fuzzybench_errors_name_file_and_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"spec": "x", "input": "a", "output": "b"}\n{"spec": "x", "output": "b"}\n')
    with pytest.raises(SourceError, match=r"bad.jsonl:2"):
        load_fuzzybench(bad)
    few = tmp_path / "few.jsonl"
    few.write_text('{"spec": "x", "input": "a", "output": "b"}\n')
    with pytest.raises(SourceError, match="at least 4"):
        load_fuzzybench(few)


def test_pseudo_programs_are_generated_once_and_resume(tasks, tmp_path):
    path = tmp_path / "pseudo.jsonl"
    items = [(t.spec, t.rows[:3], t.output) for t in tasks[:5]]
    cache = pregenerate(items, path, engine="none")
    assert len(cache) == 5 and len(path.read_text().splitlines()) == 5
    entry = cache[pseudo_key(*items[0])]
    assert entry.spec == items[0][0] and items[0][1][0].input in entry.pseudo_program and entry.pseudo_compiler == "fallback"
    with open(path, "a") as handle:  # a crash mid-append leaves a torn line: ignored, then rewritten
        handle.write('{"key": "abc", "spe')
    assert len(read_cache(path)) == 5
    cache = pregenerate(items + [(tasks[6].spec, tasks[6].rows[:3], tasks[6].output)], path, engine="none")
    assert len(cache) == 6 and len(read_cache(path)) == 6  # the torn line was dropped, not glued to the new one


def test_shipped_checkpoint_is_for_the_embedded_base(base_path):
    """`pawflow compile --method hypernet` works out of the box: a checkpoint for the embedded base ships."""
    from compiler.hypernet.checkpoint import read_info
    from compiler.hypernet.method import SHIPPED, resolve_checkpoint
    from pawflow.base import inspect_base

    assert resolve_checkpoint(None) == SHIPPED
    info = read_info(SHIPPED)
    assert info.interpreter_sha256 == inspect_base(base_path).sha256
    assert info.config.arch.peft == "lora" and info.best_val_loss is not None and info.best_val_loss < 1.0
    assert (SHIPPED / "model.pt").stat().st_size < 20 * 2**20
    with pytest.raises(Exception, match="not a hypernet checkpoint"):
        resolve_checkpoint(SHIPPED.parent)

"""BIG-bench selection and splitting: fixed rule, no evaluation row ever reaches a compile request.

The tests build a small tar.gz in the sdist's layout (the real archive is 358 MB and downloaded only by
the benchmark); when the real archive is already in the user's cache, it is checked too.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from compiler.bigbench import ARCHIVE_NAME, SelectionRule, _selection_key, load_tasks, split_task

ROOT = "bigbench-1.0.0/bigbench/benchmark_tasks"


def make_archive(path: Path, n_tasks: int = 12, n_examples: int = 32) -> Path:
    with tarfile.open(path, "w:gz") as tar:

        def add(name: str, payload: dict) -> None:
            data = json.dumps(payload).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        for index in range(1, n_tasks + 1):
            name = f"c{index:03d}"
            add(
                f"{ROOT}/list_functions/{name}/task.json",
                {
                    "name": name,
                    "description": f'Infer the function. The target function is "add {index}".',
                    "examples": [
                        {"input": f"[{i}, {i + 1}]", "target": f"[{i + index}, {i + 1 + index}]"} for i in range(n_examples)
                    ],
                },
            )
        # Things the rule must ignore: the shot baselines and other tasks.
        add(f"{ROOT}/list_functions/00_shot_baseline/task.json", {"description": "x", "examples": []})
        add(f"{ROOT}/arithmetic/task.json", {"description": "x", "examples": [{"input": "1+1", "target": "2"}]})
    return path


def test_selection_is_the_documented_hash_order(tmp_path):
    archive = make_archive(tmp_path / ARCHIVE_NAME)
    rule = SelectionRule(max_tasks=5)
    tasks = load_tasks(rule, archive)
    expected = sorted((f"c{i:03d}" for i in range(1, 13)), key=_selection_key)[:5]
    assert [t.name for t in tasks] == [f"list_functions/{n}" for n in expected]
    assert load_tasks(rule, archive) == tasks  # deterministic
    assert all(len(t.examples) == 32 and "target function" in t.description for t in tasks)


def test_split_keeps_evaluation_rows_out_of_the_request(tmp_path):
    archive = make_archive(tmp_path / ARCHIVE_NAME)
    rule = SelectionRule(max_tasks=3, train_k=16, n_examples=4, early_stop_k=4, eval_cap=10)
    for task in load_tasks(rule, archive):
        split = split_task(task, rule)
        request = split.request
        assert request.examples == task.examples[:4]
        assert request.train == task.examples[4:12]
        assert request.heldout == task.examples[12:16]  # early stopping only
        assert split.evaluation == task.examples[16:26]
        seen = {row.input for row in [*request.examples, *request.train, *request.heldout]}
        assert not seen & {row.input for row in split.evaluation}
        assert request.spec == task.description and request.output.type == "text"


@pytest.mark.skipif(
    not (Path.home() / ".cache" / "pawflow" / "bigbench" / ARCHIVE_NAME).is_file(),
    reason="the real BIG-bench sdist is not in the default cache (bench/compile.py downloads it)",
)
def test_real_archive_selection():
    archive = Path.home() / ".cache" / "pawflow" / "bigbench" / ARCHIVE_NAME
    tasks = load_tasks(SelectionRule(max_tasks=6), archive)
    assert len(tasks) == 6 and len({t.name for t in tasks}) == 6
    assert all(t.name.startswith("list_functions/c") and len(t.examples) >= 32 for t in tasks)

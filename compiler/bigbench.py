"""BIG-bench tasks as compile requests, read straight from the ``bigbench==1.0.0`` sdist.

The package is never installed (it pins an old TensorFlow stack): ``pip download --no-deps`` fetches
the 358 MB archive once into ``<cache>/bigbench/`` and the ``task.json`` files are read from the tar.

Selection rule (fixed, so numbers are comparable across runs):

* Tasks: the ``list_functions`` subtasks ``c001``..``c250``. Each is one hidden function over lists
  of natural numbers, its description states the function in words ("The target function is
  'remove all but element 3'"), so the description is a real natural-language spec, and every target
  is a short exact-match string.
* Which ones: subtasks ordered by ``sha256("pawflow-bigbench-v1:" + name)``, the first ``max_tasks``
  taken. The hash order is arbitrary but fixed and not chosen by looking at any score.
* Per task, in the task's own order: the first ``train_k`` examples are the train portion (the first
  ``n_examples`` of them also go into the pseudo-program as its examples; ``fit`` fits the LoRA on the
  train portion minus its last ``early_stop_k`` rows, which it uses for early stopping); the remaining
  examples are the evaluation portion, capped at ``eval_cap`` rows, and are never fitted on.

The only training that happens is the per-task LoRA fit that the ``fit`` method performs on that
task's own train portion — which is the method being evaluated.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from compiler.methods import CompileRequest
from pawflow.errors import PawflowError
from pawflow.program import GenerationSettings, TextOutput
from pawflow.source import Example

PACKAGE = "bigbench==1.0.0"
ARCHIVE_NAME = "bigbench-1.0.0.tar.gz"
RULE_ID = "list_functions/cNNN, sha256-ordered, v1"
_SUBTASK = re.compile(r"/benchmark_tasks/list_functions/(c\d{3})/task\.json$")


class SelectionRule(BaseModel):
    """The documented selection rule and its caps; recorded in the benchmark output."""

    model_config = ConfigDict(frozen=True)
    rule: str = RULE_ID
    max_tasks: int = Field(default=6, ge=1, le=250)
    train_k: int = Field(default=16, ge=2)
    n_examples: int = Field(default=4, ge=0)
    early_stop_k: int = Field(default=4, ge=0)
    eval_cap: int = Field(default=16, ge=1)

    def describe(self) -> str:
        return (
            f"{self.rule}: first {self.max_tasks} list_functions subtasks by sha256 order; per task the first "
            f"{self.train_k} examples train ({self.n_examples} shown in the pseudo-program, last {self.early_stop_k} "
            f"only early-stop the fit), up to {self.eval_cap} of the rest are scored"
        )


class BigBenchTask(BaseModel):
    name: str
    description: str
    examples: list[Example]


class TaskSplit(BaseModel):
    """One task as a compile request plus its evaluation rows (kept out of the request on purpose)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    task: str
    request: CompileRequest
    evaluation: list[Example]


def cache_dir() -> Path:
    from pawflow.config import cache_root

    return cache_root() / "bigbench"


def ensure_archive(directory: Path | None = None) -> Path:
    """The sdist, downloaded once with pip (no install, no dependencies) into the cache."""
    directory = directory or cache_dir()
    archive = directory / ARCHIVE_NAME
    if archive.is_file():
        return archive
    directory.mkdir(parents=True, exist_ok=True)
    staging = directory / ".download"
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", PACKAGE, "-d", str(staging)]
    completed = subprocess.run(command, capture_output=True, text=True)
    downloaded = staging / ARCHIVE_NAME
    if completed.returncode != 0 or not downloaded.is_file():
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-3:]
        raise PawflowError(f"could not download {PACKAGE} with pip: {' | '.join(tail)}", hint=f"place {ARCHIVE_NAME} in {directory}")
    downloaded.replace(archive)  # same filesystem: atomic, so a half download is never taken for the archive
    return archive


def _selection_key(name: str) -> str:
    return hashlib.sha256(f"pawflow-bigbench-v1:{name}".encode()).hexdigest()


def load_tasks(rule: SelectionRule, archive: Path | None = None) -> list[BigBenchTask]:
    """Read the selected subtasks' ``task.json`` from the archive (one sequential pass over the tar)."""
    archive = archive or ensure_archive()
    wanted: dict[str, str] = {}
    with tarfile.open(archive, "r:gz") as tar:
        members = {m.name: m for m in tar.getmembers() if _SUBTASK.search(m.name)}
        names = {(_SUBTASK.search(path).group(1)): path for path in members}  # type: ignore[union-attr]
        for name in sorted(names, key=_selection_key)[: rule.max_tasks]:
            handle = tar.extractfile(members[names[name]])
            if handle is None:
                raise PawflowError(f"{archive}: {names[name]} is not a regular file")
            wanted[name] = handle.read().decode("utf-8")
    tasks = []
    for name in sorted(wanted, key=_selection_key):
        raw = json.loads(wanted[name])
        rows = [Example(input=str(e["input"]), output=_target(e["target"])) for e in raw["examples"]]
        tasks.append(BigBenchTask(name=f"list_functions/{name}", description=str(raw["description"]), examples=rows))
    return tasks


def _target(target: object) -> str:
    return str(target[0] if isinstance(target, list) else target)


def split_task(task: BigBenchTask, rule: SelectionRule) -> TaskSplit:
    """Train portion -> the compile request (examples, train, early-stop rows); the rest -> evaluation."""
    train_portion = task.examples[: rule.train_k]
    evaluation = task.examples[rule.train_k :][: rule.eval_cap]
    fit_rows = train_portion[: len(train_portion) - rule.early_stop_k] if rule.early_stop_k else train_portion
    early_stop = train_portion[len(fit_rows) :]
    shown = fit_rows[: rule.n_examples]
    request = CompileRequest(
        name=task.name.replace("/", "-"),
        spec=task.description,
        output=TextOutput(),
        examples=shown,
        train=fit_rows[len(shown) :],
        heldout=early_stop,
        generation=GenerationSettings(max_tokens=48, stop=["\n"]),
        source_sha256=hashlib.sha256(json.dumps([task.name, rule.model_dump()]).encode()).hexdigest(),
        origin=f"bigbench:{task.name}",
    )
    return TaskSplit(task=task.name, request=request, evaluation=evaluation)

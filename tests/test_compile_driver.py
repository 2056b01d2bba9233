"""The compile driver end to end on the embedded base: prompt builds that run, --all change detection,
atomicity under injected failures, the CLI table, and a tiny real LoRA fit."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

import pawflow
from compiler import driver
from compiler.driver import compile_all, compile_file, read_manifest, recorded_key
from pawflow.program import Program

SOURCE = """\
name: {name}
spec: Say ALERT if a training log line shows a failure (NaN loss, out of memory, traceback), else QUIET.
output:
  type: labels
  labels: [ALERT, QUIET]
examples:
  - input: "loss is nan at step 40"
    output: ALERT
  - input: "step 40 loss 0.31"
    output: QUIET
  - input: "CUDA out of memory. Tried to allocate 2.00 GiB"
    output: ALERT
  - input: "Saved checkpoint to ckpt/step_40.pt"
    output: QUIET
data:
  train: data/{name}.train.jsonl
  heldout: data/{name}.heldout.jsonl
generation:
  max_tokens: 4
compile:
  method: prompt
  options:
    pseudo_lm: false
"""

TRAIN = [
    ("Traceback (most recent call last):", "ALERT"),
    ("epoch 1 step 10 loss 2.31", "QUIET"),
    ("RuntimeError: CUDA error: device-side assert triggered", "ALERT"),
    ("eval accuracy 0.81", "QUIET"),
    ("Killed", "ALERT"),
    ("Saving model checkpoint to out/checkpoint-500", "QUIET"),
    ("step 300 | loss inf", "ALERT"),
    ("FutureWarning: this argument is deprecated", "QUIET"),
]
HELDOUT = [("Segmentation fault (core dumped)", "ALERT"), ("epoch 3 step 900 loss 1.02", "QUIET")]


def make_sources(folder: Path, names=("alpha", "beta")) -> list[Path]:
    (folder / "data").mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        for split, rows in (("train", TRAIN), ("heldout", HELDOUT)):
            (folder / "data" / f"{name}.{split}.jsonl").write_text(
                "".join(json.dumps({"input": i, "output": o}) + "\n" for i, o in rows)
            )
        path = folder / f"{name}.yaml"
        path.write_text(SOURCE.format(name=name))
        paths.append(path)
    return paths


def test_prompt_compile_builds_a_program_that_runs(tmp_path):
    (source,) = make_sources(tmp_path, ("alpha",))
    report = compile_file(source)
    assert report.status == "built" and report.out == tmp_path / "build" / "alpha.paw"
    program = Program.read(report.out)
    details = program.meta.pawflow.compile.details
    assert program.meta.pawflow.compile.method == "prompt" and program.adapter is None
    assert details["pseudo_compiler"] == "fallback" and details["build_key"] == report.build_key
    assert details["heldout_n"] == 2 and 0.0 <= details["heldout_em"] <= 1.0
    assert "Input: loss is nan at step 40" in program.pseudo_program
    fn = pawflow.load(report.out)
    result = fn.run("OSError: [Errno 28] No space left on device")
    assert result.value in ("ALERT", "QUIET") and abs(sum(result.scores.values()) - 1) < 1e-6
    manifest = read_manifest(tmp_path / "build" / "manifest.json")
    assert manifest.programs["alpha"].build_key == report.build_key


def test_all_skips_unchanged_and_rebuilds_changed(tmp_path):
    alpha, beta = make_sources(tmp_path)
    first = {r.name: r for r in compile_all(tmp_path)}
    assert {r.status for r in first.values()} == {"built"}
    before = {name: (tmp_path / "build" / f"{name}.paw").read_bytes() for name in ("alpha", "beta")}

    second = {r.name: r for r in compile_all(tmp_path)}
    assert {r.status for r in second.values()} == {"skipped"}
    assert all((tmp_path / "build" / f"{n}.paw").read_bytes() == before[n] for n in before)

    # A data change (not the YAML) changes alpha's key; beta stays up to date.
    with (tmp_path / "data" / "alpha.train.jsonl").open("a") as handle:
        handle.write(json.dumps({"input": "NCCL watchdog timeout", "output": "ALERT"}) + "\n")
    third = {r.name: r for r in compile_all(tmp_path)}
    assert third["alpha"].status == "built" and third["alpha"].reason == "changed"
    assert third["beta"].status == "skipped"
    assert recorded_key(tmp_path / "build" / "alpha.paw") == third["alpha"].build_key != first["alpha"].build_key

    # The same method and options given as flags are the same build; a deleted build is rebuilt;
    # --force rebuilds everything.
    assert compile_all(tmp_path, overrides={"pseudo_lm": False}, method="prompt")[0].status == "skipped"
    (tmp_path / "build" / "beta.paw").unlink()
    fourth = {r.name: r for r in compile_all(tmp_path)}
    assert fourth["beta"].status == "built" and fourth["beta"].reason == "new" and fourth["alpha"].status == "skipped"
    assert {r.status for r in compile_all(tmp_path, force=True)} == {"built"}


def test_all_reports_a_broken_source_and_builds_the_rest(tmp_path):
    make_sources(tmp_path)
    (tmp_path / "broken.yaml").write_text("name: broken\nspec: x\noutput: {type: labels, labels: [A]}\n")
    reports = {r.name: r for r in compile_all(tmp_path)}
    assert reports["broken"].status == "failed" and "broken.yaml:3" in reports["broken"].reason
    assert reports["alpha"].status == reports["beta"].status == "built"


def _build_files(folder: Path) -> list[str]:
    return sorted(p.name for p in (folder / "build").iterdir()) if (folder / "build").exists() else []


@pytest.mark.parametrize("failure", [RuntimeError("disk on fire"), KeyboardInterrupt()])
def test_failure_mid_compile_leaves_no_partial_program(tmp_path, monkeypatch, failure):
    (source,) = make_sources(tmp_path, ("alpha",))
    out = tmp_path / "build" / "alpha.paw"

    # 1) the method itself fails (as a fit would, part-way): nothing is created.
    from compiler.methods import PromptMethod

    def explode(self, *args, **kwargs):
        raise failure

    with monkeypatch.context() as patch:
        patch.setattr(PromptMethod, "run", explode)
        with pytest.raises(type(failure)):
            compile_file(source)
    assert not out.exists() and _build_files(tmp_path) == []

    # 2) an older good build exists and the failure hits while the archive is being written:
    #    the old program survives byte for byte and no temporary file is left behind.
    compile_file(source)
    old = out.read_bytes()
    real_to_bytes = Program.to_bytes

    def half_written(self):
        data = real_to_bytes(self)
        raise failure

    with monkeypatch.context() as patch:
        patch.setattr(Program, "to_bytes", half_written)
        with pytest.raises(type(failure)):
            compile_file(source, overrides={"evaluate": False})
    assert out.read_bytes() == old
    assert _build_files(tmp_path) == ["alpha.paw", "manifest.json"]


def test_failed_fit_leaves_no_program(tmp_path, monkeypatch):
    """Inject the failure into the real fit module: the driver must not write anything."""
    import compiler.fit

    (source,) = make_sources(tmp_path, ("alpha",))

    def fit_crash(**kwargs):
        assert kwargs["train"] and kwargs["heldout"]  # the driver handed over train and held-out rows
        raise KeyboardInterrupt

    monkeypatch.setattr(compiler.fit, "fit_lora", fit_crash)
    with pytest.raises(KeyboardInterrupt):
        compile_file(source, method="fit")
    assert _build_files(tmp_path) == []


def test_cli_compile_all_prints_a_table(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from pawflow.cli.main import app

    make_sources(tmp_path)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(app, ["compile", "--all", "--programs", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert payload["summary"] == {"built": 2, "skipped": 0, "failed": 0}
    result = runner.invoke(app, ["compile", "--all", "--programs", str(tmp_path)])
    assert result.exit_code == 0 and "skipped" in result.stdout and "alpha" in result.stdout
    result = runner.invoke(app, ["compile"])
    assert result.exit_code != 0


def test_early_stop_split_train_holds_back_the_last_train_rows(tmp_path, monkeypatch):
    """With early_stop_split=train the fit never sees data.heldout, so scoring on it stays clean."""
    import compiler.fit

    (source,) = make_sources(tmp_path, ("alpha",))
    captured = {}

    def capture(**kwargs):
        captured.update(kwargs)
        raise RuntimeError("stop after capturing the arguments")

    monkeypatch.setattr(compiler.fit, "fit_lora", capture)
    with pytest.raises(RuntimeError):
        compile_file(source, method="fit", overrides={"early_stop_split": "train", "early_stop_rows": 3})
    assert captured["heldout"] == TRAIN[-3:]
    assert captured["train"][-1] == TRAIN[-4] and len(captured["train"]) == 4 + len(TRAIN) - 3
    assert not set(captured["train"]) & set(HELDOUT) and not set(captured["heldout"]) & set(HELDOUT)
    with pytest.raises(RuntimeError):
        compile_file(source, method="fit", overrides={"early_stop_rows": 1})
    assert captured["heldout"] == HELDOUT[:1]  # default: the first rows of data.heldout
    from pawflow.errors import CompileError

    with pytest.raises(CompileError, match="needs more than 8 train rows"):
        compile_file(source, method="fit", overrides={"early_stop_split": "train", "early_stop_rows": 8})
    assert _build_files(tmp_path) == []


@pytest.mark.slow
def test_tiny_fit_through_the_driver(tmp_path):
    """A real (short) LoRA fit: the .paw carries an adapter llama.cpp loads, plus the fit's record."""
    (source,) = make_sources(tmp_path, ("alpha",))
    report = compile_file(source, method="fit", overrides={"steps": 3, "batch_size": 4, "quant": "q4_0"})
    program = Program.read(report.out)
    details = program.meta.pawflow.compile.details
    assert program.meta.pawflow.compile.method == "fit"
    assert program.adapter is not None and program.adapter[:4] == b"GGUF"
    assert details["steps"] == 3 and details["quant"] == "q4_0" and details["seed"] == 0
    assert set(details["adapter_bytes"]) == {"f16", "q8_0", "q4_0"}
    assert details["adapter_bytes"]["q4_0"] == len(program.adapter) < details["adapter_bytes"]["f16"]
    assert 0.0 <= details["llama_cpp_agreement"] <= 1.0 and details["agreement_n"] == len(HELDOUT)
    assert details["rows_fitted"] == 4 + len(TRAIN)
    assert pawflow.load(report.out)("Killed") in ("ALERT", "QUIET")

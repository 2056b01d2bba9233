"""``pawflow run | validate | graph | pipeline schema`` through the real CLI, including a batch killed
with SIGKILL mid-run and resumed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pawflow.cli.main import app
from pawflow.errors import ConfigError, PipelineError
from pawflow.pipeline import json_schema
from pawflow.pipeline.batch import done_ids

REPO = Path(__file__).resolve().parent.parent
runner = CliRunner()

SIMPLE = """
name: simple
inputs:
  text: {type: str}
  n: {type: int, default: 1}
steps:
  loud: {kind: python, function: tests.pipeline_steps:shout, inputs: {text: inputs.text}}
  times: {kind: template, template: "{{ t * n }}", inputs: {t: steps.loud.value, n: inputs.n}}
outputs: {out: steps.times.value}
"""

SLOW = """
name: slow
inputs: {text: {type: str}}
steps:
  wait: {kind: python, function: tests.pipeline_steps:sleepy, inputs: {text: inputs.text}, params: {seconds: 0.15}}
  loud: {kind: python, function: tests.pipeline_steps:shout, inputs: {text: steps.wait.value}}
outputs: {out: steps.loud.value}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def cli(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input)


def test_run_prints_outputs_as_json(tmp_path: Path) -> None:
    path = write(tmp_path, "simple.yaml", SIMPLE)
    result = cli("run", str(path), "--set", "text=hey", "--set", "n=2")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"out": "HEY!HEY!"}
    # --set on a text input takes the value verbatim, even when it looks like JSON
    assert json.loads(cli("run", str(path), "-s", "text=42").stdout) == {"out": "42!"}
    (tmp_path / "in.json").write_text('{"text": "file"}')
    assert json.loads(cli("run", str(path), "--input", f"@{tmp_path / 'in.json'}").stdout) == {"out": "FILE!"}
    assert json.loads(cli("run", str(path), "--input", "-", input='{"text": "stdin", "n": 3}').stdout) == {"out": "STDIN!STDIN!STDIN!"}


def test_run_trace_json_is_one_object_with_the_trace(tmp_path: Path) -> None:
    path = write(tmp_path, "simple.yaml", SIMPLE)
    result = cli("run", str(path), "--input", '{"text": "x"}', "--trace", "--json")
    payload = json.loads(result.stdout)
    assert payload["outputs"] == {"out": "X!"}
    assert [(t["step"], t["status"], t["level"]) for t in payload["trace"]] == [("loud", "ok", 0), ("times", "ok", 1)]
    assert payload["trace"][1]["inputs"] == {"t": "X!", "n": 1}
    table = cli("run", str(path), "--set", "text=x", "--trace")
    assert "loud" in table.stderr and "times" in table.stderr and json.loads(table.stdout) == {"out": "X!"}


def test_run_rejects_bad_input_clearly(tmp_path: Path) -> None:
    path = write(tmp_path, "simple.yaml", SIMPLE)
    result = cli("run", str(path), "--input", "{not json")
    assert isinstance(result.exception, ConfigError) and "not valid JSON" in str(result.exception)
    result = cli("run", str(path), "--batch", str(tmp_path / "rows.jsonl"))
    assert isinstance(result.exception, ConfigError) and "--out" in str(result.exception)


def test_validate_reports_every_problem_and_exit_code(tmp_path: Path) -> None:
    good = write(tmp_path, "simple.yaml", SIMPLE)
    ok = cli("validate", str(good))
    assert ok.exit_code == 0 and "valid" in ok.stderr
    bad = write(tmp_path, "bad.yaml", SIMPLE.replace("inputs.text}", "inputs.txt}").replace("{{ t * n }}", "{{ t * m }}"))
    result = cli("validate", str(bad))
    assert result.exit_code == 1
    assert f"{bad}:6: error[unknown-reference]" in result.stderr and f"{bad}:7: error[template-undefined]" in result.stderr
    report = json.loads(cli("validate", str(bad), "--json").stdout)
    assert report["ok"] is False and {(p["code"], p["severity"]) for p in report["problems"]} == {
        ("unknown-reference", "error"), ("template-undefined", "error"), ("unused-input", "warning")}


def test_graph_formats(tmp_path: Path) -> None:
    site = REPO / "pipelines" / "site-navigation.yaml"
    mermaid = cli("graph", str(site)).stdout
    assert mermaid.startswith("flowchart LR")
    assert 'steps__branch -- "site → text" --> steps__page' in mermaid  # the switch case an edge hangs off
    dot = cli("graph", str(site), "--format", "dot").stdout
    assert dot.startswith('digraph "site_navigation"') and '"steps.gate" -> "steps.extract"' in dot
    if shutil.which("dot") is None:
        pytest.skip("Graphviz dot not installed")
    out = tmp_path / "site.png"
    result = cli("graph", str(site), "--format", "png", "-o", str(out))
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_schema_export_matches_the_models(tmp_path: Path) -> None:
    out = tmp_path / "schema.json"
    assert cli("pipeline", "schema", "-o", str(out)).exit_code == 0
    assert json.loads(out.read_text()) == json_schema()


def test_batch_resumes_and_recovers_a_torn_last_line(tmp_path: Path) -> None:
    path = write(tmp_path, "simple.yaml", SIMPLE)
    rows = tmp_path / "rows.jsonl"
    rows.write_text("\n".join(json.dumps({"id": f"r{i}", "text": f"t{i}"}) for i in range(6)) + "\n")
    out = tmp_path / "out.jsonl"
    out.write_text(json.dumps({"id": "r0", "outputs": {"out": "PRECOMPUTED"}}) + "\n" + '{"id": "r1", "outp')
    result = cli("run", str(path), "--batch", str(rows), "--out", str(out), "--chunk", "2")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in records] == ["r0", "r1", "r2", "r3", "r4", "r5"]
    assert records[0]["outputs"]["out"] == "PRECOMPUTED"  # done rows are not recomputed
    assert records[3]["outputs"]["out"] == "T3!"
    again = cli("run", str(path), "--batch", str(rows), "--out", str(out))
    assert "0 ok, 0 failed, 6 already" in again.stderr and len(out.read_text().splitlines()) == 6


def test_batch_row_errors_are_recorded_and_retryable(tmp_path: Path) -> None:
    path = write(tmp_path, "simple.yaml", SIMPLE)
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"text": "ok"}\n{"text": "bad", "n": "two"}\n')
    out = tmp_path / "out.jsonl"
    result = cli("run", str(path), "--batch", str(rows), "--out", str(out))
    assert isinstance(result.exception, PipelineError) and "1 of 2 rows failed" in str(result.exception)
    failed = json.loads(out.read_text().splitlines()[1])
    assert failed["id"] == "line-2" and failed["failed_step"] == "(inputs)" and "expected int" in failed["error"]
    assert done_ids(out, retry_failed=True) == {"line-1"}
    rows.write_text('{"text": "ok"}\n{"text": "bad", "n": 2}\n')  # fixed the data: same line, same id
    retry = cli("run", str(path), "--batch", str(rows), "--out", str(out), "--retry-failed")
    assert retry.exit_code == 0
    assert json.loads(out.read_text().splitlines()[-1]) == {"id": "line-2", "outputs": {"out": "BAD!BAD!"}}


def test_batch_killed_mid_run_loses_no_written_row(tmp_path: Path) -> None:
    path = write(tmp_path, "slow.yaml", SLOW)
    rows = tmp_path / "rows.jsonl"
    n = 12
    rows.write_text("\n".join(json.dumps({"id": i, "text": f"row{i}"}) for i in range(n)) + "\n")
    out = tmp_path / "out.jsonl"
    command = [sys.executable, "-m", "pawflow.cli.main", "run", str(path), "--batch", str(rows), "--out", str(out), "--chunk", "1"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 3):
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    written = [json.loads(line) for line in out.read_text().splitlines() if line.endswith("}")]
    assert 3 <= len(written) < n, "the run should have been killed part-way"
    resumed = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(int(r["id"]) for r in records) == list(range(n))  # every row exactly once
    assert all(r["outputs"]["out"] == f"ROW{r['id']}!" for r in records)
    assert f"{len(written)} already" in resumed.stderr or f"{len(written) + 0} already" in resumed.stderr


def test_cli_error_is_one_line_and_exit_1(tmp_path: Path) -> None:
    path = write(tmp_path, "simple.yaml", SIMPLE)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "pawflow.cli.main", "run", str(path), "--set", "txt=x"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip() == "error: pipeline 'simple' has no input 'txt' (inputs: text, n)"

"""The Ray batch engine on a real local Ray cluster (2 CPUs, loopback) and the embedded model.

Every comparison is against the local engine on the same rows: same records, same order. Workers are
killed for real — by a pipeline step that SIGKILLs its own process, and by this test from outside —
and the output must still hold every row exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="the ray engine needs the 'scale' extra (pip install -e '.[scale]')")

from integrations.scale.ray_engine import WORKER_STEP, RayEngine  # noqa: E402
from pawflow.errors import ConfigError  # noqa: E402
from pawflow.pipeline import Pipeline  # noqa: E402
from pawflow.pipeline.batch import batch_engine, engine_names, run_batch_file  # noqa: E402
from pawflow.program import LabelsOutput  # noqa: E402
from tests.conftest import build_program, random_adapter  # noqa: E402

REPO = Path(__file__).resolve().parents[3]
N_ROWS = 12


@pytest.fixture(scope="module")
def cluster():
    """A real local Ray cluster owned by this test module: 2 CPUs, so 2 one-thread workers."""
    if ray.is_initialized():
        ray.shutdown()
    # Workers here die only when a test kills them: Ray's memory monitor (which counts other people's
    # jobs on a shared machine) would add kills no assertion can predict. The kernel's OOM killer stays.
    os.environ.setdefault("RAY_memory_monitor_refresh_ms", "0")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1",
             object_store_memory=200 << 20)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def project(tmp_path_factory, base_info, base_path) -> Path:
    """Two labels programs with real (seeded random) LoRA adapters, and pipelines using them."""
    root = tmp_path_factory.mktemp("scale")
    build_program(base_info, base_path, name="alert", adapter=random_adapter(base_info, 11, scale=0.02)).write(root / "alert.paw")
    build_program(base_info, base_path, name="mood", output=LabelsOutput(labels=["CALM", "UPSET"]),
                  spec="Is the person who wrote this line calm or upset?",
                  examples=[{"input": "all good, thanks", "output": "CALM"}, {"input": "this is broken again!!", "output": "UPSET"}],
                  adapter=random_adapter(base_info, 12, scale=0.02)).write(root / "mood.paw")
    lines = ["loss is nan at step 300", "epoch 2 step 10 loss 0.41", "CUDA out of memory", "saved checkpoint",
             "Traceback (most recent call last):", "lr warmup finished", "disk quota exceeded", "eval accuracy 0.91",
             "killed by OOM killer", "step 4200 loss 0.31", "grad norm is inf", "dataloader worker exited"]
    (root / "rows.jsonl").write_text("".join(json.dumps({"id": f"r{i}", "text": lines[i % len(lines)]}) + "\n"
                                             for i in range(N_ROWS)))
    return root


def write_pipeline(root: Path, name: str, python_step: str) -> Path:
    path = root / f"{name}.yaml"
    path.write_text(textwrap.dedent(f"""
        name: {name}
        inputs: {{text: {{type: str}}}}
        steps:
          alert: {{kind: program, program: alert.paw, inputs: {{text: inputs.text}}}}
          mood: {{kind: program, program: mood.paw, inputs: {{text: inputs.text}}}}
          check: {python_step}
        outputs: {{alert: steps.alert.value, mood: steps.mood.value, check: steps.check.value}}
    """).lstrip())
    return path


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def local_reference(project) -> list[dict]:
    pipeline = write_pipeline(project, "plain", "{kind: python, function: tests.integrations.scale.steps:tag, inputs: {text: inputs.text}}")
    out = project / "local.jsonl"
    summary = run_batch_file(Pipeline.load(pipeline), project / "rows.jsonl", out, chunk=4)
    assert summary.ok == N_ROWS and summary.engine == "local"
    return records(out)


def test_ray_output_equals_local_and_resumes_after_a_torn_line(cluster, project, local_reference) -> None:
    pipeline = Pipeline.load(project / "plain.yaml")
    out = project / "ray.jsonl"
    engine = RayEngine(threads_per_worker=1, workers=2)
    try:
        summary = run_batch_file(pipeline, project / "rows.jsonl", out, chunk=3, engine=engine)
        assert summary.ok == N_ROWS and summary.engine == "ray"
        assert records(out) == local_reference  # same outputs, same order
        assert engine.stats.workers == 2 and len(set(engine.stats.worker_pids)) == 2
        assert engine.stats.worker_pids[0] != os.getpid()
        # A crash after 5 rows, mid-write of the 6th: the rerun keeps the 5, cuts the torn line, computes the rest.
        lines = out.read_text().splitlines(keepends=True)
        out.write_text("".join(lines[:5]) + lines[5][:17])
        again = run_batch_file(pipeline, project / "rows.jsonl", out, chunk=3, engine=engine)
        assert again.already_done == 5 and again.ok == N_ROWS - 5
        assert records(out) == local_reference
    finally:
        engine.close()
    assert ray.is_initialized()  # the engine joined the cluster it found; it does not stop it


def test_a_worker_killing_itself_mid_run_loses_no_row(cluster, project, local_reference, tmp_path) -> None:
    marker = tmp_path / "killed"
    victim = json.loads((project / "rows.jsonl").read_text().splitlines()[7])["text"]
    step = ("{kind: python, function: tests.integrations.scale.steps:die_once, inputs: {text: inputs.text}, "
            f"params: {{marker: '{marker}', victim: '{victim}'}}}}")
    pipeline = Pipeline.load(write_pipeline(project, "dies_once", step))
    out = tmp_path / "out.jsonl"
    engine = RayEngine(threads_per_worker=1, workers=2)
    try:
        summary = run_batch_file(pipeline, project / "rows.jsonl", out, chunk=2, engine=engine)
    finally:
        engine.close()
    assert marker.exists(), "the victim row should have killed its worker"
    assert engine.stats.worker_deaths >= 1 and engine.stats.retried_chunks >= 1
    got = records(out)
    assert [r["id"] for r in got] == [f"r{i}" for i in range(N_ROWS)]  # every row, once, in order
    assert summary.ok == N_ROWS and summary.failed == 0
    expected = [{**r, "outputs": {**r["outputs"], "check": r["outputs"]["check"][1:-1].upper()}} for r in local_reference]
    assert got == expected


def test_a_worker_killed_from_outside_mid_run_loses_no_row(cluster, project, local_reference, tmp_path) -> None:
    pipeline = Pipeline.load(project / "plain.yaml")
    out = tmp_path / "out.jsonl"
    engine = RayEngine(threads_per_worker=1, workers=2, prefetch=2)
    killed: list[int] = []

    def kill_a_worker(done: int, total: int) -> None:
        if done >= 1 and not killed:
            victim = engine.stats.worker_pids[0]
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    try:
        summary = run_batch_file(pipeline, project / "rows.jsonl", out, chunk=2, engine=engine, on_progress=kill_a_worker)
    finally:
        engine.close()
    assert killed and engine.stats.worker_deaths >= 1
    assert summary.ok == N_ROWS and records(out) == local_reference


def test_a_poison_row_is_recorded_as_an_error_and_the_rest_go_through(cluster, project, local_reference, tmp_path) -> None:
    victim = json.loads((project / "rows.jsonl").read_text().splitlines()[4])["text"]
    step = ("{kind: python, function: tests.integrations.scale.steps:die_always, inputs: {text: inputs.text}, "
            f"params: {{victim: '{victim}'}}}}")
    pipeline = Pipeline.load(write_pipeline(project, "poison", step))
    out = tmp_path / "out.jsonl"
    engine = RayEngine(threads_per_worker=1, workers=2, max_retries=1)
    try:
        summary = run_batch_file(pipeline, project / "rows.jsonl", out, chunk=4, engine=engine)
    finally:
        engine.close()
    got = records(out)
    assert [r["id"] for r in got] == [f"r{i}" for i in range(N_ROWS)]
    assert summary.failed == 1 and summary.ok == N_ROWS - 1
    assert got[4]["failed_step"] == WORKER_STEP and "died 2 times" in got[4]["error"]
    assert engine.stats.split_chunks == 1 and engine.stats.poisoned_rows == 1
    assert all("outputs" in r for i, r in enumerate(got) if i != 4)


def test_cli_joins_a_running_cluster_by_address(cluster, project, local_reference, tmp_path) -> None:
    out = tmp_path / "cli.jsonl"
    command = [sys.executable, "-m", "pawflow.cli.main", "--threads", "1", "run", str(project / "plain.yaml"),
               "--batch", str(project / "rows.jsonl"), "--out", str(out), "--engine", "ray", "--address", cluster,
               "--workers", "2", "--chunk", "4"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"{N_ROWS} ok, 0 failed" in done.stderr and "engine ray" in done.stderr
    assert records(out) == local_reference


def test_more_workers_than_cluster_cpus_is_refused_not_hung(cluster, project, local_reference) -> None:
    engine = RayEngine(threads_per_worker=1, workers=3)
    try:
        with pytest.raises(ConfigError, match="3 workers x 1 threads need 3 CPUs; the Ray cluster has 2"):
            engine.start(Pipeline.load(project / "plain.yaml"))
    finally:
        engine.close()


def test_engine_choice_errors_are_clear(project, local_reference) -> None:
    assert engine_names() == ["local", "ray"]
    with pytest.raises(ConfigError, match="unknown batch engine 'spark'; available: local, ray"):
        batch_engine("spark")
    with pytest.raises(ConfigError, match="--address and --workers are for --engine ray"):
        batch_engine("local", workers=2)
    assert batch_engine("local", workers=None).name == "local"
    with pytest.raises(ConfigError, match="--workers must be at least 1"):
        RayEngine(threads_per_worker=1, workers=0)
    from typer.testing import CliRunner

    from pawflow.cli.main import app

    single = CliRunner().invoke(app, ["run", str(project / "plain.yaml"), "--set", "text=x", "--engine", "ray"])
    assert isinstance(single.exception, ConfigError) and "are for --batch runs" in str(single.exception)
    unknown = CliRunner().invoke(app, ["run", str(project / "plain.yaml"), "--batch", str(project / "rows.jsonl"),
                                       "--out", str(project / "never.jsonl"), "--engine", "spark"])
    assert isinstance(unknown.exception, ConfigError) and not (project / "never.jsonl").exists()

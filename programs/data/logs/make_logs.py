"""Make the real training logs: run every scenario and capture it as ``> log 2>&1`` writes it.

    python programs/data/logs/make_logs.py            # all runs (about 15 minutes on 2 busy cores)
    python programs/data/logs/make_logs.py hf-nan     # only the named runs

Runs are split by *scenario*, never by line: ``train/`` logs may be fitted on (programs/log-alert.yaml
takes its real-log rows from them), ``eval/`` logs are only ever scored. The two splits differ in
print style (plain prints + tqdm vs the logging module), framework mix and job-wrapper phrasing, so a
score on ``eval/`` measures generalisation, not memorised lines. Re-running produces logs of the same
shape with different timings, pids and tqdm update counts; the labels (``*.labels.json``) belong to
the stored logs, so after regenerating a log its labels must be reviewed again.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCEN = HERE / "scenarios"
PY = sys.executable

# Job wrappers as cluster job scripts write them; the split decides the phrasing.
WRAP_TRAIN = """#!/bin/bash
echo "[job] starting on $(hostname) at $(date -u +%Y-%m-%dT%H:%M:%SZ)"
{cmd}
status=$?
echo "[job] exit code $status"
exit $status
"""
WRAP_EVAL = """#!/bin/bash
echo "run.sh: launching training (pid $$)"
{cmd}
rc=$?
if [ $rc -ne 0 ]; then echo "run.sh: training exited with status $rc"; else echo "run.sh: training completed, status $rc"; fi
exit $rc
"""


def torch_loop(style: str, mode: str, seed: int = 0) -> str:
    return f"{shlex.quote(PY)} {SCEN / 'torch_loop.py'} --style {style} --mode {mode} --seed {seed} --out {{tmp}}/ckpt"


def hf(mode: str, seed: int = 0) -> str:
    return f"{shlex.quote(PY)} {SCEN / 'hf_trainer.py'} --mode {mode} --seed {seed} --out {{tmp}}/hf"


def dist(mode: str) -> str:
    return f"{shlex.quote(PY)} -m torch.distributed.run --nproc-per-node 2 --master-port {{port}} {SCEN / 'dist_gloo.py'} --mode {mode}"


# name: (split, command, wrapper or None)
RUNS: dict[str, tuple[str, str, str | None]] = {
    # ------------------------------------------------------------------ train scenarios
    "torch-a-healthy": ("train", torch_loop("a", "healthy"), None),
    "torch-a-nan": ("train", torch_loop("a", "nan"), None),
    "torch-a-crash": ("train", torch_loop("a", "crash"), None),
    "torch-a-oom": ("train", torch_loop("a", "oom"), None),
    "torch-a-worker-error": ("train", torch_loop("a", "worker_error"), None),
    "torch-a-sigkill": ("train", torch_loop("a", "sigkill"), WRAP_TRAIN),
    "torch-a-segfault": ("train", "PYTHONFAULTHANDLER=1 " + torch_loop("a", "segfault"), WRAP_TRAIN),
    "torch-a-disk-full": ("train", torch_loop("a", "disk_full"), None),
    "hf-healthy": ("train", hf("healthy"), WRAP_TRAIN),
    "hf-crash": ("train", hf("crash"), None),
    "hf-diverge": ("train", hf("diverge"), None),
    "dist-timeout": ("train", dist("timeout"), None),
    "dist-healthy": ("train", dist("healthy"), None),
    # ------------------------------------------------------------------ evaluation scenarios (never fitted on)
    "torch-b-healthy": ("eval", torch_loop("b", "healthy", seed=1), WRAP_EVAL),
    "torch-b-nan": ("eval", torch_loop("b", "nan", seed=1), None),
    "torch-b-crash": ("eval", torch_loop("b", "crash", seed=1), None),
    "torch-b-oom": ("eval", torch_loop("b", "oom", seed=1), None),
    "torch-b-worker-killed": ("eval", torch_loop("b", "worker_killed", seed=1), None),
    "torch-b-worker-error": ("eval", torch_loop("b", "worker_error", seed=1), None),
    "torch-b-sigterm": ("eval", torch_loop("b", "sigterm", seed=1), WRAP_EVAL),
    "torch-b-keyboard": ("eval", torch_loop("b", "keyboard", seed=1), None),
    "torch-b-disk-full": ("eval", torch_loop("b", "disk_full", seed=1), None),
    "torch-a-warnings": ("eval", torch_loop("a", "warnings", seed=2), None),
    "hf-nan": ("eval", hf("nan", seed=1), None),
    "hf-oom": ("eval", hf("oom", seed=1), None),
    "hf-sigterm": ("eval", hf("sigterm", seed=1), WRAP_EVAL),
    "hf-save-fail": ("eval", hf("save_fail", seed=1), None),
    "dist-crash": ("eval", dist("crash"), None),
    "dist-killed": ("eval", dist("killed"), None),
}


def run(name: str, port: int) -> None:
    split, command, wrapper = RUNS[name]
    out = HERE / split / f"{name}.log"
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pawflow-scenario-") as tmp:
        cmd = command.format(tmp=tmp, port=port)
        if wrapper:
            script = Path(tmp) / "run.sh"
            script.write_text(wrapper.format(cmd=cmd))
            cmd = f"bash {script}"
        env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "COLUMNS": "100"}
        started = time.time()
        # Exactly the redirect users write; the shell's own job messages ("Killed") land in the log
        # only when a wrapper script runs the job, as on a cluster.
        rc = subprocess.run(["bash", "-c", f"cd {tmp} && {cmd} > {shlex.quote(str(out))} 2>&1"], env=env, timeout=600).returncode
    print(f"{name:28s} {split:5s} rc={rc:4d} {time.time() - started:6.1f}s {out.stat().st_size:8d} bytes", flush=True)


def main(argv: list[str]) -> int:
    names = argv or list(RUNS)
    unknown = [n for n in names if n not in RUNS]
    if unknown:
        print(f"unknown runs: {unknown}; known: {sorted(RUNS)}", file=sys.stderr)
        return 2
    for i, name in enumerate(names):
        run(name, 29500 + i)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

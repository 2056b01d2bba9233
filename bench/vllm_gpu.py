"""The vLLM half of the scale-out check, for a machine with an NVIDIA GPU and vLLM installed.

NOT run on the CPU-only development machine: vLLM has no CPU path for this (see docs/scale.md). The
driver is ``bench/vllm_gpu.sh``; this file holds its two steps.

``prepare --out DIR``
    Writes ``DIR/base``: the embedded SmolLM2-135M-Instruct GGUF as a Hugging Face folder (weights
    dequantized by transformers, exactly the numbers the programs were fitted on; saved in bf16) with
    its tokenizer — nothing comes from a model hub. Then ``DIR/adapters/<name>``: every shipped program
    that has an adapter, exported with ``pawflow export-peft``. Prints the ``--lora-modules`` arguments.

``measure --url URL --out DIR [--json]``
    Runs the shipped fitted labels programs' held-out rows through the ``openai-lora`` backend against
    the vLLM server and through the local llama.cpp backend, and reports: label agreement between the
    two, held-out exact match on each, rows/s at ``--concurrency`` requests in flight, and a run-time
    adapter load + unload through ``/v1/load_lora_adapter`` (needs VLLM_ALLOW_RUNTIME_LORA_UPDATING=True).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
LABEL_PROGRAMS = ("log-alert", "support-triage", "tc-condition", "tc-next-tool")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def prepare(out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from compiler.peft_export import export_peft
    from pawflow.backends.openai_lora import remote_model_name
    from pawflow.config import embedded_base_path
    from pawflow.program import Program

    gguf = embedded_base_path()
    base_dir = out / "base"
    log(f"converting {gguf.name} to a Hugging Face folder in {base_dir} …")
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, torch_dtype=torch.float32)
    model.to(torch.bfloat16).save_pretrained(base_dir, safe_serialization=True)
    AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name).save_pretrained(base_dir)
    modules = []
    for paw in sorted((REPO / "programs" / "build").glob("*.paw")):
        program = Program.read(paw)
        if program.adapter is None:
            continue
        final = out / "adapters" / remote_model_name(program)
        report = export_peft(program, final, base_model_id=str(base_dir))  # replaces an earlier export there
        modules.append(f"{report.adapter_name}={final}")
        log(f"  {program.name}: {final}")
    (out / "lora-modules.txt").write_text("\n".join(modules) + "\n")
    print(" ".join(modules))


def heldout(name: str, limit: int) -> list[dict]:
    path = REPO / "programs" / "data" / f"{name}.heldout.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return rows[:limit]


def measure(url: str, out: Path, *, limit: int, concurrency: int) -> dict:
    from pawflow.backends.openai_lora import OpenAILoraBackend, RemoteSettings, remote_model_name
    from pawflow.base import inspect_base
    from pawflow.config import load_settings
    from pawflow.function import Function
    from pawflow.interpreter import Interpreter
    from pawflow.program import Program

    settings = load_settings()
    base_info = inspect_base(settings.base_path())
    remote = OpenAILoraBackend(settings.base_path(), base_info, settings,
                               RemoteSettings(url=url, concurrency=concurrency, base_model=str(out / "base")))
    remote_interp = Interpreter(settings, backend=remote)
    local_interp = Interpreter(settings)
    report: dict = {"url": url, "dialect": remote.dialect(), "concurrency": concurrency, "programs": {}}
    total_rows, total_seconds = 0, 0.0
    for name in LABEL_PROGRAMS:
        program = Program.read(REPO / "programs" / "build" / f"{name}.paw")
        rows = heldout(name, limit)
        texts = [row["input"] if isinstance(row["input"], str) else json.dumps(row["input"]) for row in rows]
        started = time.perf_counter()
        got = Function(program, remote_interp).run_many(texts)
        seconds = time.perf_counter() - started
        want = Function(program, local_interp).run_many(texts)
        agree = sum(a.value == b.value for a, b in zip(got, want)) / len(rows)
        report["programs"][name] = {
            "rows": len(rows),
            "agreement_with_llamacpp": round(agree, 4),
            "heldout_em_vllm": round(sum(r.value == row["output"] for r, row in zip(got, rows)) / len(rows), 4),
            "heldout_em_llamacpp": round(sum(r.value == row["output"] for r, row in zip(want, rows)) / len(rows), 4),
            "rows_per_s_vllm": round(len(rows) / seconds, 2),
            "adapter": remote_model_name(program),
        }
        total_rows, total_seconds = total_rows + len(rows), total_seconds + seconds
        log(f"{name}: {report['programs'][name]}")
    report["rows_per_s_vllm_overall"] = round(total_rows / total_seconds, 2)
    # Run-time loading: unload one served adapter, then let the backend load it back by itself.
    program = Program.read(REPO / "programs" / "build" / "log-alert.paw")
    name = remote_model_name(program)
    remote._request("POST", "unload_lora_adapter", {"lora_name": name}, expect_json=False)
    loader = OpenAILoraBackend(settings.base_path(), base_info, settings,
                               RemoteSettings(url=url, adapter_root=str(out / "adapters"), base_model=str(out / "base")))
    value = Function(program, Interpreter(settings, backend=loader)).run(heldout("log-alert", 1)[0]["input"]).value
    report["runtime_load"] = {"adapter": name, "loaded": loader.stats.adapters_loaded, "value": value}
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description="vLLM multi-LoRA check (GPU machines only)")
    sub = parser.add_subparsers(dest="step", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--out", type=Path, required=True)
    m = sub.add_parser("measure")
    m.add_argument("--url", required=True)
    m.add_argument("--out", type=Path, required=True)
    m.add_argument("--limit", type=int, default=200)
    m.add_argument("--concurrency", type=int, default=64)
    m.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.step == "prepare":
        prepare(args.out)
        return 0
    report = measure(args.url, args.out, limit=args.limit, concurrency=args.concurrency)
    print(json.dumps(report) if args.json else json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

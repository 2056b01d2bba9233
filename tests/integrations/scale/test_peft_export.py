"""`pawflow export-peft`: the .paw adapter as a PEFT folder that does what llama.cpp does with the .paw.

The round trip is numerical, with the parity bar of tests/test_parity.py: a seeded random LoRA is
exported into a .paw (GGUF, q/k rows permuted for llama.cpp), that .paw is exported to PEFT, ``peft``
loads the folder onto the torch model (the dequantized GGUF), and the next-token logit change it causes
is compared with the change llama.cpp's adapter path causes. Without restoring Hugging Face's q/k row
order the same check fails, which is what makes the test able to fail.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the round trip needs the compile extra (torch, peft)")
peft = pytest.importorskip("peft")

from typer.testing import CliRunner  # noqa: E402

from compiler.lora_gguf import export_lora_gguf  # noqa: E402
from compiler.parity import DEFAULT_PROMPTS, LlamaCppModel, _cosine, random_lora, write_dequantized_base  # noqa: E402
from compiler.peft_export import CONFIG_FILE, MARKER_FILE, WEIGHTS_FILE, export_peft  # noqa: E402
from compiler.torch_base import clear_cache, load_torch_base  # noqa: E402
from pawflow.backends.openai_lora import remote_model_name  # noqa: E402
from pawflow.base import inspect_base  # noqa: E402
from pawflow.cli.main import app  # noqa: E402
from pawflow.errors import CompileError, ConfigError  # noqa: E402
from tests.conftest import build_program  # noqa: E402

pytestmark = pytest.mark.slow
PROMPTS = DEFAULT_PROMPTS[:5]


def lora_program(base_path: Path, *, seed: int, targets: tuple[str, ...], relative_scale: float, name: str):
    """A .paw whose adapter is a seeded random LoRA exported exactly as `fit` exports (f16, RoPE-permuted)."""
    info = inspect_base(base_path)
    torch_base = load_torch_base(base_path)
    pairs = random_lora(torch_base, rank=8, alpha=16.0, targets=targets, seed=seed, relative_scale=relative_scale)
    data, _ = export_lora_gguf(pairs, architecture=torch_base.facts.architecture, alpha=16.0, n_head=torch_base.facts.n_head,
                               n_head_kv=torch_base.facts.n_head_kv, permute_rope=torch_base.facts.rope_permuted, quant="f16")
    return build_program(info, base_path, name=name, adapter=data)


def logit_deltas(base_path: Path, program, peft_dir: Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Next-token logit change per prompt: (peft on torch, .paw adapter on llama.cpp)."""
    runner = LlamaCppModel(base_path, n_ctx=512, threads=1)
    try:
        tokens = [runner.tokenize(p, special=True) for p in PROMPTS]
        plain = [runner.last_logits(t) for t in tokens]
        with runner.adapter(program.adapter):
            adapted = [runner.last_logits(t) for t in tokens]
    finally:
        runner.close()
    llama = [a - b for a, b in zip(adapted, plain)]
    model = load_torch_base(base_path).model
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    wrapped = peft.PeftModel.from_pretrained(model, str(peft_dir))
    try:
        torch_deltas = []
        with torch.no_grad():
            for ids in tokens:
                batch = torch.tensor([ids], dtype=torch.long)
                with_lora = wrapped(input_ids=batch).logits[0, -1].float().numpy()
                with wrapped.disable_adapter():
                    without = wrapped(input_ids=batch).logits[0, -1].float().numpy()
                torch_deltas.append(with_lora - without)
    finally:
        wrapped.unload()  # leave the cached base model as it was
        torch.set_num_threads(previous)
    return torch_deltas, llama


def test_peft_round_trip_matches_llamacpp_at_the_parity_bar(base_path, tmp_path) -> None:
    program = lora_program(base_path, seed=5, targets=("q", "k", "v", "o"), relative_scale=0.1, name="peft-demo")
    report = export_peft(program, tmp_path / "peft")
    files = sorted(p.name for p in (tmp_path / "peft").iterdir())
    assert files == sorted([CONFIG_FILE, WEIGHTS_FILE, MARKER_FILE])
    config = json.loads((tmp_path / "peft" / CONFIG_FILE).read_text())
    assert config["peft_type"] == "LORA" and config["r"] == 8 and config["lora_alpha"] == 16.0
    assert config["target_modules"] == ["k_proj", "o_proj", "q_proj", "v_proj"]
    assert config["base_model_name_or_path"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert report.rope_unpermuted and report.tensors == 2 * 4 * 30 and report.adapter_name == remote_model_name(program)
    torch_deltas, llama_deltas = logit_deltas(base_path, program, tmp_path / "peft")
    cosines = [_cosine(t, l) for t, l in zip(torch_deltas, llama_deltas)]
    assert all(np.linalg.norm(t) > 1.0 for t in torch_deltas)  # the adapter really changes the logits
    assert float(np.mean(cosines)) >= 0.85, cosines

    # Control: the same export without restoring Hugging Face's q/k row order is measurably worse.
    export_peft(program, tmp_path / "peft-wrong", unpermute_rope=False)
    wrong_torch, wrong_llama = logit_deltas(base_path, program, tmp_path / "peft-wrong")
    wrong = [_cosine(t, l) for t, l in zip(wrong_torch, wrong_llama)]
    assert float(np.mean(cosines)) > float(np.mean(wrong)) + 0.1, (cosines, wrong)


def test_peft_export_is_exact_on_an_unquantized_base(base_path, tmp_path) -> None:
    """On an F32 copy of the base, llama.cpp adds no activation rounding: only the export can cause a gap."""
    f32 = write_dequantized_base(base_path, tmp_path / "base-f32.gguf")
    try:
        program = lora_program(f32, seed=6, targets=("q", "k"), relative_scale=0.02, name="peft-exact")
        export_peft(program, tmp_path / "peft", base_model_id="HuggingFaceTB/SmolLM2-135M-Instruct")
        torch_deltas, llama_deltas = logit_deltas(f32, program, tmp_path / "peft")
    finally:
        clear_cache(f32)
    cosines = [_cosine(t, l) for t, l in zip(torch_deltas, llama_deltas)]
    assert min(cosines) > 0.99, cosines


def test_cli_export_peft_and_its_refusals(base_info, base_path, tmp_path) -> None:
    from tests.conftest import random_adapter

    program = build_program(base_info, base_path, name="cli-demo", adapter=random_adapter(base_info, 7))
    paw = program.write(tmp_path / "cli-demo.paw")
    runner = CliRunner()
    done = runner.invoke(app, ["export-peft", str(paw), str(tmp_path / "out"), "--json"])
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report["target_modules"] == ["q_proj", "v_proj"] and report["rank"] == 4 and report["layers"] == 30
    again = runner.invoke(app, ["export-peft", str(paw), str(tmp_path / "out")])  # an earlier export is replaced
    assert again.exit_code == 0 and f"--lora-modules {remote_model_name(program)}=" in again.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cli-demo.paw", "out"]  # no staging folder left behind
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    refused = runner.invoke(app, ["export-peft", str(paw), str(tmp_path / "mine")])
    assert isinstance(refused.exception, ConfigError) and (tmp_path / "mine" / "notes.txt").exists()
    prompt_only = build_program(base_info, base_path, name="no-adapter").write(tmp_path / "no-adapter.paw")
    with pytest.raises(CompileError, match="prompt-only"):
        export_peft(prompt_only, tmp_path / "x")

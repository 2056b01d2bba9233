"""The hypernetwork on the real embedded interpreter: training lowers the loss, gradients go where they
should, checkpoints resume, the exported adapter is the one torch trained with, and
``pawflow compile --method hypernet --checkpoint DIR`` packs a runnable .paw.

Configurations are tiny (rank 2, 2 bases, a 2-layer random compiler LM where the compiler's own
weights are not the point) so each test takes seconds of CPU; the interpreter is always the real
SmolLM2-135M, loaded once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from compiler.hypernet.config import preset
from compiler.hypernet.encoder import load_tokenizer
from compiler.hypernet.export import compile_adapter, generate_pairs
from compiler.hypernet.injection import injected
from compiler.hypernet.model import CompilerLM, build_hypernet
from compiler.hypernet.objective import Interp, spec_nll
from compiler.hypernet.pseudo_cache import pregenerate
from compiler.hypernet.rows import interpreter_vocab
from compiler.hypernet.synthetic import generate_tasks
from compiler.hypernet.train import prepare_specs, shown_examples, train_hypernet
from compiler.torch_base import load_torch_base

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def interpreter(base_path):
    return load_torch_base(base_path)


@pytest.fixture(scope="module")
def tokenizer(base_path):
    return load_tokenizer(base_path)


def tiny_compiler(tokenizer, seed: int = 0) -> CompilerLM:
    """A real (random, 2-layer) Llama causal LM on SmolLM2's tokenizer: any causal LM can be the compiler."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512)
    model = LlamaForCausalLM(config).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return CompilerLM(model=model, tokenizer=tokenizer, path="tiny-random-llama")


@pytest.fixture(scope="module")
def items(base_path, tmp_path_factory):
    tasks = generate_tasks(n_task_draws=22, rows_per_spec=10, seed=0)
    train = [t for t in tasks if t.split == "train"]
    picked = [next(t for t in train if t.family == "sentiment"), next(t for t in train if t.family == "case")]
    val = [next(t for t in tasks if t.split != "train")]
    pseudo = pregenerate([(t.spec, shown_examples(t), t.output) for t in picked + val],
                         tmp_path_factory.mktemp("pseudo") / "p.jsonl", engine="none")
    return prepare_specs(picked, pseudo, base_path, max_row_tokens=40), prepare_specs(val, pseudo, base_path, max_row_tokens=40)


def _arch(**update):
    return preset("tiny").arch.model_copy(update=update)


def _trainable(hyper):
    return [p for p in hyper.parameters() if p.requires_grad] + [hyper.encoder.tau]


def _nll(hyper, interp, item, rows):
    return spec_nll(hyper, interp, item.task.spec, item.pseudo_program, item.program, rows)


def test_a_few_cpu_steps_lower_the_loss(interpreter, tokenizer, items, base_path):
    item = items[0][0]
    rows = [item.program.rows[i] for i in item.trainable[:3]]
    hyper = build_hypernet(_arch(), interpreter, compiler=tiny_compiler(tokenizer))
    optimizer = torch.optim.AdamW(list(dict.fromkeys(_trainable(hyper))), lr=2e-2)
    with injected(interpreter.model, hyper.arch.targets) as injector:
        interp = Interp(interpreter.model, injector, pad=interpreter_vocab(base_path).eot)
        with torch.no_grad():
            before = float(_nll(hyper, interp, item, rows))
        for _ in range(6):
            _nll(hyper, interp, item, rows).backward()
            optimizer.step()
            optimizer.zero_grad()
        with torch.no_grad():
            after = float(_nll(hyper, interp, item, rows))
    assert after < before - 0.2, (before, after)


def _grads_are_where_they_belong(hyper, interpreter):
    assert all(not p.requires_grad and p.grad is None for p in interpreter.model.parameters())
    assert hyper.encoder.tau.grad is not None and hyper.encoder.tau.grad.abs().sum() > 0
    missing = [n for n, p in hyper.mapper.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert not missing, missing
    wrappers = [m for m in interpreter.model.modules() if type(m).__name__ == "HyperLoraLinear"]
    assert not wrappers  # the shared torch base is left as it was loaded


@pytest.mark.parametrize("peft", ["lora", "prefix"])
def test_gradients_reach_compiler_and_mapper_never_the_interpreter(interpreter, tokenizer, items, base_path, peft):
    item = items[0][1]
    compiler = tiny_compiler(tokenizer, seed=1)
    hyper = build_hypernet(_arch(peft=peft, compiler_train="lora"), interpreter, compiler=compiler)
    targets = hyper.arch.targets if peft == "lora" else ()
    with injected(interpreter.model, targets) as injector:
        interp = Interp(interpreter.model, injector if peft == "lora" else None, pad=interpreter_vocab(base_path).eot)
        _nll(hyper, interp, item, [item.program.rows[i] for i in item.trainable[:2]]).backward()
    _grads_are_where_they_belong(hyper, interpreter)
    lora = [(n, p) for n, p in compiler.model.named_parameters() if "lora_" in n]
    assert lora and all(p.grad is not None for _, p in lora)
    # peft starts lora_B at zero, so on the first backward only lora_B moves (lora_A's gradient is B^T-weighted)
    assert all(p.grad.abs().sum() > 0 for n, p in lora if "lora_B" in n)
    assert all(p.grad is None for n, p in compiler.model.named_parameters() if "lora_" not in n)


def test_default_compiler_is_the_interpreter_itself_and_stays_frozen(interpreter, items, base_path):
    item = items[0][0]
    hyper = build_hypernet(_arch(), interpreter)  # compiler_base=None, compiler_train='prefix': one shared copy
    assert hyper.shares_interpreter and hyper.encoder.lm is interpreter.model
    with injected(interpreter.model, hyper.arch.targets) as injector:
        interp = Interp(interpreter.model, injector, pad=interpreter_vocab(base_path).eot)
        _nll(hyper, interp, item, [item.program.rows[item.trainable[0]]]).backward()
    _grads_are_where_they_belong(hyper, interpreter)


@pytest.fixture(scope="module")
def checkpoint(items, tmp_path_factory):
    """A real checkpoint of the default layout (shared SmolLM2 compiler), trained 2 steps then resumed to 3."""
    directory = tmp_path_factory.mktemp("hypernet-ckpt")
    config = preset("tiny")
    config.train.steps, config.train.eval_every, config.train.save_every, config.train.threads = 2, 1, 1, 1
    first = train_hypernet(config, items[0], items[1], directory)
    config.train.steps = 3
    second = train_hypernet(config, items[0], items[1], directory)
    return directory, first, second


def test_training_checkpoints_and_resumes(checkpoint):
    directory, first, second = checkpoint
    assert first.steps == 2 and second.steps == 3 and len(second.losses) == 3
    assert second.losses[:2] == first.losses  # resumed from last.pt, not restarted
    assert [step for step, _ in second.val_curve] == [0, 1, 2, 3]
    assert {p.name for p in directory.iterdir()} >= {"config.json", "model.pt", "last.pt", "log.jsonl"}
    info = json.loads((directory / "config.json").read_text())
    assert info["best_step"] in (0, 1, 2, 3) and info["config"]["arch"]["rank"] == 2
    logged = [json.loads(line) for line in (directory / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in logged if "loss" in r] == [1, 2, 3]


def test_exported_adapter_matches_torch_in_llama_cpp(interpreter, tokenizer, base_path):
    """The generated LoRA, exported to GGUF, changes llama.cpp's logits as it changes torch's (parity bar 0.85)."""
    from compiler.parity import DEFAULT_PROMPTS, LlamaCppModel
    from compiler.torch_base import TARGET_MODULES

    def _cosine(x, y) -> float:
        return float(np.dot(x.astype(np.float64), y.astype(np.float64)) / (np.linalg.norm(x) * np.linalg.norm(y)))

    def _module_at(layer, dotted):
        for part in dotted.split("."):
            layer = getattr(layer, part)
        return layer

    hyper = build_hypernet(_arch(targets=("q", "k", "v", "o", "gate", "up", "down")), interpreter, compiler=tiny_compiler(tokenizer, 2))
    with torch.no_grad():  # a trained-looking mapper: B clearly non-zero (an untrained one is ~0, a vacuous test)
        hyper.mapper.head.bias.view(2, -1)[1].normal_(0.0, 1.0)
    spec, pseudo = "Answer YES if the text mentions animals.", "Answer YES if the text mentions animals.\nInput: a cat\nOutput: YES"
    pairs = generate_pairs(hyper, spec, pseudo)
    layers = interpreter.layers()
    scale = float(np.mean([np.linalg.norm(p.b @ p.a) / np.linalg.norm(_module_at(layers[l], TARGET_MODULES[t][0]).weight.numpy())
                           for (l, t), p in pairs.items()]))
    with torch.no_grad():  # size the update like compiler/parity.py's random LoRA: |dW| ~ 0.1 |W|
        for bases in hyper.mapper.bases_b.values():
            bases.mul_(0.1 / scale)
    compiled = compile_adapter(hyper, interpreter.facts, spec, pseudo, quant="f16")
    runner = LlamaCppModel(base_path, n_ctx=512, threads=1)
    try:
        add_bos = bool(runner._llama_cpp.llama_vocab_get_add_bos(runner.vocab))
        token_lists = [runner.tokenize(p, special=True, add_bos=add_bos) for p in DEFAULT_PROMPTS]
        llama_base = [runner.last_logits(t) for t in token_lists]
        with runner.adapter(compiled.adapter):
            llama_lora = [runner.last_logits(t) for t in token_lists]
    finally:
        runner.close()
    with torch.no_grad():
        generated = hyper([(spec, pseudo)])
        with injected(interpreter.model, hyper.arch.targets) as injector:
            torch_base, torch_lora = [], []
            for tokens in token_lists:
                ids = torch.tensor([tokens])
                torch_base.append(interpreter.model(input_ids=ids).logits[0, -1].numpy())
                injector.set(generated)
                torch_lora.append(interpreter.model(input_ids=ids).logits[0, -1].numpy())
                injector.clear()
    deltas = [_cosine(tl - tb, ll - lb) for tb, tl, lb, ll in zip(torch_base, torch_lora, llama_base, llama_lora)]
    assert np.mean([_cosine(tb, lb) for tb, lb in zip(torch_base, llama_base)]) > 0.98
    assert all(np.linalg.norm(tl - tb) > 1.0 for tb, tl in zip(torch_base, torch_lora))  # the adapter really acts
    assert np.mean(deltas) >= 0.85, deltas


SOURCE = """name: pets
spec: Answer YES if the text mentions an animal, otherwise NO.
output: {type: labels, labels: ["YES", "NO"]}
examples:
  - {input: a cat sat on the mat, output: "YES"}
  - {input: the invoice is overdue, output: "NO"}
  - {input: my dog loves the park, output: "YES"}
"""


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "pawflow.cli.main", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=900, env={**os.environ, "PAWFLOW_THREADS": "1"})


def test_compile_method_hypernet_packs_a_runnable_paw(checkpoint, tmp_path):
    import pawflow
    from pawflow.program import Program

    directory, _, _ = checkpoint
    (tmp_path / "pets.yaml").write_text(SOURCE)
    proc = _cli("compile", "pets.yaml", "--method", "hypernet", "--checkpoint", str(directory), "--out", "pets.paw", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)["reports"][0]
    assert report["status"] == "built" and report["method"] == "hypernet"
    program = Program.read(tmp_path / "pets.paw")
    assert program.adapter is not None and program.adapter[:4] == b"GGUF"
    details = program.meta.pawflow.compile.details
    assert details["checkpoint"] == str(directory) and details["peft"] == "lora" and details["quant"] == "q8_0"
    assert pawflow.load(tmp_path / "pets.paw")("a horse in the field") in ("YES", "NO")


def test_compile_hypernet_errors_are_clear(tmp_path):
    (tmp_path / "pets.yaml").write_text(SOURCE)
    proc = _cli("compile", "pets.yaml", "--method", "hypernet", "--checkpoint", str(tmp_path / "nope"), cwd=tmp_path)
    assert proc.returncode != 0 and "not a hypernet checkpoint" in proc.stderr
    assert not (tmp_path / "build").exists()
    proc = _cli("compile", "pets.yaml", "--method", "prompt", "--checkpoint", str(tmp_path), cwd=tmp_path)
    assert proc.returncode != 0 and "checkpoint" in proc.stderr

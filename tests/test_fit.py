"""The ``fit`` method on the real embedded base: training, determinism, export, runtime, interruption."""

from __future__ import annotations

import json

import numpy as np
import pytest

import pawflow
from compiler.fit import _Row, _Runner, check_agreement, fit_lora, get_vocab, label_sequences
from compiler.lora_gguf import read_lora_gguf
from compiler.parity import random_lora
from compiler.torch_base import attached_lora, load_torch_base, set_lora_state
from pawflow.errors import CompileError
from pawflow.program import CompileInfo, GenerationSettings, LabelsOutput, Program, TextOutput
from pawflow.prompting import render_template

pytestmark = pytest.mark.slow

LABELS = LabelsOutput(labels=["ANIMAL", "OTHER"])
TRAIN = [
    ("a cat sat on the mat", "ANIMAL"),
    ("the stock market fell today", "OTHER"),
    ("my dog loves the park", "ANIMAL"),
    ("please reboot the server", "OTHER"),
    ("a horse ran across the field", "ANIMAL"),
    ("the invoice is due friday", "OTHER"),
    ("two birds on a wire", "ANIMAL"),
    ("compile the project first", "OTHER"),
]
HELDOUT = [
    ("a cow in the barn", "ANIMAL"),
    ("the meeting moved to noon", "OTHER"),
    ("the fox jumped the fence", "ANIMAL"),
    ("update your password", "OTHER"),
]
TINY = dict(steps=4, batch_size=4, lr=5e-3, rank=4, alpha=8.0, eval_every=2, threads=1, progress=False)


@pytest.fixture(scope="module")
def template(base_info, base_path) -> str:
    return render_template(base_info, "Say ANIMAL if the text is about an animal, else OTHER.", base_path=base_path)


@pytest.fixture(scope="module")
def tiny_fit(base_path, template):
    return fit_lora(base_path=base_path, prompt_template=template, train=TRAIN, heldout=HELDOUT, output_type=LABELS, seed=0, **TINY)


def _no_lora_left(base_path) -> bool:
    model = load_torch_base(base_path).model
    return not any("lora" in name for name, _ in model.named_modules())


def test_tiny_fit_lowers_the_loss(tiny_fit):
    before, *after = tiny_fit.curve
    assert before.step == 0 and before.train_loss is None
    assert [p.step for p in after] == [2, 4]
    assert after[-1].heldout_loss < before.heldout_loss
    assert after[-1].train_loss < after[0].train_loss or after[-1].heldout_loss < after[0].heldout_loss
    assert tiny_fit.steps_run == 4 and tiny_fit.eval_split == "heldout" and tiny_fit.n_eval == len(HELDOUT)
    assert set(tiny_fit.eval_answers) <= set(LABELS.labels) and len(tiny_fit.eval_answers) == len(HELDOUT)


def test_adapter_bytes_per_quant(tiny_fit, base_info):
    sizes = tiny_fit.adapter_sizes
    assert set(tiny_fit.adapters) == {"f16", "q8_0", "q4_0"}
    assert sizes["f16"] > sizes["q8_0"] > sizes["q4_0"]
    assert tiny_fit.adapter == tiny_fit.adapters["q8_0"]
    info = read_lora_gguf(tiny_fit.adapter)
    assert info.alpha == 8.0 and info.architecture == base_info.architecture
    assert len(info.tensors) == 2 * 4 * base_info.n_layer
    # rank 4 < 32: lora_b rows cannot form q8_0 blocks and stay f16; lora_a rows (576) are quantized
    assert tiny_fit.tensor_types == {"Q8_0": 4 * base_info.n_layer, "F16": 4 * base_info.n_layer}


def test_fitted_program_loads_and_runs_in_the_runtime(tiny_fit, base_info, template, tmp_path):
    program = Program.build(
        name="animal",
        base=base_info,
        prompt_template=template,
        adapter=tiny_fit.adapter,
        output=LABELS,
        compile=CompileInfo(method="fit", details=tiny_fit.details()),
    )
    path = program.write(tmp_path / "animal.paw")
    fn = pawflow.load(path)
    values = fn.map([text for text, _ in HELDOUT])
    assert set(values) <= set(LABELS.labels)
    # the agreement check replays exactly this path and compares with the torch answers
    assert tiny_fit.agreement is not None and tiny_fit.agreement.n == len(HELDOUT)
    assert tiny_fit.agreement.rate == sum(v == a for v, a in zip(values, tiny_fit.eval_answers)) / len(HELDOUT)
    assert {m.input for m in tiny_fit.agreement.mismatches} == {
        text for (text, _), v, a in zip(HELDOUT, values, tiny_fit.eval_answers) if v != a
    }
    assert tiny_fit.agreement.rate >= 0.75
    meta = json.loads(Program.read(path).meta.model_dump_json())
    assert meta["pawflow"]["compile"]["details"]["llama_cpp_agreement"] == round(tiny_fit.agreement.rate, 4)


def test_same_seed_same_adapter_other_seed_other_adapter(base_path, template, tiny_fit):
    again = fit_lora(base_path=base_path, prompt_template=template, train=TRAIN, heldout=HELDOUT, output_type=LABELS, seed=0, check=False, **TINY)
    assert again.adapters == tiny_fit.adapters
    assert [p.heldout_loss for p in again.curve] == [p.heldout_loss for p in tiny_fit.curve]
    other = fit_lora(base_path=base_path, prompt_template=template, train=TRAIN, heldout=HELDOUT, output_type=LABELS, seed=1, check=False, **TINY)
    assert other.adapters["f16"] != tiny_fit.adapters["f16"]


def test_interrupt_leaves_no_file_and_a_clean_base(base_path, template, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    steps_seen = []

    def interrupt(info):
        steps_seen.append(info.step)
        if info.step == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit_lora(base_path=base_path, prompt_template=template, train=TRAIN, heldout=HELDOUT, output_type=LABELS, callback=interrupt, **TINY)
    assert steps_seen == [1, 2]
    assert list(tmp_path.iterdir()) == []
    assert _no_lora_left(base_path)


def test_text_output_fit_decodes_greedily(base_path, base_info):
    template = render_template(base_info, "Repeat the word in upper case.", base_path=base_path)
    pairs = [("cat", "CAT"), ("dog", "DOG"), ("sun", "SUN"), ("tree", "TREE")]
    result = fit_lora(
        base_path=base_path,
        prompt_template=template,
        train=pairs,
        output_type=TextOutput(),
        generation=GenerationSettings(max_tokens=6),
        check=True,
        **{**TINY, "steps": 2},
    )
    assert result.eval_split == "train" and result.n_eval == len(pairs)  # no held-out: report on train rows
    assert len(result.eval_answers) == len(pairs) and all(isinstance(a, str) for a in result.eval_answers)
    assert result.agreement is not None and result.agreement.n == len(pairs)
    assert 0.0 <= result.agreement.rate <= 1.0
    assert result.best_step == result.steps_run == 2 and not result.stopped_early
    assert _no_lora_left(base_path)


def test_packed_label_segments_score_like_separate_full_sequences(base_path, template):
    """One body pass + K label segments (custom mask) must equal K independent full forwards."""
    import torch

    from pawflow.program import split_template

    base = load_torch_base(base_path)
    vocab = get_vocab(base_path)
    prefix_text, suffix_text = split_template(template, "t")
    prefix = vocab.tokenize(prefix_text, special=True)
    body = vocab.tokenize("a cat sat on the mat", special=False) + vocab.tokenize(suffix_text, special=True)
    labels = ["ANIMAL", "OTHER", "ANIMALS"]
    targets = tuple(vocab.tokenize(label, special=False) + [vocab.eot] for label in labels)
    pairs = random_lora(base, rank=4, alpha=8.0, targets=("q", "k", "v", "o"), seed=3, relative_scale=0.05)
    with attached_lora(base, rank=4, alpha=8.0, targets=("q", "k", "v", "o"), seed=0) as peft_model, torch.no_grad():
        set_lora_state(peft_model, pairs)  # a non-zero LoRA, so the prefix's KV depends on it
        runner = _Runner(peft_model, prefix, pad=vocab.eot)
        cache = runner.prefix_cache()
        packed = runner.segment_logprobs([_Row(body=body, targets=targets), _Row(body=body[:3], targets=targets[:1])], cache, copy_cache=True)
        for target, got in zip(targets, packed[0]):
            ids = torch.tensor([prefix + body + target[:-1]])
            logits = peft_model(input_ids=ids).logits[0].float()
            start = len(prefix) + len(body) - 1
            expected = torch.log_softmax(logits[start : start + len(target)], dim=-1)[torch.arange(len(target)), torch.tensor(target)]
            np.testing.assert_allclose(got.numpy(), expected.numpy(), atol=2e-4)
        ids = torch.tensor([prefix + body[:3] + targets[0][:-1]])
        logits = peft_model(input_ids=ids).logits[0].float()
        start = len(prefix) + 2
        expected = torch.log_softmax(logits[start : start + len(targets[0])], dim=-1)[torch.arange(len(targets[0])), torch.tensor(targets[0])]
        np.testing.assert_allclose(packed[1][0].numpy(), expected.numpy(), atol=2e-4)
    # The runtime's rule: end-of-turn is appended exactly to labels whose tokens prefix another's.
    seqs = label_sequences(labels, vocab)
    plain = {label: vocab.tokenize(label, special=False) for label in labels}
    for label in labels:
        prefixes_other = any(o != label and plain[o][: len(plain[label])] == plain[label] for o in labels)
        assert seqs[label] == plain[label] + ([vocab.eot] if prefixes_other else [])


def test_rejects_bad_requests(base_path, template):
    common = dict(base_path=base_path, prompt_template=template, output_type=LABELS, progress=False, threads=1)
    with pytest.raises(CompileError, match="not one of the labels"):
        fit_lora(train=[("x", "MAYBE")], **common)
    with pytest.raises(CompileError, match="needs training examples"):
        fit_lora(train=[], **common)
    with pytest.raises(CompileError, match="quantization"):
        fit_lora(train=TRAIN, quant="q3", **common)
    with pytest.raises(CompileError, match="max_seq_tokens"):
        fit_lora(train=TRAIN, max_seq_tokens=8, **common)
    with pytest.raises(CompileError, match="exactly one"):  # a template without {INPUT_PLACEHOLDER}
        fit_lora(**{**common, "prompt_template": "no placeholder"}, train=TRAIN)


def test_check_agreement_counts_mismatches(base_path, template, tiny_fit):
    inputs = [text for text, _ in HELDOUT]
    flipped = ["OTHER" if a == "ANIMAL" else "ANIMAL" for a in tiny_fit.eval_answers]
    report = check_agreement(
        base_path=base_path, prompt_template=template, output_type=LABELS, adapter=tiny_fit.adapter,
        inputs=inputs, torch_answers=flipped, threads=1,
    )
    assert report.rate == pytest.approx(1.0 - tiny_fit.agreement.rate)
    assert len(report.mismatches) == report.n - report.agree
    with pytest.raises(CompileError, match="torch answers"):
        check_agreement(base_path=base_path, prompt_template=template, output_type=LABELS, adapter=tiny_fit.adapter, inputs=inputs, torch_answers=[])


def test_result_survives_json_round_trip(tiny_fit):
    """FitResult is what a driver may cache or log: bytes go through JSON as base64, losslessly."""
    from compiler.fit import FitResult

    again = FitResult.model_validate_json(tiny_fit.model_dump_json())
    assert again.adapters == tiny_fit.adapters and again.curve == tiny_fit.curve
    details = json.loads(json.dumps(tiny_fit.details()))
    assert details["adapter_bytes"] == tiny_fit.adapter_sizes and details["steps"] == 4
    assert details["eval_loss_before"] > details["eval_loss"]


def test_no_heldout_numbers_are_named_fitted_rows_not_heldout(base_path, template):
    result = fit_lora(base_path=base_path, prompt_template=template, train=TRAIN[:4], output_type=LABELS, check=False, **{**TINY, "steps": 2})
    details = result.details()
    assert result.eval_split == "train"
    assert "eval_exact_match_torch" not in details and "eval_loss" not in details
    assert details["fitted_rows_n"] == 4 and "not an estimate" in details["fitted_rows_note"]


def test_a_cross_validation_fold_scores_its_rows_and_exports_nothing(base_path, template):
    result = fit_lora(
        base_path=base_path, prompt_template=template, train=TRAIN[:6], output_type=LABELS,
        score_inputs=[text for text, _ in HELDOUT], export=False, evaluate_fitted_rows=False,
        prefix_refresh=2, balance_labels=True, weight_decay=0.1, **{**TINY, "steps": 3},
    )
    assert result.eval_split == "none" and result.eval_exact_match is None and result.adapters == {}
    assert result.curve[-1].step == 3 and result.curve[-1].train_loss is not None
    assert len(result.scores) == len(HELDOUT)
    for scores in result.scores:
        assert set(scores) == set(LABELS.labels)
        assert sum(np.exp(v) for v in scores.values()) == pytest.approx(1.0, abs=1e-4)
    with pytest.raises(CompileError, match="export=False"):
        result.adapter
    assert _no_lora_left(base_path)


def test_the_labels_objective_widens_the_gold_margin(base_path, template):
    """objective="labels": cross-entropy over the labels' scores; the gold label's share on the fitted rows rises."""
    texts = [text for text, _ in TRAIN]
    gold = [label for _, label in TRAIN]

    def gold_share(result) -> float:
        return float(np.mean([np.exp(s[g]) for s, g in zip(result.scores, gold)]))

    common = dict(base_path=base_path, prompt_template=template, train=TRAIN, output_type=LABELS, score_inputs=texts,
                  export=False, evaluate_fitted_rows=False, balance_labels=True, **{**TINY, "steps": 3})
    before = fit_lora(**{**common, "lr": 1e-9})
    after = fit_lora(**common, objective="labels")
    assert after.objective == "labels" and after.details()["objective"] == "labels"
    assert gold_share(after) > gold_share(before)
    with pytest.raises(CompileError, match="objective"):
        fit_lora(**common, objective="margin")
    with pytest.raises(CompileError, match="needs a labels program"):
        fit_lora(base_path=base_path, prompt_template=template, train=[("a", "b")], output_type=TextOutput(), objective="labels",
                 progress=False, threads=1)
    assert _no_lora_left(base_path)


def test_balanced_batches_show_every_label_equally_often():
    from compiler.fit import _batch_order

    gold = ["A"] * 6 + ["B"] * 2
    order = _batch_order([None] * 8, gold, np.random.default_rng(0), balance=True)
    assert sorted(gold[i] for i in order).count("A") == sorted(gold[i] for i in order).count("B") == 6
    assert sorted(_batch_order([None] * 8, gold, np.random.default_rng(0), balance=False)) == list(range(8))


def test_dequantized_tensors_are_cached_on_disk_and_rebuild_the_same_model(base_path):
    """A later process loads the training base from the safetensors cache instead of dequantizing."""
    import torch

    from compiler import torch_base
    from pawflow.base import inspect_base

    loaded = load_torch_base(base_path)
    cached = torch_base.tensor_cache_path(inspect_base(base_path))
    assert cached is not None and cached.is_file() and cached.with_suffix(".config.json").is_file()
    rebuilt = torch_base._from_tensor_cache(base_path, inspect_base(base_path))
    assert rebuilt is not None and rebuilt is not loaded.model
    ids = torch.tensor([[1, 42, 7, 99, 5]])
    with torch.no_grad():
        assert torch.equal(rebuilt(ids).logits, loaded.model(ids).logits)

"""Runtime-foundation parity: a LoRA applied in torch and the exported GGUF applied by llama.cpp.

Both sides run the embedded SmolLM2-135M (torch: its GGUF dequantized by transformers; llama.cpp:
the Q4_1 file itself). What is compared is the next-token logit *change* a seeded random LoRA causes.
"""

from __future__ import annotations

import pytest

from compiler.parity import compare_rope_permutation, measure_parity, write_dequantized_base
from compiler.torch_base import clear_cache

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def comparison(base_path):
    return compare_rope_permutation(base_path, seed=0, threads=1)


@pytest.fixture(scope="module")
def reports(comparison):
    return {True: comparison.permuted, False: comparison.unpermuted}


def test_delta_cosine_with_rope_permutation_meets_target(reports):
    report = reports[True]
    assert len(report.prompts) >= 5
    assert report.mean_delta_cosine >= 0.85, report.model_dump_json(indent=1)
    # the LoRA really changes the logits (else the cosine would compare noise with noise)
    assert all(p.delta_norm_torch > 1.0 and p.delta_norm_llama > 1.0 for p in report.prompts)
    # sanity of the comparison itself: without any adapter both engines agree on the logits
    assert report.mean_base_cosine > 0.98


def test_rope_permutation_is_what_makes_q_and_k_agree(reports):
    with_permutation, without = reports[True], reports[False]
    assert with_permutation.mean_delta_cosine > without.mean_delta_cosine + 0.1
    assert with_permutation.min_delta_cosine > without.min_delta_cosine


def test_measure_parity_alone_reproduces_the_comparison(comparison, base_path):
    first = comparison.permuted.prompts[0]
    again = measure_parity(base_path, seed=0, permute=True, threads=1, prompts=[first.prompt])
    assert again.rope_permuted and again.prompts[0].delta_cosine == pytest.approx(first.delta_cosine, abs=1e-6)
    assert comparison.cosine_permuted == comparison.permuted.mean_delta_cosine
    dumped = comparison.model_dump()
    assert {"cosine_permuted", "cosine_unpermuted"} <= set(dumped)


def test_exporter_is_exact_on_an_unquantized_copy_of_the_base(base_path, tmp_path):
    """On an F32 base llama.cpp does no activation quantization: only the exporter can cause a gap.

    Any mistake in names, A/B orientation, alpha/rank scaling or the q/k permutation shows up here
    as a cosine far from 1; with everything right only f16 rounding (adapter, KV cache) remains.
    """
    f32 = write_dequantized_base(base_path, tmp_path / "base-f32.gguf")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base-f32.gguf"]  # no temp file left behind
    exact = measure_parity(f32, seed=1, permute=True, threads=1, relative_scale=0.02)
    assert exact.mean_base_cosine > 0.9999
    assert exact.min_delta_cosine > 0.99, exact.model_dump_json(indent=1)
    # q/k alone isolate the permutation: right, they agree to rounding; wrong, they barely correlate.
    qk = compare_rope_permutation(f32, seed=1, threads=1, relative_scale=0.02, targets=("q", "k"))
    assert qk.cosine_permuted > 0.99
    assert qk.cosine_unpermuted < 0.6
    clear_cache(f32)  # don't keep a second 540 MB model for the rest of the session

"""GGUF LoRA export: format read back with gguf's own reader, quantization policy, RoPE permutation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.lora_gguf import (
    ADAPTER_QUANTS,
    LoraPair,
    export_lora_gguf,
    load_lora_pairs,
    read_lora_gguf,
    rope_permute_rows,
    rope_row_order,
    rope_unpermute_rows,
    write_lora_gguf,
)
from pawflow.errors import CompileError

N_HEAD, N_HEAD_KV, HEAD_DIM, EMBD, RANK = 4, 2, 8, 64, 4


def make_pairs(seed: int = 0, layers: int = 2, targets=("q", "k", "v", "o"), rank: int = RANK):
    rng = np.random.default_rng(seed)
    out = {"q": N_HEAD * HEAD_DIM, "k": N_HEAD_KV * HEAD_DIM, "v": N_HEAD_KV * HEAD_DIM, "o": EMBD, "gate": 96, "up": 96, "down": EMBD}
    inp = {"q": EMBD, "k": EMBD, "v": EMBD, "o": N_HEAD * HEAD_DIM, "gate": EMBD, "up": EMBD, "down": 96}
    return {
        (layer, t): LoraPair(
            a=rng.standard_normal((rank, inp[t])).astype(np.float32),
            b=rng.standard_normal((out[t], rank)).astype(np.float32),
        )
        for layer in range(layers)
        for t in targets
    }


def export(pairs, **kw):
    args = dict(architecture="llama", alpha=8.0, n_head=N_HEAD, n_head_kv=N_HEAD_KV, permute_rope=True, quant="f16")
    args.update(kw)
    return export_lora_gguf(pairs, **args)


def test_header_and_tensor_table_read_back_with_gguf_reader():
    pairs = make_pairs(targets=("q", "k", "v", "o", "gate", "up", "down"))
    data, report = export(pairs)
    info = read_lora_gguf(data)
    assert (info.general_type, info.adapter_type, info.architecture) == ("adapter", "lora", "llama")
    assert info.alpha == 8.0
    names = [t.name for t in info.tensors]
    assert len(names) == len(set(names)) == 2 * len(pairs)  # every tensor written exactly once
    assert names[:4] == [
        "blk.0.attn_q.weight.lora_a",
        "blk.0.attn_q.weight.lora_b",
        "blk.0.attn_k.weight.lora_a",
        "blk.0.attn_k.weight.lora_b",
    ]
    assert "blk.1.ffn_down.weight.lora_b" in names
    by_name = {t.name: t for t in info.tensors}
    assert by_name["blk.1.attn_k.weight.lora_a"].shape == (RANK, EMBD)
    assert by_name["blk.1.attn_k.weight.lora_b"].shape == (N_HEAD_KV * HEAD_DIM, RANK)
    assert by_name["blk.0.ffn_down.weight.lora_a"].shape == (RANK, 96)
    assert {t.type for t in info.tensors} == {"F16"}
    assert report.n_bytes == len(data) and report.tensors == info.tensors


def test_quantization_applies_only_to_rows_that_fill_blocks():
    pairs = make_pairs()
    sizes = {}
    for quant in ADAPTER_QUANTS:
        data, _ = export(pairs, quant=quant)
        sizes[quant] = len(data)
        types = {t.name.rsplit(".", 1)[1]: set() for t in read_lora_gguf(data).tensors}
        for t in read_lora_gguf(data).tensors:
            types[t.name.rsplit(".", 1)[1]].add(t.type)
        # lora_a rows are EMBD=64 or 32 values long (whole 32-blocks); lora_b rows are RANK=4 long.
        assert types["lora_a"] == {"F16" if quant == "f16" else quant.upper()}
        assert types["lora_b"] == {"F16"}
    assert sizes["f16"] > sizes["q8_0"] > sizes["q4_0"]


@pytest.mark.parametrize("quant,tolerance", [("f16", 1e-3), ("q8_0", 5e-3), ("q4_0", 0.13)])
def test_round_trip_values(quant, tolerance):
    pairs = make_pairs(seed=3)
    data, _ = export(pairs, quant=quant)
    back = load_lora_pairs(data, n_head=N_HEAD, n_head_kv=N_HEAD_KV, unpermute_rope=True)
    assert back.keys() == pairs.keys()
    for key, pair in pairs.items():
        # relative to the tensor's scale: q4_0 keeps 4 bits per value, and clips the value opposite the
        # block maximum to 7 steps of max/8, so its worst case is one step (1/8 of the max)
        assert np.max(np.abs(back[key].a - pair.a)) <= tolerance * np.max(np.abs(pair.a))
        np.testing.assert_allclose(back[key].b, pair.b, atol=2e-3 * np.max(np.abs(pair.b)))


def test_permutation_moves_only_q_and_k_lora_b():
    pairs = make_pairs(seed=5)
    plain, _ = export(pairs, permute_rope=False)
    permuted, _ = export(pairs, permute_rope=True)
    raw_plain = load_lora_pairs(plain, n_head=N_HEAD, n_head_kv=N_HEAD_KV, unpermute_rope=False)
    raw_perm = load_lora_pairs(permuted, n_head=N_HEAD, n_head_kv=N_HEAD_KV, unpermute_rope=False)
    for (layer, target), pair in raw_plain.items():
        other = raw_perm[(layer, target)]
        np.testing.assert_array_equal(pair.a, other.a)
        if target in ("q", "k"):
            heads = N_HEAD if target == "q" else N_HEAD_KV
            assert not np.array_equal(pair.b, other.b)
            np.testing.assert_array_equal(rope_permute_rows(pair.b, heads), other.b)
        else:
            np.testing.assert_array_equal(pair.b, other.b)


def test_export_is_deterministic_and_seed_sensitive():
    assert export(make_pairs(seed=1))[0] == export(make_pairs(seed=1))[0]
    assert export(make_pairs(seed=1))[0] != export(make_pairs(seed=2))[0]


def test_rejects_bad_input(tmp_path):
    with pytest.raises(CompileError, match="no LoRA pairs"):
        export({})
    mixed = make_pairs(rank=4)
    mixed[(9, "q")] = make_pairs(rank=2)[(0, "q")]
    with pytest.raises(CompileError, match="share one rank"):
        export(mixed)
    broken = make_pairs()
    broken[(0, "v")].a[0, 0] = np.nan
    with pytest.raises(CompileError, match="NaN"):
        export(broken)
    with pytest.raises(CompileError, match="unknown LoRA target"):
        export({(0, "qkv"): make_pairs()[(0, "q")]})
    with pytest.raises(CompileError, match="rank mismatch"):
        LoraPair(a=np.zeros((4, 8), np.float32), b=np.zeros((8, 3), np.float32))
    with pytest.raises(CompileError, match="quantization"):
        export(make_pairs(), quant="q2_k")
    with pytest.raises(CompileError, match="GGUF magic"):
        write_lora_gguf(tmp_path / "x.gguf", b"nope")
    assert not (tmp_path / "x.gguf").exists()


def test_write_is_atomic_and_leaves_no_temp_files(tmp_path):
    data, _ = export(make_pairs())
    target = write_lora_gguf(tmp_path / "sub" / "adapter.gguf", data)
    assert target.read_bytes() == data
    assert sorted(p.name for p in target.parent.iterdir()) == ["adapter.gguf"]


def test_llama_cpp_row_order_matches_the_definition():
    # One head of 8 rows: HF pairs (0,4) (1,5) (2,6) (3,7) become adjacent in llama.cpp's order.
    assert rope_row_order(8, 1).tolist() == [0, 4, 1, 5, 2, 6, 3, 7]
    assert rope_row_order(8, 2).tolist() == [0, 2, 1, 3, 4, 6, 5, 7]
    with pytest.raises(CompileError, match="heads"):
        rope_row_order(10, 3)
    with pytest.raises(CompileError, match="even head dimension"):
        rope_row_order(6, 2)


@settings(max_examples=60, deadline=None)
@given(
    n_head=st.integers(1, 16),
    half_dim=st.integers(1, 64),
    cols=st.integers(1, 9),
    seed=st.integers(0, 2**32 - 1),
)
def test_permute_and_unpermute_are_inverse(n_head, half_dim, cols, seed):
    rows = n_head * 2 * half_dim
    matrix = np.random.default_rng(seed).standard_normal((rows, cols)).astype(np.float32)
    permuted = rope_permute_rows(matrix, n_head)
    np.testing.assert_array_equal(rope_unpermute_rows(permuted, n_head), matrix)
    np.testing.assert_array_equal(rope_permute_rows(rope_unpermute_rows(matrix, n_head), n_head), matrix)
    order = rope_row_order(rows, n_head)
    assert sorted(order.tolist()) == list(range(rows))  # a permutation: no row lost or duplicated
    # rows never leave their head
    assert np.array_equal(order // (2 * half_dim), np.arange(rows) // (2 * half_dim))


@settings(max_examples=30, deadline=None)
@given(n_head=st.integers(1, 12), half_dim=st.integers(1, 32), rank=st.integers(1, 8), seed=st.integers(0, 1000))
def test_permuting_lora_b_equals_permuting_the_weight_delta(n_head, half_dim, rank, seed):
    """The reason only lora_b is permuted: permute(B @ A) == permute(B) @ A (rows of the product)."""
    rng = np.random.default_rng(seed)
    b = rng.standard_normal((n_head * 2 * half_dim, rank))
    a = rng.standard_normal((rank, 16))
    np.testing.assert_allclose(rope_permute_rows(b @ a, n_head), rope_permute_rows(b, n_head) @ a)


def test_agrees_with_transformers_gguf_unpermute():
    """transformers undoes llama.cpp's q/k reorder when it loads a GGUF; ours must be its inverse."""
    from transformers.modeling_gguf_pytorch_utils import LlamaTensorProcessor

    rng = np.random.default_rng(0)
    for n_head, n_kv in ((9, 3), (4, 4), (8, 2)):
        processor = LlamaTensorProcessor(config={"num_attention_heads": n_head, "num_key_value_heads": n_kv})
        for name, heads in (("blk.0.attn_q.weight", n_head), ("blk.0.attn_k.weight", n_kv)):
            gguf_rows = rng.standard_normal((heads * 16, 5)).astype(np.float32)
            hf_rows = processor.process(gguf_rows, name).weights
            np.testing.assert_array_equal(rope_permute_rows(hf_rows, heads), gguf_rows)

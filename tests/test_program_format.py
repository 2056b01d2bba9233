"""The .paw format: round trip, atomic writes, hostile archives, integrity and base checks."""

from __future__ import annotations

import io
import json
import stat
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pawflow
from pawflow.errors import BaseMismatchError, IntegrityError, ProgramFormatError, ProgramNotFoundError
from pawflow.program import JsonOutput, LabelsOutput, Program

from .conftest import build_program, random_adapter


def _rezip(src: Path, dst: Path, mutate) -> Path:
    """Copy a .paw, letting ``mutate(name, data) -> (name, data) | None`` rewrite members."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            changed = mutate(info.filename, zin.read(info))
            if changed is not None:
                zout.writestr(changed[0], changed[1])
    return dst


def test_round_trip_preserves_everything(base_info, base_path, tmp_path):
    adapter = random_adapter(base_info, seed=1)
    program = build_program(base_info, base_path, name="rt", adapter=adapter)
    path = program.write(tmp_path / "rt.paw")
    loaded = Program.read(path)
    assert loaded.meta == program.meta
    assert loaded.prompt_template == program.prompt_template
    assert loaded.pseudo_program == program.pseudo_program
    assert loaded.adapter == adapter
    members = zipfile.ZipFile(path).namelist()
    assert sorted(members) == ["adapter.gguf", "meta.json", "prompt_template.txt", "pseudo_program.txt"]
    meta = json.loads(zipfile.ZipFile(path).read("meta.json"))
    # SDK fields at top level, pawflow's beside them
    assert meta["interpreter"] and len(meta["program_id"]) == 64
    pf = meta["pawflow"]
    assert pf["base"]["sha256"] == base_info.sha256 and pf["base"]["architecture"] == "llama"
    assert set(pf["members"]) == {"adapter.gguf", "prompt_template.txt", "pseudo_program.txt"}
    assert pf["output"] == {"type": "labels", "labels": ["ALERT", "QUIET"]}


def test_program_id_is_content_derived(base_info, base_path):
    a = build_program(base_info, base_path, name="x")
    b = build_program(base_info, base_path, name="x")
    c = build_program(base_info, base_path, name="x", spec="Something else entirely.")
    assert a.meta.program_id == b.meta.program_id != c.meta.program_id


def test_prompt_only_program_has_no_adapter_member(make_program):
    path = make_program("plain")
    assert "adapter.gguf" not in zipfile.ZipFile(path).namelist()
    assert Program.read(path).adapter is None


def test_write_is_atomic_on_crash(base_info, base_path, tmp_path, monkeypatch):
    target = tmp_path / "p.paw"
    build_program(base_info, base_path, name="p").write(target)
    before = target.read_bytes()
    newer = build_program(base_info, base_path, name="p", spec="A different spec.")

    def explode(self):
        raise KeyboardInterrupt  # Ctrl-C in the middle of serialising

    monkeypatch.setattr(Program, "to_bytes", explode)
    with pytest.raises(KeyboardInterrupt):
        newer.write(target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["p.paw"]  # no temp file left behind


def test_missing_program_is_a_clear_error(tmp_path):
    with pytest.raises(ProgramNotFoundError, match="no-such-program"):
        pawflow.load("no-such-program")
    with pytest.raises(ProgramNotFoundError, match="not found"):
        pawflow.load(tmp_path / "nope.paw")


def test_corrupted_zip(make_program, tmp_path):
    path = make_program("c")
    data = path.read_bytes()
    (tmp_path / "trunc.paw").write_bytes(data[: len(data) // 2])
    with pytest.raises(ProgramFormatError, match="not a valid .paw zip"):
        Program.read(tmp_path / "trunc.paw")
    (tmp_path / "garbage.paw").write_bytes(b"PAW\x02 legacy binary or random bytes")
    with pytest.raises(ProgramFormatError):
        Program.read(tmp_path / "garbage.paw")


def test_hash_mismatch_is_refused(make_program, tmp_path):
    path = make_program("h")
    tampered = _rezip(
        path,
        tmp_path / "tampered.paw",
        lambda n, d: (n, d.replace(b"ALERT", b"ALARM", 1)) if n == "pseudo_program.txt" else (n, d),
    )
    with pytest.raises(IntegrityError, match="pseudo_program.txt sha256"):
        pawflow.load(tampered)


def test_adapter_hash_mismatch_is_refused(base_info, base_path, tmp_path):
    path = build_program(base_info, base_path, name="a", adapter=random_adapter(base_info, 2)).write(tmp_path / "a.paw")
    other = random_adapter(base_info, 3)
    tampered = _rezip(path, tmp_path / "t.paw", lambda n, d: (n, other) if n == "adapter.gguf" else (n, d))
    with pytest.raises(IntegrityError, match="adapter.gguf"):
        Program.read(tampered)


@pytest.mark.parametrize(
    "member, message",
    [
        ("../evil.txt", "path traversal"),
        ("/etc/passwd", "path traversal"),
        ("sub/../../x", "path traversal"),
        ("extra.bin", "unexpected member"),
    ],
)
def test_hostile_member_names(make_program, tmp_path, member, message):
    path = make_program("n")
    hostile = tmp_path / "hostile.paw"
    _rezip(path, hostile, lambda n, d: (n, d))
    with zipfile.ZipFile(hostile, "a") as archive:
        archive.writestr(member, b"x")
    with pytest.raises(ProgramFormatError, match=message):
        Program.read(hostile)


def test_symlink_member_is_refused(make_program, tmp_path):
    path = make_program("l")
    linked = _rezip(path, tmp_path / "link.paw", lambda n, d: None if n == "pseudo_program.txt" else (n, d))
    with zipfile.ZipFile(linked, "a") as archive:
        info = zipfile.ZipInfo("pseudo_program.txt")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc/passwd")
    with pytest.raises(ProgramFormatError, match="symbolic link"):
        Program.read(linked)


def test_duplicate_member_is_refused(make_program, tmp_path):
    path = make_program("d")
    dup = _rezip(path, tmp_path / "dup.paw", lambda n, d: (n, d))
    with pytest.warns(UserWarning), zipfile.ZipFile(dup, "a") as archive:
        archive.writestr("meta.json", b"{}")
    with pytest.raises(ProgramFormatError, match="duplicate member"):
        Program.read(dup)


def test_oversized_member_is_refused(make_program, tmp_path, monkeypatch):
    from pawflow import program as program_module

    path = make_program("big")
    monkeypatch.setitem(program_module.MAX_MEMBER_BYTES, "prompt_template.txt", 64)
    with pytest.raises(ProgramFormatError, match="over the 64 limit"):
        Program.read(path)


def test_zip_bomb_declared_size_lies(make_program, tmp_path, monkeypatch):
    """A member whose real expansion exceeds the limit is caught while reading, not trusted."""
    from pawflow import program as program_module

    path = make_program("bomb")
    bomb = _rezip(path, tmp_path / "bomb-big.paw", lambda n, d: (n, d + b" " * 5000) if n == "pseudo_program.txt" else (n, d))
    raw = bytearray(bomb.read_bytes())
    monkeypatch.setitem(program_module.MAX_MEMBER_BYTES, "pseudo_program.txt", 4096)
    # patch the central directory's declared size down to 10 bytes
    with zipfile.ZipFile(io.BytesIO(bytes(raw))) as archive:
        info = archive.getinfo("pseudo_program.txt")
    real = info.file_size.to_bytes(4, "little")
    index = raw.rfind(b"PK\x01\x02")
    while index != -1:
        name_len = int.from_bytes(raw[index + 28 : index + 30], "little")
        if raw[index + 46 : index + 46 + name_len] == b"pseudo_program.txt":
            assert raw[index + 24 : index + 28] == real
            raw[index + 24 : index + 28] = (10).to_bytes(4, "little")
            break
        index = raw.rfind(b"PK\x01\x02", 0, index)
    (tmp_path / "bomb2.paw").write_bytes(bytes(raw))
    with pytest.raises(ProgramFormatError):
        Program.read(tmp_path / "bomb2.paw")


def test_wrong_base_is_refused(base_info, base_path, tmp_path):
    other_weights = base_info.model_copy(update={"sha256": "0" * 64, "file": "other.gguf"})
    path = build_program(other_weights, base_path, name="w").write(tmp_path / "w.paw")
    with pytest.raises(BaseMismatchError, match="sha256"):
        pawflow.load(path)
    other_shape = base_info.model_copy(update={"n_layer": 28, "name": "Qwen3 0.6B", "sha256": "1" * 64})
    path = build_program(other_shape, base_path, name="s").write(tmp_path / "s.paw")
    with pytest.raises(BaseMismatchError, match="Qwen3 0.6B"):
        pawflow.load(path)


def test_wrong_base_allowed_when_only_weights_differ(base_info, base_path, tmp_path, monkeypatch):
    other_weights = base_info.model_copy(update={"sha256": "0" * 64})
    path = build_program(other_weights, base_path, name="q").write(tmp_path / "q.paw")
    monkeypatch.setenv("PAWFLOW_ALLOW_BASE_MISMATCH", "1")
    assert pawflow.load(path).name == "q"


def test_template_needs_exactly_one_placeholder(base_info):
    with pytest.raises(ProgramFormatError, match="exactly one"):
        Program.build(name="t", base=base_info, prompt_template="no placeholder here")
    with pytest.raises(ProgramFormatError, match="found 2"):
        Program.build(name="t", base=base_info, prompt_template="{INPUT_PLACEHOLDER} {INPUT_PLACEHOLDER}")


def test_output_type_validation():
    with pytest.raises(ValueError, match="distinct"):
        LabelsOutput(labels=["A", "A"])
    with pytest.raises(Exception):
        JsonOutput(schema={"type": "no-such-type"})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_never_crash_the_reader(tmp_path_factory, blob):
    path = tmp_path_factory.mktemp("fuzz") / "x.paw"
    path.write_bytes(blob)
    with pytest.raises(ProgramFormatError):
        Program.read(path)


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(st.sampled_from(["meta.json", "prompt_template.txt", "pseudo_program.txt", "adapter.gguf"]), st.binary(max_size=300)))
def test_arbitrary_members_never_crash_the_reader(tmp_path_factory, members):
    path = tmp_path_factory.mktemp("fuzzm") / "m.paw"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(ProgramFormatError):
        Program.read(path)

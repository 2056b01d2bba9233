"""A program is one file, ``NAME.paw``: a zip in the public ``programasweights`` SDK's layout.

Members (and nothing else):

``meta.json``            SDK fields (``program_id``, ``interpreter``, ``spec``) beside pawflow's own, which
                         live under the ``pawflow`` key (name, version, output type, generation settings,
                         base identity, compile method, sha256 of every other member).
``prompt_template.txt``  the fully rendered interpreter prompt with exactly one ``{INPUT_PLACEHOLDER}``.
``pseudo_program.txt``   the discrete pseudo-program (text) the template embeds.
``adapter.gguf``         a GGUF LoRA adapter; absent for prompt-only programs.

Reading never extracts to disk and trusts nothing: member names, types, sizes and hashes are
checked before any byte is used. Writing goes through a temporary file, so a crash mid-compile
leaves either the old program or none, never half of one.
"""

from __future__ import annotations

import hashlib
import io
import math
import json
import stat
import zipfile
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pawflow.base import BaseModelInfo, interpreter_matches
from pawflow.errors import BaseMismatchError, IntegrityError, ProgramFormatError
from pawflow.storage import atomic_writer

INPUT_PLACEHOLDER = "{INPUT_PLACEHOLDER}"
FORMAT_VERSION = 1
META = "meta.json"
TEMPLATE = "prompt_template.txt"
PSEUDO = "pseudo_program.txt"
ADAPTER = "adapter.gguf"
_ALLOWED = (META, TEMPLATE, PSEUDO, ADAPTER)
MAX_ARCHIVE_BYTES = 1 << 30
MAX_MEMBER_BYTES = {META: 4 << 20, TEMPLATE: 4 << 20, PSEUDO: 4 << 20, ADAPTER: 1 << 30}
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


# --------------------------------------------------------------------------- output types


class LabelsOutput(BaseModel):
    """Classify into one of a fixed set of labels; decoding can only return one of them."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["labels"] = "labels"
    labels: list[str] = Field(min_length=2)
    # Decision offsets in log-probability, added before the argmax and renormalised: a threshold the
    # compiler calibrates on held-out confidences (a small base often leans to one label everywhere
    # while its confidence still ranks inputs well). None: the model's own argmax.
    bias: dict[str, float] | None = None
    # Noisy-channel scoring (Min et al. 2022): label -> the text an input follows when it is read as
    # that label (the spec as it describes that label, and that label's examples). The runtime scores
    # log P(input | label's text) for every label instead of log P(label | input): a small base models
    # text far better than it follows an instruction, and the per-label likelihoods do not lean to one
    # label the way a 135M model's answer does. None: direct scoring of the label tokens after the prompt.
    channel: dict[str, str] | None = None

    @model_validator(mode="after")
    def _bias_names_labels(self) -> "LabelsOutput":
        unknown = sorted(set(self.bias or {}) - set(self.labels))
        if unknown:
            raise ValueError(f"bias names labels that do not exist: {unknown}")
        if self.channel is not None and set(self.channel) != set(self.labels):
            raise ValueError(
                f"channel must give one text per label: missing {sorted(set(self.labels) - set(self.channel))}, "
                f"unknown {sorted(set(self.channel) - set(self.labels))}"
            )
        return self

    def apply_bias(self, logprobs: dict[str, float]) -> dict[str, float]:
        """Log-probabilities with the decision offsets added and renormalised over the labels."""
        if not self.bias:
            return logprobs
        shifted = {label: value + self.bias.get(label, 0.0) for label, value in logprobs.items()}
        top = max(shifted.values())
        norm = math.log(sum(math.exp(v - top) for v in shifted.values())) + top
        return {label: value - norm for label, value in shifted.items()}

    @field_validator("labels")
    @classmethod
    def _distinct(cls, labels: list[str]) -> list[str]:
        if len(set(labels)) != len(labels):
            raise ValueError("labels must be distinct")
        if any(not label.strip() for label in labels):
            raise ValueError("labels must be non-empty strings")
        return labels


class TextOutput(BaseModel):
    """Free text; generation stops at end-of-turn, a stop string or max_tokens."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["text"] = "text"


class JsonOutput(BaseModel):
    """JSON decoded under a grammar built from ``schema`` and validated against it."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    type: Literal["json"] = "json"
    json_schema: dict[str, Any] = Field(alias="schema")

    @field_validator("json_schema")
    @classmethod
    def _valid_schema(cls, schema: dict[str, Any]) -> dict[str, Any]:
        import jsonschema

        jsonschema.Draft202012Validator.check_schema(schema)
        return schema


OutputSpec = Annotated[Union[LabelsOutput, TextOutput, JsonOutput], Field(discriminator="type")]


class GenerationSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_tokens: int = Field(default=128, ge=1, le=8192)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    stop: list[str] = Field(default_factory=list)


class CompileInfo(BaseModel):
    """How the program was made; ``details`` holds method-specific facts (fallback used, agreement…)."""

    model_config = ConfigDict(extra="forbid")
    method: str
    details: dict[str, Any] = Field(default_factory=dict)


class PawflowMeta(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format_version: Literal[1] = FORMAT_VERSION
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    version: str = "0.1.0"
    spec: str = ""
    output: OutputSpec = Field(default_factory=TextOutput)
    generation: GenerationSettings = Field(default_factory=GenerationSettings)
    base: BaseModelInfo
    compile: CompileInfo
    members: dict[str, str]
    source_sha256: str | None = None
    created_at: str = ""


class ProgramMeta(BaseModel):
    """meta.json. SDK fields at the top level; anything else the SDK wrote is kept as-is."""

    model_config = ConfigDict(extra="allow")
    program_id: str = Field(pattern=r"^[a-f0-9]{16,64}$")
    interpreter: str = Field(min_length=1)
    spec: str = ""
    pawflow: PawflowMeta | None = None

    @model_validator(mode="after")
    def _members_known(self) -> "ProgramMeta":
        if self.pawflow is not None:
            unknown = set(self.pawflow.members) - set(_ALLOWED)
            if unknown or META in self.pawflow.members:
                raise ValueError(f"pawflow.members lists unexpected members: {sorted(unknown | {META} & set(self.pawflow.members))}")
        return self


# --------------------------------------------------------------------------- the program


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Program:
    """An in-memory program: meta, prompt template, pseudo-program and (maybe) adapter bytes."""

    def __init__(
        self,
        meta: ProgramMeta,
        prompt_template: str,
        pseudo_program: str = "",
        adapter: bytes | None = None,
        path: Path | None = None,
    ) -> None:
        self.meta = meta
        self.prompt_template = prompt_template
        self.pseudo_program = pseudo_program
        self.adapter = adapter
        self.path = path
        self.prefix, self.suffix = split_template(prompt_template, path or Path(meta.pawflow.name if meta.pawflow else "?"))

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        *,
        name: str,
        base: BaseModelInfo,
        prompt_template: str,
        pseudo_program: str = "",
        adapter: bytes | None = None,
        spec: str = "",
        version: str = "0.1.0",
        output: LabelsOutput | TextOutput | JsonOutput | None = None,
        generation: GenerationSettings | None = None,
        compile: CompileInfo | None = None,
        source_sha256: str | None = None,
        interpreter: str | None = None,
    ) -> "Program":
        """Assemble a program and compute its member hashes and content-derived ``program_id``."""
        split_template(prompt_template, Path(name))
        members = {TEMPLATE: _sha256(prompt_template.encode()), PSEUDO: _sha256(pseudo_program.encode())}
        if adapter is not None:
            members[ADAPTER] = _sha256(adapter)
        pawflow_meta = PawflowMeta(
            name=name,
            version=version,
            spec=spec,
            output=output or TextOutput(),
            generation=generation or GenerationSettings(),
            base=base.model_copy(update={"chat_template": None, "bos_token": None, "eos_token": None}),
            compile=compile or CompileInfo(method="prompt"),
            members=members,
            source_sha256=source_sha256,
            created_at=datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        )
        dumped = pawflow_meta.model_dump(mode="json", by_alias=True, exclude={"created_at"})
        if dumped["output"].get("channel", 0) is None:
            del dumped["output"]["channel"]  # programs from before channel scoring keep their ids
        identity = json.dumps(dumped, sort_keys=True)
        meta = ProgramMeta(
            program_id=_sha256(identity.encode()),
            interpreter=interpreter or base.name,
            spec=spec,
            pawflow=pawflow_meta,
        )
        return cls(meta, prompt_template, pseudo_program, adapter)

    # -- properties ---------------------------------------------------------------------------

    @property
    def name(self) -> str:
        if self.meta.pawflow is not None:
            return self.meta.pawflow.name
        return self.path.stem if self.path else self.meta.program_id[:12]

    @property
    def output(self) -> LabelsOutput | TextOutput | JsonOutput:
        return self.meta.pawflow.output if self.meta.pawflow else TextOutput()

    @property
    def generation(self) -> GenerationSettings:
        if self.meta.pawflow is not None:
            return self.meta.pawflow.generation
        sdk = self.meta.model_extra.get("generation_config") if self.meta.model_extra else None
        if isinstance(sdk, dict) and isinstance(sdk.get("max_new_tokens"), int):
            return GenerationSettings(max_tokens=min(8192, max(1, sdk["max_new_tokens"])))
        return GenerationSettings()

    @property
    def adapter_sha256(self) -> str | None:
        return _sha256(self.adapter) if self.adapter is not None else None

    @property
    def key(self) -> str:
        """Identifies the program's behaviour (template + adapter): the KV prefix cache key."""
        return self.meta.program_id

    # -- compatibility ------------------------------------------------------------------------

    def check_base(self, base: BaseModelInfo, *, allow_mismatch: bool = False) -> None:
        """Refuse to run on a base the program was not compiled for.

        Shapes must match always (else llama.cpp cannot apply the adapter). The exact file hash must
        match unless ``allow_mismatch`` (e.g. the same model at another quantization).
        """
        where = self.path or self.name
        recorded = self.meta.pawflow.base if self.meta.pawflow else None
        if recorded is None:
            if not interpreter_matches(self.meta.interpreter, base):
                raise BaseMismatchError(
                    f"{where}: program was compiled for interpreter {self.meta.interpreter!r}, "
                    f"but the base is {base.describe()}",
                    hint=f"run it with --base pointing at a GGUF of {self.meta.interpreter}",
                )
            return
        if recorded.shape_key() != base.shape_key():
            raise BaseMismatchError(
                f"{where}: program was compiled for {recorded.describe()}, "
                f"but the interpreter runs {base.describe()}",
                hint="recompile it for this base (pawflow compile SOURCE --base ...) or choose its base with --base",
            )
        if recorded.sha256 != base.sha256 and not allow_mismatch:
            raise BaseMismatchError(
                f"{where}: program was compiled for base file sha256 {recorded.sha256[:12]}… "
                f"({recorded.file}), the interpreter runs {base.sha256[:12]}… ({base.file})",
                hint="same architecture, other weights: recompile, or set PAWFLOW_ALLOW_BASE_MISMATCH=1 "
                "if it is the same model at another quantization",
            )

    # -- I/O ----------------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            def put(name: str, data: bytes, compress: bool) -> None:
                info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
                info.external_attr = (stat.S_IFREG | 0o644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
                archive.writestr(info, data)

            meta_json = self.meta.model_dump_json(by_alias=True, exclude_none=True, indent=2)
            put(META, meta_json.encode(), True)
            put(TEMPLATE, self.prompt_template.encode(), True)
            put(PSEUDO, self.pseudo_program.encode(), True)
            if self.adapter is not None:
                put(ADAPTER, self.adapter, False)
        return buffer.getvalue()

    def write(self, path: str | Path) -> Path:
        """Write atomically: the target is either the previous file or this complete program."""
        path = Path(path)
        with atomic_writer(path, "wb") as handle:
            handle.write(self.to_bytes())
        self.path = path
        return path

    @classmethod
    def read(cls, path: str | Path) -> "Program":
        path = Path(path)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            from pawflow.errors import ProgramNotFoundError

            raise ProgramNotFoundError(f"Program file not found: {path}") from None
        if size > MAX_ARCHIVE_BYTES:
            raise ProgramFormatError(path, f"archive is {size} bytes, over the {MAX_ARCHIVE_BYTES} limit")
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ProgramFormatError(
                path, f"not a valid .paw zip archive ({exc})", hint="the file is corrupted or truncated; recompile it"
            ) from exc
        with archive:
            data = _read_members(path, archive)
        return cls.from_members(path, data)

    @classmethod
    def from_members(cls, path: Path, data: dict[str, bytes]) -> "Program":
        for required in (META, TEMPLATE):
            if required not in data:
                raise ProgramFormatError(path, f"missing member {required}")
        try:
            raw = json.loads(data[META].decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ProgramFormatError(path, f"meta.json is not valid JSON ({exc})") from exc
        if not isinstance(raw, dict):
            raise ProgramFormatError(path, "meta.json must be a JSON object")
        try:
            meta = ProgramMeta.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'meta'}: {e['msg']}" for e in exc.errors()[:5])
            raise ProgramFormatError(path, f"meta.json is invalid: {problems}") from exc
        if meta.pawflow is not None:
            for name, expected in meta.pawflow.members.items():
                if name not in data:
                    raise ProgramFormatError(path, f"meta.json lists {name} but the archive lacks it")
                actual = _sha256(data[name])
                if actual != expected:
                    raise IntegrityError(
                        path,
                        f"{name} sha256 is {actual[:12]}…, meta.json records {expected[:12]}…",
                        hint="the file was modified or damaged after compiling; recompile it",
                    )
            unlisted = set(data) - set(meta.pawflow.members) - {META}
            if unlisted:
                raise ProgramFormatError(path, f"members not covered by meta.json hashes: {sorted(unlisted)}")
        try:
            template = data[TEMPLATE].decode("utf-8")
            pseudo = data.get(PSEUDO, b"").decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProgramFormatError(path, f"text member is not UTF-8 ({exc})") from exc
        adapter = data.get(ADAPTER)
        if adapter is not None and adapter[:4] != b"GGUF":
            raise ProgramFormatError(path, "adapter.gguf is not a GGUF file (bad magic)")
        return cls(meta, template, pseudo, adapter, path=path)


def split_template(template: str, where: Path | str) -> tuple[str, str]:
    count = template.count(INPUT_PLACEHOLDER)
    if count != 1:
        raise ProgramFormatError(
            where, f"prompt template must contain exactly one {INPUT_PLACEHOLDER}, found {count}"
        )
    prefix, suffix = template.split(INPUT_PLACEHOLDER)
    return prefix, suffix


def _read_members(path: Path, archive: zipfile.ZipFile) -> dict[str, bytes]:
    data: dict[str, bytes] = {}
    for info in archive.infolist():
        name = info.filename
        parts = PurePosixPath(name).parts
        if (
            not name
            or "\\" in name
            or name.startswith("/")
            or any(part in ("", ".", "..") for part in parts)
            or (parts and ":" in parts[0])
        ):
            raise ProgramFormatError(path, f"unsafe member path {name!r} (path traversal refused)")
        mode = (info.external_attr >> 16) & 0xFFFF
        if stat.S_IFMT(mode) and not stat.S_ISREG(mode):
            kind = "symbolic link" if stat.S_ISLNK(mode) else "non-regular file"
            raise ProgramFormatError(path, f"member {name!r} is a {kind}; only regular files are allowed")
        if info.is_dir():
            raise ProgramFormatError(path, f"member {name!r} is a directory; a .paw is flat")
        if name not in _ALLOWED:
            raise ProgramFormatError(
                path, f"unexpected member {name!r}", hint=f"a .paw holds only {', '.join(_ALLOWED)}"
            )
        if name in data:
            raise ProgramFormatError(path, f"duplicate member {name!r}")
        limit = MAX_MEMBER_BYTES[name]
        if info.file_size > limit:
            raise ProgramFormatError(path, f"member {name!r} declares {info.file_size} bytes, over the {limit} limit")
        try:
            with archive.open(info) as handle:
                blob = handle.read(limit + 1)  # never trust the declared size (zip bombs)
        except (zipfile.BadZipFile, OSError, EOFError, zlib_error()) as exc:
            raise ProgramFormatError(path, f"member {name!r} is corrupted ({exc})") from exc
        if len(blob) > limit:
            raise ProgramFormatError(path, f"member {name!r} expands past the {limit} byte limit")
        data[name] = blob
    return data


def zlib_error() -> type[Exception]:
    import zlib

    return zlib.error

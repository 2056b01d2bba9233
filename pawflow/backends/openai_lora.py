"""Remote multi-LoRA backend: program calls go to an OpenAI-compatible server hosting one base and many adapters.

The server is vLLM on a GPU in production (``vllm serve BASE --enable-lora``): it batches requests for
different adapters into one forward pass, which a CPU process swapping adapters one at a time cannot.
A program is addressed as ``model=<adapter name>``, exactly how vLLM exposes ``--lora-modules`` and
adapters loaded at run time through ``POST /v1/load_lora_adapter``. So a ``.paw`` runs unchanged: the
prompt is the program's own template around the input, the adapter is the program's adapter exported
with ``pawflow export-peft``, and the output contract is kept:

* **labels** are scored exactly, as locally: one ``echo`` + ``logprobs`` completion per label returns
  the log-probability of the label's own tokens after the prompt; the best label wins and the full
  distribution comes back. A server that returns no prompt logprobs is asked to decode under a choice
  constraint instead (vLLM ``structured_outputs.choice``, llama.cpp ``grammar``) and the answer is
  validated to be a label — never free text passed off as a label;
* **json** decodes under the server's JSON constraint where it has one; the Function validates the
  result against the schema either way;
* **text** is a plain completion with the program's ``max_tokens``, ``temperature`` and ``stop``.

Adapter names carry the adapter's hash (``NAME-<sha256[:12]>``, :func:`remote_model_name`), so a
recompiled program can never run silently on a stale adapter the server loaded earlier.

Chosen with ``backend = "openai-lora"`` in ``pawflow.toml`` or ``PAWFLOW_BACKEND=openai-lora``; the server
is configured by ``PAWFLOW_OPENAI_*`` variables or an ``[openai_lora]`` table next to ``[pawflow]``
(:class:`RemoteSettings`). The base GGUF is still needed locally: it is the identity programs are
checked against (the server may run the same model's original weights). Errors, timeouts and 5xx
answers are retried with exponential backoff; what still fails raises :class:`BackendError`.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
import time
import tomllib
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, Sequence

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pawflow.backends.base import BackendStats, RawOutput
from pawflow.base import BaseModelInfo
from pawflow.config import Settings
from pawflow.errors import BackendError, ConfigError, ContextLengthError, InputTypeError, OutputValidationError
from pawflow.program import JsonOutput, LabelsOutput, Program
from pawflow.prompting import text_stops

TABLE = "openai_lora"
ENV_PREFIX = "PAWFLOW_OPENAI_"
RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
Dialect = Literal["auto", "vllm", "vllm-legacy", "llama.cpp", "none"]


def remote_model_name(program: Program) -> str:
    """The name a server knows a program's adapter by: ``NAME-<first 12 hex of the adapter's sha256>``."""
    sha = program.adapter_sha256
    return f"{program.name}-{sha[:12]}" if sha else program.name


class RemoteSettings(BaseModel):
    """Where the server is and how to talk to it. Environment (``PAWFLOW_OPENAI_<FIELD>``) beats the table."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(description="the server's OpenAI base URL, e.g. http://gpu-1:8000/v1")
    api_key: str | None = None
    base_model: str | None = Field(default=None, description="served name of the bare base (prompt-only programs); "
                                   "default: the first model the server lists that is not an adapter")
    adapter_root: str | None = Field(default=None, description="folder *on the server* holding `pawflow export-peft` "
                                     "folders named like remote_model_name(); set it to load adapters at run time")
    max_loaded_adapters: int = Field(default=0, ge=0, description="unload the least recently used adapter this backend "
                                     "loaded beyond this many (0: never unload)")
    models: dict[str, str] = Field(default_factory=dict, description="program name -> served model name, overriding the default")
    timeout_s: float = Field(default=60.0, gt=0)
    retries: int = Field(default=3, ge=0)
    backoff_s: float = Field(default=0.5, ge=0)
    concurrency: int = Field(default=8, ge=1, description="requests in flight at once (vLLM batches them on the GPU)")
    label_scoring: Literal["auto", "logprobs", "guided"] = "auto"
    dialect: Dialect = Field(default="auto", description="how constrained decoding is asked for: vllm (structured_outputs, "
                             "vLLM >= 0.12), vllm-legacy (guided_*), llama.cpp (grammar), none; auto asks /v1/models")


def load_remote_settings(settings: Settings | None = None, **overrides: Any) -> RemoteSettings:
    """``[openai_lora]`` from pawflow.toml, then ``PAWFLOW_OPENAI_*`` variables, then ``overrides``."""
    values: dict[str, Any] = {}
    config_file = settings.config_file if settings is not None else None
    if config_file is not None and Path(config_file).is_file():
        try:
            table = tomllib.loads(Path(config_file).read_text(encoding="utf-8")).get(TABLE, {})
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{config_file}: invalid TOML: {exc}") from exc
        if not isinstance(table, dict):
            raise ConfigError(f"{config_file}: [{TABLE}] must be a table")
        values.update(table)
    for field in RemoteSettings.model_fields:
        raw = os.environ.get(ENV_PREFIX + field.upper())
        if raw not in (None, ""):
            values[field] = json.loads(raw) if field == "models" else raw
    values.update({key: value for key, value in overrides.items() if value is not None})
    if "url" not in values:
        raise ConfigError("the openai-lora backend needs the server's URL",
                          hint=f"set {ENV_PREFIX}URL=http://HOST:8000/v1, or url = \"...\" in [{TABLE}] of pawflow.toml")
    try:
        return RemoteSettings.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid openai-lora settings: {problems}") from exc


class ServerRejectedError(BackendError):
    """The server answered with a 4xx that retrying cannot fix; ``status`` is its HTTP status."""

    def __init__(self, message: str, *, status: int, hint: str | None = None) -> None:
        self.status = status
        super().__init__(message, hint=hint)


class OpenAILoraBackend:
    """Thread-safe: requests run concurrently; counters and the adapter table are guarded by a lock."""

    name = "openai-lora"

    def __init__(self, base_path: Path, base_info: BaseModelInfo, settings: Settings,
                 remote: RemoteSettings | None = None) -> None:
        self.base_path = Path(base_path)
        self.base_info = base_info
        self.settings = settings
        self.remote = remote or load_remote_settings(settings)
        self.stats = BackendStats()
        headers = {"Authorization": f"Bearer {self.remote.api_key}"} if self.remote.api_key else {}
        self._client = httpx.Client(headers=headers,
                                    timeout=self.remote.timeout_s,
                                    limits=httpx.Limits(max_connections=self.remote.concurrency + 2))
        self._pool = ThreadPoolExecutor(max_workers=self.remote.concurrency, thread_name_prefix="pawflow-remote")
        self._lock = threading.RLock()
        self._served: dict[str, dict[str, Any]] | None = None  # model id -> its /v1/models entry
        self._loaded: OrderedDict[str, None] = OrderedDict()  # adapters this backend loaded, LRU order
        self._dialect: str | None = None if self.remote.dialect == "auto" else self.remote.dialect
        self._last_model: str | None = None
        self._closed = False

    # ------------------------------------------------------------------ protocol

    def run(self, program: Program, inputs: Sequence[str], *, cache_prefix: bool = True,
            truncate: bool = False) -> list[RawOutput]:
        """Run a batch; a row the server refuses as too long for its context comes back as a per-row error.

        ``truncate`` cannot be honoured here: the server's context size is not known to the client, so an
        input is never cut silently; the row carries ``context_length_exceeded`` instead and the others
        are answered, as with the local backend.
        """
        for text in inputs:
            if not isinstance(text, str):
                raise InputTypeError(f"program {program.name!r} takes text input, got {type(text).__name__}",
                                     hint="pass a str (serialise structured data with json.dumps first)")
        output = program.output
        if isinstance(output, LabelsOutput) and output.channel is not None:
            raise BackendError(
                f"program {program.name!r} scores its labels the noisy-channel way (log P(input | label's document)), "
                "which this OpenAI-compatible backend does not implement",
                hint="run it on the local llama.cpp backend, or recompile it with --method prompt or fit",
            )
        model = self.model_for(program)
        with self._lock:
            if model != self._last_model:
                self.stats.swaps += 1  # what a server-side adapter switch would be for one process
                self._last_model = model
        prompts = [program.prefix + text + program.suffix for text in inputs]
        outputs = list(self._pool.map(lambda prompt: self._run_row(program, model, prompt), prompts))
        with self._lock:
            self.stats.calls += len(outputs)
        return outputs

    def complete(self, prompt: str, *, max_tokens: int = 256, stop: Sequence[str] = (), grammar: str | None = None) -> str:
        body: dict[str, Any] = {"model": self.base_model(), "prompt": prompt, "max_tokens": max_tokens,
                                "temperature": 0.0, "stop": list(stop) or None}
        if grammar is not None:
            body.update(self._constraint("grammar", grammar))
        return self._completion(body)["choices"][0]["text"]

    def tokenize(self, text: str, *, special: bool = False) -> list[int]:
        dialect = self.dialect()
        if dialect == "llama.cpp":
            answer = self._request("POST", "/extras/tokenize", {"model": self.base_model(), "input": text})
        else:
            answer = self._request("POST", "/tokenize", {"model": self.base_model(), "prompt": text,
                                                             "add_special_tokens": special})
        return list(answer["tokens"])

    def describe(self) -> dict[str, object]:
        return {
            "backend": self.name,
            "url": self.remote.url,
            "dialect": self._dialect or "(not asked yet)",
            "served_models": sorted(self._served or {}),
            "adapters_loaded_here": list(self._loaded),
            "concurrency": self.remote.concurrency,
            "label_scoring": self.remote.label_scoring,
        }

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._pool.shutdown(wait=True)
        self._client.close()

    # ------------------------------------------------------------------ models and adapters

    def served_models(self, *, refresh: bool = False) -> dict[str, dict[str, Any]]:
        with self._lock:
            if self._served is None or refresh:
                data = self._request("GET", "models", None).get("data", [])
                self._served = {entry["id"]: entry for entry in data if isinstance(entry, dict) and "id" in entry}
            return self._served

    def dialect(self) -> str:
        """How this server takes decoding constraints, asked once from ``/v1/models``'s ``owned_by``."""
        if self._dialect is None:
            owners = {str(entry.get("owned_by", "")) for entry in self.served_models().values()}
            self._dialect = "vllm" if "vllm" in owners else "llama.cpp" if "me" in owners else "none"
        return self._dialect

    def base_model(self) -> str:
        if self.remote.base_model:
            return self.remote.base_model
        served = self.served_models()
        bases = [name for name, entry in served.items() if not entry.get("parent")]
        if not bases:
            raise BackendError(f"the server at {self.remote.url} lists no models")
        return bases[0]

    def model_for(self, program: Program) -> str:
        """The served model that runs ``program``; loads its adapter at run time when allowed."""
        if program.adapter is None:
            return self.base_model()
        name = self.remote.models.get(program.name) or remote_model_name(program)
        with self._lock:
            if name in self._loaded:
                self._loaded.move_to_end(name)
                return name
            if name in self.served_models() or name in self.served_models(refresh=True):
                return name
            if not self.remote.adapter_root:
                raise BackendError(
                    f"the server at {self.remote.url} does not serve {name!r} (the adapter of program {program.name!r})",
                    hint=f"`pawflow export-peft {program.path or program.name} DIR/{name}`, then start vLLM with "
                    f"--lora-modules {name}=DIR/{name}, or set {ENV_PREFIX}ADAPTER_ROOT=DIR to load adapters at run time",
                )
            self._load_adapter(name)
            return name

    def _load_adapter(self, name: str) -> None:
        path = f"{self.remote.adapter_root.rstrip('/')}/{name}"  # type: ignore[union-attr]
        try:
            self._request("POST", "load_lora_adapter", {"lora_name": name, "lora_path": path}, expect_json=False)
        except BackendError as exc:
            if isinstance(exc, ServerRejectedError) and exc.status in (404, 405):
                raise BackendError(
                    f"the server at {self.remote.url} cannot load adapters at run time (no /v1/load_lora_adapter)",
                    hint="start vLLM with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True, or list the adapters with --lora-modules",
                ) from exc
            raise BackendError(f"the server refused to load adapter {name!r} from {path}: {exc.message}",
                               hint=f"export it there: pawflow export-peft PROGRAM.paw {path}") from exc
        self._loaded[name] = None
        self.stats.adapters_loaded += 1
        if self._served is not None:
            self._served[name] = {"id": name, "parent": self.base_model()}
        while self.remote.max_loaded_adapters and len(self._loaded) > self.remote.max_loaded_adapters:
            victim, _ = self._loaded.popitem(last=False)
            try:
                self._request("POST", "unload_lora_adapter", {"lora_name": victim}, expect_json=False)
            except BackendError:
                pass  # best effort: the server may already have dropped it
            if self._served is not None:
                self._served.pop(victim, None)
            self.stats.adapters_evicted += 1

    # ------------------------------------------------------------------ one input

    def _run_row(self, program: Program, model: str, prompt: str) -> RawOutput:
        try:
            return self._run_one(program, model, prompt)
        except ServerRejectedError as exc:
            if exc.status != 400 or not _CONTEXT_WORDS.search(str(exc)):
                raise
            return RawOutput(text="", error=f"program {program.name!r}: {exc}",
                             error_code=ContextLengthError.code)

    def _run_one(self, program: Program, model: str, prompt: str) -> RawOutput:
        output = program.output
        if isinstance(output, LabelsOutput):
            return self._labels(model, prompt, output.labels)
        body: dict[str, Any] = {
            "model": model, "prompt": prompt, "max_tokens": program.generation.max_tokens,
            "temperature": program.generation.temperature,
            "stop": list(text_stops(program.generation.stop, self.base_info)) or None,
        }
        if isinstance(output, JsonOutput):
            body.update(self._json_constraint(output))
        answer = self._completion(body)
        usage = answer.get("usage") or {}
        return RawOutput(text=answer["choices"][0]["text"], input_tokens=int(usage.get("prompt_tokens", 0)),
                         output_tokens=int(usage.get("completion_tokens", 0)))

    def _labels(self, model: str, prompt: str, labels: Sequence[str]) -> RawOutput:
        mode = self.remote.label_scoring
        if mode != "guided":
            try:
                return self._labels_by_logprobs(model, prompt, labels)
            except _NoLogprobs as exc:
                if mode == "logprobs":
                    raise BackendError(f"the server at {self.remote.url} returned no usable prompt logprobs: {exc}",
                                       hint=f"use {ENV_PREFIX}LABEL_SCORING=guided for servers without echo+logprobs") from None
        return self._labels_by_choice(model, prompt, labels)

    def _labels_by_logprobs(self, model: str, prompt: str, labels: Sequence[str]) -> RawOutput:
        """log P(label | prompt) for every label from the prompt logprobs the server echoes back.

        A label that is a prefix of another is scored with the end-of-turn text appended (as the local
        backend appends the end-of-turn token), so "AL" and "ALERT" stay distinct.
        """
        eot = self.base_info.eos_token or ""
        texts = {label: label + (eot if eot and any(o != label and o.startswith(label) for o in labels) else "")
                 for label in labels}
        # Sequential inside this input's pool thread: nesting pool.map in the same pool could deadlock with
        # every worker waiting for a label request queued behind it. Inputs still run concurrently.
        results = [self._sequence_logprob(model, prompt, label, texts[label]) for label in labels]
        totals = {label: total for label, (total, _) in zip(labels, results)}
        top = max(totals.values())
        norm = math.log(sum(math.exp(v - top) for v in totals.values())) + top
        scores = {label: totals[label] - norm for label in labels}
        best = max(scores, key=scores.__getitem__)
        return RawOutput(text=best, label_logprobs=scores, input_tokens=results[0][1], output_tokens=0)

    def _sequence_logprob(self, model: str, prompt: str, label: str, text: str) -> tuple[float, int]:
        answer = self._completion({"model": model, "prompt": prompt + text, "echo": True, "logprobs": 1,
                                   "max_tokens": 1, "temperature": 0.0})
        logprobs = (answer.get("choices") or [{}])[0].get("logprobs") or {}
        tokens, values = logprobs.get("tokens"), logprobs.get("token_logprobs")
        if not tokens or not values or len(tokens) != len(values):
            raise _NoLogprobs("no token_logprobs in the answer")
        usage = answer.get("usage") or {}
        generated = int(usage.get("completion_tokens", 0))
        tokens, values = tokens[: len(tokens) - generated], values[: len(values) - generated]
        eot = text[len(label):]
        total, consumed, index = 0.0, "", len(tokens)
        if eot:  # the end-of-turn token closes the sequence; its printed form varies by server
            index -= 1
            total += _number(values[index])
        while index > 0 and len(consumed) < len(label):
            index -= 1
            consumed = tokens[index] + consumed
            total += _number(values[index])
        if consumed != label:
            raise _NoLogprobs(f"the prompt's last tokens spell {consumed!r}, not the label {label!r} "
                              "(the label merged with the text before it, or the server skips tokens)")
        return total, int(usage.get("prompt_tokens", 0))

    def _labels_by_choice(self, model: str, prompt: str, labels: Sequence[str]) -> RawOutput:
        body: dict[str, Any] = {"model": model, "prompt": prompt, "temperature": 0.0,
                                "max_tokens": 4 + max(len(label) for label in labels)}
        body.update(self._constraint("choice", list(labels)))
        answer = self._completion(body)
        text = answer["choices"][0]["text"].strip()
        if text not in labels:
            raise OutputValidationError(
                f"the server answered {text[:80]!r}, which is not one of the labels {list(labels)}",
                hint="the server ignored the choice constraint; use a server with logprobs (vLLM) or with grammars",
            )
        usage = answer.get("usage") or {}
        scores = {label: (0.0 if label == text else -math.inf) for label in labels}
        return RawOutput(text=text, label_logprobs=scores, input_tokens=int(usage.get("prompt_tokens", 0)),
                         output_tokens=int(usage.get("completion_tokens", 0)))

    # ------------------------------------------------------------------ constraints

    def _json_constraint(self, output: JsonOutput) -> dict[str, Any]:
        if self.dialect() == "llama.cpp":
            from llama_cpp.llama_grammar import json_schema_to_gbnf

            return {"grammar": json_schema_to_gbnf(json.dumps(output.json_schema))}
        return self._constraint("json", output.json_schema)

    def _constraint(self, kind: Literal["choice", "json", "grammar"], value: Any) -> dict[str, Any]:
        dialect = self.dialect()
        if dialect == "vllm":
            return {"structured_outputs": {kind: value}}
        if dialect == "vllm-legacy":
            return {f"guided_{kind}": value}
        if dialect == "llama.cpp":
            if kind == "choice":
                return {"grammar": "root ::= " + " | ".join(json.dumps(label) for label in value)}
            if kind == "grammar":
                return {"grammar": value}
        return {}  # no constraint: the caller validates what comes back

    # ------------------------------------------------------------------ HTTP

    def _completion(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.dialect() in ("vllm", "vllm-legacy"):
            body = {**body, "add_special_tokens": False}  # the template already holds every special token
        answer = self._request("POST", "completions", {k: v for k, v in body.items() if v is not None})
        if not isinstance(answer, dict) or not answer.get("choices"):
            raise BackendError(f"the server at {self.remote.url} answered without choices: {str(answer)[:200]}")
        usage = answer.get("usage") or {}
        with self._lock:
            self.stats.tokens_evaluated += int(usage.get("total_tokens", 0) or 0)
        return answer

    def _url(self, path: str) -> str:
        """``completions`` -> URL/completions; ``/tokenize`` -> the server root's /tokenize (not under /v1)."""
        if path.startswith("/"):
            root = self.remote.url.rstrip("/")
            root = root[: -len("/v1")] if root.endswith("/v1") else root
            return root + path
        return self.remote.url.rstrip("/") + "/" + path

    def _request(self, method: str, path: str, body: dict[str, Any] | None, *, expect_json: bool = True) -> Any:
        """One call with retries on connection errors, timeouts and 408/429/5xx; BackendError otherwise."""
        last: str = ""
        for attempt in range(self.remote.retries + 1):
            if attempt:
                time.sleep(self.remote.backoff_s * (2 ** (attempt - 1)))
            try:
                response = self._client.request(method, self._url(path), json=body)
            except httpx.TimeoutException:
                last = f"no answer within {self.remote.timeout_s:g} s"
                continue
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code in RETRY_STATUS:
                last = f"HTTP {response.status_code}: {_error_text(response)}"
                continue
            if response.status_code >= 400:
                raise ServerRejectedError(
                    f"the server at {self.remote.url} rejected {method} {self._url(path)} (HTTP {response.status_code}): "
                    f"{_error_text(response)}", status=response.status_code,
                    hint=f"check {ENV_PREFIX}API_KEY" if response.status_code in (401, 403) else None)
            if not expect_json:
                return response.text
            try:
                return response.json()
            except ValueError:
                last = f"answer is not JSON: {response.text[:120]!r}"
                continue
        raise BackendError(f"{method} {self._url(path)} failed after "
                           f"{self.remote.retries + 1} attempts: {last}",
                           hint=f"is the server up and reachable? ({ENV_PREFIX}URL={self.remote.url})")


# How OpenAI-compatible servers word a prompt longer than the context (vLLM, llama.cpp, OpenAI).
_CONTEXT_WORDS = re.compile(r"context[ _-]?(length|window|size)|maximum context|exceeds? .*context|too long", re.I)


class _NoLogprobs(Exception):
    """The server's answer has no prompt logprobs this backend can read (then labels use a constraint)."""


def _number(value: Any) -> float:
    if value is None:
        raise _NoLogprobs("a label token has no logprob (it was the first token of the prompt?)")
    return float(value)


def _error_text(response: httpx.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return response.text[:300].strip() or response.reason_phrase
    if isinstance(payload, dict):
        error = payload.get("error", payload.get("detail", payload))
        if isinstance(error, dict):
            error = error.get("message", error)
        return str(error)[:300]
    return str(payload)[:300]

"""Verdicts: the program decides, a bounded cache keyed on the line's shape remembers, bursts are batched.

Why a cache keyed on shape (:func:`integrations.watch.shape.line_shape`): logs repeat themselves with
new numbers, and a program call costs ~0.2 s on a laptop CPU while a dictionary lookup costs a
microsecond. Why bounded (LRU by entries): a watcher runs for days; a log that prints a fresh shape
per line (free text, unique messages) must not grow memory without limit — old shapes are dropped,
and the hit rate (reported in the status line, the summary and the benchmark) shows how well the
cache works on *this* log.

Why batches: the runtime runs a list of inputs under one lock hold and one adapter activation
(``Function.run_many``), and batched calls are getting faster inside the runtime. So every record
that arrived together is classified in one ``run_many`` call over its *distinct uncached shapes*: a
burst of 10,000 lines costs one call per new shape, not 10,000 calls. With the cache off (``--cache-size 0``,
``VerdictCache(0)``) nothing is remembered across batches and lines that merely share a shape are each
classified, but a text that occurs twice *in the same batch* is still sent once: the same input gives
the same verdict within one call (a progress bar redrawn with an unchanged postfix, a warning printed
by every worker), so computing it twice would only cost time.

What is *not* decided here: which lines form a record, and that a bare progress bar or a blank line
is quiet — those are exact, in :mod:`integrations.watch.records` and :mod:`integrations.watch.progress`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from integrations.watch.errors import WatchUsageError
from integrations.watch.records import Record
from integrations.watch.shape import line_shape

QUIET_NAMES = {"QUIET", "OK", "NORMAL", "NONE", "NO", "FALSE", "IGNORE", "BENIGN", "PASS", "FINE", "INFO"}
DEFAULT_CACHE_ENTRIES = 4096
DEFAULT_MAX_INPUT_CHARS = 2048


class Classifies(Protocol):
    """What the watcher needs from a program: ``pawflow.Function`` is one."""

    name: str
    output: Any

    def run_many(self, texts: Sequence[str]) -> list[Any]: ...


@dataclass(frozen=True, slots=True)
class Verdict:
    label: str
    confidence: float
    cached: bool
    by: str  # "program" (a call or a cached call) | "rule" (decided in Python, no program call)
    classified: str = ""  # the text the program saw (empty for rule verdicts)
    cut: bool = False  # the classified text was cut to fit the context


class VerdictCache:
    """An LRU of ``shape -> (label, confidence)``; ``max_entries=0`` disables it."""

    def __init__(self, max_entries: int = DEFAULT_CACHE_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.max_entries > 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    def get(self, shape: str) -> tuple[str, float] | None:
        if not self.enabled:
            self.misses += 1
            return None
        entry = self._entries.get(shape)
        if entry is None:
            self.misses += 1
            return None
        self._entries.move_to_end(shape)
        self.hits += 1
        return entry

    def put(self, shape: str, verdict: tuple[str, float]) -> None:
        if not self.enabled:
            return
        self._entries[shape] = verdict
        self._entries.move_to_end(shape)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


def split_labels(labels: Sequence[str], alert_labels: Sequence[str] | None) -> tuple[list[str], str]:
    """(labels worth reporting, the quiet label). Default: labels not named like QUIET/OK/NORMAL/…"""
    labels = list(labels)
    if alert_labels:
        unknown = [label for label in alert_labels if label not in labels]
        if unknown:
            raise WatchUsageError(f"--alert-label {', '.join(unknown)}: not a label of this program (labels: {', '.join(labels)})")
        quiet = [label for label in labels if label not in alert_labels]
        return list(alert_labels), (quiet[0] if quiet else "")
    quiet = [label for label in labels if label.upper() in QUIET_NAMES]
    if not quiet:
        quiet = labels[-1:]
    return [label for label in labels if label not in quiet], quiet[0]


class Classifier:
    """Turns records into verdicts: rules first, then the cache, then one batched program call."""

    def __init__(
        self,
        program: Classifies,
        *,
        cache: VerdictCache | None = None,
        alert_labels: Sequence[str] | None = None,
        max_input_chars: int = DEFAULT_MAX_INPUT_CHARS,
    ) -> None:
        labels = getattr(program.output, "labels", None)
        if getattr(program.output, "type", None) != "labels" or not labels:
            raise WatchUsageError(
                f"program {program.name!r} has {getattr(program.output, 'type', '?')} output; pawflow watch needs a labels program",
                hint="compile a program with output: {type: labels, labels: [ALERT, QUIET]}",
            )
        self.program = program
        self.labels = list(labels)
        self.alert_labels, self.quiet_label = split_labels(self.labels, alert_labels)
        self.cache = cache if cache is not None else VerdictCache()
        self.max_input_chars = max_input_chars
        self.program_calls = 0  # inputs sent to the program
        self.batches = 0  # run_many calls
        self.rule_verdicts = 0

    def is_alert(self, verdict: Verdict, threshold: float) -> bool:
        return verdict.label in self.alert_labels and verdict.confidence >= threshold

    def classify(self, records: Sequence[Record], threshold: float = 0.5) -> list[Verdict]:
        """One verdict per record, in order; at most one ``run_many`` call for the whole list."""
        wanted: list[list[tuple[str, str, bool]]] = []  # per record: (text, shape, cut)
        pending: dict[str, str] = {}  # shape -> text to send (first seen)
        resolved: dict[str, tuple[tuple[str, float], bool]] = {}  # shape -> (verdict, cached)
        batch_fresh: dict[str, None] = {}  # cache off: each distinct text of this batch, once, in order
        for record in records:
            items = []
            for text in record.texts:
                if not text.strip():
                    continue
                cut = len(text) > self.max_input_chars
                text = text[: self.max_input_chars]
                shape = line_shape(text)
                items.append((text, shape, cut))
                if shape in resolved or shape in pending:
                    if self.cache.enabled:
                        self.cache.hits += 1  # served by a verdict from this very batch
                        continue
                    batch_fresh[text] = None
                    continue
                hit = self.cache.get(shape)
                if hit is not None:
                    resolved[shape] = (hit, True)
                elif self.cache.enabled:
                    pending[shape] = text
                else:
                    batch_fresh[text] = None
            wanted.append(items)
        fresh_texts = list(pending.values()) if self.cache.enabled else list(batch_fresh)
        fresh_results = self._run(fresh_texts)
        by_text = {}
        for text, result in zip(fresh_texts, fresh_results):
            by_text[text] = result
        for shape, text in pending.items():
            verdict = by_text[text]
            self.cache.put(shape, verdict)
            resolved[shape] = (verdict, False)
        verdicts = []
        for record, items in zip(records, wanted):
            if not items:
                self.rule_verdicts += 1
                verdicts.append(Verdict(self.quiet_label, 1.0, False, "rule"))
                continue
            candidates = []
            for text, shape, cut in items:
                if shape in resolved:
                    (label, confidence), cached = resolved[shape]
                else:
                    (label, confidence), cached = by_text[text], False
                candidates.append(Verdict(label, confidence, cached, "program", text, cut))
            alerts = [v for v in candidates if self.is_alert(v, threshold)]
            verdicts.append(max(alerts, key=lambda v: v.confidence) if alerts else candidates[0])
        return verdicts

    def _run(self, texts: list[str]) -> list[tuple[str, float]]:
        if not texts:
            return []
        self.batches += 1
        self.program_calls += len(texts)
        results = self.program.run_many(texts)
        return [(str(result.value), float(result.confidence if result.confidence is not None else 1.0)) for result in results]

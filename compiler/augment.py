"""Rows derived from a spec and a few examples: label-keeping perturbations and spec-named near-misses.

Why: eight examples teach a LoRA the eight strings, not the function. Two kinds of derived rows push
it towards the function without inventing labels:

* **Perturbations that keep the label.** Log lines and messages carry values that never decide the
  label — IP addresses, host names, ids, ports, pids, timestamps, paths, e-mail addresses, and the
  case of case-insensitive identifiers. A variant redraws them at random, so the adapter cannot key
  on "194.117.26.69" or "pid 31602". Short standalone numbers (a "5" in "5 stars") are left alone:
  they can carry meaning.
* **Near-misses the spec names.** When the spec quotes phrases in a sentence that names exactly one
  label — ``Say ALERT for "Failed password"; "Accepted password" is QUIET`` — those phrases are cues
  for that label. An example containing exactly one cue of its own label gets a twin with that cue
  replaced by a cue of another label, labelled accordingly ("corrected error" vs "error"): the
  contrast the spec draws, on the example's own context.

Paraphrases are *not* generated: nothing that runs here paraphrases reliably (the embedded 135M base
mostly repeats its input), and a paraphrase that flips the meaning would be a wrong label.

Everything is a pure function of (spec, examples, labels, seed): no model, deterministic, cheap. It is
written by hand because no library does label-keeping log perturbation; the value patterns are
deliberately conservative (a value not recognised is left as it is).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

Pair = tuple[str, str]  # (input, label)

_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_HOST = re.compile(r"\b(?:[a-z][a-z0-9-]{1,30}\.)+(?:com|net|org|edu|gov|io|de|uk|fr|ru|cn|jp|info|biz|local|lan)\b", re.I)
_PATH = re.compile(r"(?<![\w/])/(?:[\w.@-]+/)+[\w.@-]*")
_HEX = re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{6,}\b|\b0x[0-9a-f]+\b", re.I)
_LONG_NUMBER = re.compile(r"(?<![\w.])\d{3,}(?![\w])|(?<=[\[:=#])\d+|(?<=pid )\d+|(?<=port )\d+")
_CLOCK = re.compile(r"\b([01]\d|2[0-3]):([0-5]\d):([0-5]\d)\b")

_WORDS = ("alpha", "atlas", "birch", "cedar", "delta", "ember", "fjord", "gamma", "harbor", "indigo", "juniper", "kepler",
          "lumen", "maple", "nova", "orbit", "pine", "quartz", "raven", "sierra", "tango", "umber", "vega", "willow")
_TLDS = ("com", "net", "org", "io", "de")


class DerivedRows(BaseModel):
    """What was derived, by kind, so a compile can record it."""

    model_config = ConfigDict(frozen=True)
    rows: list[Pair] = Field(default_factory=list)
    counts: dict[str, int] = Field(default_factory=dict)  # kind -> rows
    cues: dict[str, list[str]] = Field(default_factory=dict)  # label -> phrases the spec names for it


def _random_ipv4(rng: random.Random) -> str:
    return ".".join(str(rng.randint(1, 254)) for _ in range(4))


def _same_shape_number(digits: str, rng: random.Random) -> str:
    first = str(rng.randint(1, 9)) if len(digits) > 1 else str(rng.randint(0, 9))
    return first + "".join(str(rng.randint(0, 9)) for _ in range(len(digits) - 1))


def _random_hex(value: str, rng: random.Random) -> str:
    body = value[2:] if value.lower().startswith("0x") else value
    upper = body.isupper()
    new = "".join(rng.choice("0123456789abcdef") for _ in body)
    if not any(c.isdigit() for c in new):
        new = "1" + new[1:]
    if not any(c.isalpha() for c in new) and len(new) > 1:
        new = new[:-1] + "a"
    new = new.upper() if upper else new
    return (value[:2] + new) if value.lower().startswith("0x") else new


def _random_host(value: str, rng: random.Random) -> str:
    labels = value.split(".")
    new = [rng.choice(_WORDS) + (str(rng.randint(1, 99)) if rng.random() < 0.3 else "") for _ in labels[:-1]]
    host = ".".join(new + [rng.choice(_TLDS)])
    return host.upper() if value.isupper() else host


def _random_path(value: str, rng: random.Random) -> str:
    parts = value.split("/")
    # keep the file name (its extension can matter: .php, .cgi), redraw the directories
    out = [""] + [rng.choice(_WORDS) for _ in parts[1:-1]] + [parts[-1]]
    return "/".join(out)


def _random_email(value: str, rng: random.Random) -> str:
    return f"{rng.choice(_WORDS)}{rng.randint(1, 99)}@{rng.choice(_WORDS)}.{rng.choice(_TLDS)}"


def _random_clock(match: re.Match[str], rng: random.Random) -> str:
    return f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"


def perturb(text: str, rng: random.Random) -> str:
    """One variant of ``text`` with its incidental values (addresses, ids, times, paths…) redrawn.

    Returns ``text`` unchanged when it holds nothing that can be redrawn safely.
    """
    protected: list[str] = []

    def hold(value: str) -> str:
        protected.append(value)
        return f"\x00{len(protected) - 1}\x00"

    # Order matters: e-mails before hosts, IPs before numbers; replaced values are protected from
    # later patterns so a new IP is not re-perturbed as numbers.
    out = _EMAIL.sub(lambda m: hold(_random_email(m.group(), rng)), text)
    out = _IPV4.sub(lambda m: hold(_random_ipv4(rng)), out)
    out = _PATH.sub(lambda m: hold(_random_path(m.group(), rng)), out)
    out = _HOST.sub(lambda m: hold(_random_host(m.group(), rng)), out)
    out = _CLOCK.sub(lambda m: hold(_random_clock(m, rng)), out)
    out = _HEX.sub(lambda m: hold(_random_hex(m.group(), rng)), out)
    out = _LONG_NUMBER.sub(lambda m: hold(_same_shape_number(m.group(), rng)), out)
    for index, value in enumerate(protected):
        out = out.replace(f"\x00{index}\x00", value, 1)
    return out


# --------------------------------------------------------------------------- spec cues

_QUOTED = re.compile(r"\"([^\"\n]{2,60})\"|“([^”\n]{2,60})”|'([^'\n]{3,60})'")
_SENTENCE = re.compile(r"[^.!?;\n]+(?:[.!?;]+|\n|$)")


def names_label(sentence: str, label: str) -> bool:
    """Whether ``sentence`` names ``label`` as a whole word (case-sensitive: labels are written as written)."""
    return re.search(rf"(?<![\w]){re.escape(label)}(?![\w])", sentence) is not None


def spec_cues(spec: str, labels: Sequence[str]) -> dict[str, list[str]]:
    """Phrases the spec quotes in a sentence that names exactly one label: ``{label: [phrase, ...]}``.

    Sentences are split on . ! ? ; and newlines, so "X is ALERT; "Y" is QUIET" gives each its label.
    """
    cues: dict[str, list[str]] = {}
    text = spec.replace("\n", " ")
    for sentence in _SENTENCE.findall(text):
        named = [label for label in labels if names_label(sentence, label)]
        if len(named) != 1:
            continue
        for match in _QUOTED.finditer(sentence):
            phrase = next(group for group in match.groups() if group)
            if phrase.strip() and phrase not in labels:
                bucket = cues.setdefault(named[0], [])
                if phrase not in bucket:
                    bucket.append(phrase)
    # a phrase claimed by two labels is no cue
    owners: dict[str, set[str]] = {}
    for label, phrases in cues.items():
        for phrase in phrases:
            owners.setdefault(phrase.lower(), set()).add(label)
    return {label: [p for p in phrases if len(owners[p.lower()]) == 1] for label, phrases in cues.items()}


def near_misses(examples: Sequence[Pair], cues: dict[str, list[str]], rng: random.Random, per_example: int = 2) -> list[Pair]:
    """Twins of examples with their one own-label cue swapped for another label's cue."""
    out: list[Pair] = []
    lowered = {label: [p.lower() for p in phrases] for label, phrases in cues.items()}
    for text, label in examples:
        low = text.lower()
        found = [(own_label, phrase) for own_label, phrases in cues.items() for phrase in phrases if phrase.lower() in low]
        # a cue inside a longer cue that also matched ("error" inside "corrected error") is not a cue here
        found = [f for f in found if not any(f[1].lower() != g[1].lower() and f[1].lower() in g[1].lower() for g in found)]
        # exactly one cue in the text, and it is a cue of the example's own label: the label hinges on it
        if len(found) != 1 or found[0][0] != label:
            continue
        phrase = found[0][1]
        others = [(other, p) for other, phrases in cues.items() if other != label for p in phrases]
        # a cue containing this one or contained in it ("corrected error" vs "error") is the closest near-miss
        others.sort(key=lambda item: (not (phrase.lower() in item[1].lower() or item[1].lower() in phrase.lower()), rng.random()))
        start = low.index(phrase.lower())
        for other_label, other_phrase in others[:per_example]:
            if other_phrase.lower() in lowered.get(label, []):
                continue
            twin = text[:start] + other_phrase + text[start + len(phrase):]
            if twin != text:
                out.append((twin, other_label))
    return out


def derive_rows(
    spec: str,
    examples: Sequence[Pair],
    labels: Sequence[str],
    *,
    per_example: int = 3,
    seed: int = 0,
) -> DerivedRows:
    """Perturbed variants (up to ``per_example`` per example) and spec near-misses, deduplicated.

    Never returns a row whose input is one of ``examples``' inputs, and never two rows with one input.
    """
    rng = random.Random(f"pawflow-augment:{seed}")
    seen = {text for text, _ in examples}
    rows: list[Pair] = []
    counts = {"perturbed": 0, "near_miss": 0}

    def add(text: str, label: str, kind: str) -> None:
        if text in seen or not text.strip():
            return
        seen.add(text)
        rows.append((text, label))
        counts[kind] += 1

    for text, label in examples:
        for _ in range(per_example):
            add(perturb(text, rng), label, "perturbed")
    cues = spec_cues(spec, labels)
    if cues:
        for text, label in near_misses(examples, cues, rng):
            add(text, label, "near_miss")
            add(perturb(text, rng), label, "near_miss")
    return DerivedRows(rows=rows, counts=counts, cues=cues)

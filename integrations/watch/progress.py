"""Progress bars are recognised by their shape, in Python, and never sent to the program as they are.

Why exact: a progress bar's shape (``42%|████▏     | 42/100 [00:03<00:04, 12.1it/s]``) is syntax,
not meaning; 194 of the shipped program's 225 false alerts on real logs were tqdm updates. What *can*
matter in a bar is its description and its postfix (``loss=nan``), so those — and only those — are
what the program classifies (:attr:`ProgressBar.text`); a bar with no postfix is quiet by rule.

Recognised: tqdm (with and without a total, nested bars), Keras/TF ``12/100 [==>...] - ETA: 3s -
loss: 0.2``, and the generic "many bar characters next to a percentage" (rich, pip, enlighten).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TQDM = re.compile(
    r"^(?P<desc>.*?)(?P<pct>\d{1,3})%\|(?P<bar>[^|]*)\|\s*(?P<n>[\d.]+[kMGT]?)/(?P<total>[\d.]+[kMGT]?)"
    r"\s*\[(?P<inner>[^\]]*)\]?(?P<after>.*)$"
)
_TQDM_NO_TOTAL = re.compile(r"^(?P<desc>.*?)(?P<n>\d[\d.]*[kMGT]?)(?:it|[A-Za-z]{1,4})\s*\[(?P<inner>\d+:\d{2}[^\]]*)\](?P<after>.*)$")
_KERAS = re.compile(r"^\s*(?P<n>\d+)/(?P<total>\d+)\s*\[[=>.]*\]\s*(?:-\s*(?P<after>.*))?$")
_GENERIC = re.compile(r"[█▉▊▋▌▍▎▏━╸╺#]{5,}|[█▉▊▋▌▍▎▏━]{1,}\s*\d{1,3}%|\d{1,3}%\s*[█▉▊▋▌▍▎▏━╸╺]")
_RATE = re.compile(r"^\s*(?:\?|[\d.]+)\s*(?:[A-Za-z]*/s|s/[A-Za-z]*|[A-Za-z]+/s)\s*$")
_TIMES = re.compile(r"^\s*[\d:?]+\s*(?:<\s*[\d:?]+)?\s*$")
_KERAS_NOISE = re.compile(r"^(?:ETA:\s*\S+|\d+m?s(?:\s+\d+m?s/step)?|\d+m?s/step)$")


@dataclass(frozen=True, slots=True)
class ProgressBar:
    """A recognised progress-bar line: ``desc`` and ``postfix`` are what may carry meaning."""

    kind: str  # "tqdm" | "keras" | "generic"
    desc: str
    postfix: str

    @property
    def text(self) -> str:
        """What the program classifies (empty: nothing but progress, quiet by rule)."""
        if not self.postfix:
            return ""
        return f"{self.desc}: {self.postfix}" if self.desc else self.postfix


def _clean_desc(desc: str) -> str:
    return desc.strip().rstrip(":").strip()


def parse_progress(text: str) -> ProgressBar | None:
    """The progress bar in ``text``, or ``None`` when the line is not one."""
    if "%" in text or "[" in text:
        match = _TQDM.match(text)
        if match:
            inner = [part.strip() for part in (match.group("inner") or "").split(",")]
            postfix = [p for p in inner if p and not _TIMES.match(p) and not _RATE.match(p)]
            after = match.group("after").strip()
            if after:
                postfix.append(after)
            return ProgressBar("tqdm", _clean_desc(match.group("desc")), ", ".join(postfix))
        match = _TQDM_NO_TOTAL.match(text)
        if match:
            inner = [part.strip() for part in match.group("inner").split(",")]
            postfix = [p for p in inner if p and not _TIMES.match(p) and not _RATE.match(p)]
            return ProgressBar("tqdm", _clean_desc(match.group("desc")), ", ".join(postfix))
        match = _KERAS.match(text)
        if match:
            parts = [p.strip() for p in (match.group("after") or "").split(" - ")]
            return ProgressBar("keras", "", " - ".join(p for p in parts if p and not _KERAS_NOISE.match(p)))
    if _GENERIC.search(text):
        stripped = re.sub(r"[█▉▊▋▌▍▎▏━╸╺#]+|\d{1,3}%|[\d:]+(?:<[\d:?]+)?|\s+", " ", text).strip(" |[](),")
        words = re.findall(r"[A-Za-z]{3,}", stripped)
        if len(words) <= 4:
            return ProgressBar("generic", "", "")
    return None

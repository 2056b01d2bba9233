"""Rows derived from a spec and examples: perturbations keep the words, near-misses follow the spec."""

from __future__ import annotations

import random
import re

from hypothesis import given
from hypothesis import strategies as st

from compiler.augment import derive_rows, near_misses, perturb, spec_cues

SSH = "Feb 25 14:34:10 belka sshd[31602]: Failed password for invalid user ROOT from 194.117.26.69 port 50273 ssh2"


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z]{3,}", text)


def test_perturbation_redraws_values_and_keeps_the_words():
    variant = perturb(SSH, random.Random(1))
    assert variant != SSH
    assert "194.117.26.69" not in variant and "31602" not in variant and "50273" not in variant
    assert re.search(r"from (\d{1,3}\.){3}\d{1,3} port \d{5} ssh2$", variant)
    assert _words(variant) == _words(SSH)  # "Failed password for invalid user ROOT" untouched


def test_paths_hosts_and_mail_are_redrawn_but_file_names_kept():
    text = 'GET /var/www/admin/setup.php from mail.example.com by bob@example.org'
    variant = perturb(text, random.Random(2))
    assert "setup.php" in variant and "/var/www/admin/" not in variant
    assert "mail.example.com" not in variant and "bob@example.org" not in variant


def test_short_standalone_numbers_and_plain_sentences_are_left_alone():
    for text in ("The battery died after 2 days.", "I give it 5 stars", "Great case, excellent value."):
        assert perturb(text, random.Random(3)) == text


@given(st.text(max_size=80), st.integers(0, 100))
def test_perturbation_never_crashes_and_is_deterministic(text, seed):
    assert perturb(text, random.Random(seed)) == perturb(text, random.Random(seed))


SPEC = (
    'Say ALERT for lines such as "Failed password" or "authentication failure". '
    'A line with "Accepted password" is QUIET; "session opened" is QUIET too. Lines naming ALERT and QUIET "x" are ignored.'
)


def test_spec_cues_are_quoted_phrases_in_sentences_naming_one_label():
    assert spec_cues(SPEC, ["ALERT", "QUIET"]) == {
        "ALERT": ["Failed password", "authentication failure"],
        "QUIET": ["Accepted password", "session opened"],
    }


def test_near_miss_swaps_the_deciding_cue_and_flips_the_label():
    cues = spec_cues(SPEC, ["ALERT", "QUIET"])
    twins = near_misses([("sshd[1]: Failed password for root from 1.2.3.4", "ALERT")], cues, random.Random(0), per_example=2)
    assert twins and all(label == "QUIET" for _, label in twins)
    assert {text for text, _ in twins} <= {
        "sshd[1]: Accepted password for root from 1.2.3.4",
        "sshd[1]: session opened for root from 1.2.3.4",
    }


def test_a_contained_cue_is_the_closest_near_miss():
    cues = spec_cues('An "uncorrectable error" is ALERT. A "corrected error" is QUIET. Say ALERT for an "error".', ["ALERT", "QUIET"])
    twins = near_misses([("mce: corrected error on bank 4", "QUIET")], cues, random.Random(0), per_example=1)
    # "corrected error" contains "error": the twin with "error" is preferred over other cues
    assert twins == [("mce: error on bank 4", "ALERT")]


def test_derived_rows_never_repeat_an_example_and_count_their_kinds():
    examples = [("sshd[1]: Failed password for root from 1.2.3.4", "ALERT"), ("sshd[2]: Accepted password for bob from 1.2.3.5", "QUIET")]
    derived = derive_rows(SPEC, examples, ["ALERT", "QUIET"], per_example=3, seed=0)
    inputs = [text for text, _ in derived.rows]
    assert len(inputs) == len(set(inputs)) and not set(inputs) & {text for text, _ in examples}
    assert derived.counts["perturbed"] > 0 and derived.counts["near_miss"] > 0
    assert sum(derived.counts.values()) == len(derived.rows)
    assert derive_rows(SPEC, examples, ["ALERT", "QUIET"], seed=0) == derived

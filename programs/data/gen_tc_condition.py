"""tc-condition's rows for ``gen_tc.py``: (clause, tool result) pairs -> the two kinds the program names.

Weather words (with negation and "unless"), temperature words judged from the number, and stock moves
judged from the change; clause phrasings and result conditions differ between train and held-out
(``tc_slots``). Every row is checked to give its truth through the pipeline's own exact verdict
(``conditions.verdict``), so the data and the pipeline cannot disagree about what a kind means.
"""

from __future__ import annotations

import random
import re

from integrations.toolcall15.pipeline.conditions import condition_tags, positive_clause, result_facts, verdict
from integrations.toolcall15.pipeline.formats import condition_input
from tc_slots import (CITIES, CLAUSES_HELD, CLAUSES_TRAIN, CLAUSES_TRAIN_EXTRA, COMPANIES, STOCK_CLAUSES_HELD,
                      STOCK_CLAUSES_TRAIN, STOCK_CLAUSES_TRAIN_EXTRA, TEMP_HELD, TEMP_TRAIN, TEMP_TRAIN_EXTRA,
                      WEATHER_KINDS, WEATHER_TRAIN_EXTRA, _KIND_WORDS, split)


def _is_kind(kind: str, condition: str) -> bool:
    lower = condition.lower()
    return any(word in lower for word in _KIND_WORDS[kind])


def _weather_result(r: random.Random, condition: str, temp: int) -> dict:
    shapes = [
        {"condition": condition, "temperature": temp},
        {"location": r.choice(CITIES), "temperature": temp, "condition": condition, "humidity": r.randint(30, 99)},
        {"location": r.choice(CITIES), "temperature": temp, "units": "celsius", "condition": condition},
        {"temperature": temp, "condition": condition, "wind_kph": r.randint(2, 70)},
    ]
    return r.choice(shapes)


def condition_rows(r: random.Random, held: bool, n: int) -> list[dict]:
    """``Condition: if … / Result: …`` -> yes (the condition holds, the action goes ahead) | no, balanced.

    Weather words (with negation and "unless"), temperature words judged from the number, and stock
    moves judged from the change; clause phrasings and result conditions differ between train and held-out."""
    clauses = CLAUSES_HELD if held else CLAUSES_TRAIN
    temps = TEMP_HELD if held else TEMP_TRAIN
    stocks = STOCK_CLAUSES_HELD if held else STOCK_CLAUSES_TRAIN
    rows = []
    for _ in range(n):
        want_yes = r.random() < 0.5
        roll = r.random()
        if roll < 0.6:
            kind = r.choice(list(clauses))
            clause = r.choice(clauses[kind])
            mode = r.choices(["plain", "not", "unless"], [0.7, 0.15, 0.15])[0]
            if mode == "not":
                negated = re.sub(r"^if it('s| is) ", lambda m: f"if it{m.group(1)} not ", clause)
                negated = re.sub(r"^if there('s| is) ", lambda m: f"if there{m.group(1)} no ", negated)
                mode = "not" if negated != clause else "plain"
                clause = negated
            elif mode == "unless":
                clause = re.sub(r"^(if|in case( of)?|should|when)\b", "unless", clause)
            holds_if_kind = mode == "plain"
            need_kind = want_yes == holds_if_kind
            pool_kinds = [kind] if need_kind else [k for k in WEATHER_KINDS if k != kind]
            options = []
            for k in pool_kinds:
                tr, he = split(WEATHER_KINDS[k], 3)
                options += [c for c in (he if held else tr) if _is_kind(kind, c) == need_kind]
            if not options:
                continue
            condition = r.choice(options)
            result = _weather_result(r, condition, r.randint(-8, 34))
            clause_kind = kind
        elif roll < 0.85:
            clause, side, hi, lo = r.choice(temps)
            clause_kind = _temperature_kind(side, hi)
            if side == "low":
                temp = r.randint(hi - 12, hi) if want_yes else r.randint(lo, lo + 15)
            else:
                temp = r.randint(hi, hi + 10) if want_yes else r.randint(lo - 15, lo)
            tr, he = split([c for k in ("sun", "cloud", "wind", "fog") for c in WEATHER_KINDS[k]], 3)
            result = _weather_result(r, r.choice(he if held else tr), temp)
        else:
            clause, side = r.choice(stocks)
            clause_kind = side
            up = want_yes == (side == "up")
            change = round(r.uniform(0.2, 6.5), 2) * (1 if up else -1)
            company, ticker = r.choice(COMPANIES)
            result = {"ticker": ticker, "price": round(r.uniform(8, 900), 2), "currency": "USD",
                      "change": f"{change:+.2f}", "change_percent": f"{change / 3:+.2f}%"}
        rows.append(condition_row(clause, result, want_yes, clause_kind))
    return rows


def _temperature_kind(side: str, hi: int) -> str:
    """A temperature clause's kind (conditions.TEMPERATURE_KINDS) from the generator's own thresholds."""
    if side == "low":
        return "freezing" if hi <= 0 else "cold"
    return "hot" if hi >= 28 else "warm"


def _weather_kind_of(text: str | None) -> str | None:
    """The kind list a weather text comes from (each text is in exactly one list)."""
    if not text:
        return None
    for kind, values in WEATHER_KINDS.items():
        if text in values or text in WEATHER_TRAIN_EXTRA.get(kind, []):
            return kind
    raise SystemExit(f"weather text {text!r} is in no kind list")


def condition_row(clause: str, result: dict, holds: bool, clause_kind: str) -> dict:
    """The program's row for a clause as the user wrote it: the positive clause and the result's words in,
    the two kinds out (``rain / cloud``). The row also carries what the evaluation needs to score the
    pipeline's verdict (the truth of the clause as written, the inversion, the result's exact facts);
    ``main`` moves those to a side file, as program rows are ``{"input", "output"}`` only."""
    positive, inverted = positive_clause(clause)
    negated = bool(re.search(r"\b(not|no|unless)\b|n't\b", clause))
    if inverted != negated:
        raise SystemExit(f"positive_clause misread the negation of {clause!r}")
    tags = condition_tags(clause_kind, _weather_kind_of(result.get("condition")))
    facts = result_facts(result)
    if verdict(tags, facts, inverted) != ("yes" if holds else "no"):
        raise SystemExit(f"the kinds {tags!r} of {clause!r} / {result} do not give the row's truth {holds}")
    return {"input": condition_input(positive, result), "output": tags,
            "truth": {"holds": "yes" if holds else "no", "inverted": inverted, **facts}}


def extra_condition_rows(seed: int, n: int) -> list[dict]:
    """More train-only variety for tc-condition: clause phrasings and weather texts that no held-out row
    has (tc_slots.CLAUSES_TRAIN_EXTRA, WEATHER_TRAIN_EXTRA), every temperature band against every train
    temperature word, and price moves. Labels come from the explicit kind lists, not from substrings."""
    r = random.Random(seed)
    clauses = {k: CLAUSES_TRAIN[k] + CLAUSES_TRAIN_EXTRA.get(k, []) for k in CLAUSES_TRAIN}
    texts = {k: split(WEATHER_KINDS[k], 3)[0] + WEATHER_TRAIN_EXTRA.get(k, []) for k in WEATHER_KINDS}
    single = {k: [t for t in v if sum(_is_kind(j, t) for j in WEATHER_KINDS) <= 1 or t in WEATHER_TRAIN_EXTRA.get(k, [])]
              for k, v in texts.items()}
    rows = []
    for _ in range(n):
        want_yes = r.random() < 0.5
        roll = r.random()
        if roll < 0.6:
            kind = r.choice(list(clauses))
            clause = r.choice(clauses[kind])
            if want_yes:
                condition = r.choice(texts[kind])
            else:
                other = r.choice([k for k in single if k != kind and (kind, k) not in _OVERLAPS])
                condition = r.choice([t for t in single[other] if not _is_kind(kind, t)] or single[other])
            result = _weather_result(r, condition, r.randint(-8, 34))
            clause_kind = kind
        elif roll < 0.85:
            clause, side, hi, lo = r.choice(TEMP_TRAIN + TEMP_TRAIN_EXTRA)
            clause_kind = _temperature_kind(side, hi)
            if side == "low":
                temp = r.randint(hi - 12, hi) if want_yes else r.randint(lo, lo + 15)
            else:
                temp = r.randint(hi, hi + 10) if want_yes else r.randint(lo - 15, lo)
            tr, _ = split([c for k in ("sun", "cloud", "wind", "fog") for c in WEATHER_KINDS[k]], 3)
            result = _weather_result(r, r.choice(tr), temp)
        else:
            clause, side = r.choice(STOCK_CLAUSES_TRAIN + STOCK_CLAUSES_TRAIN_EXTRA)
            clause_kind = side
            up = want_yes == (side == "up")
            change = round(r.uniform(0.2, 6.5), 2) * (1 if up else -1)
            company, ticker = r.choice(COMPANIES)
            result = {"ticker": ticker, "price": round(r.uniform(8, 900), 2), "currency": "USD",
                      "change": f"{change:+.2f}", "change_percent": f"{change / 3:+.2f}%"}
        if r.random() < 0.3:
            mode = r.choice(["not", "unless"])
            negated = clause
            if mode == "not":
                negated = re.sub(r"^if it('s| is) ", lambda m: f"if it{m.group(1)} not ", clause)
                negated = re.sub(r"^if there('s| is) ", lambda m: f"if there{m.group(1)} no ", negated)
            else:
                negated = re.sub(r"^(if|in case( of)?|when)\b", "unless", clause)
            if negated != clause:
                clause, want_yes = negated, not want_yes
        rows.append(condition_row(clause, result, want_yes, clause_kind))
    return rows


# Kinds whose weather texts can honestly be both ("Thunderstorm with rain"): never drawn as each other's negatives.
_OVERLAPS = {("rain", "storm"), ("storm", "rain"), ("snow", "rain"), ("rain", "snow")}

"""Deterministic steps of the TOOLCALL-15 tool-calling pipeline (``pipelines/toolcall15.yaml``).

See docs/toolcall15-pipeline.md. Programs decide the fuzzy parts; these modules lay out their inputs
and validate what they say. :mod:`.steps` (the four python steps), :mod:`.formats` (every program's
input layout, shared with the data generator and the evaluation), :mod:`.routing` (the router's label
→ the next step), :mod:`.arguments` (per-tool arguments, validators), :mod:`.tickers` (company → ticker),
:mod:`.conditions` (the "if …" clause, exact comparisons), :mod:`.recovery` (errors, empty results,
the turn limit), :mod:`.schema` (tool-call shapes, JSON schemas), :mod:`.conversation` (state from the
messages), :mod:`.dates`, :mod:`.text` (exact text rules, safe math), :mod:`.replies`, :mod:`.keywords`
(the cue-word planner, a validator's fallback).
"""

"""Deterministic steps of the TOOLCALL-15 tool-calling pipeline (``pipelines/toolcall15.yaml``).

See docs/toolcall15-pipeline.md. Modules: :mod:`.dates` (relative dates, HH:MM, durations),
:mod:`.conversation` (state from the messages), :mod:`.text` (exact extraction rules and safe math),
:mod:`.replies` (faithful summaries, refusals), :mod:`.steps` (the pipeline's python steps).
"""

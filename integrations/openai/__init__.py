"""The OpenAI-compatible server: a pipeline served as a chat-completions model (``pawflow serve openai``).

:mod:`.server` is the Starlette app (requests validated, queued on the one interpreter, answered in
OpenAI's shapes, bodies over a limit refused with 413, context overflow answered with 400
``context_length_exceeded``); :mod:`.cli` registers ``pawflow serve openai`` through the
``pawflow.commands`` entry point. Its packages (Starlette, uvicorn) are the ``openai`` extra:
``pip install 'pawflow[openai]'``. This module imports nothing, so the CLI can read the defaults below
without them.
"""

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024  # a long tool-calling conversation is tens of kB; 4 MiB is generous

"""The OpenAI-compatible server: a pipeline served as a chat-completions model (``pawflow serve openai``).

:mod:`.server` is the Starlette app (requests validated, queued on the one interpreter, answered in
OpenAI's shapes); :mod:`.cli` registers ``pawflow serve openai`` through the ``pawflow.commands`` entry
point. Needs the ``serve`` dependencies (Starlette, uvicorn), core today.
"""

"""Bridges between pawflow and the outside world: benchmarks and OpenAI-compatible serving.

Nothing here is imported by ``import pawflow``; each integration pulls in its own dependencies
(httpx, Starlette, uvicorn) only when used.
"""

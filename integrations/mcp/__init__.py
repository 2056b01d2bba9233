"""pawflow's MCP server: every compiled program and pipeline as a tool for coding agents.

``pawflow mcp`` (see ``docs/mcp.md``) serves, over stdio or streamable HTTP, one tool per program and
per pipeline (schemas from their manifests), stable generic tools (``list_programs``,
``run_program``, ``run_pipeline``, ``watch_log``, ``compile_program``) and tools other integrations
register through :class:`integrations.mcp.tools.seam.ToolKit`. Built on fastmcp 4.

Subpackages, one concept each: ``catalog`` (what is served, its schemas, keeping it current),
``runtime`` (the model queue), ``tools`` (the tools and the seam), ``server`` (assembly, transports).
This package's import is light: ``cli`` needs only typer; fastmcp is imported by the command body.
"""

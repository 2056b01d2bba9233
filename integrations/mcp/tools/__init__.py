"""The tools: one per program and pipeline, the stable generic ones, and the seam other integrations use."""

from integrations.mcp.tools.seam import ENTRY_POINT_GROUP, ToolKit

__all__ = ["ENTRY_POINT_GROUP", "ToolKit"]

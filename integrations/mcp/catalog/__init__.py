"""What the server serves: programs and pipelines found in folders, their schemas, and keeping them current."""

from integrations.mcp.catalog.entries import PipelineEntry, ProgramEntry, Snapshot, Unavailable
from integrations.mcp.catalog.sync import CatalogSync, Changes

__all__ = ["CatalogSync", "Changes", "PipelineEntry", "ProgramEntry", "Snapshot", "Unavailable"]

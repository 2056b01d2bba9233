"""Running work on the one interpreter: a FIFO model queue with cancellation and progress."""

from integrations.mcp.runtime.progress import ProgressBridge, ProgressFn
from integrations.mcp.runtime.queue import JobControl, ModelQueue

__all__ = ["JobControl", "ModelQueue", "ProgressBridge", "ProgressFn"]

"""Errors of the search integration, under :class:`pawflow.errors.PawflowError`.

A caller (the CLI, the MCP tool, a pipeline step) catches :class:`SearchError` for anything the user
can fix — an empty query, a database path that is not an index, an index written by a newer version —
and prints one line with the hint. Programming mistakes stay ordinary exceptions.
"""

from __future__ import annotations

from pathlib import Path

from pawflow.errors import InputTypeError, PawflowError


class SearchError(PawflowError):
    """Base of every error the search integration raises on purpose."""

    code = "search"


class EmptyQueryError(SearchError, InputTypeError):
    """The query has no searchable words (empty, only spaces or punctuation, or only negated terms)."""

    code = "empty-query"


class SearchIndexError(SearchError):
    """The index database is missing, not an index, damaged, or from an incompatible version."""

    code = "search-index"

    def __init__(self, path: str | Path, message: str, *, hint: str | None = None) -> None:
        self.path = Path(path)
        super().__init__(f"{path}: {message}", hint=hint)


class DocumentError(SearchError):
    """A document cannot be indexed (bad JSONL row, missing text field). Carries file and line."""

    code = "search-document"

    def __init__(self, path: str | Path, message: str, *, line: int | None = None, hint: str | None = None) -> None:
        self.path = Path(path)
        self.line = line
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {message}", hint=hint)

"""Deterministic steps of the site-navigation pipeline (``pipelines/site-navigation.yaml``).

Named after the pipeline and kept next to it, as every pipeline's own steps are (docs/pipelines.md,
"Python steps"): the YAML says ``function: site_navigation_steps:lookup_page``.

The fuzzy decisions (intent, page, whether a fact is wanted, extraction, wording) are programs; what
is exact — looking a page up in the site's content — is plain Python, so it can never hallucinate a
URL.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

_HERE = Path(__file__).resolve().parent


@lru_cache(maxsize=4)
def _site(site_file: str) -> dict:
    path = Path(site_file)
    if not path.is_absolute():
        path = _HERE / path
    return json.loads(path.read_text(encoding="utf-8"))


def lookup_page(page: str, site_file: str) -> dict:
    """The page record ``{"title", "url", "text"}`` for a page id chosen by the router."""
    pages = _site(site_file)["pages"]
    if page not in pages:
        raise KeyError(f"the site has no page {page!r} (pages: {', '.join(sorted(pages))})")
    record = pages[page]
    return {"id": page, "title": record["title"], "url": record["url"], "text": record["text"]}

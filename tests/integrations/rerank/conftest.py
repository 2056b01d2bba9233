"""Shared fixtures: a small real corpus on disk and the base model's tokenizer (vocab-only llama.cpp)."""

from __future__ import annotations

from pathlib import Path

import pytest

from integrations.rerank.tokens import Tokenizer

CORPUS = {
    "notes/cache.md": "# Prefix cache\n\nThe interpreter keeps each program's prefix state after a swap of the adapter.\n\n"
                      "Restoring the prefix is faster than evaluating it again.",
    "notes/birds.txt": "Penguins are flightless birds that live in the southern hemisphere.\n\nEmperor penguins breed in winter.",
    "notes/cars.txt": "The jaguar is a British car maker known for fast sports cars.",
    "notes/cats.txt": "The jaguar is a large wild cat of the Americas, a strong swimmer with a powerful bite.",
    "src/loader.py": "def read_csv_rows(path):\n    \"\"\"Read rows from a CSV file.\"\"\"\n    return list(csv.reader(open(path)))\n\n\n"
                     "def parse_header(row):\n    raise ValueError('E4012: header row is empty')\n",
    "src/other.py": "def read_rows(path):\n    \"\"\"Read rows from a text file, CSV not supported.\"\"\"\n    return open(path).read().splitlines()\n",
}


@pytest.fixture(scope="session")
def tokenizer() -> Tokenizer:
    return Tokenizer.for_settings()


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    for name, text in CORPUS.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root

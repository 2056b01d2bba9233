"""Relevance data that ships inside registry packages, read without installing those packages.

Nothing here is written by pawflow's authors: each set is fetched once with the package registry's own
client into ``<cache>/rerank-data/`` and read from the archive.

* **Lee corpus** (``gensim==4.4.0`` wheel, ``gensim/test/test_data/lee.cor`` + ``similarities0-1.txt``):
  50 short Australian news articles (ABC, 2001-2002; Lee, Pincombe & Welsh 2005) and the averaged
  similarity ratings of human judges for every pair (83 raters in the study; 0..1). Used for evaluation
  only: every document is a query over the other 49, its ratings are the graded gains. gensim is
  LGPL-2.1; the corpus is distributed with it for research evaluation.
* **Python FAQ** (Debian's ``python3.11-doc``, ``html/_sources/faq/*.rst.txt``, PSF License): every FAQ
  question is a query; the answer its authors wrote under it is the one relevant document (gain 1), among
  all FAQ answers. Evaluation only.
* **Wikipedia sample** (the same gensim wheel,
  ``enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2``, CC BY-SA 3.0): 106 articles
  with their section structure. The reranker program's training data is generated from it
  (``programs/data/rerank/gen_rerank.py``); it shares no source and no documents with the two
  evaluation sets.
"""

from __future__ import annotations

import bz2
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from integrations.rerank.errors import SearchError

GENSIM = "gensim==4.4.0"
GENSIM_WHEEL_GLOB = "gensim-4.4.0-*.whl"
LEE_CORPUS = "gensim/test/test_data/lee.cor"
LEE_RATINGS = "gensim/test/test_data/similarities0-1.txt"
WIKI_SAMPLE = "gensim/test/test_data/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
PYDOC_PACKAGE = "python3.11-doc"
PYDOC_FAQ_DIR = "./usr/share/doc/python3.11/html/_sources/faq/"


def data_dir() -> Path:
    from pawflow.config import cache_root

    return cache_root() / "rerank-data"


# --------------------------------------------------------------------------- fetching


def gensim_wheel() -> Path:
    """The gensim wheel, downloaded once with pip (``--no-deps``, never installed)."""
    directory = data_dir()
    found = sorted(directory.glob(GENSIM_WHEEL_GLOB))
    if found:
        return found[-1]
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory) as staging:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", GENSIM, "-d", staging]
        done = subprocess.run(command, capture_output=True, text=True)
        wheels = sorted(Path(staging).glob(GENSIM_WHEEL_GLOB))
        if done.returncode != 0 or not wheels:
            tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
            raise SearchError(f"could not download {GENSIM} with pip: {tail}", hint=f"put the {GENSIM} wheel in {directory}")
        target = directory / wheels[0].name
        shutil.move(str(wheels[0]), target)  # same filesystem: a rename, so a half download is never taken for the wheel
    return target


def _wheel_member(name: str) -> bytes:
    with zipfile.ZipFile(gensim_wheel()) as wheel:
        return wheel.read(name)


def python_doc_package() -> Path:
    """Debian's ``python3.11-doc`` .deb, downloaded once with ``apt-get download`` (never installed)."""
    directory = data_dir()
    found = sorted(directory.glob(f"{PYDOC_PACKAGE}_*.deb"))
    if found:
        return found[-1]
    if shutil.which("apt-get") is None:
        raise SearchError(f"the Python FAQ set needs Debian's {PYDOC_PACKAGE} package and apt-get is not here",
                          hint=f"put {PYDOC_PACKAGE}_*.deb in {directory}")
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory) as staging:
        done = subprocess.run(["apt-get", "download", PYDOC_PACKAGE], cwd=staging, capture_output=True, text=True)
        debs = sorted(Path(staging).glob(f"{PYDOC_PACKAGE}_*.deb"))
        if done.returncode != 0 or not debs:
            tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
            raise SearchError(f"apt-get download {PYDOC_PACKAGE} failed: {tail}", hint="run `apt-get update` first")
        target = directory / debs[0].name
        shutil.move(str(debs[0]), target)
    return target


def _deb_members(deb: Path, prefix: str) -> dict[str, bytes]:
    """Files under ``prefix`` in a .deb's data archive (ar container, then a tar; read with the stdlib)."""
    blob = deb.read_bytes()
    if not blob.startswith(b"!<arch>\n"):
        raise SearchError(f"{deb} is not a Debian package")
    offset = 8
    while offset + 60 <= len(blob):
        header = blob[offset : offset + 60]
        name = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        body = blob[offset + 60 : offset + 60 + size]
        offset += 60 + size + (size % 2)
        if name.startswith("data.tar"):
            with tempfile.TemporaryFile() as spool:
                spool.write(body)
                spool.seek(0)
                with tarfile.open(fileobj=spool, mode="r:*") as tar:
                    out = {}
                    for member in tar.getmembers():
                        if member.isfile() and member.name.startswith(prefix):
                            handle = tar.extractfile(member)
                            if handle is not None:
                                out[member.name[len(prefix):]] = handle.read()
                    return out
    raise SearchError(f"{deb} has no data archive")


# --------------------------------------------------------------------------- evaluation sets


@dataclass(frozen=True)
class RelevanceSet:
    """Queries over a corpus with graded gains: ``qrels[query_id][doc_id] = gain`` (absent = 0)."""

    name: str
    source: str
    licence: str
    documents: dict[str, str]  # doc_id -> text
    queries: dict[str, str]  # query_id -> text
    qrels: dict[str, dict[str, float]]
    exclude_self: bool = False  # Lee: a document is not a candidate for itself


def lee_corpus() -> RelevanceSet:
    """The 50 Lee documents, each a query over the other 49, gains = averaged human similarity."""
    texts = _wheel_member(LEE_CORPUS).decode("latin-1").split("\n")
    texts = [t.strip() for t in texts if t.strip()]
    rows = [line.split() for line in _wheel_member(LEE_RATINGS).decode("ascii").strip().split("\n")]
    if len(texts) != 50 or len(rows) != 50:
        raise SearchError(f"unexpected Lee corpus layout: {len(texts)} documents, {len(rows)} rating rows")
    ids = [f"lee-{i:02d}" for i in range(50)]
    documents = dict(zip(ids, texts))
    qrels: dict[str, dict[str, float]] = {doc: {} for doc in ids}
    for i in range(50):
        for j in range(50):
            if i != j:
                # The file holds the upper triangle (row i, column j > i); the matrix is symmetric.
                value = float(rows[min(i, j)][max(i, j)])
                qrels[ids[i]][ids[j]] = value
    return RelevanceSet(name="lee", source=f"{GENSIM} wheel: {LEE_CORPUS}, {LEE_RATINGS}", licence="gensim LGPL-2.1; research corpus (Lee et al. 2005)",
                        documents=documents, queries=dict(documents), qrels=qrels, exclude_self=True)


_RST_TITLE = re.compile(r"^(?P<title>[^\s].*)\n(?P<rule>[-=~^\"'`#*+]{3,})\s*$", re.MULTILINE)


def python_faq() -> RelevanceSet:
    """Python FAQ questions (section titles ending in '?') → the answers written under them."""
    files = _deb_members(python_doc_package(), PYDOC_FAQ_DIR)
    documents: dict[str, str] = {}
    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, float]] = {}
    for name in sorted(files):
        if not name.endswith(".rst.txt") or name.startswith("index"):
            continue
        text = files[name].decode("utf-8")
        matches = list(_RST_TITLE.finditer(text))
        for n, match in enumerate(matches):
            title = match.group("title").strip()
            if len(match.group("rule")) < len(title) or not title.endswith("?"):
                continue
            end = matches[n + 1].start() if n + 1 < len(matches) else len(text)
            answer = _clean_rst(text[match.end() : end])
            if len(answer.split()) < 8:
                continue
            key = f"{name.split('.')[0]}-{len(queries):03d}"
            queries[key] = title
            documents[key] = answer
            qrels[key] = {key: 1.0}
    return RelevanceSet(name="python-faq", source=f"Debian {PYDOC_PACKAGE}: {PYDOC_FAQ_DIR}*.rst.txt",
                        licence="PSF License (Python documentation)", documents=documents, queries=queries, qrels=qrels)


def _clean_rst(text: str) -> str:
    text = re.sub(r"^\.\. [^\n]*(\n[ \t]+[^\n]*)*", "", text, flags=re.MULTILINE)  # directives and comments
    text = re.sub(r":\w+:`~?([^`<]*?)\s*(<[^>]*>)?`", r"\1", text)  # :role:`text <target>` -> text
    text = re.sub(r"`([^`<]*?)\s*<[^>]*>`_+", r"\1", text)  # `text <url>`_ -> text
    text = re.sub(r"``([^`]*)``", r"\1", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


# --------------------------------------------------------------------------- training source


@dataclass(frozen=True)
class Article:
    title: str
    sections: tuple[tuple[str, str], ...]  # (heading, plain text); the lead has heading ""
    links: frozenset[str]  # titles of articles its text links to


def wikipedia_sample() -> list[Article]:
    """The 106 non-redirect articles of gensim's Wikipedia sample, wikitext stripped to plain text."""
    import xml.etree.ElementTree as ET

    import mwparserfromhell

    articles = []
    stream = bz2.BZ2File(_bytes_file(_wheel_member(WIKI_SAMPLE)))
    for _, element in ET.iterparse(stream):
        if not element.tag.endswith("}page"):
            continue
        ns = element.tag[: -len("page")]
        title = element.findtext(f"{ns}title") or ""
        raw = element.findtext(f".//{ns}text") or ""
        element.clear()
        if raw.lstrip().lower().startswith("#redirect") or ":" in title:
            continue
        code = mwparserfromhell.parse(raw)
        links = frozenset(str(link.title).strip() for link in code.filter_wikilinks() if ":" not in str(link.title))
        sections = []
        for section in code.get_sections(levels=[2], include_lead=True, include_headings=True):
            headings = section.filter_headings()
            heading = headings[0].title.strip_code().strip() if headings else ""
            if headings:
                section.remove(headings[0])
            plain = _plain(section)
            if plain:
                sections.append((heading, plain))
        if sections:
            articles.append(Article(title=title, sections=tuple(sections), links=links))
    return articles


def _plain(code) -> str:
    for template in code.filter_templates(recursive=False):
        try:
            code.remove(template)
        except ValueError:
            pass
    text = code.strip_code(normalize=True, collapse=True, keep_template_params=False)
    lines = [line.strip() for line in text.split("\n")]
    kept = [line for line in lines if line and not line.startswith(("|", "{", "!", "=")) and len(line.split()) >= 4]
    return "\n\n".join(kept)


def _bytes_file(data: bytes):
    import io

    return io.BytesIO(data)

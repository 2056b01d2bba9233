"""Generate the reranker program's training data from Wikipedia's article structure.

Source: the 106-article Wikipedia sample inside the ``gensim==4.4.0`` wheel (CC BY-SA 3.0; see
``integrations/rerank/datasets.py``). No evaluation set is used here: the benchmark scores the program on
the Lee news corpus and the Python FAQ, which share no source and no documents with these articles.

Why this gives relevance labels without anyone labelling: an encyclopedia's structure *is* a relevance
judgement made by its editors. An article's lead is what its title is about; a section is what its
heading says within that article; another section of the same article is on the same topic but not on
the point; a section of an unrelated article is not relevant, even one with the same heading
("Economy" of Algeria for "Alabama economy") or the most words in common (BM25's hardest negatives).
Queries come in the shapes people search with — a title, title + aspect, a question, a pasted
passage (the "more like this" case) — each shape written from fixed templates here, never from the
evaluation sets.

Labels (grade): exact_match (3) — the passage is the thing asked for (the article's lead for its title,
the section for title + its heading, the passage a pasted piece came from); highly_relevant (2) —
same article and same section, or the body of the article a title names; somewhat_relevant (1) — the
same article, another section, or another article that mentions the query's subject by name;
not_relevant (0) — another article.

Articles are split by sha256 of their title: 80% train, 20% held out. The held-out articles give the
early-stopping rows (``rerank.heldout.jsonl``) and ``rerank.validation.json``, a small retrieval set over
all their passages on which the BM25/program fusion weight is chosen. ``python programs/data/rerank/gen_rerank.py`` rewrites the files deterministically.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from integrations.rerank.chunking import chunk_text  # noqa: E402
from integrations.rerank.datasets import Article, wikipedia_sample  # noqa: E402
from integrations.rerank.reranker import DOC_TOKENS, QUERY_TOKENS, format_input  # noqa: E402
from integrations.rerank.tokens import Tokenizer  # noqa: E402

SKIP_SECTIONS = {"external links", "references", "see also", "further reading", "notes", "bibliography", "sources",
                 "footnotes", "citations", "links", "notes and references"}
LABELS = ["exact_match", "highly_relevant", "somewhat_relevant", "not_relevant"]
HELDOUT_SHARE = 0.2
SEED = 20260

TITLE_QUESTIONS = ["What is {t}?", "Tell me about {t}", "{t}", "{t} overview", "who or what is {t}", "explain {t}"]
SECTION_QUERIES = ["{t} {h}", "{h} of {t}", "What about the {h} of {t}?", "{t}: {h}", "{h} {t}"]


def split_of(title: str) -> str:
    value = int(hashlib.sha256(f"pawflow-rerank-v1:{title}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "heldout" if value < HELDOUT_SHARE else "train"


def passages(article: Article, tokenizer: Tokenizer) -> list[tuple[str, str]]:
    """(heading, passage of at most DOC_TOKENS tokens) for every usable section."""
    out = []
    for heading, text in article.sections:
        if heading.lower() in SKIP_SECTIONS:
            continue
        text = "\n\n".join(p for p in text.split("\n\n") if "thumb|" not in p and "px|" not in p)
        for chunk in chunk_text(text, tokenizer, max_tokens=DOC_TOKENS, overlap=0):
            if len(chunk.text.split()) >= 20:
                out.append((heading, chunk.text))
    return out


def mentions_title(title: str, text: str) -> bool:
    """Whole-word, case-insensitive mention; one-letter titles ("A") count as mentioned nowhere."""
    return len(title) > 1 and re.search(rf"\b{re.escape(title)}\b", text, re.IGNORECASE) is not None


def words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]{4,}", text.lower())}


def build_rows(articles: list[Article], tokenizer: Tokenizer, rng: random.Random) -> list[dict]:
    by_title = {a.title: passages(a, tokenizer) for a in articles}
    by_title = {t: p for t, p in by_title.items() if len(p) >= 3}
    titles = sorted(by_title)
    rows: list[dict] = []

    def add(query: str, passage: str, label: str, kind: str) -> None:
        query = tokenizer.cut(query, QUERY_TOKENS).text
        rows.append({"input": format_input(query, passage), "output": label, "kind": kind})

    def other_article(title: str) -> tuple[str, str]:
        """A passage of an article that does not mention this one (the first of 50 tries that fits)."""
        other = title
        for _ in range(50):
            other = rng.choice(titles)
            if other != title and not mentions_title(title, " ".join(p for _, p in by_title[other])):
                break
        return rng.choice(by_title[other])

    def hardest_negative(query: str, title: str) -> str:
        """The passage of another article sharing the most words with the query (a BM25-style trap)."""
        q = words(query)
        best, best_score = "", -1
        for other in rng.sample(titles, min(25, len(titles))):
            if other == title:
                continue
            for _, passage in by_title[other]:
                if mentions_title(title, passage):
                    continue
                score = len(q & words(passage))
                if score > best_score:
                    best, best_score = passage, score
        return best

    for title in titles:
        items = by_title[title]
        lead = [p for h, p in items if h == ""] or [items[0][1]]
        body = [(h, p) for h, p in items if h != ""]
        name = title if rng.random() < 0.7 else title.lower()
        # 1. The title (or a question about it).
        query = rng.choice(TITLE_QUESTIONS).format(t=name)
        add(query, lead[0], "exact_match", "title-lead")
        if body:
            add(query, rng.choice(body)[1], "highly_relevant", "title-body")
        mentions = [p for other in titles if other != title for _, p in by_title[other] if mentions_title(title, p)]
        if mentions:
            add(query, rng.choice(mentions), "somewhat_relevant", "title-mention")
        add(query, other_article(title)[1], "not_relevant", "title-other")
        negative = hardest_negative(query + " " + lead[0], title)
        if negative:
            add(query, negative, "not_relevant", "title-hard")
        # 2. Title + aspect (a section heading).
        headings = sorted({h for h, _ in body})
        if headings:
            heading = rng.choice(headings)
            section = [p for h, p in body if h == heading]
            query = rng.choice(SECTION_QUERIES).format(t=name, h=heading.lower())
            add(query, section[0], "exact_match", "section-first")
            if len(section) > 1:
                add(query, rng.choice(section[1:]), "highly_relevant", "section-more")
            elsewhere = [p for h, p in body if h != heading] + lead
            add(query, rng.choice(elsewhere), "somewhat_relevant", "section-elsewhere")
            same_heading = [p for other in titles if other != title for h, p in by_title[other] if h.lower() == heading.lower()]
            if same_heading:
                add(query, rng.choice(same_heading), "not_relevant", "section-same-heading")
            else:
                add(query, other_article(title)[1], "not_relevant", "section-other")
        # 3. A pasted passage ("more like this"): its start as the query.
        heading, passage = rng.choice(items)
        query = tokenizer.cut(passage, QUERY_TOKENS).text
        add(query, passage, "exact_match", "passage-self")
        same = [p for h, p in items if h == heading and p != passage]
        if same:
            add(query, rng.choice(same), "highly_relevant", "passage-same-section")
        others = [p for h, p in items if h != heading]
        if others:
            add(query, rng.choice(others), "somewhat_relevant", "passage-same-article")
        add(query, other_article(title)[1], "not_relevant", "passage-other")
        negative = hardest_negative(passage, title)
        if negative:
            add(query, negative, "not_relevant", "passage-hard")
    rng.shuffle(rows)
    return rows


def build_validation(articles: list[Article], tokenizer: Tokenizer, rng: random.Random) -> dict:
    """A retrieval set over every passage of the held-out articles, gains by the same rules as the labels.

    Used only to choose the reranker's fusion weight (``bench/rerank.py --choose-fusion``): its
    queries and passages come from held-out articles, never fitted on, and it is not an evaluation set.
    """
    documents: dict[str, str] = {}
    where: dict[str, tuple[str, str, int]] = {}  # doc id -> (title, heading, position in its section)
    for article in articles:
        seen: Counter = Counter()
        for heading, passage in passages(article, tokenizer):
            doc_id = f"wiki-{len(documents):04d}"
            documents[doc_id] = passage
            where[doc_id] = (article.title, heading, seen[heading])
            seen[heading] += 1
    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, float]] = {}
    for article in articles:
        own = [d for d, (t, _, _) in where.items() if t == article.title]
        if len(own) < 3:
            continue
        name = article.title
        key = f"title:{name}"
        queries[key] = rng.choice(TITLE_QUESTIONS).format(t=name)
        qrels[key] = {d: (3.0 if where[d][1] == "" and where[d][2] == 0 else 2.0) for d in own}
        qrels[key].update({d: 1.0 for d, (t, _, _) in where.items() if t != name and mentions_title(name, documents[d])})
        headings = sorted({h for d in own for h in [where[d][1]] if h})
        if headings:
            heading = rng.choice(headings)
            key = f"section:{name}:{heading}"
            queries[key] = rng.choice(SECTION_QUERIES).format(t=name, h=heading.lower())
            qrels[key] = {d: (3.0 if where[d][2] == 0 else 2.0) if where[d][1] == heading else 1.0 for d in own}
        source = rng.choice(own)
        key = f"passage:{source}"
        queries[key] = tokenizer.cut(documents[source], QUERY_TOKENS).text
        qrels[key] = {d: 3.0 if d == source else 2.0 if where[d][1] == where[source][1] else 1.0 for d in own}
    return {"source": "gensim==4.4.0 Wikipedia sample, held-out articles", "documents": documents, "queries": queries, "qrels": qrels}


def main() -> None:
    tokenizer = Tokenizer.for_settings()
    articles = wikipedia_sample()
    splits = {"train": [a for a in articles if split_of(a.title) == "train"],
              "heldout": [a for a in articles if split_of(a.title) == "heldout"]}
    for split, group in splits.items():
        rows = build_rows(group, tokenizer, random.Random(f"{SEED}:{split}"))
        path = HERE / f"rerank.{split}.jsonl"
        with path.open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps({"input": row["input"], "output": row["output"]}, ensure_ascii=False) + "\n")
        tokens = [tokenizer.count(r["input"]) for r in rows]
        print(f"{path.name}: {len(rows)} rows from {len(group)} articles; labels {dict(Counter(r['output'] for r in rows))}; "
              f"tokens mean {sum(tokens) / len(tokens):.0f} max {max(tokens)}")
    validation = build_validation(splits["heldout"], tokenizer, random.Random(f"{SEED}:validation"))
    (HERE / "rerank.validation.json").write_text(json.dumps(validation, ensure_ascii=False, indent=0), encoding="utf-8")
    print(f"rerank.validation.json: {len(validation['queries'])} queries over {len(validation['documents'])} held-out passages")


if __name__ == "__main__":
    main()

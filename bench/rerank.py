"""Search reranker benchmark: nDCG@10 of BM25 alone vs BM25 + the rerank program, and its cost per query.

Quality, on relevance judgements nobody here wrote (``integrations/rerank/datasets.py`` says where each
set comes from and its licence), through the product path: a real SQLite FTS5 index of the set's
documents (one chunk per document), ``integrations.rerank.search`` with and without ``rerank``:

* ``lee`` — the 50 Lee news articles; every article is a query over the other 49; gains are the
  averaged human similarity ratings (0..1, used as linear gains; the ideal ranking is computed over all 49).
* ``python-faq`` — 171 Python FAQ questions over the 171 answers; the answer written for a question is
  its one relevant document (gain 1).

For each query the ``--candidates`` (default 20) best BM25 documents are judged by the program once;
nDCG@10 of the final top 10 is computed for BM25's order (``ndcg10_bm25``), the shipped fused score
(``ndcg10_rerank``: what ``search()`` returns, fusion weight chosen on the Wikipedia validation set by
``--choose-fusion``) and the program's expected grade alone (``ndcg10_program_only``). Neither set is
used for fitting or for choosing anything; ``by_weight_not_used_for_choosing`` shows the whole curve
for transparency only.

Cost: ``ms_per_query_{10,20,50}`` is the median wall time of ``search(..., candidates=N)`` over
``--timing-queries`` passage queries of the Wikipedia validation set (3,000+ passages, so 50 candidates
really exist; the query is cut to 24 tokens either way), after one warm-up query; with it, the
breakdown (keyword stage, model time, tokens evaluated, ms per evaluated token). Measured on whatever
else the machine is running: on a shared 2-core machine these are figures *under load*.

    python bench/rerank.py                 # rich tables
    python bench/rerank.py --json          # one JSON object
    python bench/rerank.py --sets lee --queries 10 --threads 1
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def dcg(gains: list[float]) -> float:
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def ndcg_at(ranked: list[str], qrels: dict[str, float], k: int = 10) -> float:
    ideal = dcg(sorted(qrels.values(), reverse=True)[:k])
    return dcg([qrels.get(d, 0.0) for d in ranked[:k]]) / ideal if ideal > 0 else 0.0


def build_index(relevance_set, directory: Path) -> Path:
    from integrations.rerank.index import SearchIndex
    from integrations.rerank.tokens import Tokenizer

    data = directory / f"{relevance_set.name}.jsonl"
    with data.open("w", encoding="utf-8") as handle:
        for doc_id, text in relevance_set.documents.items():
            handle.write(json.dumps({"id": doc_id, "text": text}, ensure_ascii=False) + "\n")
    db = directory / f"{relevance_set.name}.sqlite"
    with SearchIndex.create(db, chunk_tokens=0, overlap=0) as index:
        report = index.index_path(data, Tokenizer.for_settings(), max_file_bytes=8 << 20)
    if report.skipped:
        raise SystemExit(f"{relevance_set.name}: {len(report.skipped)} documents not indexed: {report.skipped[:3]}")
    return db


GRID = [0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 1000.0]


def judge_set(relevance_set, db: Path, reranker, *, candidates: int, max_queries: int | None) -> list[dict]:
    """One program pass per query over its BM25 candidates: what every fusion weight is computed from.

    Exactly what ``search()`` does (same query parsing, candidates, candidate text, ordering function),
    with the judgements kept so the shipped weight, the program alone (0) and BM25 alone come from one pass.
    """
    from integrations.rerank.errors import EmptyQueryError
    from integrations.rerank.query import parse_query
    from integrations.rerank.reranker import expected_grade
    from integrations.rerank.search import candidate_text, search

    query_ids = list(relevance_set.queries)[:max_queries] if max_queries else list(relevance_set.queries)
    rows = []
    started = time.perf_counter()
    for n, qid in enumerate(query_ids, 1):
        query = relevance_set.queries[qid]
        depth = candidates + (1 if relevance_set.exclude_self else 0)
        try:
            parsed = parse_query(query)
            hits = search(db, query, rerank=False, top_k=depth, candidates=depth).hits
        except EmptyQueryError:
            rows.append({"qid": qid, "ids": [], "bm25": [], "grades": [], "exact": [], "model_ms": 0.0})
            continue
        # Lee: the query document is not its own candidate (the ratings exclude the diagonal).
        hits = [h for h in hits if not (relevance_set.exclude_self and h.doc_id == qid)][:candidates]
        judged, timing_ = reranker.judge(parsed, [candidate_text(h.title, h.text) for h in hits])
        rows.append({"qid": qid, "ids": [h.doc_id for h in hits], "bm25": [h.bm25 for h in hits],
                     "grades": [expected_grade(p) for p, _ in judged], "exact": [parsed.exact_matches(h.text) for h in hits],
                     "model_ms": timing_["model_ms"]})
        if n % 10 == 0 or n == len(query_ids):
            log(f"  {relevance_set.name}: {n}/{len(query_ids)} queries judged, {time.perf_counter() - started:.0f} s")
    return rows


def ndcg_for(rows: list[dict], relevance_set, weight: float | None) -> list[float]:
    """nDCG@10 per query for a fusion weight; ``None`` = BM25 order (exact parts first, as search() does)."""
    from integrations.rerank.reranker import best_first, fused_scores

    out = []
    for row in rows:
        if not row["ids"]:
            out.append(0.0)
            continue
        if weight is None:
            order = sorted(range(len(row["ids"])), key=lambda i: (-row["exact"][i], i))
        else:
            order = best_first(fused_scores(row["grades"], row["bm25"], weight), row["bm25"], row["exact"])
        out.append(ndcg_at([row["ids"][i] for i in order], relevance_set.qrels[row["qid"]]))
    return out


def evaluate(relevance_set, db: Path, reranker, *, candidates: int, max_queries: int | None) -> dict:
    rows = judge_set(relevance_set, db, reranker, candidates=candidates, max_queries=max_queries)
    bm25 = ndcg_for(rows, relevance_set, None)
    shipped = ndcg_for(rows, relevance_set, reranker.fusion_weight)
    alone = ndcg_for(rows, relevance_set, 0.0)
    return {"queries": len(rows), "ndcg10_bm25": round(statistics.mean(bm25), 4), "ndcg10_rerank": round(statistics.mean(shipped), 4),
            "ndcg10_program_only": round(statistics.mean(alone), 4),
            "rerank_wins": sum(r > b + 1e-9 for r, b in zip(shipped, bm25)),
            "rerank_losses": sum(r < b - 1e-9 for r, b in zip(shipped, bm25)),
            "by_weight_not_used_for_choosing": {str(w): round(statistics.mean(ndcg_for(rows, relevance_set, w)), 4) for w in GRID},
            "candidates": candidates, "model_s": round(sum(r["model_ms"] for r in rows) / 1000, 1),
            "source": relevance_set.source, "licence": relevance_set.licence}


def timing(relevance_set, db: Path, reranker, *, sizes: list[int], n_queries: int) -> dict:
    from integrations.rerank.search import search

    queries = [relevance_set.queries[q] for q in list(relevance_set.queries)[:n_queries + 1]]
    search(db, queries[0], rerank=True, top_k=5, candidates=5, reranker=reranker)  # warm-up: model load, prefix
    out = {}
    for size in sizes:
        walls, models, keywords, tokens, counts = [], [], [], [], []
        for query in queries[1:]:
            started = time.perf_counter()
            result = search(db, query, rerank=True, top_k=10, candidates=size, reranker=reranker)
            walls.append((time.perf_counter() - started) * 1000)
            models.append(result.timing_ms.get("model", 0.0))
            keywords.append(result.timing_ms.get("keyword", 0.0))
            counts.append(result.candidates)
        stats = reranker.function.interpreter.stats
        out[size] = {"ms_per_query": round(statistics.median(walls), 1), "model_ms": round(statistics.median(models), 1),
                     "keyword_ms": round(statistics.median(keywords), 2), "candidates_mean": round(statistics.mean(counts), 1)}
        log(f"  {size} candidates: {out[size]['ms_per_query']:.0f} ms/query (model {out[size]['model_ms']:.0f} ms), "
            f"{stats.tokens_evaluated} tokens evaluated so far")
    return out


def tokens_per_candidate(relevance_set, reranker, n: int = 40) -> float:
    """Mean tokens the program evaluates per candidate (query window + document window + template)."""
    from integrations.rerank.reranker import format_input

    tokenizer = reranker.tokenizer
    docs = list(relevance_set.documents.values())[:n]
    query = tokenizer.cut(next(iter(relevance_set.queries.values())), reranker.query_tokens).text
    return statistics.mean(tokenizer.count(format_input(query, tokenizer.cut(d, reranker.doc_tokens).text)) for d in docs)


def validation_set():
    """The fusion weight's validation set: held-out Wikipedia passages (programs/data/rerank/gen_rerank.py)."""
    from integrations.rerank.datasets import RelevanceSet

    raw = json.loads((REPO / "programs/data/rerank/rerank.validation.json").read_text(encoding="utf-8"))
    return RelevanceSet(name="wiki-validation", source=raw["source"], licence="CC BY-SA 3.0", documents=raw["documents"],
                        queries=raw["queries"], qrels=raw["qrels"])


def choose_fusion(db: Path, relevance_set, reranker, *, candidates: int, max_queries: int | None) -> dict:
    """nDCG@10 on the validation set for each fusion weight; the best (ties: the smaller weight) is the choice."""
    rows = judge_set(relevance_set, db, reranker, candidates=candidates, max_queries=max_queries)
    means = {w: round(statistics.mean(ndcg_for(rows, relevance_set, w)), 4) for w in GRID}
    best = max(GRID, key=lambda w: (means[w], -w))
    return {"set": relevance_set.name, "queries": len(rows), "candidates": candidates,
            "ndcg10_bm25": round(statistics.mean(ndcg_for(rows, relevance_set, None)), 4),
            "ndcg10_by_weight": {str(w): v for w, v in means.items()}, "best_weight": best}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--sets", default="lee,python-faq", help="comma-separated: lee, python-faq")
    parser.add_argument("--queries", type=int, default=0, help="cap queries per set (0: all)")
    parser.add_argument("--candidates", type=int, default=20, help="BM25 candidates reranked per query")
    parser.add_argument("--timing-queries", type=int, default=5, help="FAQ questions timed per candidate count")
    parser.add_argument("--no-timing", action="store_true")
    parser.add_argument("--program", default="rerank")
    parser.add_argument("--fusion-weight", type=float, default=None, help="override the shipped fusion weight")
    parser.add_argument("--threads", type=int, default=None, help="interpreter threads (PAWFLOW_THREADS)")
    parser.add_argument("--choose-fusion", action="store_true",
                        help="only choose the BM25/program fusion weight on the held-out Wikipedia validation set")
    args = parser.parse_args()
    if args.threads:
        os.environ["PAWFLOW_THREADS"] = str(args.threads)

    from integrations.rerank import datasets
    from integrations.rerank.reranker import Reranker
    from integrations.rerank.search import shared_reranker

    reranker = shared_reranker(args.program) if args.fusion_weight is None else Reranker(args.program, fusion_weight=args.fusion_weight)
    if args.choose_fusion:
        with tempfile.TemporaryDirectory() as tmp:
            relevance_set = validation_set()
            db = build_index(relevance_set, Path(tmp))
            chosen = choose_fusion(db, relevance_set, reranker, candidates=args.candidates, max_queries=args.queries or None)
        print(json.dumps(chosen) if args.json else chosen)
        return
    loaders = {"lee": datasets.lee_corpus, "python-faq": datasets.python_faq}
    result: dict = {"program": args.program, "fusion_weight": reranker.fusion_weight, "query_tokens": reranker.query_tokens,
                    "doc_tokens": reranker.doc_tokens, "threads": int(os.environ.get("PAWFLOW_THREADS", 0)) or os.cpu_count(),
                    "load_average_1m": round(os.getloadavg()[0], 2), "sets": {}}
    with tempfile.TemporaryDirectory() as tmp:
        built = {}
        for name in args.sets.split(","):
            relevance_set = loaders[name.strip()]()
            db = build_index(relevance_set, Path(tmp))
            built[relevance_set.name] = (relevance_set, db)
            log(f"{relevance_set.name}: {len(relevance_set.queries)} queries over {len(relevance_set.documents)} documents")
            result["sets"][relevance_set.name] = evaluate(relevance_set, db, reranker, candidates=args.candidates,
                                                          max_queries=args.queries or None)
        if not args.no_timing:
            # Timed on the validation passages (3,000+ of them): passage queries match 50+ of them, so every
            # candidate count is really reached (a FAQ question matches ~20 answers, Lee has 49 documents).
            relevance_set = validation_set()
            relevance_set = dataclasses.replace(relevance_set, queries={
                k: v for k, v in relevance_set.queries.items() if k.startswith("passage:")})
            db = build_index(relevance_set, Path(tmp))
            sizes = timing(relevance_set, db, reranker, sizes=[10, 20, 50], n_queries=args.timing_queries)
            for size, figures in sizes.items():
                result[f"ms_per_query_{size}"] = figures["ms_per_query"]
            result["timing"] = {"set": relevance_set.name, "queries": args.timing_queries, "by_candidates": sizes,
                                "tokens_per_candidate": round(tokens_per_candidate(relevance_set, reranker), 1)}
            model = sizes[20]["model_ms"]
            result["timing"]["ms_per_candidate_20"] = round(model / max(1.0, sizes[20]["candidates_mean"]), 1)
    sets = result["sets"]
    total = sum(s["queries"] for s in sets.values())
    result["queries"] = total
    result["ndcg10_bm25"] = round(sum(s["ndcg10_bm25"] * s["queries"] for s in sets.values()) / total, 4)
    result["ndcg10_rerank"] = round(sum(s["ndcg10_rerank"] * s["queries"] for s in sets.values()) / total, 4)
    result["ndcg10_program_only"] = round(sum(s["ndcg10_program_only"] * s["queries"] for s in sets.values()) / total, 4)
    result["load_average_1m_end"] = round(os.getloadavg()[0], 2)
    if args.json:
        print(json.dumps(result))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"nDCG@10, {args.candidates} BM25 candidates reranked by {args.program!r} (fusion weight {reranker.fusion_weight})")
    for column in ("set", "queries", "BM25", "rerank", "Δ", "program alone", "wins/losses", "source"):
        table.add_column(column)
    for name, s in sets.items():
        table.add_row(name, str(s["queries"]), f"{s['ndcg10_bm25']:.3f}", f"{s['ndcg10_rerank']:.3f}",
                      f"{s['ndcg10_rerank'] - s['ndcg10_bm25']:+.3f}", f"{s['ndcg10_program_only']:.3f}",
                      f"{s['rerank_wins']}/{s['rerank_losses']}", s["source"])
    table.add_row("all", str(total), f"{result['ndcg10_bm25']:.3f}", f"{result['ndcg10_rerank']:.3f}",
                  f"{result['ndcg10_rerank'] - result['ndcg10_bm25']:+.3f}", "", "", "")
    console.print(table)
    if "timing" in result:
        timing_table = Table(title=f"cost per query (median of {args.timing_queries} {result['timing']['set']} queries; "
                                   f"load average {result['load_average_1m']} → {result['load_average_1m_end']})")
        for column in ("candidates", "ms/query", "model ms", "keyword ms"):
            timing_table.add_column(column, justify="right")
        for size, figures in result["timing"]["by_candidates"].items():
            timing_table.add_row(str(size), f"{figures['ms_per_query']:.0f}", f"{figures['model_ms']:.0f}", f"{figures['keyword_ms']:.1f}")
        console.print(timing_table)
        console.print(f"tokens per candidate ≈ {result['timing']['tokens_per_candidate']}, "
                      f"model ms per candidate at 20: {result['timing']['ms_per_candidate_20']}")


if __name__ == "__main__":
    main()

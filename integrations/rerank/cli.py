"""``pawflow search``: build an FTS5 index, query it with BM25 and the reranker program.

``register(app)`` imports only typer and pawflow; each command imports its modules when it runs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

DEFAULT_DB = Path("index.sqlite")


def register(app: typer.Typer) -> None:
    search_app = typer.Typer(help="Keyword search (SQLite FTS5, BM25) reranked by a compiled relevance program.",
                             no_args_is_help=True)
    app.add_typer(search_app, name="search")

    @search_app.command("index")
    def index_command(
        target: Path = typer.Argument(..., help="A folder of text/markdown/code files, or a .jsonl file of records."),
        db: Path = typer.Option(DEFAULT_DB, "--db", help="The index file (created when missing)."),
        chunk_tokens: int = typer.Option(96, "--chunk-tokens", min=0, help="Chunk size in interpreter tokens (0: one chunk per document)."),
        overlap: int = typer.Option(16, "--overlap", min=0, help="Tokens repeated between consecutive chunks of a long paragraph."),
        max_file_mb: float = typer.Option(8.0, "--max-file-mb", min=0.001, help="Larger files (JSONL: records) are skipped and counted."),
        id_field: str = typer.Option("id", "--id-field", help="JSONL: the field holding the document id."),
        text_field: str = typer.Option("text", "--text-field", help="JSONL: the field holding the text."),
        title_field: str = typer.Option("title", "--title-field", help="JSONL: the field holding an optional title."),
        prune: bool = typer.Option(True, "--prune/--keep-missing", help="Delete indexed documents that are gone from TARGET."),
        rebuild: bool = typer.Option(False, "--rebuild", help="Start a new index (written aside, then renamed over --db)."),
        as_json: bool = typer.Option(False, "--json", help="Print the report as one JSON object."),
    ) -> None:
        """Index TARGET into --db incrementally; one transaction per run, so a failed run changes nothing."""
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        from integrations.rerank.index import SearchIndex, rebuild as rebuild_index
        from integrations.rerank.tokens import Tokenizer

        err = Console(stderr=True)
        tokenizer = Tokenizer.for_settings()
        options = dict(chunk_tokens=chunk_tokens, overlap=overlap, base_name=tokenizer.base_path.name)
        run = dict(max_file_bytes=int(max_file_mb * 2**20), prune=prune, id_field=id_field, text_field=text_field,
                   title_field=title_field)
        reports = []
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err,
                      transient=True, disable=as_json or not err.is_terminal) as progress:
            task = progress.add_task(f"indexing {target}")

            def tick(origin: str) -> None:
                progress.update(task, description=f"indexing {origin[-70:]}")

            def build(index: SearchIndex) -> None:
                reports.append(index.index_path(target, tokenizer, progress=tick, **run))

            if rebuild:
                rebuild_index(db, build, **options)
            else:
                with SearchIndex.create(db, **options) as index:
                    build(index)
        report = reports[0]
        with SearchIndex.open(db) as index:
            stats = index.stats()
        if as_json:
            typer.echo(json.dumps({"db": str(db), **report.to_dict(), "index": stats}))
            return
        _print_report(err, db, report, stats)

    @search_app.command("query")
    def query_command(
        query: str = typer.Argument(..., help='What to look for. "quoted phrases" and code identifiers must match exactly; '
                                             "not X / -X / without X excludes X."),
        db: Path = typer.Option(DEFAULT_DB, "--db", help="The index file."),
        rerank: bool = typer.Option(True, "--rerank/--no-rerank", help="Rerank the BM25 candidates with the program."),
        top_k: int = typer.Option(10, "--top-k", min=1, help="How many results to show."),
        candidates: int = typer.Option(30, "--candidates", min=1, help="BM25 candidates the program judges (capped at 200)."),
        program: str = typer.Option("rerank", "--program", help="The reranker program (name or .paw path)."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Search --db: BM25 candidates, reranked; a table shows both ranks side by side."""
        from rich.console import Console

        from integrations.rerank.search import search

        results = search(db, query, rerank=rerank, top_k=top_k, candidates=candidates, program=program)
        if as_json:
            typer.echo(json.dumps(results.to_dict(), ensure_ascii=False))
            return
        _print_results(Console(), results)

    @search_app.command("delete")
    def delete_command(
        doc_ids: list[str] = typer.Argument(..., help="Document ids as shown by `pawflow search query` / `info --ids`."),
        db: Path = typer.Option(DEFAULT_DB, "--db", help="The index file."),
    ) -> None:
        """Remove documents from the index (one transaction)."""
        from integrations.rerank.index import SearchIndex

        with SearchIndex.open(db) as index:
            removed = index.delete(doc_ids)
        typer.echo(f"removed {removed} of {len(doc_ids)} documents from {db}")
        if removed < len(doc_ids):
            raise typer.Exit(1)

    @search_app.command("info")
    def info_command(
        db: Path = typer.Option(DEFAULT_DB, "--db", help="The index file."),
        ids: bool = typer.Option(False, "--ids", help="List every document id."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """What an index holds: documents, chunks, tokens, chunking settings."""
        from integrations.rerank.index import SearchIndex

        with SearchIndex.open(db) as index:
            stats = index.stats()
            doc_ids = index.doc_ids() if ids else None
        if as_json:
            typer.echo(json.dumps({**stats, **({"doc_ids": doc_ids} if ids else {})}))
            return
        for key, value in stats.items():
            typer.echo(f"{key:>13}: {value}")
        for doc_id in doc_ids or []:
            typer.echo(doc_id)


def _print_report(console, db: Path, report, stats: dict) -> None:
    from rich.table import Table

    table = Table(title=f"indexed into {db}", show_header=True)
    for column in ("added", "updated", "unchanged", "deleted", "chunks written", "skipped", "seconds"):
        table.add_column(column, justify="right")
    table.add_row(*(str(v) for v in (report.added, report.updated, report.unchanged, report.deleted, report.chunks,
                                     len(report.skipped), f"{report.seconds:.2f}")))
    console.print(table)
    for origin, reason in report.skipped[:20]:
        console.print(f"  skipped {origin}: {reason}", highlight=False, soft_wrap=True)
    if len(report.skipped) > 20:
        console.print(f"  … and {len(report.skipped) - 20} more skipped")
    console.print(f"index now: {stats['documents']} documents, {stats['chunks']} chunks, {stats['tokens']} tokens", highlight=False)


def _print_results(console, results) -> None:
    from rich.table import Table

    notes = []
    if results.excluded_words:
        notes.append("excluding " + ", ".join(results.excluded_words))
    if results.exact:
        notes.append("exact: " + ", ".join(results.exact))
    title = f"{results.query!r}: {len(results.hits)} of {results.candidates} candidates" + (f" ({'; '.join(notes)})" if notes else "")
    table = Table(title=title, show_lines=False)
    table.add_column("rank", justify="right")
    table.add_column("bm25 rank", justify="right")
    if results.reranked:
        table.add_column("score", justify="right")
        table.add_column("label")
    table.add_column("document")
    table.add_column("text")
    for hit in results.hits:
        snippet = " ".join(hit.text.split())[:110] + ("…" if len(hit.text) > 110 else "")
        where = f"{hit.doc_id}#{hit.chunk}" + (" ✂" if hit.truncated else "") + (" =" if hit.exact_matches else "")
        row = [str(hit.rank), str(hit.bm25_rank)]
        if results.reranked:
            row += [f"{hit.score:.2f}", hit.label or ""]
        table.add_row(*row, where, snippet)
    console.print(table)
    timing = ", ".join(f"{k} {v:.0f} ms" for k, v in results.timing_ms.items())
    legend = "✂ = cut to the reranker's window, = = contains the exact phrase/identifier" if results.hits else "no matches"
    console.print(f"[dim]{timing}. {legend}[/dim]", soft_wrap=True)
    if not results.hits:
        sys.stderr.write("no document matched the query's words\n")

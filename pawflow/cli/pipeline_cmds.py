"""``pawflow run``, ``pawflow validate``, ``pawflow graph`` and ``pawflow pipeline schema``.

stdout carries only results (JSON), so runs compose with ``jq`` and shell pipes; progress bars,
traces and summaries go to stderr.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from pawflow.errors import ConfigError, PipelineError


def _emit(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, default=repr) + "\n")
    sys.stdout.flush()


def _parse_input(raw: Optional[str], sets: list[str], text_inputs: set[str] | None = None) -> dict[str, Any]:
    """``--input`` as JSON text, ``@file`` or ``-`` (stdin), plus ``--set name=value`` overrides.

    ``--set`` values are JSON for typed inputs (``--set n=3``) and verbatim for text inputs, so
    nobody has to quote strings twice on a shell line.
    """
    values: dict[str, Any] = {}
    if raw is not None:
        if raw == "-":
            text, where = sys.stdin.read(), "standard input"
        elif raw.startswith("@"):
            path = Path(raw[1:])
            try:
                text, where = path.read_text(encoding="utf-8"), str(path)
            except FileNotFoundError:
                raise ConfigError(f"--input {raw}: file not found") from None
        else:
            text, where = raw, "--input"
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{where}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})",
                              hint='pass an object such as \'{"text": "hello"}\', or use --set text=hello') from exc
        if not isinstance(parsed, dict):
            raise ConfigError(f"{where}: expected a JSON object of pipeline inputs, got {type(parsed).__name__}")
        values.update(parsed)
    for item in sets:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ConfigError(f"--set {item!r}: expected NAME=VALUE")
        if text_inputs is not None and name in text_inputs:
            values[name] = value  # text inputs take the value verbatim: --set text=42 means "42"
            continue
        try:
            values[name] = json.loads(value)
        except json.JSONDecodeError:
            values[name] = value
    return values


def _trace_table(trace: list[Any], title: str) -> Any:
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for column in ("lvl", "step", "kind", "status", "ms", "program / adapter", "inputs", "outputs"):
        table.add_column(column, overflow="fold")
    colours = {"ok": "green", "cached": "cyan", "skipped": "yellow", "failed": "red", "not_run": "dim"}

    def short(value: Any) -> str:
        if value is None:
            return ""
        text = json.dumps(value, ensure_ascii=False, default=repr)
        return text if len(text) <= 80 else text[:79] + "…"

    for step in trace:
        program = ""
        if step.program:
            program = f"{step.program} / {step.adapter}"
            if step.batched and step.batched > 1:
                program += f" (×{step.batched})"
        if step.items is not None:
            program = (program + " " if program else "") + f"[{step.items} items]"
        status = step.status + (f": {step.reason}" if step.reason else "") + (f": {step.error}" if step.error else "")
        table.add_row(
            str(step.level), step.step, step.kind, f"[{colours.get(step.status, 'white')}]{status}[/]",
            f"{step.duration_ms:.1f}" if step.duration_ms is not None else "", program,
            short(step.inputs), short(step.outputs),
        )
    return table


def register(app: typer.Typer) -> None:
    pipeline_app = typer.Typer(help="Pipeline utilities (schema export).", no_args_is_help=True)
    app.add_typer(pipeline_app, name="pipeline")

    @app.command()
    def run(
        file: Path = typer.Argument(..., help="Pipeline YAML file."),
        input: Optional[str] = typer.Option(None, "--input", "-i", help="Inputs: JSON object text, @file.json, or - for stdin."),
        set_: list[str] = typer.Option([], "--set", "-s", help="One input as NAME=VALUE (VALUE parsed as JSON if it is JSON). Repeatable."),
        batch: Optional[Path] = typer.Option(None, "--batch", help="JSONL file, one object of inputs per line (an 'id' field names the row)."),
        out: Optional[Path] = typer.Option(None, "--out", help="JSONL results for --batch; rerunning skips rows already in it."),
        trace: bool = typer.Option(False, "--trace", help="Per-step inputs, outputs, timings, program/adapter, skips."),
        as_json: bool = typer.Option(False, "--json", help="With --trace: print one JSON object (outputs + trace) instead of a table."),
        cache: bool = typer.Option(False, "--cache/--no-cache", help="Reuse step results by content hash (~/.cache/pawflow/results)."),
        id_field: str = typer.Option("id", "--id-field", help="--batch: the field holding each row's id."),
        chunk: int = typer.Option(32, "--chunk", min=1, help="--batch: rows computed together (model calls grouped per program)."),
        retry_failed: bool = typer.Option(False, "--retry-failed", help="--batch: rerun rows whose recorded result is an error."),
        engine: str = typer.Option("local", "--engine", help="--batch: where rows are computed: local, or ray (pip install 'pawflow[scale]')."),
        address: Optional[str] = typer.Option(None, "--address", help="--engine ray: cluster address (host:port, or 'auto'); default: a local Ray instance."),
        workers: Optional[int] = typer.Option(None, "--workers", min=1, help="--engine ray: worker processes, each with its own interpreter (default: the cluster's CPUs / --threads)."),
    ) -> None:
        """Run a pipeline once (outputs as JSON on stdout) or over a JSONL batch."""
        from pawflow.pipeline.core import Pipeline

        pipeline = Pipeline.load(file)
        if batch is not None:
            if out is None:
                raise ConfigError("--batch needs --out FILE.jsonl (where results go; reruns resume from it)")
            if input is not None or set_:
                raise ConfigError("use either --batch or --input/--set, not both")
            _run_batch(pipeline, batch, out, id_field=id_field, chunk=chunk, cache=cache, trace=trace, retry_failed=retry_failed,
                       engine=engine, engine_options={"address": address, "workers": workers})
            return
        if engine != "local" or address is not None or workers is not None:
            raise ConfigError("--engine, --address and --workers are for --batch runs")
        if out is not None:
            raise ConfigError("--out is for --batch runs; a single run prints its outputs")
        spec = pipeline.spec
        text_inputs = {name for name, item in spec.inputs.items() if not isinstance(item.type, str) or item.type == "str"}
        inputs = _parse_input(input, set_, text_inputs)
        try:
            result = pipeline.run(inputs, cache=cache or None)
        except PipelineError as exc:
            if trace and getattr(exc, "trace", None):
                from rich.console import Console

                Console(stderr=True).print(_trace_table(exc.trace, f"{pipeline.name} (failed)"))
            raise
        if trace and as_json:
            _emit(result.model_dump(mode="json", fallback=repr))
            return
        _emit(result.outputs)
        if trace:
            from rich.console import Console

            console = Console(stderr=True)
            console.print(_trace_table(result.trace, f"{pipeline.name}: {result.duration_ms:.0f} ms, model {result.model_ms:.0f} ms"))

    def _run_batch(pipeline: Any, batch: Path, out: Path, **options: Any) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        from pawflow.pipeline.batch import run_batch_file

        console = Console(stderr=True)
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      TimeRemainingColumn(), console=console, transient=False) as progress:
            task = progress.add_task(pipeline.name, total=None)

            def update(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            summary = run_batch_file(pipeline, batch, out, on_progress=update, cache=options.pop("cache") or None, **options)
        console.print(f"{summary.ok} ok, {summary.failed} failed, {summary.already_done} already in {summary.out} "
                      f"({summary.total} rows, engine {summary.engine})", soft_wrap=True)
        if summary.failed:
            raise PipelineError(f"{summary.failed} of {summary.total} rows failed; their errors are in {summary.out}",
                                hint="fix the cause and rerun with --retry-failed")

    @app.command()
    def validate(
        file: Path = typer.Argument(..., help="Pipeline YAML file."),
        as_json: bool = typer.Option(False, "--json", help="Print the report as one JSON object."),
    ) -> None:
        """Check a pipeline without running it: every problem, with file, line and hint. Exit 1 on errors."""
        from rich.console import Console
        from rich.markup import escape

        from pawflow.pipeline.validate import validate_file

        report = validate_file(file)
        if as_json:
            _emit({"file": report.file, "ok": report.ok, "problems": [p.model_dump() for p in report.problems]})
        else:
            console = Console(stderr=True)
            for problem in report.problems:
                colour = "red" if problem.severity == "error" else "yellow"
                console.print(f"[{colour}]{escape(str(problem))}[/]", soft_wrap=True)
            errors, warnings = len(report.errors), len(report.warnings)
            if report.ok:
                console.print(f"[green]{file}: valid[/]" + (f" ({warnings} warning{'s' * (warnings != 1)})" if warnings else ""),
                              soft_wrap=True)
            else:
                console.print(f"[red]{file}: {errors} error{'s' * (errors != 1)}[/]"
                              + (f", {warnings} warning{'s' * (warnings != 1)}" if warnings else ""), soft_wrap=True)
        if not report.ok:
            raise typer.Exit(1)

    @app.command()
    def graph(
        file: Path = typer.Argument(..., help="Pipeline YAML file."),
        fmt: str = typer.Option("mermaid", "--format", "-f", help="mermaid | dot | png | svg (png/svg need Graphviz `dot`)."),
        output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write here (default: stdout for text, FILE-stem.FORMAT for images)."),
    ) -> None:
        """Draw a pipeline's DAG."""
        from pawflow.errors import PipelineValidationError
        from pawflow.pipeline import graph as graphs
        from pawflow.pipeline.validate import analyze_file

        if fmt not in ("mermaid", "dot", "png", "svg"):
            raise ConfigError(f"--format {fmt!r}: expected mermaid, dot, png or svg")
        analysis = analyze_file(file)
        if analysis.spec is None:
            raise PipelineValidationError(file, analysis.problems)
        if output is None and fmt in ("mermaid", "dot"):
            sys.stdout.write(graphs.to_mermaid(analysis) if fmt == "mermaid" else graphs.to_dot(analysis))
            return
        target = output or Path(f"{file.stem}.{fmt}")
        graphs.write(analysis, fmt, target)
        typer.echo(str(target), err=True)

    @pipeline_app.command("schema")
    def schema(output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the JSON Schema here (default: stdout).")) -> None:
        """Export the pipeline JSON Schema (for editor completion and checking)."""
        from pawflow.pipeline.spec import json_schema
        from pawflow.storage import atomic_write_text

        text = json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
        if output is None:
            sys.stdout.write(text)
        else:
            atomic_write_text(output, text)
            typer.echo(str(output), err=True)

"""``pawflow call``, ``pawflow programs list|show``, ``pawflow info``."""

from __future__ import annotations

import json
import sys

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def _emit_json(value: object) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, default=str) + "\n")


def register(app: typer.Typer) -> None:
    programs = typer.Typer(help="List and inspect compiled programs.", no_args_is_help=True)
    app.add_typer(programs, name="programs")

    @app.command()
    def call(
        program: str = typer.Argument(..., help="Program name (on the search path) or path to a .paw file."),
        input: str = typer.Argument(..., help="Input text; '-' reads standard input."),
        as_json: bool = typer.Option(False, "--json", help="Print the full result as one JSON object."),
    ) -> None:
        """Run a program on one input and print its output."""
        import pawflow

        text = sys.stdin.read() if input == "-" else input
        result = pawflow.load(program).run(text)
        if as_json:
            _emit_json(result.model_dump())
        elif isinstance(result.value, str):
            print(result.value)
        else:
            _emit_json(result.value)

    @programs.command("list")
    def list_(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
        """Programs on the search path (./programs/build, PAWFLOW_PATH, ~/.cache/pawflow/programs)."""
        from pawflow.errors import PawflowError
        from pawflow.program import Program
        from pawflow.resolve import list_programs, search_path

        rows = []
        for path in list_programs():
            try:
                prog = Program.read(path)
                rows.append(
                    {
                        "name": prog.name,
                        "output": prog.output.type,
                        "method": prog.meta.pawflow.compile.method if prog.meta.pawflow else "sdk",
                        "adapter_bytes": len(prog.adapter) if prog.adapter else 0,
                        "path": str(path),
                        "error": None,
                    }
                )
            except PawflowError as exc:
                rows.append({"name": path.stem, "output": "?", "method": "?", "adapter_bytes": 0, "path": str(path), "error": str(exc)})
        if as_json:
            _emit_json({"search_path": [str(p) for p in search_path()], "programs": rows})
            return
        table = Table(title="pawflow programs")
        for column in ("name", "output", "method", "adapter", "path"):
            table.add_column(column)
        for row in rows:
            adapter = f"{row['adapter_bytes'] / 1e6:.1f} MB" if row["adapter_bytes"] else "—"
            name = row["name"] if not row["error"] else f"[red]{row['name']} (invalid)[/red]"
            table.add_row(name, row["output"], row["method"], adapter, row["path"])
        console.print(table)
        if not rows:
            console.print("No programs found. Compile one: pawflow compile programs/NAME.yaml")

    @programs.command("show")
    def show(
        program: str = typer.Argument(..., help="Program name or path."),
        as_json: bool = typer.Option(False, "--json", help="Print meta.json."),
    ) -> None:
        """Show a program's spec, output type, base, compile method and pseudo-program."""
        from pawflow.program import Program
        from pawflow.resolve import resolve_program

        path = resolve_program(program)
        prog = Program.read(path)
        meta = prog.meta.model_dump(mode="json", by_alias=True, exclude_none=True)
        if as_json:
            _emit_json({"path": str(path), "meta": meta, "pseudo_program": prog.pseudo_program})
            return
        table = Table(show_header=False, title=f"{prog.name} ({path})")
        table.add_column("field", style="bold")
        table.add_column("value")
        pf = prog.meta.pawflow
        table.add_row("program_id", prog.meta.program_id)
        table.add_row("interpreter", prog.meta.interpreter)
        table.add_row("output", json.dumps(prog.output.model_dump(by_alias=True)))
        if pf is not None:
            table.add_row("version", pf.version)
            table.add_row("base", pf.base.describe())
            table.add_row("compile", json.dumps(pf.compile.model_dump(), default=str)[:400])
            table.add_row("generation", json.dumps(pf.generation.model_dump()))
        table.add_row("adapter", f"{len(prog.adapter)} bytes" if prog.adapter else "none (prompt-only)")
        table.add_row("spec", (prog.meta.spec or "").strip()[:600])
        console.print(table)
        console.rule("pseudo-program")
        console.print(prog.pseudo_program, markup=False, highlight=False)

    @app.command()
    def info(
        as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
        load_model: bool = typer.Option(True, "--load/--no-load", help="Load the base to report backend facts."),
    ) -> None:
        """Base model, backend, threads and cache directories."""
        from pawflow.base import inspect_base
        from pawflow.config import cache_root, load_settings
        from pawflow.resolve import search_path

        settings = load_settings()
        base_path = settings.base_path()
        facts: dict[str, object] = {
            "base_model": str(base_path),
            "embedded": settings.base is None,
            "base": inspect_base(base_path).model_dump(exclude={"chat_template"}),
            "threads": settings.threads,
            "n_ctx": settings.n_ctx,
            "config_file": str(settings.config_file) if settings.config_file else None,
            "cache_dir": str(cache_root()),
            "program_search_path": [str(p) for p in search_path(settings)],
        }
        if load_model:
            from pawflow.backends.llamacpp import rss_bytes
            from pawflow.interpreter import Interpreter

            facts.update(Interpreter.shared(settings).info())
            facts["rss_mb"] = round(rss_bytes() / 2**20, 1)
        if as_json:
            _emit_json(facts)
            return
        table = Table(show_header=False, title="pawflow info")
        table.add_column("key", style="bold")
        table.add_column("value")
        for key, value in facts.items():
            table.add_row(key, json.dumps(value) if isinstance(value, (dict, list)) else str(value))
        console.print(table)

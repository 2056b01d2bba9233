"""``pawflow compile``: the named sources, or ``--all`` sources whose build key changed.

Progress (pseudo-compiling, LoRA fitting) is drawn on stderr with rich, and the run ends with a table
of what was built, skipped or failed; ``--json`` prints the same rows as one JSON object on stdout.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from rich.progress import Progress

    from compiler.driver import CompileReport

err_console = Console(stderr=True)


class ProgressBars:
    """Adapts the compiler's ``progress(description, done, total)`` calls to rich progress bars."""

    def __init__(self, progress: "Progress", prefix: str) -> None:
        self.progress = progress
        self.prefix = prefix
        self.tasks: dict[str, int] = {}

    def __call__(self, stage: str, completed: float, total: float | None, note: str = "") -> None:
        label = f"{self.prefix}: {stage}"
        if label not in self.tasks:
            self.tasks[label] = self.progress.add_task(label, total=total, note=note)
        self.progress.update(self.tasks[label], completed=completed, total=total, note=note)


def make_progress() -> "Progress":
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[note]}"),
        console=err_console,
        transient=False,
    )


def reports_table(reports: "list[CompileReport]") -> Table:
    table = Table(title="pawflow compile")
    # The cross-validated estimate column appears only when an ``auto`` build has one (narrow terminals).
    with_estimate = any(isinstance(r.details.get("estimate"), dict) for r in reports)
    columns = ["program", "status", "method", "pseudo-program", "held-out EM", "adapter", "time", "output / reason"]
    if with_estimate:
        columns.insert(5, "estimate (95%, n)")
    for column in columns:
        table.add_column(column, overflow="fold")
    styles = {"built": "green", "skipped": "dim", "failed": "red"}
    for report in reports:
        details = report.details
        em = details.get("heldout_em")
        adapter = details.get("adapter_bytes", {}).get(details.get("quant", ""), 0)
        cells = [
            report.name,
            f"[{styles[report.status]}]{report.status}[/] {report.reason if report.status != 'failed' else ''}",
            report.method or "—",
            str(details.get("pseudo_compiler", "—")),
            f"{em:.3f}" if isinstance(em, (int, float)) else "—",
            f"{adapter / 1e6:.2f} MB" if adapter else "—",
            f"{report.seconds:.1f}s" if report.seconds else "—",
            str(report.out) if report.status != "failed" else report.reason,
        ]
        if with_estimate:
            cells.insert(5, _estimate_cell(details))
        table.add_row(*cells)
    return table


def _estimate_cell(details: dict) -> str:
    """The cross-validated estimate of an ``auto`` build: what shipped, accuracy, its interval and n."""
    estimate = details.get("estimate")
    if not isinstance(estimate, dict):
        return "—"
    low, high = estimate.get("accuracy_95", [None, None])
    return (
        f"{details.get('chosen', '?')}: acc {estimate.get('accuracy', 0):.2f} [{low:.2f}–{high:.2f}] "
        f"F1 {estimate.get('macro_f1', 0):.2f} n={estimate.get('n')}"
    )


def register(app: typer.Typer) -> None:
    from compiler.methods import COMPILE_EXTRA_MODULES, method_names
    from pawflow.cli.registry import needs_note

    @app.command(
        "compile",
        help="Compile program sources into .paw programs (pseudo-program + optional LoRA adapter)."
        + needs_note("compile", *COMPILE_EXTRA_MODULES).replace("not installed:", "--method fit needs:"),
    )
    def compile_(
        sources: Optional[list[Path]] = typer.Argument(None, help="Program source(s), e.g. programs/log-alert.yaml."),
        all_: bool = typer.Option(False, "--all", help="Compile every source in --programs whose build key changed."),
        method: Optional[str] = typer.Option(
            None, "--method", help=f"Compile method ({', '.join(method_names())}); default: the source's compile.method."
        ),
        out: Optional[Path] = typer.Option(None, "--out", help="Output .paw (default: build/NAME.paw next to the source)."),
        base: Optional[Path] = typer.Option(None, "--base", help="Base GGUF to compile for (default: configured/embedded)."),
        quant: Optional[str] = typer.Option(None, "--quant", help="Adapter precision in the .paw: f16, q8_0 or q4_0 (fit)."),
        seed: Optional[int] = typer.Option(None, "--seed", help="Random seed (fit)."),
        steps: Optional[int] = typer.Option(None, "--steps", min=1, help="Training steps (fit)."),
        checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="Trained hypernetwork directory (hypernet)."),
        no_lm: bool = typer.Option(False, "--no-lm", help="Skip the LM pseudo-compiler; use the deterministic pseudo-program."),
        force: bool = typer.Option(False, "--force", help="With --all: rebuild even sources that are up to date."),
        programs: Path = typer.Option(Path("programs"), "--programs", help="Folder of sources for --all."),
        as_json: bool = typer.Option(False, "--json", help="Print the reports as one JSON object on stdout."),
    ) -> None:
        from compiler.driver import compile_all, compile_file, resolve_base, summarize
        from pawflow.errors import ConfigError

        if all_ == bool(sources):
            raise ConfigError("give either SOURCE files or --all", hint="pawflow compile programs/log-alert.yaml")
        if out is not None and (all_ or len(sources or []) > 1):
            raise ConfigError("--out names one file; it needs exactly one SOURCE")
        overrides = {"quant": quant, "seed": seed, "steps": steps, "pseudo_lm": False if no_lm else None, "checkpoint": checkpoint}
        if base is not None:
            import os

            os.environ["PAWFLOW_BASE"] = str(base)  # the pseudo-compiler's interpreter must run the same base
        base_spec = resolve_base(base)
        with make_progress() as progress:
            if all_:
                reports = compile_all(
                    programs, method=method, base=base_spec, overrides=overrides, force=force,
                    progress_for=lambda name: ProgressBars(progress, name),
                )
            else:
                # Explicitly named sources are always rebuilt; a broken one stops the run with its error.
                reports = [
                    compile_file(
                        source, method=method, out=out, base=base_spec, overrides=overrides,
                        progress=ProgressBars(progress, source.stem),
                    )
                    for source in sources or []
                ]
        if as_json:
            payload = {"reports": [r.model_dump(mode="json") for r in reports], "summary": summarize(reports)}
            sys.stdout.write(json.dumps(payload, default=str) + "\n")
        else:
            Console().print(reports_table(reports))
            counts = summarize(reports)
            err_console.print(f"{counts['built']} built, {counts['skipped']} up to date, {counts['failed']} failed")
        if any(r.status == "failed" for r in reports):
            raise typer.Exit(1)

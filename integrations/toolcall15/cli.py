"""``pawflow eval toolcall15``: score a pipeline, the raw base model, or any endpoint on ToolCall-15.

Three targets, one harness: by default the TOOLCALL-15 pipeline is served in-process behind the
OpenAI-compatible proxy on a free loopback port (exactly what an external harness would see);
``--baseline`` does the same for the bare base model through llama-cpp-python's server;
``--base-url`` scores any OpenAI-compatible endpoint. Progress goes to stderr, so ``--json`` keeps
stdout to exactly one JSON object.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.console import Console
from rich.table import Table

from pawflow.cli.registry import needs_note, require
from pawflow.errors import ConfigError

if TYPE_CHECKING:
    from integrations.toolcall15 import EvalReport, ScenarioResult

DEFAULT_PIPELINE = Path("pipelines") / "toolcall15.yaml"
EXTRA = "toolcall15"
# httpx for the harness; Starlette and uvicorn for the in-process proxy that serves the pipeline.
EXTRA_MODULES = ("httpx", "starlette", "uvicorn")
_STATUS_STYLE = {"pass": "green", "partial": "yellow", "fail": "red"}


def resolve_default_pipeline() -> Path:
    """``pipelines/toolcall15.yaml`` under the working directory, like programs under ``programs/build``.

    The installed package never reaches into a source checkout for it: run from the project folder,
    or pass ``--pipeline FILE``.
    """
    candidate = Path.cwd() / DEFAULT_PIPELINE
    if candidate.is_file():
        return candidate
    raise ConfigError(
        f"Pipeline file not found: {DEFAULT_PIPELINE} (looked in {Path.cwd()})",
        hint="run from the folder that holds pipelines/, pass --pipeline FILE, or score an endpoint with "
        "--base-url URL, or the raw model with --baseline",
    )


def _split_ids(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def _discover_model(base_url: str) -> str:
    import httpx

    try:
        response = httpx.get(base_url.rstrip("/") + "/models", timeout=10.0)
        response.raise_for_status()
        return str(response.json()["data"][0]["id"])
    except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise ConfigError(
            f"Could not read the model list from {base_url}/models ({exc.__class__.__name__}).",
            hint="pass --model NAME",
        ) from exc


@contextlib.contextmanager
def _pipeline_endpoint(pipeline: Path, model: str) -> Iterator[str]:
    from integrations.openai.server import PipelineResponder, create_app, serve_in_thread

    responder = PipelineResponder(pipeline)
    with serve_in_thread(create_app(responder, model=model)) as base_url:
        yield base_url


def _progress_printer(console: Console, total: int):  # noqa: ANN202 - a local callback
    done = 0

    def on_result(result: ScenarioResult) -> None:
        nonlocal done
        done += 1
        style = _STATUS_STYLE[result.status]
        console.print(
            f"[{done}/{total}] {result.id} [{style}]{result.status}[/{style}] ({result.points}) "
            f"{result.latency_s:.1f}s  {result.summary}",
            highlight=False, soft_wrap=True,
        )

    return on_result


def render_report(report: EvalReport, console: Console) -> None:
    table = Table(title=f"ToolCall-15 v{report.version} — {report.model} @ {report.base_url}", show_lines=False)
    for column, kwargs in [
        ("ID", {"no_wrap": True}),
        ("Title", {}),
        ("Cat", {"justify": "center"}),
        ("Status", {}),
        ("Pts", {"justify": "right"}),
        ("Summary", {"ratio": 1}),
        ("Latency", {"justify": "right", "no_wrap": True}),
    ]:
        table.add_column(column, **kwargs)
    for r in report.scenarios:
        style = _STATUS_STYLE[r.status]
        note = f" ({r.note})" if r.note else ""
        table.add_row(
            r.id, r.title, r.category, f"[{style}]{r.status}[/{style}]", str(r.points), r.summary + note, f"{r.latency_s:.1f}s"
        )
    console.print(table)
    categories = Table(title="Categories")
    for column in ("Cat", "Label", "Points", "Percent"):
        categories.add_column(column)
    for key, c in report.categories.items():
        categories.add_row(key, c.label, f"{c.points}/{c.max_points}", f"{c.percent}%")
    console.print(categories)
    console.print(
        f"[bold]Score {report.score}/100[/bold]  ({report.points}/{report.max_points} points)  {report.rating}"
        f"  — {report.duration_s:.1f}s total",
        highlight=False, soft_wrap=True,
    )
    if not report.complete:
        console.print(
            f"[yellow]Partial run: {len(report.scenarios)} of 15 scenarios; as upstream, the score counts the "
            "others as 0.[/yellow]"
        )


def register(app: typer.Typer) -> None:
    evaluate = typer.Typer(help="Run benchmarks against pipelines, models or endpoints.", no_args_is_help=True)
    app.add_typer(evaluate, name="eval")

    @evaluate.command(
        "toolcall15",
        help="Score tool calling on the 15 ToolCall-15 scenarios (pass=2, partial=1, fail=0; score 0-100)."
        + needs_note(EXTRA, *EXTRA_MODULES),
    )
    def toolcall15(
        base_url: Optional[str] = typer.Option(
            None, "--base-url", help="Score this OpenAI-compatible endpoint (e.g. http://127.0.0.1:8000/v1)."
        ),
        model: Optional[str] = typer.Option(None, "--model", help="Model name to request (default: discovered or derived)."),
        pipeline: Optional[Path] = typer.Option(
            None, "--pipeline", help=f"Pipeline to serve and score (default: {DEFAULT_PIPELINE})."
        ),
        baseline: bool = typer.Option(
            False, "--baseline", help="Score the raw base model via llama-cpp-python's server (chatml-function-calling)."
        ),
        scenario: Optional[list[str]] = typer.Option(
            None, "--scenario", "-s", help="Run only these scenario ids (repeat, or comma-separate)."
        ),
        timeout: float = typer.Option(30.0, "--timeout", min=0.1, help="Per-request timeout in seconds (upstream: 30)."),
        api_key: Optional[str] = typer.Option(None, "--api-key", envvar="TOOLCALL15_API_KEY", help="Bearer token for --base-url."),
        no_warmup: bool = typer.Option(
            False, "--no-warmup", help="Skip the unscored warm-up request (model loading then counts against TC-01)."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print the report as exactly one JSON object on stdout."),
    ) -> None:
        require(EXTRA, *EXTRA_MODULES, command="eval toolcall15")
        from integrations.toolcall15 import ModelRequestError, resolve_scenarios, run_benchmark
        from integrations.toolcall15.runner import warmup

        if sum([base_url is not None, baseline, pipeline is not None]) > 1:
            raise ConfigError("Choose one target: --base-url, --baseline or --pipeline.")
        try:
            scenarios = resolve_scenarios(_split_ids(scenario))
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        ids = [s.id for s in scenarios]
        progress = Console(stderr=True)
        # Piped output (a file, CI logs) is not limited to 80 columns: keep summaries on one line.
        out = Console() if sys.stdout.isatty() else Console(width=200)

        with contextlib.ExitStack() as stack:
            if base_url is not None:
                target_url = base_url.rstrip("/")
                model_name = model or _discover_model(target_url)
            elif baseline:
                from integrations.toolcall15.baseline import BASELINE_MODEL_ALIAS, llama_cpp_server
                from pawflow.config import load_settings

                settings = load_settings()
                progress.print(f"Starting llama-cpp-python's server on {settings.base_path()} …", highlight=False, soft_wrap=True)
                model_name = model or BASELINE_MODEL_ALIAS
                target_url = stack.enter_context(
                    llama_cpp_server(settings.base_path(), alias=model_name, n_threads=settings.threads)
                )
            else:
                pipeline_path = pipeline if pipeline is not None else resolve_default_pipeline()
                if not pipeline_path.is_file():
                    raise ConfigError(f"Pipeline file not found: {pipeline_path}")
                model_name = model or f"pawflow-{pipeline_path.stem}"
                progress.print(f"Serving {pipeline_path} as '{model_name}' on a loopback port …", highlight=False, soft_wrap=True)
                target_url = stack.enter_context(_pipeline_endpoint(pipeline_path, model_name))
            if not no_warmup:
                try:
                    seconds = warmup(target_url, model_name, api_key=api_key)
                    progress.print(f"Warm-up request answered in {seconds:.1f}s (not scored)", highlight=False, soft_wrap=True)
                except ModelRequestError as exc:
                    progress.print(f"[yellow]Warm-up failed: {exc}[/yellow] (continuing)", highlight=False, soft_wrap=True)
            progress.print(f"Running {len(ids)} scenario(s) against {target_url} (model '{model_name}')", highlight=False, soft_wrap=True)
            report = run_benchmark(
                target_url,
                model_name,
                scenario_ids=ids,
                timeout_s=timeout,
                api_key=api_key,
                on_result=_progress_printer(progress, len(ids)),
            )

        if as_json:
            sys.stdout.write(report.model_dump_json() + "\n")
            sys.stdout.flush()
        else:
            render_report(report, out)

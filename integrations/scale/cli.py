"""``pawflow export-peft NAME.paw DIR``: a program's adapter as a PEFT folder for vLLM.

Registered through the ``pawflow.commands`` entry point; imports nothing heavy until it runs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from pawflow.cli.registry import needs_note, require


def register(app: typer.Typer) -> None:
    @app.command("export-peft", help="Write a program's LoRA adapter as a PEFT folder (adapter_config.json + "
                 "adapter_model.safetensors) that vLLM --enable-lora and peft load." + needs_note("scale", "safetensors", "gguf"))
    def export_peft(
        program: str = typer.Argument(..., help="A .paw file, or a program name on the search path."),
        directory: Path = typer.Argument(..., help="Folder to write (created; an earlier export there is replaced)."),
        base_model_id: Optional[str] = typer.Option(
            None, "--base-model-id", help="Hugging Face id of the base the server runs (default: known for the shipped bases)."),
        named: bool = typer.Option(False, "--named", help="Write DIR/<adapter name>/ (the layout PAWFLOW_OPENAI_ADAPTER_ROOT expects)."),
        as_json: bool = typer.Option(False, "--json", help="Print what was written as one JSON object."),
    ) -> None:
        require("scale", "safetensors", "gguf", command="export-peft")
        from rich.console import Console

        from compiler.peft_export import export_peft as run_export
        from pawflow.config import load_settings
        from pawflow.program import Program
        from pawflow.resolve import resolve_program

        from pawflow.backends.openai_lora import remote_model_name

        path = Path(program) if program.endswith(".paw") else resolve_program(program, load_settings())
        loaded = Program.read(path)
        target = directory / remote_model_name(loaded) if named else directory
        report = run_export(loaded, target, base_model_id=base_model_id)
        if as_json:
            sys.stdout.write(json.dumps(report.model_dump()) + "\n")
            return
        console = Console(stderr=True)
        console.print(f"{report.directory}: {report.tensors} tensors, rank {report.rank}, alpha {report.alpha:g}, "
                      f"{', '.join(report.target_modules)} on {report.layers} layers, for {report.base_model_id}"
                      + (" (q/k RoPE rows restored to Hugging Face order)" if report.rope_unpermuted else ""),
                      soft_wrap=True, highlight=False)
        console.print(f"vLLM: --lora-modules {report.adapter_name}={Path(report.directory).resolve()}  "
                      f"(or POST /v1/load_lora_adapter {{\"lora_name\": \"{report.adapter_name}\", ...}})",
                      soft_wrap=True, highlight=False)

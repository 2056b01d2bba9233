"""bench/fewshot.py's --show merge: runs of different bases and sets side by side, and merged files merged again.

No model runs here: the payloads are what ``--out`` writes (shape only). Why it matters: lever runs
(another base) are merged with --show, and a merged file must still say which base each figure came from.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("fewshot_bench", ROOT / "bench" / "fewshot.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _row(name: str, base: str, shipped_f1: float) -> dict:
    estimate = {"n": 8, "accuracy": 0.5, "accuracy_95": [0.2, 0.8], "macro_f1": 0.5}
    return {
        "set": name, "k": 8, "test_n": 120, "test_positive": 40, "base": base, "baseline_f1": 0.6, "prompt_f1": 0.3,
        "prompt_cal_f1": 0.5, "fit_f1": 0.4, "fit_cal_f1": 0.4, "shipped": "prompt+calibrated", "shipped_f1": shipped_f1,
        "compile_s": 60.0, "ms_per_row": 100.0, "estimate": {"prompt+calibrated": estimate},
    }


def _payload(name: str, base_name: str, sha: str, shipped_f1: float) -> dict:
    info = {"name": base_name, "architecture": "x", "file": f"{base_name}.gguf", "sha256_12": sha, "chat_template": False}
    return {"sets": [_row(name, f"{base_name} ({sha})", shipped_f1)], "sources": {name: {"rows": 1}}, "base": base_name, "base_info": info}


def test_show_merges_bases_and_merged_files_again(tmp_path):
    bench = _bench()
    runner = CliRunner()
    app = _typer_app(bench)
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(_payload("set-a", "base-one", "aaaaaaaaaaaa", 0.4)))
    b.write_text(json.dumps(_payload("set-b", "base-two", "bbbbbbbbbbbb", 0.6)))
    first = runner.invoke(app, ["--show", str(a), "--show", str(b), "--json"])
    assert first.exit_code == 0, first.output
    merged = json.loads(first.stdout)
    assert merged["base"] == ["base-one", "base-two"]
    assert [info["sha256_12"] for info in merged["base_info"]] == ["aaaaaaaaaaaa", "bbbbbbbbbbbb"]
    assert merged["mean_shipped_f1"] == 0.5 and merged["rows"] == 2
    # a merged file is itself an input to --show (its base and base_info are lists)
    m = tmp_path / "merged.json"
    m.write_text(first.stdout)
    c = tmp_path / "c.json"
    c.write_text(json.dumps(_payload("set-c", "base-one", "aaaaaaaaaaaa", 0.2)))
    second = runner.invoke(app, ["--show", str(m), "--show", str(c), "--json"])
    assert second.exit_code == 0, second.output
    again = json.loads(second.stdout)
    assert again["base"] == ["base-one", "base-two"] and len(again["base_info"]) == 2
    assert [row["set"] for row in again["sets"]] == ["set-a", "set-b", "set-c"]
    assert again["mean_shipped_f1"] == 0.4


def _typer_app(bench):
    import typer

    app = typer.Typer()
    app.command()(bench.main)
    return app

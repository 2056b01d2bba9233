"""Score the watcher, the shipped line-by-line program and regex baselines on the real-log eval split.

    python programs/data/logs/evaluate.py                       # table; the watcher with log-alert
    python programs/data/logs/evaluate.py --json                # one JSON object
    python programs/data/logs/evaluate.py --line-program log-alert   # + the program called on every line alone

Line-level precision/recall/F1 over every non-blank line of ``eval/*.log`` (labels in
``*.labels.json``, see ``reallogs.py``): a line counts as alerted when the watcher reported the
record it belongs to. Per failure kind, recall is over that kind's lines and precision over the
alerts raised in the logs of that kind's scenarios. Also counted: alerts on progress-bar lines, and
how many separate alerts each labelled traceback produced (the watcher should say 1). The watcher
runs exactly as ``pawflow watch --once --from-start --all`` does (same engine, one verdict cache for
the whole run), and the lines it saw are checked against the reference cutting: none dropped or
repeated.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reallogs  # noqa: E402

REGEX_BRIEF = re.compile(r"error|exception|traceback|nan|fatal|killed", re.IGNORECASE)
REGEX_ISSUE = re.compile(r"error|exception|nan|fatal", re.IGNORECASE)
BAR = re.compile(r"\d+%\|")


def prf(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": round(p, 3), "recall": round(r, 3), "f1": round(2 * p * r / (p + r), 3) if p + r else 0.0, "tp": tp, "fp": fp, "fn": fn}


def watcher_predictions(logs, program: str) -> tuple[dict, dict, dict]:
    from integrations.watch.api import WatchOptions, load_classifier, run_watch
    from integrations.watch.sources import FileSource

    options = WatchOptions(program=program, once=True, from_start=True, report_all=True, gap_s=0.5)
    classifier = load_classifier(options)
    preds: dict[str, list[bool]] = {}
    alert_ids: dict[str, list[int]] = {}
    started = time.perf_counter()
    for log in logs:
        outcome = run_watch([FileSource(log.path, once=True, from_start=True)], options, classifier=classifier)
        seen, flags, ids = [], [], []
        for n, report in enumerate(outcome.reports):
            texts = report.text.split("\n")
            seen += texts
            flags += [report.alert] * len(texts)
            ids += [n if report.alert else -1] * len(texts)
        if seen != log.lines:
            raise SystemExit(f"{log.path}: the watcher saw {len(seen)} lines, the reference has {len(log.lines)}: lines were dropped, repeated or changed")
        preds[log.name] = flags
        alert_ids[log.name] = ids
    elapsed = time.perf_counter() - started
    cache = classifier.cache
    stats = {"seconds": round(elapsed, 1), "program_calls": classifier.program_calls, "batches": classifier.batches,
             "cache_hit_rate": round(cache.hit_rate, 3), "rule_verdicts": classifier.rule_verdicts}
    return preds, alert_ids, stats


def line_program_predictions(logs, program: str) -> tuple[dict, dict]:
    import pawflow

    fn = pawflow.load(program)
    texts = sorted({text for log in logs for text in log.lines if text.strip()})
    started = time.perf_counter()
    verdicts = {}
    for i in range(0, len(texts), 32):
        chunk = texts[i : i + 32]
        for text, value in zip(chunk, fn.map(chunk)):
            verdicts[text] = value == "ALERT"
    stats = {"seconds": round(time.perf_counter() - started, 1), "distinct_lines": len(texts)}
    return {log.name: [verdicts.get(text, False) for text in log.lines] for log in logs}, stats


def score(logs, preds: dict[str, list[bool]], alert_ids: dict[str, list[int]] | None = None) -> dict:
    tp = fp = fn = 0
    kind_logs: dict[str, set] = defaultdict(set)
    for log in logs:
        for kind in set(log.kinds.values()):
            kind_logs[kind].add(log.name)
    per_kind = {}
    bar_alerts = 0
    for log in logs:
        flags = preds[log.name]
        for i in log.scored():
            truth, pred = log.label(i) == "ALERT", flags[i - 1]
            tp += truth and pred
            fp += pred and not truth
            fn += truth and not pred
            if pred and not truth and BAR.search(log.lines[i - 1]):
                bar_alerts += 1
    for kind, names in sorted(kind_logs.items()):
        ktp = kfp = kfn = 0
        for log in logs:
            if log.name not in names:
                continue
            flags = preds[log.name]
            for i in log.scored():
                truth = log.kinds.get(i) == kind
                other = i in log.kinds and not truth
                pred = flags[i - 1]
                ktp += truth and pred
                kfn += truth and not pred
                kfp += pred and not truth and not other
        per_kind[kind] = prf(ktp, kfp, kfn) | {"lines": ktp + kfn}
    healthy = [log for log in logs if not log.kinds]
    healthy_fp = sum(preds[log.name][i - 1] for log in healthy for i in log.scored())
    result = {"overall": prf(tp, fp, fn), "per_kind": per_kind, "false_alerts_on_progress_bars": bar_alerts,
              "false_alerts_on_healthy_runs": int(healthy_fp)}
    if alert_ids is not None:
        per_tb = []
        for log in logs:
            ids = alert_ids[log.name]
            for start, end in _traceback_spans(log):
                # the header and its frame/source/caret lines (indented, after any torchrun prefix)
                frames = [i for i in range(start, end + 1) if i == start or re.sub(r"^\[(?:rank|default)\d+\]: ?", "", log.lines[i - 1])[:1] in (" ", "\t")]
                per_tb.append(len({ids[i - 1] for i in frames if ids[i - 1] >= 0}))
        result["alerts_per_traceback_block"] = {"blocks": len(per_tb), "max": max(per_tb, default=0),
                                                "mean": round(sum(per_tb) / len(per_tb), 2) if per_tb else 0.0,
                                                "missed": per_tb.count(0)}
    return result


CHAIN = ("During handling of the above exception", "The above exception was the direct cause")


def _traceback_spans(log) -> list[tuple[int, int]]:
    """Each labelled traceback: from its header (chained sections included) to the next one or the alert range's end."""
    spans = []
    for start, end in _alert_ranges(log):
        heads = []
        for i in range(start, end + 1):
            if "Traceback (most recent call last)" not in log.lines[i - 1]:
                continue
            before = [t for t in log.lines[max(0, i - 4) : i - 1] if t.strip()]
            chained = before and any(before[-1].startswith(c) for c in CHAIN)
            if not chained and "Original Traceback" not in log.lines[i - 1]:
                heads.append(i)
        for n, head in enumerate(heads):
            spans.append((head, (heads[n + 1] - 1) if n + 1 < len(heads) else end))
    return spans


def _alert_ranges(log) -> list[tuple[int, int]]:
    ranges, start, prev = [], None, None
    for i in sorted(log.kinds):
        if start is None:
            start = prev = i
        elif i == prev + 1 or all(not log.lines[j - 1].strip() for j in range(prev + 1, i)):
            prev = i
        else:
            ranges.append((start, prev))
            start = prev = i
    if start is not None:
        ranges.append((start, prev))
    return ranges


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--program", default="log-alert", help="program the watcher uses")
    ap.add_argument("--line-program", default=None, help="also score this program called on every line alone")
    ap.add_argument("--split", default="eval")
    ap.add_argument("--no-watcher", action="store_true", help="only the baselines")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    logs = reallogs.load(args.split)
    n_lines = sum(len(log.scored()) for log in logs)
    n_alert = sum(1 for log in logs for i in log.scored() if log.label(i) == "ALERT")
    results: dict = {"split": args.split, "logs": len(logs), "lines": n_lines, "alert_lines": n_alert, "methods": {}}
    for name, rx in (("regex error|exception|traceback|nan|fatal|killed", REGEX_BRIEF), ("regex error|exception|nan|fatal", REGEX_ISSUE)):
        preds = {log.name: [bool(rx.search(text)) for text in log.lines] for log in logs}
        results["methods"][name] = score(logs, preds)
    if args.line_program:
        preds, stats = line_program_predictions(logs, args.line_program)
        results["methods"][f"program line by line ({Path(args.line_program).name})"] = score(logs, preds) | {"run": stats}
    if not args.no_watcher:
        preds, ids, stats = watcher_predictions(logs, args.program)
        results["methods"][f"pawflow watch ({args.program})"] = score(logs, preds, ids) | {"run": stats}
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"{args.split}: {len(logs)} real logs, {n_lines} lines, {n_alert} need attention")
    table.add_column("method")
    for col in ("P", "R", "F1", "bar FPs", "healthy FPs"):
        table.add_column(col, justify="right")
    for name, res in results["methods"].items():
        o = res["overall"]
        table.add_row(name, f"{o['precision']:.2f}", f"{o['recall']:.2f}", f"{o['f1']:.2f}", str(res["false_alerts_on_progress_bars"]), str(res["false_alerts_on_healthy_runs"]))
    console.print(table)
    kinds = Table(title="per failure kind: precision / recall")
    kinds.add_column("kind")
    kinds.add_column("lines", justify="right")
    for name in results["methods"]:
        kinds.add_column(name[:28], justify="right")
    first = next(iter(results["methods"].values()))
    for kind in first["per_kind"]:
        row = [kind, str(first["per_kind"][kind]["lines"])]
        for res in results["methods"].values():
            k = res["per_kind"][kind]
            row.append(f"{k['precision']:.2f} / {k['recall']:.2f}")
        kinds.add_row(*row)
    console.print(kinds)
    for name, res in results["methods"].items():
        if "alerts_per_traceback_block" in res:
            console.print(f"{name}: alerts per traceback block {res['alerts_per_traceback_block']}; run {res['run']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

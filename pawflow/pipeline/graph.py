"""Pictures of a pipeline: Mermaid (renders in GitHub/markdown), Graphviz DOT, and PNG/SVG via ``dot``.

All three are drawn from the networkx graph validation builds, so the picture shows exactly the
wiring the engine runs — including which switch case an edge hangs off. PNG and SVG need the Graphviz
``dot`` binary; it is an explicit requirement rather than a silent fallback, because a second layout
engine would draw a different (worse) picture of the same pipeline.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from pawflow.errors import PipelineError
from pawflow.pipeline.analysis import Analysis
from pawflow.pipeline.spec import MapStep, ProgramStep, PythonStep, RegexStep, RouteStep, SubPipelineStep, SwitchStep
from pawflow.storage import atomic_write_bytes

_KIND_COLOURS = {
    "program": "#dbeafe", "python": "#fef3c7", "regex": "#fce7f3", "template": "#ede9fe", "switch": "#fee2e2",
    "route": "#fee2e2", "coalesce": "#dcfce7", "map": "#e0f2fe", "pipeline": "#f3f4f6",
}


def _detail(step: Any) -> str:
    if isinstance(step, ProgramStep):
        return f"program {step.program}"
    if isinstance(step, PythonStep):
        return step.function
    if isinstance(step, RegexStep):
        pattern = step.pattern if len(step.pattern) <= 28 else step.pattern[:27] + "…"
        return f"regex {pattern}"
    if isinstance(step, SwitchStep):
        return "switch: " + " | ".join(step.cases + ([f"*{step.default}"] if step.default else []))
    if isinstance(step, RouteStep):
        return "route: " + " | ".join([r.to for r in step.routes] + ([f"*{step.default}"] if step.default else []))
    if isinstance(step, MapStep):
        return f"map → {_detail(step.step)}"
    if isinstance(step, SubPipelineStep):
        return f"pipeline {step.path}"
    return step.kind


def _nodes(analysis: Analysis) -> list[tuple[str, str, str, str]]:
    """(node id, role, kind, label) in a stable order: inputs, steps by level, outputs."""
    graph = analysis.graph
    nodes: list[tuple[str, str, str, str]] = []
    for node, data in graph.nodes(data=True):
        if data.get("role") == "input":
            nodes.append((node, "input", "input", node.removeprefix("inputs.")))
    ordered = [name for level in analysis.levels for name in level] or [
        n.removeprefix("steps.") for n, d in graph.nodes(data=True) if d.get("role") == "step"
    ]
    for name in ordered:
        info = analysis.steps.get(name)
        kind = info.step.kind if info else "?"
        label = f"{name}\n{_detail(info.step)}" if info else name
        nodes.append((f"steps.{name}", "step", kind, label))
    for node, data in graph.nodes(data=True):
        if data.get("role") == "output":
            nodes.append((node, "output", "output", node.removeprefix("outputs.")))
    return nodes


def _edge_label(source: str, refs: list[tuple[str, str, str]]) -> str:
    parts = []
    for socket, input_name, _ in refs:
        if source.startswith("inputs.") or socket == "value":
            parts.append(input_name)
        else:
            parts.append(f"{socket} → {input_name}")
    return ", ".join(dict.fromkeys(parts))


def _mermaid_id(node: str) -> str:
    return node.replace(".", "__")


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;").replace("\n", "<br/>")


def to_mermaid(analysis: Analysis) -> str:
    lines = ["flowchart LR"]
    for node, role, kind, label in _nodes(analysis):
        ident, text = _mermaid_id(node), _mermaid_text(label)
        if role == "input":
            lines.append(f'    {ident}(["{text}"])')
        elif role == "output":
            lines.append(f'    {ident}[["{text}"]]')
        elif kind in ("switch", "route"):
            lines.append(f'    {ident}{{"{text}"}}')
        elif kind == "coalesce":
            lines.append(f'    {ident}{{{{"{text}"}}}}')
        elif kind == "program":
            lines.append(f'    {ident}("{text}")')
        else:
            lines.append(f'    {ident}["{text}"]')
    for source, target, data in analysis.graph.edges(data=True):
        label = _edge_label(source, data.get("refs", []))
        arrow = f' -- "{_mermaid_text(label)}" --> ' if label else " --> "
        lines.append(f"    {_mermaid_id(source)}{arrow}{_mermaid_id(target)}")
    for node, role, kind, _ in _nodes(analysis):
        if role == "step":
            lines.append(f"    style {_mermaid_id(node)} fill:{_KIND_COLOURS.get(kind, '#ffffff')}")
    return "\n".join(lines) + "\n"


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(analysis: Analysis) -> str:
    name = analysis.spec.name if analysis.spec else Path(analysis.file).stem
    lines = [
        f"digraph {_dot_quote(name)} {{",
        "    rankdir=LR;",
        '    graph [fontname="Helvetica", nodesep=0.35, ranksep=0.6];',
        '    node [fontname="Helvetica", fontsize=11, style=filled, fillcolor="#ffffff"];',
        '    edge [fontname="Helvetica", fontsize=9, color="#555555"];',
    ]
    shapes = {"switch": "diamond", "route": "diamond", "coalesce": "hexagon", "program": "box", "map": "box3d"}
    for node, role, kind, label in _nodes(analysis):
        if role == "input":
            attrs = 'shape=oval, fillcolor="#f0fdf4"'
        elif role == "output":
            attrs = 'shape=note, fillcolor="#fefce8"'
        else:
            style = '"filled,rounded"' if kind == "program" else "filled"
            attrs = f'shape={shapes.get(kind, "box")}, style={style}, fillcolor="{_KIND_COLOURS.get(kind, "#ffffff")}"'
        lines.append(f"    {_dot_quote(node)} [label={_dot_quote(label)}, {attrs}];")
    for source, target, data in analysis.graph.edges(data=True):
        label = _edge_label(source, data.get("refs", []))
        lines.append(f"    {_dot_quote(source)} -> {_dot_quote(target)} [label={_dot_quote(label)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(analysis: Analysis, fmt: str) -> bytes:
    """``png`` or ``svg`` bytes from Graphviz ``dot``."""
    dot = shutil.which("dot")
    if dot is None:
        raise PipelineError(
            f"--format {fmt} needs the Graphviz `dot` program, which is not on PATH",
            hint="install Graphviz (apt-get install graphviz / brew install graphviz), or use --format mermaid or dot",
        )
    try:
        completed = subprocess.run([dot, f"-T{fmt}"], input=to_dot(analysis).encode(), capture_output=True, timeout=120)
    except subprocess.TimeoutExpired as exc:
        raise PipelineError("Graphviz dot took over 120 s to lay out the graph") from exc
    if completed.returncode != 0:
        raise PipelineError(f"Graphviz dot failed: {completed.stderr.decode(errors='replace').strip()[:500]}")
    return completed.stdout


def write(analysis: Analysis, fmt: str, out: str | Path) -> Path:
    """Write the picture atomically; text formats as UTF-8."""
    data = render(analysis, fmt) if fmt in ("png", "svg") else (to_mermaid(analysis) if fmt == "mermaid" else to_dot(analysis)).encode()
    out = Path(out)
    atomic_write_bytes(out, data)
    return out

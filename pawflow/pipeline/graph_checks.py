"""Phase 3 of validation: what only the whole graph shows — cycles, the execution order (topological
levels), steps no output depends on, inputs nothing reads, and steps that hang off a switch case that
can never be taken.
"""

from __future__ import annotations

import networkx as nx

from pawflow.pipeline.analysis import AnalyzerState
from pawflow.pipeline.spec import CoalesceStep


class GraphChecks(AnalyzerState):
    """Checks over the wired graph (networkx); they also set :attr:`Analysis.levels`."""

    def check_graph(self, outputs: dict[str, str], check_usage: bool) -> None:
        graph = self.a.graph
        step_nodes = [n for n, d in graph.nodes(data=True) if d.get("role") == "step"]
        steps_graph = graph.subgraph(step_nodes)
        cycles = []
        for cycle in nx.simple_cycles(steps_graph):
            cycles.append(cycle)
            if len(cycles) >= 10:
                break
        declared = {name: index for index, name in enumerate(self.steps)}
        for cycle in cycles:
            names = [node.removeprefix("steps.") for node in cycle]
            # report on the earliest-declared step of the loop, at its input that closes the loop
            start = min(range(len(names)), key=lambda i: declared.get(names[i], len(declared)))
            names = names[start:] + names[:start]
            closing = names[-1]
            refs = graph.get_edge_data(f"steps.{closing}", f"steps.{names[0]}")["refs"]
            chain = " → ".join(names + [names[0]])
            self.problem(("steps", names[0], "inputs", refs[0][1]), "cycle", f"steps form a cycle: {chain}",
                         step=names[0], hint="a step cannot depend on its own output; break the loop")
        if not cycles:
            self.a.levels = [sorted(n.removeprefix("steps.") for n in level)
                             for level in nx.topological_generations(steps_graph)]
        if not check_usage:
            return
        used: set[str] = set()
        for out_name in outputs:
            used |= nx.ancestors(graph, f"outputs.{out_name}")
        for name in self.steps:
            if f"steps.{name}" not in used:
                self.problem(("steps", name), "unused-step", f"step {name!r} is not used: no output depends on it",
                             step=name, hint="reference it from outputs (or a step that is), or remove it", key_line=True)
        for name in self.inputs:
            if f"inputs.{name}" not in used:
                self.problem(("inputs", name), "unused-input", f"input {name!r} is not used by any output",
                             hint="remove it, or wire it into a step", severity="warning", key_line=True)
        self.check_reachable()

    def check_reachable(self) -> None:
        """Steps fed only through a switch case that cannot happen can never run."""
        if not self.impossible:
            return
        dead: set[str] = set()
        order = [n for level in self.a.levels for n in level] if self.a.levels else list(self.steps)
        for name in order:
            info = self.a.steps.get(name)
            if info is None:
                continue
            refs = list(info.refs.values()) + (list(info.inner.refs.values()) if info.inner else [])
            hits = [r for r in refs if r.root == "steps" and ((r.name, r.socket) in self.impossible or r.name in dead)]
            if not hits:
                continue
            if isinstance(info.step, CoalesceStep) and len(hits) < len(refs):
                continue
            dead.add(name)
            self.problem(("steps", name), "unreachable-step",
                         f"step {name!r} can never run: it depends on {hits[0].text}, which is never produced",
                         step=name, hint="fix the switch case it hangs off", key_line=True)


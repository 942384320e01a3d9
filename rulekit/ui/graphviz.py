"""`rulekit dag`: the job graph or the rule graph as dot, mermaid or json.

`render_graph(dag, fmt, rules=False, plan=None)` returns the text, rendered from the
networkx graph `Dag.to_networkx()` / `Plan.to_networkx()` hand out (planning/graphs.py). With a plan, jobs that
will run are drawn solid and the others dashed (dot) or styled `done` (mermaid), and the json
carries `"runs": true/false`. Node order and edge order follow the DAG's topological order,
so the output is identical on every run.
"""

from __future__ import annotations

import json
from typing import Any

from ..planning.dag import Dag
from ..planning.graphs import job_graph, ordered_edges, rule_graph

__all__ = ["render_graph", "graph_data", "FORMATS"]

FORMATS = ("dot", "mermaid", "json")


def graph_data(dag: Dag, *, rules: bool = False, plan: Any = None) -> dict[str, Any]:
    """{"nodes": [{"id", "label", "rule", "wildcards"?, "runs"?}], "edges": [[from, to], ...]},
    read off the networkx graph (planning/graphs.py); ids number the nodes in DAG order."""
    graph = rule_graph(dag, plan) if rules else job_graph(dag, plan)
    index = {key: i for i, key in enumerate(graph)}
    nodes = []
    for key, attrs in graph.nodes(data=True):
        node: dict[str, Any] = {"id": index[key]}
        if rules:
            node.update(label=key, rule=key)
        else:
            node.update(label=attrs["name"], rule=attrs["rule"], wildcards=attrs["wildcards"])
        if "runs" in attrs:
            node["runs"] = attrs["runs"]
        nodes.append(node)
    edges = [[index[a], index[b]] for a, b in ordered_edges(graph)]
    return {"nodes": nodes, "edges": edges}


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _mermaid_label(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def render_graph(dag: Dag, fmt: str = "dot", *, rules: bool = False, plan: Any = None) -> str:
    """The job graph (or with rules=True the rule graph) as dot, mermaid or json text."""
    data = graph_data(dag, rules=rules, plan=plan)
    if fmt == "json":
        return json.dumps(data, indent=2)
    if fmt == "dot":
        lines = ["digraph rulekit {",
                 "    graph [rankdir=TB];",
                 '    node [shape=box, style="rounded", fontname=sans];']
        for node in data["nodes"]:
            style = ', style="rounded,dashed"' if node.get("runs") is False else ""
            lines.append(f"    n{node['id']} [label={_quote(node['label'])}{style}];")
        lines.extend(f"    n{a} -> n{b};" for a, b in data["edges"])
        lines.append("}")
        return "\n".join(lines)
    if fmt == "mermaid":
        lines = ["flowchart TB"]
        for node in data["nodes"]:
            lines.append(f"    n{node['id']}[{_mermaid_label(node['label'])}]")
        lines.extend(f"    n{a} --> n{b}" for a, b in data["edges"])
        done = [f"n{n['id']}" for n in data["nodes"] if n.get("runs") is False]
        if done:
            lines.append("    classDef done stroke-dasharray: 5 5")
            lines.append(f"    class {','.join(done)} done")
        return "\n".join(lines)
    raise ValueError(f"unknown graph format {fmt!r} (choose from {', '.join(FORMATS)})")

"""The job graph and the rule graph as networkx DiGraphs, for exchange and analysis.

The DAG itself stays plain lists (`job.id` indexes, `job.deps`): building 10^5 jobs must
not pay for a general graph library (docs/design.md). networkx is what rulekit hands out
and what the `rulekit dag` exports are rendered from:

    job_graph(dag, plan=None)    nodes: job ids in topological order, with name, rule,
                                 wildcards, input, output, job; with a plan also runs and
                                 reasons (the Reason objects; empty when the job does not run)
    rule_graph(dag, plan=None)   nodes: rule names in first-seen order, with jobs (count)
                                 and, with a plan, runs

Edges point from producer to consumer. Node order is the DAG's order; every edge carries
`seq`, the order it was first seen in, so exports are identical on every run.
networkx is imported here, on first use: planning without a graph export never loads it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import networkx as nx

    from .dag import Dag

__all__ = ["job_graph", "rule_graph", "ordered_edges"]


def job_graph(dag: Dag, plan: Any = None) -> nx.DiGraph[int]:
    import networkx as nx

    graph: nx.DiGraph[int] = nx.DiGraph(kind="jobs")
    for job in dag.jobs:
        attrs: dict[str, Any] = {"name": job.name, "rule": job.rule.name,
                                 "wildcards": dict(job.wildcards),
                                 "input": [str(p) for p in job.input],
                                 "output": [str(p) for p in job.output], "job": job}
        if plan is not None:
            attrs["runs"] = plan.runs(job)
            attrs["reasons"] = plan.reasons_for(job)
        graph.add_node(job.id, **attrs)
    seq = 0
    for job in dag.jobs:
        for dep in job.deps:
            graph.add_edge(dep.id, job.id, seq=seq)
            seq += 1
    return graph


def rule_graph(dag: Dag, plan: Any = None) -> nx.DiGraph[str]:
    import networkx as nx

    graph: nx.DiGraph[str] = nx.DiGraph(kind="rules")
    for job in dag.jobs:
        name = job.rule.name
        if name in graph:
            graph.nodes[name]["jobs"] += 1
        else:
            graph.add_node(name, rule=name, jobs=1)
    if plan is not None:
        running = {p.job.rule.name for p in plan}
        for name, attrs in graph.nodes(data=True):
            attrs["runs"] = name in running
    for seq, (a, b) in enumerate(dag.rule_edges()):
        graph.add_edge(a, b, seq=seq)
    return graph


def ordered_edges(graph: nx.DiGraph[Any]) -> list[tuple[Any, Any]]:
    """The edges in the order they were first seen (their `seq`)."""
    return [(a, b) for a, b, _ in sorted(graph.edges(data="seq"), key=lambda e: e[2])]

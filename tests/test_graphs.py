"""The job graph and the rule graph as networkx DiGraphs (Plan/Dag/Workflow.to_networkx)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import networkx as nx

import rulekit

RULES = """
rule all:
    input: "c/x.txt", "c/y.txt"

rule a:
    input: "raw/{s}.txt"
    output: "a/{s}.txt"
    shell: "cp {input} {output}"

rule b:
    input: "a/{s}.txt"
    output: "b/{s}.txt"
    shell: "cp {input} {output}"

rule c:
    input: "b/{s}.txt"
    output: "c/{s}.txt"
    shell: "cp {input} {output}"
"""


def project(tmp_path: Path) -> Path:
    (tmp_path / "Rulesfile").write_text(textwrap.dedent(RULES))
    (tmp_path / "raw").mkdir()
    for s in "xy":
        (tmp_path / "raw" / f"{s}.txt").write_text(s)
    return tmp_path


def test_plan_graph_has_every_job_with_rule_wildcards_and_reasons(tmp_path):
    wf = rulekit.load(project(tmp_path) / "Rulesfile")
    plan = wf.plan()
    graph = plan.to_networkx()
    assert isinstance(graph, nx.DiGraph) and nx.is_directed_acyclic_graph(graph)
    assert graph.number_of_nodes() == 7 and graph.number_of_edges() == 6
    names = [graph.nodes[n]["name"] for n in graph]
    assert names == [pj.job.name for pj in plan]       # all run: same order as the plan
    a_x = next(n for n in graph if graph.nodes[n]["name"] == "a[s=x]")
    node = graph.nodes[a_x]
    assert node["rule"] == "a" and node["wildcards"] == {"s": "x"}
    assert node["input"] == ["raw/x.txt"] and node["output"] == ["a/x.txt"]
    assert node["runs"] is True
    assert [r.kind for r in node["reasons"]] == ["missing-output"]
    assert node["job"] is plan.jobs[a_x].job
    # the producer -> consumer chain, and `all` at the end of it
    path = [graph.nodes[n]["name"] for n in nx.shortest_path(graph, a_x, len(names) - 1)]
    assert path == ["a[s=x]", "b[s=x]", "c[s=x]", "all"]


def test_done_jobs_stay_in_the_graph_without_reasons(tmp_path):
    root = project(tmp_path)
    wf = rulekit.load(root / "Rulesfile")
    assert wf.run(cores=2, quiet=True).ok
    (root / "c" / "y.txt").unlink()
    graph = wf.plan().to_networkx()
    runs = {graph.nodes[n]["name"]: (graph.nodes[n]["runs"], len(graph.nodes[n]["reasons"]))
            for n in graph}
    assert runs["c[s=y]"] == (True, 1)
    assert runs["a[s=x]"] == (False, 0) and runs["c[s=x]"] == (False, 0)


def test_rule_graph_and_workflow_graph_without_store(tmp_path):
    wf = rulekit.load(project(tmp_path) / "Rulesfile")
    rules = wf.plan().to_networkx(rules=True)
    assert list(rules) == ["a", "b", "c", "all"]
    assert sorted(rules.edges) == [("a", "b"), ("b", "c"), ("c", "all")]
    assert rules.nodes["a"] == {"rule": "a", "jobs": 2, "runs": True}
    jobs = wf.to_networkx(["c/x.txt"])
    assert [jobs.nodes[n]["name"] for n in nx.topological_sort(jobs)] == \
        ["a[s=x]", "b[s=x]", "c[s=x]"]
    assert "runs" not in jobs.nodes[0] and "reasons" not in jobs.nodes[0]
    assert list(wf.to_networkx(rules=True).edges) == [("a", "b"), ("b", "c"), ("c", "all")]


def test_dag_command_exports_the_same_graph(tmp_path):
    root = project(tmp_path)
    out = subprocess.run([sys.executable, "-m", "rulekit", "dag", "--format", "json"],
                         cwd=root, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    graph = rulekit.load(root / "Rulesfile").to_networkx()
    assert [n["label"] for n in data["nodes"]] == [graph.nodes[n]["name"] for n in graph]
    assert sorted(map(tuple, data["edges"])) == sorted(graph.edges)

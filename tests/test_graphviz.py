"""dag output: dot, mermaid, json; job graph and rule graph."""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_dag import chain_wf, touch

from rulekit.planning.fs import FileSystem
from rulekit.planning.plan import make_plan
from rulekit.planning.resolve import build_dag
from rulekit.ui.graphviz import render_graph


def dag_of(root: Any) -> Any:
    touch(root, "raw/x.txt")
    return build_dag(chain_wf(root, ["x"]), (), FileSystem(root))


def test_dot(tmp_path: Any) -> None:
    assert render_graph(dag_of(tmp_path), "dot") == "\n".join([
        "digraph rulekit {",
        "    graph [rankdir=TB];",
        '    node [shape=box, style="rounded", fontname=sans];',
        '    n0 [label="a[s=x]"];',
        '    n1 [label="b[s=x]"];',
        '    n2 [label="c[s=x]"];',
        '    n3 [label="agg"];',
        "    n0 -> n1;",
        "    n1 -> n2;",
        "    n2 -> n3;",
        "}"])


def test_mermaid_rules_and_plan(tmp_path: Any) -> None:
    dag = dag_of(tmp_path)
    touch(tmp_path, "a/x.txt", t=1)
    plan = make_plan(dag.workflow, fs=FileSystem(tmp_path), dag=dag)
    assert render_graph(dag, "mermaid", plan=plan) == "\n".join([
        "flowchart TB",
        '    n0["a[s=x]"]',
        '    n1["b[s=x]"]',
        '    n2["c[s=x]"]',
        '    n3["agg"]',
        "    n0 --> n1",
        "    n1 --> n2",
        "    n2 --> n3",
        "    classDef done stroke-dasharray: 5 5",
        "    class n0 done"])
    data = json.loads(render_graph(dag, "json", rules=True))
    assert data == {"nodes": [{"id": 0, "label": "a", "rule": "a"},
                              {"id": 1, "label": "b", "rule": "b"},
                              {"id": 2, "label": "c", "rule": "c"},
                              {"id": 3, "label": "agg", "rule": "agg"}],
                    "edges": [[0, 1], [1, 2], [2, 3]]}
    with pytest.raises(ValueError):
        render_graph(dag, "png")

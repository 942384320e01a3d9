"""What a report shows, as plain data: `gather.py` fills it from the workflow and the store,
the drawing and page modules only read it (and tests can build one by hand)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["RunFacts", "JobRun", "GraphNode", "Graph", "OutputRow", "Marked", "ReportFacts"]


@dataclass
class RunFacts:
    """The last recorded `rulekit run`; `end`/`outcome` are None when it never finished
    (killed, or still running)."""

    run_id: str
    argv: list[str]
    start: float
    end: float | None
    outcome: str | None
    host: str


@dataclass
class JobRun:
    """One job of the last run: when it ran, on which lane of the timeline (a core slot:
    gather.py packs them from the times), and how it ended: done, failed, cancelled
    (stopped by an interruption) or running (the run never recorded its end: killed)."""

    name: str
    rule: str
    lane: int
    start: float
    end: float
    status: str
    attempts: int = 1
    error: str | None = None


@dataclass
class GraphNode:
    id: str
    label: str
    rule: str
    status: str      # ok | to run | failed | incomplete | missing input
    count: int = 1   # jobs a collapsed node stands for


@dataclass
class Graph:
    nodes: list[GraphNode]
    edges: list[tuple[str, str]]
    collapsed: bool = False   # job graph: rules with many jobs drawn as one node each
    total_jobs: int = 0


@dataclass
class OutputRow:
    path: str
    status: str
    rule: str | None
    job: str | None
    wildcards: dict[str, str]
    size: int | None
    made: float | None   # when its job ended (the record's end)
    reasons: list[str]
    key: int | None      # its job's provenance row; None without a record


@dataclass
class Marked:
    """An output marked with report(...): its embedded content, ready as HTML."""

    path: str
    category: str
    subcategory: str | None
    caption_html: str
    kind: str        # image | table | text | missing | binary
    html: str
    rule: str
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class ReportFacts:
    workflow_file: str
    workdir: str
    generated: float
    run: RunFacts | None
    rulekit_version: str
    python_version: str
    host: str
    job_counts: dict[str, int]          # last run: status -> jobs
    output_counts: dict[str, int]       # now: summary status -> outputs
    rules: list[str]                    # in rule-file order
    rule_graph: Graph
    job_graph: Graph
    timeline: list[JobRun]
    durations: dict[str, list[float]]   # rule -> seconds of each recorded job
    outputs: list[OutputRow]
    provenance: dict[str, Any]          # provenance.ProvenanceTable.as_json()
    marked: list[Marked]
    description_html: str = ""
    warnings: list[str] = field(default_factory=list)

"""The DAG of jobs a plan is made from: jobs in topological order, `job.id` as index.

`Dag` is what `build_dag` (resolve.py) returns: `jobs` (inputs first), the `targets`, the
`producer` of every output path, the `sources` (existing files no job makes), the jobs
`waiting` for a checkpoint; and the queries the planner and the exports need (consumers,
upstream/downstream of rules, rule edges, `to_networkx()`). `no_gc` (gcpause.py) pauses the
cyclic garbage collector while 10^5 jobs are built.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..core.model import Job, Rule, Workflow
from .gcpause import KEEP_FROZEN, no_gc  # noqa: F401 - where the planner finds them
from .resolve_errors import (
    Unresolvable,
)

__all__ = ["Dag", "no_gc"]


# --------------------------------------------------------------------------- the DAG

class Dag:
    """The jobs needed for some targets, in topological order (`job.id` is the index)."""

    def __init__(self, workflow: Workflow, jobs: list[Job], targets: list[Job],
                 target_files: list[str], waiting: dict[int, str],
                 producer: dict[str, Job], sources: Iterable[str] = ()) -> None:
        self.workflow = workflow
        self.jobs = jobs
        self.targets = targets
        self.target_files = target_files
        self.waiting = waiting          # job id -> checkpoint rule it waits for
        self.producer = producer        # output path -> job
        self.sources = sources          # existing files no job makes, as they were asked for
        # sources a rule's output pattern matches but whose rule cannot run (an input is
        # missing): path -> (that rule, why); see resolve_errors.hidden_error
        self.hidden: dict[str, tuple[Rule, Unresolvable]] = {}
        self._consumers: list[list[Job]] | None = None

    def __iter__(self) -> Any:
        return iter(self.jobs)

    def __len__(self) -> int:
        return len(self.jobs)

    def consumers(self) -> list[list[Job]]:
        """consumers()[job.id]: the jobs that take one of this job's outputs as input."""
        if self._consumers is None:
            cons: list[list[Job]] = [[] for _ in self.jobs]
            for job in self.jobs:
                for dep in job.deps:
                    cons[dep.id].append(job)
            self._consumers = cons
        return self._consumers

    def upstream_of(self, rules: Iterable[str]) -> list[bool]:
        """Per job id: is it a job of one of `rules` (rule names or output paths) or needed
        by one (for --until)."""
        names = set(rules)
        keep = [False] * len(self.jobs)
        for job in reversed(self.jobs):
            if job.rule.name in names or (names & set(job.output)):
                keep[job.id] = True
            if keep[job.id]:
                for dep in job.deps:
                    keep[dep.id] = True
        return keep

    def downstream_of(self, rules: Iterable[str]) -> list[bool]:
        """Per job id: is it a job of one of `rules` (rule names or output paths) or does it
        need one (for --omit-from)."""
        names = set(rules)
        hit = [False] * len(self.jobs)
        for job in self.jobs:   # topological: dependencies come first
            hit[job.id] = (job.rule.name in names or bool(names & set(job.output))
                           or any(hit[d.id] for d in job.deps))
        return hit

    def unmatched(self, items: Iterable[str]) -> list[str]:
        """The items that name neither a rule of the workflow nor an output of a job."""
        rules = self.workflow.rules
        return [i for i in items if i not in rules and i not in self.producer]

    def to_networkx(self, *, rules: bool = False) -> Any:
        """The job graph (or with rules=True the rule graph) as a networkx DiGraph; see
        planning/graphs.py for the node attributes."""
        from .graphs import job_graph, rule_graph

        return rule_graph(self) if rules else job_graph(self)

    def rule_edges(self) -> list[tuple[str, str]]:
        """(upstream rule, downstream rule) pairs, deterministic, without duplicates."""
        seen: dict[tuple[str, str], None] = {}
        for job in self.jobs:
            for dep in job.deps:
                seen.setdefault((dep.rule.name, job.rule.name))
        return list(seen)

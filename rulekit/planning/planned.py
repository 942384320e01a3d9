"""A plan: the jobs that must run, in topological order, each with its reasons.

`Plan` is what `make_plan` (plan.py) returns and what the API, the CLI and the executor
consume: iterate it for `PlannedJob`s, ask `runs(job)`/`reasons_for(job)` about any job of
its DAG, and export it (`to_json`, `to_frame` for pandas, `to_networkx`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..core.model import Job
from .dag import Dag, no_gc
from .reasons import (
    Reason,
)

__all__ = ["PlannedJob", "Plan", "planned_job"]


@dataclass(frozen=True, slots=True)
class PlannedJob:
    job: Job
    reasons: tuple[Reason, ...]

    def to_json(self) -> dict[str, Any]:
        job = self.job
        return {"rule": job.rule.name, "wildcards": dict(job.wildcards),
                "inputs": [str(p) for p in job.input], "outputs": [str(p) for p in job.output],
                "reasons": [r.to_json() for r in self.reasons]}


_new = object.__new__
_set_job = PlannedJob.__dict__["job"].__set__
_set_reasons = PlannedJob.__dict__["reasons"].__set__


def planned_job(job: Job, reasons: tuple[Reason, ...]) -> PlannedJob:
    """PlannedJob(job, reasons) without the frozen dataclass's __init__ (one
    object.__setattr__ call per field), equal in every way: a plan makes one per job."""
    planned = _new(PlannedJob)
    _set_job(planned, job)
    _set_reasons(planned, reasons)
    return planned


class Plan:
    """The jobs that must run, in a deterministic topological order, with their reasons."""

    def __init__(self, dag: Dag, jobs: list[PlannedJob], warnings: list[str]) -> None:
        self.dag = dag
        self.jobs = jobs
        self.warnings = warnings
        self._by_ids: dict[int, PlannedJob] | None = None

    @property
    def _by_id(self) -> dict[int, PlannedJob]:
        """job id -> PlannedJob, made when first asked (the CLI's plan never asks)."""
        if self._by_ids is None:
            self._by_ids = {p.job.id: p for p in self.jobs}
        return self._by_ids

    def __iter__(self) -> Iterator[PlannedJob]:
        return iter(self.jobs)

    def __len__(self) -> int:
        return len(self.jobs)

    def __bool__(self) -> bool:
        return bool(self.jobs)

    @property
    def is_empty(self) -> bool:
        return not self.jobs

    def runs(self, job: Job) -> bool:
        return job.id in self._by_id

    def reasons_for(self, job: Job) -> tuple[Reason, ...]:
        planned = self._by_id.get(job.id)
        return planned.reasons if planned else ()

    def counts(self) -> dict[str, int]:
        """Jobs to run per rule, rules in the order of the rule file."""
        counts: dict[str, int] = {}
        for p in self.jobs:
            counts[p.job.rule.name] = counts.get(p.job.rule.name, 0) + 1
        order = {name: i for i, name in enumerate(self.dag.workflow.rules)}
        return dict(sorted(counts.items(), key=lambda kv: order.get(kv[0], 1 << 30)))

    def to_json(self) -> dict[str, Any]:
        with no_gc():
            return {"jobs": [p.to_json() for p in self.jobs], "counts": self.counts()}

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per job: rule, wildcards, inputs, outputs, reasons."""
        import pandas as pd

        rows = [{"rule": p.job.rule.name, "wildcards": dict(p.job.wildcards),
                 "inputs": [str(x) for x in p.job.input],
                 "outputs": [str(x) for x in p.job.output],
                 "reasons": [r.describe() for r in p.reasons],
                 "reason_kinds": [r.kind for r in p.reasons]} for p in self.jobs]
        return pd.DataFrame(rows, columns=["rule", "wildcards", "inputs", "outputs", "reasons",
                                           "reason_kinds"])

    def to_networkx(self, *, rules: bool = False) -> Any:
        """The whole job graph (or the rule graph) as a networkx DiGraph, each node marked
        with `runs` and, for jobs, the `reasons` it runs for; see planning/graphs.py."""
        from .graphs import job_graph, rule_graph

        return rule_graph(self.dag, self) if rules else job_graph(self.dag, self)

    def __repr__(self) -> str:
        return f"<Plan {len(self.jobs)} of {len(self.dag.jobs)} jobs>"

"""The scheduler's job graph: one JobState per job, the dependency counters, the demand
class of each job and the longest-path priority (a mixin of the Scheduler in local.py).

Jobs added later (a re-plan after a checkpoint) join the same graph: a job equal to a known
one (same rule and wildcards) is that one, and its counters are not counted twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core.model import Job, has_flag
from .base import JobResult
from .limits import demand, over_limit

__all__ = ["JobGraph", "JobState", "job_key"]


def job_key(job: Job) -> tuple[str, tuple[tuple[str, str], ...]]:
    return job.rule.name, tuple(sorted(job.wildcards.items()))


class JobState:
    """Scheduler state of one job."""

    __slots__ = ("job", "remaining", "children", "lp", "status", "attempts", "result",
                 "cls", "temp_inputs", "deadline", "error")

    def __init__(self, job: Job) -> None:
        self.job = job
        self.remaining = 0
        self.children: list[JobState] = []
        self.lp = 1
        self.status = "pending"      # pending|ready|running|checking|done|failed|cancelled
        self.attempts = 0
        self.result = JobResult(job, "not started")
        self.error: str | None = None   # known before the job starts: it fails at once
        self.cls: tuple[Any, ...] = ()
        self.temp_inputs: list[str] = []
        self.deadline = 0.0


class JobGraph:
    """Building the graph; mixed into the Scheduler, which owns the fields below."""

    cores: int
    limits: dict[str, float]
    states: dict[Job, JobState]
    by_id: dict[int, JobState]
    by_key: dict[Any, JobState]
    next_id: int
    checkpoints: list[JobState]
    order: list[JobState]
    temp_users: dict[str, int]
    _push: Callable[[JobState], None]

    def _add_jobs(self, jobs: list[Job]) -> None:
        """Add jobs; a job equal (same rule and wildcards) to a known one is that one, so a
        re-plan after a checkpoint may hand back fresh Job objects."""
        new = []
        by_key = self.by_key
        for job in jobs:
            if job in self.states:
                continue
            key = job_key(job)
            known = by_key.get(key)
            if known is not None:
                self.states[job] = known
                continue
            js = JobState(job)
            if self.limits:   # (jobs of a checkpoint re-plan: none at the start)
                js.error = over_limit(job, self.limits)
            if job.id < 0 or job.id in self.by_id:
                while self.next_id in self.by_id:
                    self.next_id += 1
                job.id = self.next_id
            self.states[job] = js
            by_key[key] = js
            self.by_id[job.id] = js
            new.append(js)
            if job.rule.checkpoint:
                self.checkpoints.append(js)
            self.order.append(js)
        states = self.states
        for js in new:
            job = js.job
            js.cls = self._cls(job, js.error)
            inputs = None
            for dep in job.deps:
                ds = states.get(dep)
                if ds is None:
                    ds = by_key.get(job_key(dep))
                if ds is not None and ds.status not in ("done",):
                    js.remaining += 1
                    ds.children.append(js)
                if any(has_flag(o, "temp") for o in dep.output):
                    inputs = inputs if inputs is not None else set(map(str, job.input))
                    for o in dep.output:
                        if has_flag(o, "temp") and str(o) in inputs:
                            js.temp_inputs.append(str(o))
                            self.temp_users[str(o)] = self.temp_users.get(str(o), 0) + 1
        self._longest_paths()
        for js in new:
            if js.remaining == 0 and js.status == "pending":
                self._push(js)

    def _cls(self, job: Job, error: str | None = None) -> tuple[Any, ...]:
        """(cores, resource demands, needs a worker): jobs of one class are interchangeable
        for the scheduler. Text and not-yet-known demands count as 0 (checked elsewhere);
        a job known to fail (`error`) needs nothing: it fails as soon as it is picked."""
        if error is not None:
            return (1, tuple((k, 0.0) for k in self.limits), False)
        t = job.threads if isinstance(job.threads, int) else 1
        demands = tuple((k, demand(job, k)) for k in self.limits)
        kind = job.rule.body.kind if job.rule.body else "none"
        return (min(max(t, 1), self.cores), demands, kind == "run")

    def _longest_paths(self) -> None:
        """lp = jobs on the longest path from a job to the end, via a Kahn order."""
        indeg = {js: js.remaining for js in self.order if js.status == "pending"}
        stack = [js for js, n in indeg.items() if n == 0]
        topo = []
        while stack:
            js = stack.pop()
            topo.append(js)
            for c in js.children:
                if c in indeg:
                    indeg[c] -= 1
                    if indeg[c] == 0:
                        stack.append(c)
        for js in reversed(topo):
            js.lp = 1 + max((c.lp for c in js.children), default=0)

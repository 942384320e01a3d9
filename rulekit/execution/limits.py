"""--resources bounds: a job's demand, and jobs that could never start.

A job whose demand for a bounded resource exceeds the bound would wait forever, so it is an
error: for demands known when the run starts, a located error (exit 2) before anything runs;
for demands known only just before the job runs (a resources function evaluated then, or a
retry's bigger `attempt`), that job fails with the same message.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..core.errors import WorkflowError
from ..core.jobvalues import TBD
from ..core.model import Job

__all__ = ["demand", "over_limit", "check_limits"]


def demand(job: Job, key: str) -> float:
    """The job's numeric demand for `key`; 0 when absent, not known yet, or text."""
    value = job.resources.get(key, 0)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return 0.0


def _fmt(value: float) -> str:
    return f"{value:g}"


def over_limit(job: Job, limits: dict[str, Any]) -> str | None:
    """Why `job` can never start under `limits`, or None."""
    for key, bound in limits.items():
        value = job.resources.get(key)
        if value is None or value is TBD:
            continue
        if isinstance(value, str):
            return (f"job {job.name} has resource {key}={value!r}, which is not a number, "
                    f"so --resources {key}={_fmt(bound)} cannot bound it")
        if demand(job, key) > bound:
            return (f"job {job.name} needs {key}={_fmt(demand(job, key))}, more than "
                    f"--resources {key}={_fmt(bound)} allows, so it could never start")
    return None


def check_limits(jobs: Iterable[Job], limits: dict[str, Any]) -> None:
    """Raise a located WorkflowError (exit 2) for the first job that could never start."""
    if not limits:
        return
    bad = [(job, text) for job in jobs if (text := over_limit(job, limits)) is not None]
    if not bad:
        return
    job, text = bad[0]
    facts = [("resources", ", ".join(f"{k}={v}" for k, v in job.resources.items()))]
    if len(bad) > 1:
        facts.append(("also", f"{len(bad) - 1} more job{'s' if len(bad) > 2 else ''}: "
                              + ", ".join(j.name for j, _ in bad[1:6])
                              + (" ..." if len(bad) > 6 else "")))
    rule = job.rule
    raise WorkflowError(text, rule.spans.get("resources", rule.span), facts=facts,
                        hint="raise the --resources bound or lower the rule's resources")

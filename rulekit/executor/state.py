"""Glue between the scheduler and the state layer: a RunObserver writing the metadata store,
and `run_workflow`, the one call the CLI and `Workflow.run` make (plan, execute, record).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

from ..model import Job, Workflow
from .base import ExecOptions, JobResult, RunResult

__all__ = ["StoreObserver", "run_workflow"]


class StoreObserver:
    """Marks outputs incomplete before a job starts (committed first, so a crash leaves them
    suspect) and writes one record per output after the job's outputs were verified."""

    def __init__(self, store: Any, run_id: str | None = None) -> None:
        self.store = store
        self.run_id = run_id

    def jobs_started(self, jobs: Sequence[Job]) -> None:
        self.store.mark_incomplete([str(p) for j in jobs for p in j.output], self.run_id)

    def jobs_finished(self, results: Sequence[JobResult]) -> None:
        from ..plan import job_params
        from ..store import InputRecord, OutputRecord, canonical_params

        records, clear = [], []
        for r in results:
            job = r.job
            outputs = [str(p) for p in job.output]
            if r.status != "done":
                # Removed outputs need no marker; kept ones (--keep-incomplete) keep theirs.
                clear.extend(p for p in outputs if not os.path.lexists(p))
                continue
            inputs = []
            for p in job.input:
                try:
                    st = os.stat(p)
                except OSError:
                    continue
                inputs.append(InputRecord(str(p), st.st_mtime_ns, st.st_size))
            params = canonical_params(job_params(job))
            for path in outputs:
                records.append(OutputRecord(
                    path, job.rule.name, dict(job.wildcards), params, job.rule.code_hash,
                    inputs, r.start, r.end, logs=[str(p) for p in job.log], run_id=self.run_id))
            clear.extend(outputs)
        if records:
            self.store.put_many(records)
        if clear:
            self.store.clear_incomplete(clear)


def run_workflow(workflow: Workflow, targets: Sequence[str] | str = (), *,
                 store: Any = None, run_id: str | None = None,
                 plan_options: dict[str, Any] | None = None,
                 options: ExecOptions | None = None, plan: Iterable[Any] | None = None,
                 **exec_options: Any) -> RunResult:
    """Plan `targets` (unless `plan` is given), run the plan, record outcomes in `store`.

    Checkpoints re-plan with the same arguments. Raises Interrupted on SIGINT/SIGTERM;
    failures come back in the result (call `raise_for_status()`).
    """
    from ..plan import make_plan

    plan_kw = dict(plan_options or {})
    opts = options or ExecOptions(**exec_options)
    if store is not None:
        opts.observer = opts.observer or StoreObserver(store, run_id)
    if opts.replan is None:
        def replan(job: Job) -> Iterable[Any]:
            return make_plan(workflow, targets, store=store, **plan_kw)

        opts.replan = replan
    if plan is None:
        plan = make_plan(workflow, targets, store=store, **plan_kw)
    from .local import execute

    return execute(workflow, plan, opts)

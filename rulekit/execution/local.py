"""The scheduler: runs a plan's jobs on a JobRunner within cores and resources.

Per job the bookkeeping is constant: a counter of unfinished dependencies (no scans on
completion), ready jobs in one heap per demand class (threads, resource demands) ordered by
priority then longest remaining path, so picking the next job costs O(classes + log n).
Tiny `run:` jobs are sent to a worker in batches sized by the rule's measured duration.

    execute(workflow, plan_or_jobs, options) -> RunResult   (raises Interrupted on a signal)
"""

from __future__ import annotations

import heapq
import os
import time
from collections.abc import Iterable
from typing import Any

from ..core.errors import Interrupted, LoadError, RulekitError
from ..core.jobvalues import evaluate_for_run, has_functions
from ..core.model import Job, Workflow
from ..core.shellfmt import ShellFormatError
from ..planning.jobs import priority_of
from .base import (
    RECORD_AFTER_S,
    ExecOptions,
    JobResult,
    Outcome,
    RunReporter,
    RunResult,
    Task,
    default_cores,
    interrupted_text,
)
from .jobfiles import FileOps, failure_text, format_job, make_task
from .jobgraph import JobGraph, JobState
from .limits import check_limits, over_limit
from .stopping import Stopping, install_signals
from .tempfiles import TempFiles

__all__ = ["execute", "Scheduler"]

_BATCH_TARGET_S = 0.02   # a batch of tiny run: jobs should take about this long


def execute(workflow: Workflow, jobs: Iterable[Any], options: ExecOptions | None = None) -> RunResult:
    """Run `jobs` (a Plan, PlannedJobs or Jobs, in any order; deps outside it count as done)."""
    return Scheduler(workflow, options or ExecOptions()).run(jobs)


def _as_jobs(items: Iterable[Any]) -> list[Job]:
    return [getattr(x, "job", x) for x in items]


class _Batch:
    __slots__ = ("cls", "left")

    def __init__(self, cls: tuple[Any, ...], left: int) -> None:
        self.cls = cls
        self.left = left


class Scheduler(JobGraph, Stopping, TempFiles):
    def __init__(self, workflow: Workflow, options: ExecOptions) -> None:
        self.wf = workflow
        self.opts = options
        self.cores = max(1, options.cores or default_cores())
        self.limits = dict(options.resources)
        self.used_cores = 0
        self.used: dict[str, float] = dict.fromkeys(self.limits, 0.0)
        self.states: dict[Job, JobState] = {}
        self.by_id: dict[int, JobState] = {}
        self.by_key: dict[Any, JobState] = {}
        self.running: dict[int, _Batch] = {}   # jobid -> the batch it was sent in
        self.ready: dict[tuple[Any, ...], list[Any]] = {}
        self.seq = 0
        self.next_id = 0
        self.temp_users: dict[str, int] = {}
        self.temps_due: list[str] = []
        self.checkpoints: list[JobState] = []
        self.checking: list[JobState] = []
        self.stopping = False
        self.signalled = 0
        self.durations: dict[str, tuple[float, int]] = {}
        self.files = FileOps()
        self.reporter = options.reporter or RunReporter()
        self.runner = options.runner
        self.order: list[JobState] = []
        self.functions: dict[str, bool] = {}   # rule -> has params/resources functions
        self.fatal: RulekitError | None = None
        self.finished: list[JobResult] = []   # done or failed since the observer last heard

    def _push(self, js: JobState) -> None:
        job = js.job
        if self.functions.setdefault(job.rule.name, has_functions(job)):
            # params and resources functions run again now that the inputs exist
            try:
                evaluate_for_run(job, js.attempts + 1)
                js.error = over_limit(job, self.limits)
            except LoadError as exc:
                js.error = exc.show()
            js.cls = self._cls(job, js.error)
        if self._cut_off(js):
            return
        js.status = "ready"
        self.seq += 1
        heapq.heappush(self.ready.setdefault(js.cls, []),
                       (-(job.rule.priority if type(job.rule.priority) is int
                          else priority_of(job)), -js.lp, self.seq, js))

    # -- the loop --------------------------------------------------------------------------

    def run(self, jobs: Iterable[Any]) -> RunResult:
        start = time.time()
        joblist = _as_jobs(jobs)
        if self.runner is None:
            from .pool import LocalRunner

            self.runner = LocalRunner(self.wf, self.cores, self.opts.start_method)
        check_limits(joblist, self.limits)   # before anything runs
        old_cwd = os.getcwd()
        if old_cwd != self.wf.workdir:
            os.chdir(self.wf.workdir)
        self._add_jobs(joblist)
        prestart = getattr(self.runner, "prestart", None)
        if prestart is not None:
            prestart(sum(1 for js in self.order if js.cls[2]))
        rfd, wfd = os.pipe()
        os.set_blocking(wfd, False)
        restore = install_signals(self, wfd) if self.opts.handle_signals else (lambda: None)
        self.reporter.run_started(len(self.states))
        try:
            self._call_handlers(self.wf.onstart)
            self._loop(rfd)
            self._remove_temps(final=True)
        finally:
            if self.signalled:
                self._interrupt()
            self.runner.close()
            restore()
            if old_cwd != self.wf.workdir:
                os.chdir(old_cwd)
            os.close(rfd)
            os.close(wfd)
            result = RunResult([js.result for js in self.order], start, time.time(),
                               interrupted=bool(self.signalled))
            for js in self.order:
                js.result.status = js.status if js.status in (
                    "done", "failed", "cancelled") else "not started"
            self.reporter.run_finished(result)
        self._call_handlers(self.wf.onsuccess if result.ok else self.wf.onerror)
        if result.interrupted:
            err = Interrupted(interrupted_text(self.opts.keep_incomplete))
            err.result = result  # type: ignore[attr-defined]
            raise err
        if self.fatal is not None:
            raise self.fatal
        return result

    def _loop(self, rfd: int) -> None:
        while True:
            if not self.stopping and not self.signalled:
                self._dispatch()
            self._flush()
            self._remove_temps()
            if not self.running and not self.checking:
                return
            timeout = None
            if self.checking:
                timeout = max(0.0, min(js.deadline for js in self.checking) - time.time())
                timeout = min(timeout, 0.1)
            if getattr(self.runner, "started", None):
                # started processes are recorded at the next step: make it come soon
                timeout = RECORD_AFTER_S if timeout is None else min(timeout, RECORD_AFTER_S)
            self.reporter.flush()
            outcomes = self.runner.wait(timeout, rfd)
            finished = self.finished
            for outcome in outcomes:   # work that finished is kept, signal or not
                self._finish(outcome, finished)
            if self.checking:
                self._recheck(finished)
            if self.signalled:
                self._flush()
                self._remove_temps()
                return

    def _flush(self, starting: list[Job] | None = None) -> None:
        """Tell the observer, in one call (one store transaction), about the jobs finished
        since the last step, the processes of jobs started before that still run, and the
        jobs about to start (`starting`, before they start)."""
        observer = self.opts.observer
        finished, self.finished = self.finished, []
        if observer is None:
            return
        running: list[tuple[Job, int, int, int | None]] = []
        take = getattr(self.runner, "take_started", None)
        if take is not None and hasattr(observer, "jobs_running"):
            running = [(self.by_id[jobid].job, pid, pgid, t) for jobid, pid, pgid, t in take()]
        if not (finished or running or starting):
            return
        step = getattr(observer, "jobs_step", None)
        if step is not None:
            step(finished, starting or (), running)
            return
        if finished:
            observer.jobs_finished(finished)
        if running:
            observer.jobs_running(running)  # type: ignore[attr-defined]
        if starting:
            observer.jobs_started(starting)

    def _fits(self, cls: tuple[Any, ...]) -> bool:
        if cls[0] > self.cores - self.used_cores:
            return False
        return all(not v or self.used[k] + v <= self.limits[k] for k, v in cls[1])

    def _dispatch(self) -> None:
        started: list[JobState] = []
        batches: list[list[Task]] = []
        while self.used_cores < self.cores:
            best = None
            for cls, heap in self.ready.items():
                if heap and self._fits(cls) and (best is None or heap[0] < self.ready[best][0]):
                    if cls[2] and self.runner.free_slots("run") <= 0:
                        continue
                    best = cls
            if best is None:
                break
            heap = self.ready[best]
            size = self._batch_size(heap, best) if best[2] else 1
            batch: list[Task] = []
            while heap and len(batch) < size:
                js = heapq.heappop(heap)[3]
                if js.status != "ready":
                    continue
                task = self._prepare(js)
                if task is not None:
                    batch.append(task)
                    started.append(js)
            if not batch:
                continue
            self.used_cores += best[0]
            for k, v in best[1]:
                self.used[k] += v
            entry = _Batch(best, len(batch))
            for t in batch:
                self.running[t.jobid] = entry
            batches.append(batch)
        if not started:
            return
        self._flush([js.job for js in started])
        # temp() files the finished jobs were the last to read go now: recorded above,
        # and gone before the jobs after them start (as when nothing is started)
        self._remove_temps()
        for batch in batches:
            self.runner.submit(batch)

    def _batch_size(self, heap: list[Any], cls: tuple[Any, ...]) -> int:
        if cls[0] > 1:
            return 1
        rule = heap[0][3].job.rule.name
        total, n = self.durations.get(rule, (0.0, 0))
        if n == 0:
            return 1
        per_job = max(total / n, 1e-5)
        workers = max(1, min(self.runner.free_slots("run"), self.cores - self.used_cores))
        share = -(-len(heap) // workers)
        size: int = max(1, min(self.opts.max_batch, int(_BATCH_TARGET_S / per_job), share))
        return size

    def _prepare(self, js: JobState) -> Task | None:
        job, rule = js.job, js.job.rule
        js.attempts += 1
        js.status = "running"
        js.result.start = time.time()
        error = js.error or self.files.prepare(job)
        kind = rule.body.kind if rule.body else "none"
        command = message = None
        if error is None:
            try:
                command, message = format_job(self.wf, job, _threads(job, js))
            except ShellFormatError as exc:
                error = str(exc)
        self.reporter.job_started(job, command, message)
        if error is not None:
            self._fail(js, error, retry=False)
            return None
        if kind == "none":   # a rule without a body only gathers its inputs
            js.result.end = time.time()
            js.status = "checking"
            js.deadline = time.time() + self.opts.latency_wait
            self.checking.append(js)
            return None
        return make_task(self.wf, job, _threads(job, js), command, js.attempts)

    # -- finishing -------------------------------------------------------------------------

    def _release(self, jobid: int) -> None:
        """A job is back: free its batch's cores when the batch's last job is back."""
        batch = self.running.pop(jobid, None)
        if batch is not None:
            batch.left -= 1
            if batch.left == 0:
                self.used_cores -= batch.cls[0]
                for k, v in batch.cls[1]:
                    self.used[k] -= v

    def _finish(self, outcome: Outcome, finished: list[JobResult]) -> None:
        js = self.by_id[outcome.jobid]
        self._release(outcome.jobid)
        if js.status != "running":
            return
        res = js.result
        res.start, res.end, res.attempts = outcome.start, outcome.end, js.attempts
        res.host = outcome.host
        rule = js.job.rule.name
        total, n = self.durations.get(rule, (0.0, 0))
        self.durations[rule] = (total + outcome.end - outcome.start, n + 1)
        if outcome.output and outcome.ok:
            self.reporter.job_output(js.job, outcome.output)
        if not outcome.ok:
            self._fail(js, failure_text(js.job, outcome, self._failed_command(js, outcome)),
                       finished=finished)
            return
        js.status = "checking"
        js.deadline = time.time() + self.opts.latency_wait
        self._check(js, finished, final=self.opts.latency_wait <= 0)

    def _check(self, js: JobState, finished: list[JobResult], final: bool) -> bool:
        missing = self.files.missing_outputs(js.job)
        if missing and not final:
            if js not in self.checking:
                self.checking.append(js)
            return False
        if js in self.checking:
            self.checking.remove(js)
        if missing:
            waited = f" (waited {self.opts.latency_wait:g}s)" if self.opts.latency_wait else ""
            text = (f"job finished but did not create {len(missing)} of its outputs{waited}: "
                    + ", ".join(missing)
                    + "\n  hint: check the paths the body writes; --latency-wait helps on "
                      "shared filesystems")
            self._fail(js, text, retry=True, finished=finished)
            return True
        not_dirs = self.files.not_directories(js.job)
        if not_dirs:
            self._fail(js, "job finished but these directory() outputs are not folders: "
                       + ", ".join(not_dirs), retry=True, finished=finished)
            return True
        self.files.protect(js.job)
        js.status = "done"
        js.result.status = "done"
        if not js.result.end:
            js.result.end = time.time()
        finished.append(js.result)
        self.reporter.job_finished(js.result)
        self._release_children(js)
        self._temps_read(js)
        if js.job.rule.checkpoint and self.opts.replan is not None and not self.signalled \
                and self.fatal is None:
            try:
                self.reporter.flush()   # before anything the rule file prints again
                self._add_jobs(_as_jobs(self.opts.replan(js.job)))
            except RulekitError as exc:   # e.g. a new job's files are locked by another run
                self.fatal = exc
                self.stopping = True
                return True
            self.reporter.set_total(len(self.states))
        return True

    def _failed_command(self, js: JobState, outcome: Outcome) -> str | None:
        """The shell command of a failed shell job (formatted again: only failures pay)."""
        body = js.job.rule.body
        if body is None or body.kind != "shell" or outcome.returncode is None:
            return None
        try:
            return format_job(self.wf, js.job, _threads(js.job, js))[0]
        except Exception:   # it was formatted once already; never hide the failure
            return None

    def _release_children(self, js: JobState) -> None:
        for child in js.children:
            child.remaining -= 1
            if child.remaining == 0 and child.status == "pending":
                self._push(child)

    def _cut_off(self, js: JobState) -> bool:
        """Early cutoff: ask, once, whether a job that just became ready may be skipped
        because its rebuilt inputs are identical to those it was last made from."""
        if self.opts.skip_ready is None or js.attempts or not self.opts.skip_ready(js.job):
            return False
        js.status = js.result.status = "done"
        js.result.skipped = True
        js.result.start = js.result.end = time.time()
        self.reporter.job_cut_off(js.job)
        self._release_children(js)
        self._temps_read(js)
        return True

    def _recheck(self, finished: list[JobResult]) -> None:
        now = time.time()
        for js in list(self.checking):
            self._check(js, finished, final=now >= js.deadline)

    def _call_handlers(self, handlers: list[Any]) -> None:
        if handlers:
            self.reporter.flush()   # the run's lines so far come before what handlers print
        for handler in handlers:
            try:
                handler()
            except Exception as exc:  # a handler must not hide the run's result
                self.reporter.warn(f"handler {getattr(handler, '__name__', handler)} failed: {exc}")


def _threads(job: Job, js: Any) -> int:
    """What the job sees as {threads}: its core count, but 0 for `threads: 0` (Snakemake's
    value), although such a job is scheduled on one core."""
    return 0 if job.threads == 0 else js.cls[0]

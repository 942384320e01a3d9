"""How a scheduler gives up on jobs: a failure (retry, or remove outputs and maybe stop the
run) and an interruption (stop everything running, keep what finished), and the
SIGINT/SIGTERM handler that starts an interruption (`install_signals`).

Removing a failed or stopped job's outputs never raises: an output that cannot be removed
(a read-only folder, ...) is reported and stays marked incomplete, and the run goes on along
its normal failure path.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from ..core.model import Job
from .base import ExecOptions, JobResult, Outcome
from .jobfiles import FileOps

__all__ = ["Stopping", "install_signals"]


class Stopping:
    """Mixin of the Scheduler (local.py): failing and interrupting jobs."""

    opts: ExecOptions
    files: FileOps
    reporter: Any
    runner: Any
    signalled: int
    stopping: bool
    order: list[Any]
    by_id: dict[int, Any]
    running: dict[int, Any]
    checking: list[Any]

    def _push(self, js: Any) -> None:
        raise NotImplementedError

    def _finish(self, outcome: Outcome, finished: list[JobResult]) -> None:
        raise NotImplementedError

    def _check(self, js: Any, finished: list[JobResult], final: bool) -> bool:
        raise NotImplementedError

    def _fail(self, js: Any, error: str, retry: bool = True,
              finished: list[JobResult] | None = None) -> None:
        job = js.job
        if retry and js.attempts <= job.rule.retries and not self.signalled:
            self.reporter.job_retrying(job, js.attempts, error)
            js.status = "pending"
            self._push(js)
            return
        if not self.opts.keep_incomplete:
            error += self._remove_outputs(job)
        js.status = "failed"
        res = js.result
        res.status, res.error, res.attempts = "failed", error, js.attempts
        if not res.end:
            res.end = time.time()
        self.reporter.job_finished(res)
        if finished is not None:
            finished.append(res)
        elif self.opts.observer is not None:
            self.opts.observer.jobs_finished([res])
        if not self.opts.keep_going:
            self.stopping = True

    def _remove_outputs(self, job: Job) -> str:
        """Remove a failed or stopped job's outputs; the text says what could not go."""
        failures = self.files.remove_outputs_reporting(job)
        if not failures:
            return ""
        text = "".join(f"\n  could not remove output {p}: {why}" for p, why in failures)
        self.reporter.warn(f"{job.name}: {len(failures)} output(s) could not be removed and "
                           "stay marked incomplete:" + text)
        return text

    def _interrupt(self) -> None:
        """Stop running jobs. Jobs that finished before they were stopped are kept;
        stopped ones are cancelled and their outputs removed (kept with --keep-incomplete,
        still marked incomplete)."""
        self.reporter.interrupted()
        finished: list[JobResult] = []
        for outcome in self.runner.terminate(self.opts.grace_period):
            if outcome.error != "terminated" and outcome.jobid in self.by_id:
                self._finish(outcome, finished)
        for js in list(self.checking):
            self._check(js, finished, final=True)
        cancelled: list[JobResult] = []
        for js in self.order:
            if js.status in ("running", "checking"):
                js.status = "cancelled"
                js.result.status = "cancelled"
                js.result.end = time.time()
                if not self.opts.keep_incomplete:
                    self._remove_outputs(js.job)
                cancelled.append(js.result)
        self.running.clear()
        self.checking.clear()
        if self.opts.observer is not None and (finished or cancelled):
            self.opts.observer.jobs_finished(finished + cancelled)


def install_signals(target: Any, wfd: int) -> Callable[[], None]:
    """On SIGINT/SIGTERM set `target.signalled` and wake the scheduler through `wfd`.
    Returns the function restoring the previous handlers. Main thread only."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, frame: Any) -> None:
        target.signalled = signum
        try:
            os.write(wfd, b"x")
        except OSError:
            pass

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for s, h in old.items():
            signal.signal(s, h)

    return restore

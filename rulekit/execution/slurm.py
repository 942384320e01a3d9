"""The SLURM executor: Dask workers started as SLURM jobs by dask-jobqueue, rulekit's
scheduler in the driver.

    make_slurm_execute(SlurmSettings(spec, partition, account))(workflow, jobs, options)

It is the Dask executor (dask.py) on a `dask_jobqueue.SLURMCluster` that scales adaptively
between 0 and --max-workers worker jobs, all of one size (clusterfit.WorkerSpec). Before
anything runs: every job must fit a worker (else a located error, exit 2) and SLURM must
accept the worker job (`sbatch --test-only`, else a usage error naming what SLURM said).
Each job's threads, mem_mb and gpu become Dask task resources, matched against the worker
resources, so a worker never runs more than it has. The run's worker jobs share one job
name; when the run ends, however it ends, they are cancelled and rulekit waits until squeue
no longer lists them.

Importing this module raises ImportError when dask-jobqueue (or distributed) is missing.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import dask_jobqueue  # noqa: F401 - ImportError here means: no slurm executor
from distributed.deploy.adaptive import Adaptive

from ..core.model import Job, Workflow
from .base import ExecOptions, Outcome, RunResult, Task
from .clusterfit import WorkerSpec, check_fits, misfit, task_resources
from .dask import DaskRunner, is_local
from .slurmjobs import SlurmJobs, require_sbatch

__all__ = ["SlurmSettings", "SlurmRunner", "make_slurm_execute", "WORKER_TIMEOUT_S",
           "LOG_FOLDER"]

# Default --worker-timeout: how long jobs may wait with no worker connected, not counting
# time in which a worker job waits in SLURM's queue (a busy cluster is not an error).
WORKER_TIMEOUT_S = 300.0
LOG_FOLDER = os.path.join(".rulekit", "slurm")   # worker jobs' stdout/stderr, in the workdir
_IDLE_WORKER_S = 30       # adaptive scaling lets an idle worker go after this long
_CLOSE_TIMEOUT_S = 20


@dataclass(frozen=True)
class SlurmSettings:
    spec: WorkerSpec
    partition: str | None = None
    account: str | None = None
    batch_size: int = 1
    worker_timeout: float | None = None   # None: WORKER_TIMEOUT_S
    cores: int | None = None              # --cores: at most this many cores in use at once


class SlurmRunner(DaskRunner):
    """DaskRunner whose tasks carry resources; a job that fits no worker (known only now,
    from a resources function) fails at once instead of waiting forever."""

    def __init__(self, workflow: Workflow, client: Any, slots: int, settings: SlurmSettings,
                 jobs: SlurmJobs, start_method: str | None) -> None:
        timeout = WORKER_TIMEOUT_S if settings.worker_timeout is None else settings.worker_timeout
        super().__init__(workflow, client, slots, settings.batch_size, start_method, timeout)
        self.spec = settings.spec
        self.jobs = jobs
        self.refused: list[Outcome] = []
        self.workers_wanted = 0   # read by the cluster's adaptive scaling (another thread)
        self.no_worker_hint = (f"see the worker jobs' logs ({jobs.log_dir}/{jobs.name}-*.err); "
                               "wait longer with --worker-timeout SECONDS")

    def submit(self, tasks: Sequence[Task]) -> None:
        fits = []
        for task in tasks:
            why = None if is_local(self.workflow, task.rule) else misfit(task, self.spec)
            if why is None:
                fits.append(task)
            else:
                now = time.time()
                self.refused.append(Outcome(task.jobid, False, now, now, why))
        super().submit(fits)

    def wait(self, timeout: float | None, wakeup_fd: int | None = None) -> list[Outcome]:
        if self.refused:
            out, self.refused = self.refused, []
            return out
        return super().wait(timeout, wakeup_fd)

    def _task_resources(self, tasks: Sequence[Task]) -> dict[str, float] | None:
        return task_resources(tasks)

    def _flush(self) -> None:
        super()._flush()
        self._count_wanted()

    def _collect(self) -> list[Outcome]:
        out = super()._collect()
        self._count_wanted()
        return out

    def _check_workers(self) -> list[Outcome]:
        out = super()._check_workers()
        self._count_wanted()
        return out

    def terminate(self, grace: float) -> list[Outcome]:
        out = super().terminate(grace)
        self._count_wanted()
        return out

    def _count_wanted(self) -> None:
        """How many workers the jobs sent out need: enough cores and memory for all of them
        at once (adaptive scaling caps it at --max-workers)."""
        cpus = mem = gpu = 0.0
        for tasks in self.inflight.values():
            need = task_resources(tasks)
            cpus += need["cpus"]
            mem += need.get("mem_mb", 0.0)
            gpu += need.get("gpu", 0.0)
        spec = self.spec
        self.workers_wanted = max(math.ceil(cpus / spec.cores), math.ceil(mem / spec.mem_mb),
                                  math.ceil(gpu / spec.gpus) if spec.gpus else 0)

    def _workers_coming(self) -> bool:
        return self.jobs.pending()


class _JobsAdaptive(Adaptive):
    """Adaptive scaling to what rulekit has sent out, not to Dask's duration estimates
    (which would keep hour-long jobs queued behind each other on one worker until Dask has
    timed some); never below the number of busy workers, so only idle ones are retired."""

    def __init__(self, *args: Any, wanted: Callable[[], int], **kwargs: Any) -> None:
        self.wanted = wanted
        super().__init__(*args, **kwargs)

    async def target(self) -> int:
        busy = sum(1 for keys in (await self.scheduler.processing()).values() if keys)
        return max(self.wanted(), busy)


def make_slurm_execute(settings: SlurmSettings,
                       ) -> Callable[[Workflow, Iterable[Any], ExecOptions], RunResult]:
    def execute(workflow: Workflow, jobs: Iterable[Any], options: ExecOptions) -> RunResult:
        from .local import execute as local_execute

        jobs = list(jobs)
        check_fits(_jobs_of(jobs), settings.spec, lambda job: is_local(workflow, job.rule.name))
        require_sbatch()
        spec = settings.spec
        runners: list[SlurmRunner] = []   # the adaptive scaling asks the runner, made below

        def wanted() -> int:
            return runners[0].workers_wanted if runners else 0

        with _slurm_cluster(settings, workflow.workdir, options.quiet, wanted) as (client, names):
            slots = spec.max_workers * spec.cores
            if settings.cores:
                slots = min(slots, settings.cores)
            runner = SlurmRunner(workflow, client, slots, settings, names, options.start_method)
            runners.append(runner)
            options.runner = runner
            options.cores = slots * settings.batch_size
            if settings.batch_size > 1:
                options.max_batch = min(options.max_batch, settings.batch_size)
            try:
                return local_execute(workflow, jobs, options)
            finally:
                runner.close()

    return execute


def _jobs_of(items: Sequence[Any]) -> list[Job]:
    """The Job objects among what the planner handed over (jobs or planned jobs)."""
    return [getattr(item, "job", item) for item in items]


@contextlib.contextmanager
def _slurm_cluster(settings: SlurmSettings, workdir: str, quiet: bool,
                   wanted: Callable[[], int]) -> Iterator[tuple[Any, SlurmJobs]]:
    import dask
    from dask_jobqueue import SLURMCluster
    from distributed import Client

    jobs = SlurmJobs(f"rulekit-{os.urandom(4).hex()}", os.path.join(workdir, LOG_FOLDER))
    cluster = None
    try:
        # A job lost with its worker (killed at its walltime, node failure) fails at once and
        # rulekit's `retries:` decide, rather than Dask rerunning it behind rulekit's back.
        with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
            cluster = SLURMCluster(**_cluster_args(settings, jobs))
        jobs.check_script(cluster.job_script())
        cluster.adapt(Adaptive=_JobsAdaptive, wanted=wanted, minimum=0,
                      maximum=settings.spec.max_workers, interval="1s",
                      wait_count=_IDLE_WORKER_S)
        with Client(cluster) as client:
            yield client, jobs
    finally:
        with _signals_held():
            if cluster is not None:
                with contextlib.suppress(Exception):
                    cluster.close(timeout=_CLOSE_TIMEOUT_S)
            left = jobs.cancel()
        _tell(jobs, left, quiet)


def _cluster_args(settings: SlurmSettings, jobs: SlurmJobs) -> dict[str, Any]:
    """SLURMCluster's arguments; what rulekit does not set comes from dask-jobqueue's own
    configuration (`jobqueue.slurm` in ~/.config/dask/jobqueue.yaml: interface, python,
    job-script-prologue, ...), and lists there are extended, not replaced."""
    import dask

    spec = settings.spec
    conf = dask.config.get("jobqueue.slurm", {})
    resources = ",".join(f"{k}={v}" for k, v in spec.dask_resources().items())
    skip = list(conf.get("job-directives-skip") or [])
    extra = list(conf.get("job-extra-directives") or [])
    args: dict[str, Any] = {
        "cores": spec.cores, "processes": 1, "memory": f"{spec.mem_mb}MB",
        "job_name": jobs.name, "log_directory": jobs.log_dir,
        "python": conf.get("python") or sys.executable,
        "worker_extra_args": list(conf.get("worker-extra-args") or []) + ["--resources", resources],
        "scheduler_options": {"dashboard_address": None, **(conf.get("scheduler-options") or {})},
    }
    if settings.partition:
        args["queue"] = settings.partition
    if settings.account:
        args["account"] = settings.account
    if spec.walltime_min is not None:
        args["walltime"] = str(spec.walltime_min)         # SLURM reads a bare number as minutes
    else:
        skip.append("-t ")   # no time limit asked: the partition's default applies
    if spec.gpus:
        extra.append(f"--gres=gpu:{spec.gpus}")
    args["job_directives_skip"] = skip
    args["job_extra_directives"] = extra
    return args


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Cancelling the worker jobs is not itself interrupted by a second Ctrl-C."""
    saved = {}
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            saved[sig] = signal.signal(sig, signal.SIG_IGN)
    except ValueError:   # not the main thread: nothing to hold
        pass
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def _tell(jobs: SlurmJobs, left: list[str], quiet: bool) -> None:
    ids = jobs.ids()
    if ids and not quiet:
        sys.stderr.write(f"rulekit: SLURM worker jobs {', '.join(ids)} ({jobs.name}); "
                         f"their logs are in {jobs.log_dir}/\n")
    if left:
        sys.stderr.write(f"warning: SLURM still lists worker job(s) {', '.join(left)} after "
                         "scancel; check with `squeue -n " + jobs.name + "`\n")

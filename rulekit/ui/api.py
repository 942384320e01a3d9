"""The Python API and the orchestration of a run (SPEC §4).

    wf = rulekit.load("Rulesfile")
    plan = wf.plan(["all"])           # Plan: jobs with reasons; plan.to_frame()
    result = wf.run(["all"], cores=4)  # RunResult: each job's status

A run is: open the metadata store -> plan with it -> lock the planned outputs -> run the
jobs with a StateRecorder observing them -> release. Everything happens with the working
directory as cwd (input functions and bodies use relative paths), restored afterwards.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core.errors import UsageError
from ..core.model import CheckpointState, Job
from ..core.model import Workflow as WorkflowModel
from ..lang import loader
from ..lang.loader import working_directory
from ..planning.plan import DEFAULT_TRIGGERS, Plan, make_plan
from ..planning.reasons import WaitingForCheckpoint
from ..state.folders import run_files

if TYPE_CHECKING:
    from ..execution.base import RunResult
    from ..state.store import MetadataStore

__all__ = ["load", "Workflow", "PlanOptions", "summary", "working_directory"]


@dataclass
class PlanOptions:
    """What selects and forces jobs; shared by plan, run, dag, summary and clean."""

    targets: Sequence[str] = ()
    forceall: bool = False
    forcerun: Sequence[str] = ()
    force: bool = False
    until: str | Sequence[str] | None = None
    rerun_triggers: Sequence[str] = DEFAULT_TRIGGERS
    omit_from: Sequence[str] = ()


@dataclass
class RunOptions:
    cores: int | None = None
    executor: str = "local"
    scheduler: str | None = None
    batch_size: int | None = None
    worker_timeout: float | None = None    # Dask: stop after this long without any worker
    # --executor slurm (None: the default; see executor/clusterfit.py and docs/cluster.md)
    max_workers: int | None = None
    worker_cores: int | None = None
    worker_mem: str | None = None
    worker_walltime: str | None = None
    worker_gpus: int | None = None
    slurm_partition: str | None = None
    slurm_account: str | None = None
    resources: dict[str, float] = field(default_factory=dict)
    keep_going: bool = False
    keep_incomplete: bool = False
    latency_wait: float | None = None
    print_commands: bool = False
    quiet: bool = False
    reporter: Any = None
    argv: Sequence[str] = ()
    warn: Callable[[str], None] | None = None
    touch: bool = False   # mark planned outputs up to date instead of running the jobs


def load(path: str | os.PathLike[str] = "Rulesfile", *, config: Mapping[str, Any] | None = None,
         configfiles: Sequence[str] = (), workdir: str | None = None,
         cores: int | None = None) -> Workflow:
    """Load a rule file (see docs/language.md)."""
    return Workflow(loader.load(path, config=config, configfiles=tuple(configfiles),
                                workdir=workdir, cores=cores))


def _stderr_warning(text: str) -> None:
    print(f"warning: {text}", file=sys.stderr)


class Workflow:
    """A loaded rule file you can plan and run."""

    def __init__(self, model: WorkflowModel) -> None:
        self.model = model

    @property
    def rules(self) -> list[str]:
        return list(self.model.rules)

    @property
    def config(self) -> dict[str, Any]:
        return self.model.config

    @property
    def workdir(self) -> str:
        return self.model.workdir

    def open_store(self, warn: Callable[[str], None] | None = None) -> MetadataStore:
        from ..state.store import MetadataStore

        return MetadataStore(self.model.workdir, on_warning=warn or _stderr_warning)

    def plan(self, targets: Sequence[str] | str = (), *, forceall: bool = False,
             forcerun: Sequence[str] = (), force: bool = False,
             until: str | Sequence[str] | None = None,
             rerun_triggers: Sequence[str] = DEFAULT_TRIGGERS,
             store: MetadataStore | None = None, omit_from: Sequence[str] = ()) -> Plan:
        """The jobs that must run for `targets`, each with the reasons why."""
        opts = PlanOptions(_targets(targets), forceall, forcerun, force, until, rerun_triggers,
                           omit_from)
        with working_directory(self.model.workdir):
            own = store is None
            store = store or self.open_store()
            try:
                return self._plan(opts, store)
            finally:
                if own:
                    store.close()

    def to_networkx(self, targets: Sequence[str] | str = (), *, rules: bool = False) -> Any:
        """The jobs `targets` need (or their rules) as a networkx DiGraph, whether they
        would run or not; `plan(...).to_networkx()` adds why each job runs."""
        from ..planning.fs import FileSystem
        from ..planning.resolve import build_dag

        with working_directory(self.model.workdir):
            dag = build_dag(self.model, _targets(targets), FileSystem(self.model.workdir))
        return dag.to_networkx(rules=rules)

    def _plan(self, opts: PlanOptions, store: MetadataStore | None, *,
              ignore_force: bool = False, checkpoints: CheckpointState | None = None) -> Plan:
        return make_plan(self.model, opts.targets, store=store,
                         forceall=opts.forceall and not ignore_force,
                         forcerun=() if ignore_force else opts.forcerun,
                         force=opts.force and not ignore_force, until=opts.until,
                         rerun_triggers=opts.rerun_triggers, checkpoints=checkpoints,
                         omit_from=opts.omit_from)

    def run(self, targets: Sequence[str] | str = (), *, cores: int | None = None,
            executor: str = "local", dry_run: bool = False, **kwargs: Any) -> RunResult | Plan:
        """Plan and run. Returns the RunResult (or, with dry_run=True, the Plan).

        Keyword options: forceall, forcerun, force, until, rerun_triggers (as plan), and
        resources, keep_going, keep_incomplete, latency_wait, print_commands, quiet,
        scheduler, batch_size.
        """
        plan_keys = {"forceall", "forcerun", "force", "until", "rerun_triggers", "omit_from"}
        popts = PlanOptions(_targets(targets), **{k: v for k, v in kwargs.items() if k in plan_keys})
        ropts = RunOptions(cores=cores, executor=executor,
                           **{k: v for k, v in kwargs.items() if k not in plan_keys})
        if dry_run:
            return self.plan(targets, **{k: v for k, v in kwargs.items() if k in plan_keys})
        return self.execute(popts, ropts)

    def execute(self, popts: PlanOptions, ropts: RunOptions,
                on_plan: Callable[[Plan], None] | None = None) -> RunResult:
        """The whole run; `on_plan` sees the plan before anything runs."""
        cores = self.model.cores   # `workflow.cores` is the run's --cores during the run only
        if ropts.cores is not None:
            self.model.cores = ropts.cores
        try:
            with working_directory(self.model.workdir):
                store = self.open_store(ropts.warn)
                checkpoints = CheckpointState()   # this run's checkpoint jobs: pending, done
                try:
                    if run_files(self.model.workdir):   # else no run died holding a lock
                        from ..execution.runguard import recover_crashed

                        recover_crashed(self.model.workdir, store,
                                        ropts.warn or _stderr_warning)
                    plan = self._plan(popts, store, checkpoints=checkpoints)
                    if on_plan is not None:
                        on_plan(plan)
                    result = self._execute(plan, popts, ropts, store, checkpoints)
                    if result.ok and result.results:
                        from ..state.manifests import refresh_manifest

                        refresh_manifest(self.model, [r.job for r in result.results
                                                      if r.status == "done"], store)
                    return result
                finally:
                    store.close()
        finally:
            self.model.cores = cores

    def _execute(self, plan: Plan, popts: PlanOptions, ropts: RunOptions,
                 store: MetadataStore, checkpoints: CheckpointState) -> RunResult:
        from ..execution.base import RunResult

        jobs = runnable_now(plan)
        if not jobs:
            return RunResult([], 0.0, 0.0)
        from ..execution.base import ExecOptions
        from ..execution.runguard import end_orphans, on_stale_run
        from ..state.locks import OutputLock
        from ..state.recorder import StateRecorder

        warn = ropts.warn or _stderr_warning
        reasons = {pj.job: pj.reasons for pj in plan}
        outputs = [p for job in jobs for p in job.output]
        inputs = [p for job in jobs for p in job.input]
        lock = OutputLock(self.model.workdir, outputs, list(ropts.argv), inputs=inputs,
                          store=store.identity, on_stale=on_stale_run(store, warn))
        with lock:
            end_orphans(store, jobs, warn)
            run_id = store.start_run(list(ropts.argv) or sys.argv)
            checksums = "checksum" in popts.rerun_triggers
            recorder = StateRecorder(store, self.model, run_id, checksums=checksums,
                                     keep_incomplete=ropts.keep_incomplete)
            if ropts.touch:
                from ..execution.touching import touch_jobs

                try:
                    result = touch_jobs(jobs, recorder, ropts.warn or _stderr_warning,
                                        quiet=ropts.quiet)
                finally:
                    store.end_run(run_id, "touched")
                return result

            def replan(checkpoint_job: Job) -> list[Job]:
                checkpoints.finished(checkpoint_job.output)
                # The same forcing as the first plan: jobs it already had (done or not) are
                # the scheduler's known ones, so only jobs found now are forced anew.
                again = self._plan(popts, store, checkpoints=checkpoints)
                reasons.update((pj.job, pj.reasons) for pj in again)
                now = runnable_now(again)
                lock.extend([p for job in now for p in job.output],
                            [p for job in now for p in job.input])
                end_orphans(store, now, warn, run_id)
                return now

            def skip_ready(job: Job) -> bool:
                return recorder.early_cutoff(job, reasons.get(job, ()))

            options = ExecOptions(
                cores=ropts.cores, resources=dict(ropts.resources), keep_going=ropts.keep_going,
                keep_incomplete=ropts.keep_incomplete,
                latency_wait=_latency_wait(ropts),
                print_commands=ropts.print_commands, quiet=ropts.quiet, observer=recorder,
                replan=replan, skip_ready=skip_ready if checksums else None,
                reporter=ropts.reporter or _console_reporter(ropts))
            outcome = "interrupted"
            finished: RunResult | None = None   # for the run log, also when interrupted
            try:
                result = _executor(ropts)(self.model, jobs, options)
                finished = result
                outcome = "ok" if result.ok else "failed"
            except BaseException as err:
                finished = getattr(err, "result", None)  # an interruption carries it
                raise
            finally:
                store.check_vanished()
                store.end_run(run_id, outcome, recorder.unrecorded(finished))
            return result

    def summary(self) -> Any:
        """Every known output as a pandas DataFrame (see `rulekit summary`)."""
        import pandas as pd

        from ..state.queries import summary_rows

        with working_directory(self.model.workdir), self.open_store() as store:
            return pd.DataFrame(summary_rows(self.model, store))


def _executor(ropts: RunOptions) -> Callable[..., RunResult]:
    if ropts.executor == "local":
        from ..execution.local import execute

        return execute
    if ropts.executor == "dask":
        try:
            from ..execution.dask import make_dask_execute
        except ImportError as err:
            raise UsageError("the dask executor needs the 'distributed' package",
                             hint="install the dask extra from your rulekit checkout: "
                                  "pip install -e '.[dask]'") from err
        return make_dask_execute(ropts.scheduler, ropts.cores, ropts.batch_size,
                                 ropts.worker_timeout)
    if ropts.executor == "slurm":
        return _slurm_executor(ropts)
    raise UsageError(f"unknown executor {ropts.executor!r}", hint="choose local, dask or slurm")


def _slurm_executor(ropts: RunOptions) -> Callable[..., RunResult]:
    from ..execution.clusterfit import worker_spec

    spec = worker_spec(ropts.max_workers, ropts.worker_cores, ropts.worker_mem,
                       ropts.worker_walltime, ropts.worker_gpus)
    try:
        from ..execution.slurm import SlurmSettings, make_slurm_execute
    except ImportError as err:
        raise UsageError(f"the slurm executor needs the 'dask-jobqueue' package ({err})",
                         hint="install the slurm extra from your rulekit checkout: "
                              "pip install -e '.[slurm]'") from err
    return make_slurm_execute(SlurmSettings(
        spec, ropts.slurm_partition, ropts.slurm_account, ropts.batch_size or 1,
        ropts.worker_timeout, ropts.cores))


def _latency_wait(ropts: RunOptions) -> float:
    """Default 0 locally; 5 s on a cluster (Dask, SLURM), where outputs appear on a shared
    filesystem (SPEC 2.5)."""
    if ropts.latency_wait is not None:
        return ropts.latency_wait
    return 5.0 if ropts.executor in ("dask", "slurm") else 0.0


def runnable_now(plan: Plan) -> list[Job]:
    """The planned jobs minus those waiting for a checkpoint and everything below them:
    they are planned again once the checkpoint has run."""
    blocked: set[int] = set()
    jobs: list[Job] = []
    for pj in plan:
        job = pj.job
        if any(isinstance(r, WaitingForCheckpoint) for r in pj.reasons) or any(
                d.id in blocked for d in job.deps):
            blocked.add(job.id)
            continue
        jobs.append(job)
    return jobs


def _targets(targets: Sequence[str] | str) -> tuple[str, ...]:
    return (targets,) if isinstance(targets, str) else tuple(targets)


def summary(directory: str | os.PathLike[str] = ".", file: str | None = None) -> Any:
    """Every known output of the workflow in `directory` as a pandas DataFrame."""
    from ..state.queries import summary_frame

    return summary_frame(os.fspath(directory), file=file)


def _console_reporter(ropts: RunOptions) -> Any:
    """The console output of a run when the caller passed no reporter of its own."""
    from .runview import Reporter

    return Reporter(quiet=ropts.quiet, print_commands=ropts.print_commands)

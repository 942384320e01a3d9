"""The Dask executor: rulekit's scheduler in the driver, jobs on a Dask cluster.

    make_dask_execute(address, cores, batch_size)(workflow, jobs, options) -> RunResult

The driver keeps everything that decides (order, cores, resources, failures, retries, output
checks, temp removal, locks, metadata: local.Scheduler). `DaskRunner` only ships Tasks, plain
picklable data, to Dask workers, where `worker.run_task` runs them exactly as in a local
worker; a worker process loads the workflow once (cached by WorkflowRef). A shared filesystem
is assumed: workers read inputs and write outputs at the same paths as the driver.

Batching: with batch size B > 1 the scheduler is allowed B jobs per cluster slot, and the
tasks submitted in one scheduling step are packed into Dask tasks of at most B jobs each,
spread over the free slots. A batch reports when its last job ends, so batch tiny jobs only.

`localrules` (and `localrule: True`) jobs run in the driver through the local runner.

Importing this module raises ImportError when `distributed` is missing (api.py turns that
into a clear message).
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import select
import signal
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import distributed  # noqa: F401 - ImportError here means: no dask executor

from ..core.errors import JobFailedError, UsageError
from ..core.model import Workflow
from .base import ExecOptions, Outcome, RunResult, Task, WorkflowRef, default_cores
from .driverwatch import Driver, wait_watching
from .procs import Watchdog

__all__ = ["DaskRunner", "make_dask_execute", "run_chunk", "stop_run", "is_local"]

_LOCAL_POLL_S = 0.05   # while localrules run in the driver, how often Dask results are looked at
_CONNECT_TIMEOUT_S = 20
_WORKER_CHECK_S = 0.5  # how often the cluster's workers are looked at while jobs are out
WORKER_TIMEOUT_S = 60.0   # default --worker-timeout


_RUNNING: dict[str, dict[int, int]] = {}   # on a worker: run token -> jobid -> shell pid
_STOPPED: set[str] = set()                   # on a worker: tokens of terminated runs
_WATCHDOG = Watchdog()   # on a worker: SIGKILLs running shell jobs' groups if the worker dies


def run_chunk(ref: WorkflowRef, tasks: Sequence[Task], token: str = "",
              driver: Driver | None = None) -> list[Outcome]:
    """What one Dask task runs on a worker: `tasks` one after another, in the workflow's
    directory, with the workflow loaded once per worker process (worker.get_workflow caches
    it by rule file and config). `token` names the run, so `stop_run` can stop its jobs;
    a shell job ends when the `driver` (pid, host, start) is gone (driverwatch.py)."""
    from . import worker

    if os.getcwd() != ref.workdir:
        try:
            os.chdir(ref.workdir)
        except OSError as exc:
            now = time.time()
            return [Outcome(t.jobid, False, now, now,
                            f"cannot enter {ref.workdir} on this Dask worker ({exc}); "
                            "the Dask executor needs a shared filesystem") for t in tasks]
    out = []
    for task in tasks:
        if token in _STOPPED:
            now = time.time()
            out.append(Outcome(task.jobid, False, now, now, "terminated"))
        elif task.kind == "shell" or task.kind == "script":
            out.append(_run_shell(task, token, driver))
        else:
            task.workflow = ref
            out.append(worker.run_task(task))
    here = socket.gethostname()   # recorded as the host that made the outputs
    for outcome in out:
        outcome.host = here
    return out


def _run_shell(task: Task, token: str, driver: Driver | None = None) -> Outcome:
    """worker.run_task's shell branch, but in a process group of its own that `stop_run`
    can signal."""
    from . import worker

    start = time.time()
    try:
        pid, capture = worker.spawn_task(task, True)
        _RUNNING.setdefault(token, {})[task.jobid] = pid
        _WATCHDOG.add(pid)   # the worker process may die with the driver (LocalCluster)
        try:
            code, usage = wait_watching(pid, driver)
        finally:
            _RUNNING.get(token, {}).pop(task.jobid, None)
            _WATCHDOG.remove(pid)
        output = worker.read_capture(capture)
        end = time.time()
        if code != 0:
            return Outcome(task.jobid, False, start, end, worker.failed_text(task.kind, code),
                           output, code)
        if task.benchmark:
            worker.write_benchmark(task.benchmark, end - start, usage.ru_maxrss,
                                   usage.ru_utime + usage.ru_stime)
        return Outcome(task.jobid, True, start, end, None, output, 0)
    except BaseException as exc:  # a Dask task must always answer
        return Outcome(task.jobid, False, start, time.time(), f"cannot run the shell command: {exc}")


def stop_run(token: str, sig: int) -> int:
    """On a worker (client.run): start no more jobs of run `token`; signal its shell jobs.
    Returns how many shell jobs are still running."""
    _STOPPED.add(token)
    running = _RUNNING.get(token, {})
    for pid in list(running.values()):
        try:
            os.killpg(pid, sig)
        except OSError:
            pass
    return len(running)


def is_local(workflow: Workflow, rule: str) -> bool:
    """Whether the rule's jobs run in the driver (`localrules:`, `localrule: True`)."""
    if rule in workflow.localrules:
        return True
    r = workflow.rules.get(rule)
    return bool(r is not None and getattr(r, "localrule", False))


class DaskRunner:
    """JobRunner on a `distributed.Client`. `slots` is how many Dask tasks may run at once
    (the cluster's threads, or --cores); `batch_size` the most jobs packed in one Dask task."""

    def __init__(self, workflow: Workflow, client: Any, slots: int, batch_size: int = 1,
                 start_method: str | None = None,
                 worker_timeout: float = WORKER_TIMEOUT_S) -> None:
        self.workflow = workflow
        self.client = client
        self.slots = max(1, slots)
        self.batch_size = max(1, batch_size)
        self.start_method = start_method
        self.ref = WorkflowRef(workflow.path, workflow.config, workflow.workdir)
        self.token = os.urandom(8).hex()
        self.driver: Driver = (os.getpid(), socket.gethostname(), time.time())
        self.buffer: list[Task] = []           # submitted, not yet sent (packed in wait())
        self.inflight: dict[Any, list[Task]] = {}   # future -> its tasks
        self.done: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.rfd, self.wfd = os.pipe()
        os.set_blocking(self.rfd, False)
        os.set_blocking(self.wfd, False)
        self.local: Any = None                  # pool.LocalRunner for localrules, made lazily
        self.local_pending = 0
        self.closed = False
        self.worker_timeout = worker_timeout
        self._where: dict[str, str] = {}        # future key -> the worker last seen running it
        self._next_check = 0.0
        self._no_workers_since: float | None = None
        self.no_worker_hint = ("start workers with `dask worker ADDRESS`, or wait longer with "
                               "--worker-timeout SECONDS")

    # -- JobRunner ---------------------------------------------------------------------

    def free_slots(self, kind: str) -> int:
        return 1 << 30   # Dask queues what exceeds the cluster; the scheduler bounds cores

    def submit(self, tasks: Sequence[Task]) -> None:
        remote = []
        for task in tasks:
            if is_local(self.workflow, task.rule):
                self._local_runner().submit([task])
                self.local_pending += 1
            else:
                remote.append(task)
        self.buffer.extend(remote)

    def wait(self, timeout: float | None, wakeup_fd: int | None = None) -> list[Outcome]:
        self._flush()
        out = self._collect()
        if out:
            return out
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if self.local_pending:
                step = _LOCAL_POLL_S if left is None else min(left, _LOCAL_POLL_S)
                got = self.local.wait(step, self.rfd)
                self.local_pending -= len(got)
                out.extend(got)
                if wakeup_fd is not None and _readable(wakeup_fd):
                    break
            else:
                if not self.inflight and left is None:
                    break   # nothing could ever wake us
                fds = [self.rfd] + ([wakeup_fd] if wakeup_fd is not None else [])
                step = _WORKER_CHECK_S if left is None else min(left, _WORKER_CHECK_S)
                select.select(fds, [], [], step)
            out.extend(self._collect())
            out.extend(self._check_workers())
            if out or (deadline is not None and time.monotonic() >= deadline):
                break
            if wakeup_fd is not None and _readable(wakeup_fd):
                break
        return out

    def terminate(self, grace: float) -> list[Outcome]:
        now = time.time()
        out = [Outcome(t.jobid, False, now, now, "terminated") for t in self.buffer]
        self.buffer.clear()
        futures = list(self.inflight)
        if futures:
            with contextlib.suppress(Exception):
                self.client.cancel(futures, force=True)
            self._stop_remote(grace)
        for tasks in self.inflight.values():
            out.extend(Outcome(t.jobid, False, now, now, "terminated") for t in tasks)
        self.inflight.clear()
        if self.local is not None:
            out.extend(self.local.terminate(grace))
            self.local_pending = 0
        return out

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.inflight:
            with contextlib.suppress(Exception):
                self.client.cancel(list(self.inflight), force=True)
            self.inflight.clear()
        if self.local is not None:
            self.local.close()
        os.close(self.rfd)
        os.close(self.wfd)

    # -- internals -----------------------------------------------------------------------

    def _stop_remote(self, grace: float) -> None:
        """SIGTERM the run's shell jobs on every worker, SIGKILL what is left after `grace`."""
        deadline = time.monotonic() + grace
        sig: int = signal.SIGTERM
        while True:
            try:
                left = self.client.run(stop_run, self.token, sig, on_error="ignore")
            except Exception:   # noqa: BLE001 - a worker that is gone runs nothing
                return
            if not any(isinstance(n, int) and n for n in left.values()) or sig == signal.SIGKILL:
                return
            if time.monotonic() >= deadline:
                sig = signal.SIGKILL
            else:
                time.sleep(0.1)
                sig = 0

    def _check_workers(self) -> list[Outcome]:
        """Every _WORKER_CHECK_S while jobs are out: the jobs a vanished worker was running
        fail (their `retries:` apply); with no worker at all for `worker_timeout` seconds
        the run stops with an error instead of waiting forever."""
        now = time.monotonic()
        if not self.inflight or now < self._next_check:
            return []
        self._next_check = now + _WORKER_CHECK_S
        try:
            processing = self.client.processing()
        except Exception:   # noqa: BLE001 - the scheduler is unreachable: like no worker
            processing = {}
        if processing or self._workers_coming():
            self._no_workers_since = None
        elif self._no_workers_since is None:
            self._no_workers_since = now
        elif now - self._no_workers_since >= self.worker_timeout:
            jobs = sorted({t.jobid for tasks in self.inflight.values() for t in tasks})
            raise JobFailedError(
                f"no Dask worker left for {self.worker_timeout:g} s; stopped with "
                f"{len(jobs)} job(s) unfinished (they stay marked incomplete and rerun next "
                "time)",
                hint=self.no_worker_hint)
        by_key = {f.key: f for f in self.inflight}
        lost: list[Outcome] = []
        running = {k: w for w, keys in processing.items() for k in keys if k in by_key}
        for key, worker in list(self._where.items()):
            if key in by_key and worker not in processing and key not in running:
                fut = by_key[key]
                tasks = self.inflight.pop(fut)
                with contextlib.suppress(Exception):
                    self.client.cancel([fut], force=True)
                t = time.time()
                lost.extend(Outcome(task.jobid, False, t, t,
                                    f"the Dask worker running this job ({worker}) died or "
                                    "left the cluster") for task in tasks)
        self._where = running
        return lost

    def _task_resources(self, tasks: Sequence[Task]) -> dict[str, float] | None:
        """The Dask resources a task running `tasks` asks for (a subclass's business)."""
        return None

    def _workers_coming(self) -> bool:
        """True while workers are on their way (no-worker time then does not count)."""
        return False

    def _local_runner(self) -> Any:
        if self.local is None:
            from .pool import LocalRunner

            self.local = LocalRunner(self.workflow, default_cores(), self.start_method)
        return self.local

    def _chunks(self, tasks: list[Task]) -> list[list[Task]]:
        """Pack tasks into batches of at most batch_size, using as many free slots as helps."""
        n = len(tasks)
        free = max(1, self.slots - len(self.inflight))
        count = max(-(-n // self.batch_size), min(n, free))
        size, extra = divmod(n, count)
        chunks, i = [], 0
        for k in range(count):
            j = i + size + (1 if k < extra else 0)
            chunks.append(tasks[i:j])
            i = j
        return chunks

    def _flush(self) -> None:
        if not self.buffer:
            return
        tasks, self.buffer = self.buffer, []
        for chunk in self._chunks(tasks):
            key = f"rulekit-{chunk[0].rule}-{chunk[0].jobid}-{os.urandom(4).hex()}"
            fut = self.client.submit(run_chunk, self.ref, chunk, self.token, self.driver,
                                     key=key, pure=False,
                                     resources=self._task_resources(chunk))
            self.inflight[fut] = chunk
            fut.add_done_callback(self._on_done)

    def _on_done(self, fut: Any) -> None:
        """Runs on the client's event-loop thread: hand over and wake the driver."""
        self.done.put(fut)
        with contextlib.suppress(OSError):
            os.write(self.wfd, b"x")

    def _collect(self) -> list[Outcome]:
        with contextlib.suppress(OSError):
            while os.read(self.rfd, 4096):
                pass
        ready = []
        while True:
            try:
                fut = self.done.get_nowait()
            except queue.Empty:
                break
            if fut in self.inflight:
                ready.append(fut)
        if not ready:
            return []
        out: list[Outcome] = []
        ok = [f for f in ready if f.status == "finished"]
        results: list[Any] = []
        if ok:
            try:
                results = self.client.gather(ok, errors="skip")
            except Exception:   # noqa: BLE001 - turned into failed outcomes below
                results = []
        got = dict(zip([f.key for f in ok], results, strict=False)) if len(results) == len(ok) else {}
        for fut in ready:
            tasks = self.inflight.pop(fut)
            value = got.get(fut.key)
            if value is not None:
                out.extend(value)
                continue
            out.extend(_lost(tasks, fut))
        return out


def _lost(tasks: Sequence[Task], fut: Any) -> list[Outcome]:
    now = time.time()
    why = fut.status
    if fut.status == "error":
        with contextlib.suppress(Exception):
            exc = fut.exception(timeout=1)
            why = f"{type(exc).__name__}: {exc}"
    text = f"the Dask task running this job did not finish ({why})"
    if "KilledWorker" in str(why):
        text = "the Dask worker running this job died"
    return [Outcome(t.jobid, False, now, now, text) for t in tasks]


def _readable(fd: int) -> bool:
    return bool(select.select([fd], [], [], 0)[0])


def make_dask_execute(address: str | None = None, cores: int | None = None,
                      batch_size: int | None = None, worker_timeout: float | None = None,
                      ) -> Callable[[Workflow, Iterable[Any], ExecOptions], RunResult]:
    """An `execute(workflow, jobs, options)` running jobs on Dask: on the scheduler at
    `address`, or on a LocalCluster of `cores` single-threaded worker processes made (and
    closed) by the run. `batch_size`: most jobs per Dask task (default 1)."""

    def execute(workflow: Workflow, jobs: Iterable[Any], options: ExecOptions) -> RunResult:
        from .local import execute as local_execute

        batch = max(1, batch_size or 1)
        with _client(address, cores or options.cores) as client:
            slots = sum(client.nthreads().values()) or 1
            if address and cores:   # --cores caps how much of a shared cluster this run uses
                slots = min(slots, cores)
            runner = DaskRunner(workflow, client, slots, batch, options.start_method,
                                WORKER_TIMEOUT_S if worker_timeout is None else worker_timeout)
            options.runner = runner
            options.cores = slots * batch
            if batch > 1:
                options.max_batch = min(options.max_batch, batch)
            try:
                return local_execute(workflow, jobs, options)
            finally:
                runner.close()

    return execute


@contextlib.contextmanager
def _client(address: str | None, cores: int | None) -> Any:
    from distributed import Client, LocalCluster

    if address:
        try:
            client = Client(address, timeout=f"{_CONNECT_TIMEOUT_S}s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise UsageError(f"cannot reach the Dask scheduler at {address}: {exc}",
                             hint="start one with `dask scheduler` and workers with "
                                  "`dask worker ADDRESS`, or leave out --scheduler to run "
                                  "on a local cluster") from None
        try:
            try:
                client.wait_for_workers(1, timeout=_CONNECT_TIMEOUT_S)
            except (OSError, TimeoutError) as exc:
                raise UsageError(f"the Dask scheduler at {address} has no workers "
                                 f"(waited {_CONNECT_TIMEOUT_S}s)",
                                 hint="start some with `dask worker ADDRESS`") from exc
            yield client
        finally:
            client.close()
        return
    import dask

    # A job lost with its worker fails at once (rulekit's `retries:` decide what happens),
    # rather than being rerun behind rulekit's back.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = LocalCluster(n_workers=cores or default_cores(), threads_per_worker=1,
                               processes=True, dashboard_address=None, host="127.0.0.1",
                               silence_logs=logging.ERROR)
    try:
        with Client(cluster) as client:
            yield client
    finally:
        cluster.close()

"""The local JobRunner: worker processes for run: bodies, posix_spawn for shell: and script:.

Workers are started once per run (lazily, up to the core count) and each sits in its own
process group; a worker gets a batch of tasks over a pipe and answers one Outcome per task as
soon as it is done. Shell jobs (and script jobs: a fresh Python each) are spawned straight
from the driver with posix_spawn into a new process group (no fork of the driver's memory),
shell jobs on spawner threads that release the GIL while the child execs (spawner.py), and
are waited on through pidfds, so one `multiprocessing.connection.wait` call watches workers,
shell jobs, the spawner threads' results and the signal wake-up pipe together.

Start method: "fork" when the driver has no other thread yet (workers are started before the
progress bar's thread, see `prestart`): a forked worker starts in about a millisecond and
already holds the loaded workflow, so the rule file's top-level code (sample sheets, prints)
runs once, not once per worker. Each worker asks the kernel to kill it when the driver dies
(PR_SET_DEATHSIG), so a SIGKILLed driver leaves no worker holding its lock files. With other
threads alive (an embedding application) "forkserver" is used instead: workers then load the
workflow from its rule file once each. Note that forkserver and spawn re-import the driver's
`__main__` module, so scripts using them need the `if __name__ == "__main__":` guard.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import select
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from multiprocessing.connection import wait as mp_wait
from typing import Any

from ..core.model import Workflow
from .base import RECORD_AFTER_S, Outcome, Task, WorkflowRef
from .directexec import DirectExec, Resolved
from .procs import Watchdog, boot_ticks, descendants, group_members, signal_all, start_time, table
from .spawner import SpawnPool, posix_spawn_nogil, spawn_threads
from .worker import failed_text, read_capture, reap, spawn_task, worker_main, write_benchmark

__all__ = ["LocalRunner"]

boot_ticks_ok = [True]   # procs.boot_ticks agrees with /proc's start times (checked once)

_HAS_PIDFD = hasattr(os, "pidfd_open")


class _Worker:
    __slots__ = ("proc", "conn", "pending")

    def __init__(self, proc: Any, conn: Any) -> None:
        self.proc = proc
        self.conn = conn
        self.pending: deque[Task] = deque()


class _Shell:
    __slots__ = ("task", "pid", "pidfd", "capture", "start")

    def __init__(self, task: Task, pid: int, pidfd: int | None, capture: Any, start: float):
        self.task = task
        self.pid = pid
        self.pidfd = pidfd
        self.capture = capture
        self.start = start


class _Fd:
    """A bare fd for multiprocessing.connection.wait."""

    __slots__ = ("fd",)

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def fileno(self) -> int:
        return self.fd


def _kill_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


class LocalRunner:
    """JobRunner for one machine. `max_workers` bounds the worker processes (= cores)."""

    def __init__(self, workflow: Workflow, max_workers: int, start_method: str | None = None,
                 config: dict[str, Any] | None = None) -> None:
        self.workflow = workflow
        self.max_workers = max(1, max_workers)
        methods = mp.get_all_start_methods()
        method = start_method or ("fork" if "fork" in methods and sys.platform == "linux"
                                  and threading.active_count() == 1 else "forkserver")
        if method not in methods:
            method = "spawn"
        if method != "fork" and not os.path.isfile(workflow.path):
            method = "fork"  # a workflow built in code cannot be re-loaded by path
        self.method = method
        self.ctx: Any = mp.get_context(method)   # (typeshed's BaseContext lacks Process)
        if method == "forkserver":
            self.ctx.set_forkserver_preload(["rulekit.execution.worker", "rulekit.lang.loader"])
        self.workers: list[_Worker] = []
        self.idle: list[_Worker] = []
        self.shells: dict[int, _Shell] = {}     # pidfd (or pid) -> running shell job
        self.live: set[int] = set()             # pids of running shell jobs
        self._ticks_checked = False
        self.env = dict(os.environ)
        self.direct = DirectExec(self.env)
        self.ref = WorkflowRef(workflow.path, workflow.config, workflow.workdir)
        self.watchdog = Watchdog()
        # (jobid, pid, pgid, start time) of tasks started since the last take_started()
        self.started: list[tuple[int, int, int, int | None]] = []
        self._worker_start: dict[int, int | None] = {}
        # shell jobs start on helper threads where that releases the GIL (spawner.py)
        threads = spawn_threads(self.max_workers)
        self.spawner = SpawnPool(self._start_shell, threads) if threads else None
        # pidfds of running shell jobs, the spawner's and the scheduler's wake-up fds
        self._poll = select.poll() if _HAS_PIDFD and hasattr(select, "poll") else None
        self._polled_wakeup: int | None = None
        if self._poll is not None and self.spawner is not None:
            self._poll.register(self.spawner.fileno(), select.POLLIN)

    def take_started(self) -> list[tuple[int, int, int, int | None]]:
        """The process (pid, group, start time) running each task submitted since the last
        call and still running: recorded with the incomplete markers so a later run can
        end orphans. A shell job that has already ended needs no record."""
        out, self.started = self.started, []
        live = self.live
        procs: list[tuple[int, int, int, int | None]] = []
        for jobid, pid, pgid, started in out:
            if started is None:   # a shell job: read now, unless it has ended already
                if pid not in live:
                    continue
                started = start_time(pid)
                if started is None:
                    continue
            procs.append((jobid, pid, pgid, started))
        return procs

    # -- JobRunner ---------------------------------------------------------------------

    def free_slots(self, kind: str) -> int:
        if kind == "shell":
            return 1 << 30
        return len(self.idle) + self.max_workers - len(self.workers)

    def prestart(self, count: int) -> None:
        """Start up to `count` workers now, before the driver starts other threads."""
        while len(self.workers) < min(count, self.max_workers):
            self.idle.append(self._start_worker())

    def submit(self, tasks: Sequence[Task]) -> None:
        batch = []
        for task in tasks:
            if task.kind == "shell" or task.kind == "script":
                self._spawn(task)
            else:
                batch.append(task)
        if batch:
            worker = self.idle.pop() if self.idle else self._start_worker()
            worker.pending.extend(batch)
            worker.conn.send(batch)
            pid = worker.proc.pid
            if pid not in self._worker_start:
                self._worker_start[pid] = start_time(pid)
            started = self._worker_start[pid]
            self.started.extend((t.jobid, pid, pid, started) for t in batch)

    def wait(self, timeout: float | None, wakeup_fd: int | None = None) -> list[Outcome]:
        spawner = self.spawner
        if spawner is not None and spawner.busy and self._take_spawned() and self.started:
            # jobs started since the scheduler chose `timeout`: their processes are
            # recorded at its next step, which must come as soon as it would have
            timeout = RECORD_AFTER_S if timeout is None else min(timeout, RECORD_AFTER_S)
        if self._poll is not None and not any(w.pending for w in self.workers):
            return self._wait_shells(timeout, wakeup_fd)
        objs: list[Any] = [w.conn for w in self.workers if w.pending]
        if spawner is not None and spawner.busy:
            objs.append(spawner)
        if _HAS_PIDFD:
            objs.extend(_Fd(fd) for fd in self.shells)
        elif self.shells:
            timeout = 0.01 if timeout is None else min(timeout, 0.01)
        if wakeup_fd is not None:
            objs.append(_Fd(wakeup_fd))
        if objs:
            ready = mp_wait(objs, timeout)
        else:
            time.sleep(timeout or 0)
            ready = []
        out: list[Outcome] = []
        conns = {id(w.conn): w for w in self.workers}
        for obj in ready:
            worker = conns.get(id(obj))
            if worker is not None:
                self._drain(worker, out)
            elif isinstance(obj, _Fd) and obj.fd in self.shells:
                self._finish_shell(obj.fd, out)
            elif spawner is not None and obj is spawner:  # type: ignore[comparison-overlap]
                self._take_spawned()
        if not _HAS_PIDFD:
            for key in list(self.shells):
                self._finish_shell(key, out, block=False)
        return out

    def _wait_shells(self, timeout: float | None, wakeup_fd: int | None) -> list[Outcome]:
        """wait() when only shell jobs run: one poll object kept up to date as jobs start
        and end (building a selector per call, as mp_wait does, cost ~35 µs a step)."""
        poll = self._poll
        assert poll is not None
        if wakeup_fd != self._polled_wakeup:
            if self._polled_wakeup is not None:
                poll.unregister(self._polled_wakeup)
            if wakeup_fd is not None:
                poll.register(wakeup_fd, select.POLLIN)
            self._polled_wakeup = wakeup_fd
        out: list[Outcome] = []
        spawner = self.spawner
        spawned = spawner.fileno() if spawner is not None else -1
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            ms = None if deadline is None else max(0, math.ceil(
                (deadline - time.monotonic()) * 1000))
            events = poll.poll(ms)
            other = False
            for fd, _events in events:
                if fd == spawned:
                    self._take_spawned()
                else:
                    other = True
                    if fd in self.shells:
                        self._finish_shell(fd, out)
            if other or not events or (deadline is not None and time.monotonic() >= deadline):
                return out
            # Only jobs started: their processes are recorded at the next step, which may
            # wait up to RECORD_AFTER_S for other news (a quick job ends in that time and
            # needs no record: one store transaction saved per job).
            if self.started:
                soon = time.monotonic() + RECORD_AFTER_S
                deadline = soon if deadline is None else min(deadline, soon)

    def terminate(self, grace: float) -> list[Outcome]:
        """Stop every running job and everything it started, whatever started it: SIGTERM
        to each job's process group and to every descendant (a /proc snapshot), then
        SIGKILL to all of them still alive after `grace` seconds. Jobs that had already
        finished come back with their real outcome."""
        out: list[Outcome] = []
        if self.spawner is not None:
            self._take_spawned(block=True)   # every job under way is started and known
        for w in [w for w in self.workers if w.pending]:
            self._drain(w, out)           # answers already sent count as finished work
        for key in list(self.shells):
            self._finish_shell(key, out, block=False)
        busy = [w for w in self.workers if w.pending]
        roots = [w.proc.pid for w in busy] + [sh.pid for sh in self.shells.values()]
        tree = self._job_tree(roots)
        for g in roots:
            _kill_group(g, signal.SIGTERM)
        signal_all(tree, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            for key in list(self.shells):
                self._finish_shell(key, out, block=False, cancelled=True)
            if not self.shells and not any(w.proc.is_alive() for w in busy) and \
                    all(start_time(p) != t for p, t in tree.items()):
                break
            time.sleep(0.02)
        tree.update(self._job_tree(roots))
        for g in roots:
            _kill_group(g, signal.SIGKILL)
        signal_all(tree, signal.SIGKILL)
        for key in list(self.shells):
            self._finish_shell(key, out, cancelled=True)
        now = time.time()
        for w in busy:
            w.proc.join(1)
            while w.pending:
                t = w.pending.popleft()
                out.append(Outcome(t.jobid, False, now, now, "terminated"))
            self._forget(w)
        return out

    @staticmethod
    def _job_tree(roots: list[int]) -> dict[int, int]:
        """pid -> start time of the members of the jobs' groups and of their descendants."""
        snapshot = table()
        tree: dict[int, int] = {}
        for root in roots:
            tree.update(group_members(root, snapshot))
            tree.update(descendants(root, snapshot))
        for pid in list(tree):
            tree.update(descendants(pid, snapshot))
        return tree

    def close(self) -> None:
        for w in self.workers:
            try:
                w.conn.send(None)
            except OSError:
                pass
        for w in self.workers:
            w.proc.join(2)
            if w.proc.is_alive():
                _kill_group(w.proc.pid, signal.SIGKILL)
                w.proc.join(1)
            w.conn.close()
            self.watchdog.remove(w.proc.pid)
        self.workers.clear()
        self.idle.clear()
        if self.spawner is not None:
            self._take_spawned(block=True)
            self.spawner.close()
        self.watchdog.close()

    # -- internals -----------------------------------------------------------------------

    def _start_worker(self) -> _Worker:
        parent, child = self.ctx.Pipe()
        self.watchdog.ready()
        payload: Any = self.workflow if self.method == "fork" else self.ref
        proc = self.ctx.Process(target=worker_main, args=(child, payload), daemon=True,
                                name="rulekit-worker")
        proc.start()
        child.close()
        self.watchdog.add(proc.pid)
        worker = _Worker(proc, parent)
        self.workers.append(worker)
        return worker

    def _forget(self, worker: _Worker) -> None:
        if worker in self.workers:
            self.workers.remove(worker)
        if worker in self.idle:
            self.idle.remove(worker)
        self.watchdog.remove(worker.proc.pid)
        try:
            worker.conn.close()
        except OSError:
            pass

    def _drain(self, worker: _Worker, out: list[Outcome]) -> None:
        conn = worker.conn
        try:
            while worker.pending and conn.poll():
                outcome = conn.recv()
                worker.pending.popleft()
                out.append(outcome)
        except (EOFError, OSError):
            worker.proc.join(1)
            code = worker.proc.exitcode
            now = time.time()
            for t in worker.pending:
                out.append(Outcome(t.jobid, False, now, now,
                                   f"the worker process running this job died (exit code {code})"))
            worker.pending.clear()
            self._forget(worker)
            return
        if not worker.pending:
            self.idle.append(worker)

    def _spawn(self, task: Task) -> None:
        self.watchdog.ready()
        start = time.time()
        if self.spawner is not None and task.kind == "shell":
            assert task.command is not None
            # picked up by _take_spawned
            self.spawner.submit((task, start, Resolved(self.direct, task.command)))
            return
        before = boot_ticks()
        pid, capture = spawn_task(task, True, self.env, self.direct)
        after = boot_ticks()
        self.watchdog.add(pid)
        self._spawned(task, start, pid, capture, before, after)

    def _start_shell(self, request: tuple[Task, float, Resolved]
                     ) -> tuple[int, Any, int | None, int | None]:
        """On a spawner thread: start the task; the watchdog knows its group at once."""
        before = boot_ticks()
        pid, capture = spawn_task(request[0], True, self.env, request[2],
                                  spawn=posix_spawn_nogil)
        after = boot_ticks()
        self.watchdog.add(pid)
        return pid, capture, before, after

    def _take_spawned(self, block: bool = False) -> int:
        """Register the shell jobs the spawner threads have started (returns how many); a
        start that failed raises here, as it would have in _spawn."""
        assert self.spawner is not None
        failure: BaseException | None = None
        taken = self.spawner.take(block)
        for (task, start, _), result, error in taken:
            if error is not None:
                failure = failure or error
                continue
            self._spawned(task, start, *result)
        if failure is not None:
            raise failure
        return len(taken)

    def _spawned(self, task: Task, start: float, pid: int, capture: Any,
                 before: int | None, after: int | None) -> None:
        self.live.add(pid)
        # The kernel's start time of the job (in clock ticks) lies between the two
        # readings; when they agree it is known without reading /proc (see take_started).
        known = before if before == after else None
        if known is not None and not self._ticks_checked:
            self._ticks_checked = True
            if start_time(pid) not in (known, None):   # another clock: always read /proc
                boot_ticks_ok[0] = False
        self.started.append((task.jobid, pid, pid, known if boot_ticks_ok[0] else None))
        if _HAS_PIDFD:
            key = os.pidfd_open(pid)
            if self._poll is not None:
                self._poll.register(key, select.POLLIN)
        else:
            key = pid
        self.shells[key] = _Shell(task, pid, key if _HAS_PIDFD else None, capture, start)

    def _finish_shell(self, key: int, out: list[Outcome], block: bool = True,
                      cancelled: bool = False) -> None:
        sh = self.shells[key]
        got = reap(sh.pid, block)
        if got is None:
            return
        self.watchdog.remove(sh.pid)
        self.live.discard(sh.pid)
        del self.shells[key]
        if sh.pidfd is not None:
            if self._poll is not None:
                self._poll.unregister(sh.pidfd)
            os.close(sh.pidfd)
        code, usage = got
        end = time.time()
        text = read_capture(sh.capture)
        task = sh.task
        if cancelled:
            out.append(Outcome(task.jobid, False, sh.start, end, "terminated", text, code))
            return
        if code == 0 and task.benchmark:
            try:
                write_benchmark(task.benchmark, end - sh.start, usage.ru_maxrss,
                                usage.ru_utime + usage.ru_stime)
            except OSError as exc:
                out.append(Outcome(task.jobid, False, sh.start, end,
                                   f"cannot write benchmark {task.benchmark}: {exc}", text, 0))
                return
        if code == 0:
            out.append(Outcome(task.jobid, True, sh.start, end, None, text, 0))
        else:
            out.append(Outcome(task.jobid, False, sh.start, end,
                               failed_text(task.kind, code), text, code))

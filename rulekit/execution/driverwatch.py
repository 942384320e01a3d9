"""On a Dask worker: wait for a job's shell process, and end it if the driver is gone.

A shell job on a Dask worker runs in a process group of its own, which the driver's
watchdog (procs.Watchdog) cannot reach on another host, nor on this one once the worker
owns it. So the worker watches the driver while the job runs, once a second:

- the driver runs on this host: it is gone when its pid is (or a later process has it);
- the driver runs on another host: it is gone when the Dask scheduler has released this
  task (what it does when the driver's client disconnects), as far as this worker's state
  tells.

When the driver is gone the job's process group gets SIGKILL; the job's outputs stay
marked incomplete in the store, so the next run rebuilds them.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import time
from typing import Any

from ..core.liveness import run_alive

__all__ = ["Driver", "wait_watching"]

_CHECK_S = 1.0

Driver = tuple[int, str, float]   # pid, host, start (time.time()) of the rulekit driver


def _task_released() -> bool:
    """Whether the Dask task running this code was released by the scheduler (its client
    went away). Reads the worker's state; anything unexpected means "no"."""
    try:
        from distributed import get_worker

        worker = get_worker()
        key = worker.get_current_task()
        state = worker.state.tasks.get(key)
        return state is None or state.state in ("cancelled", "released", "forgotten")
    except Exception:
        return False


def driver_gone(driver: Driver | None) -> bool:
    if driver is None:
        return False
    pid, host, start = driver
    if host == socket.gethostname():
        return not run_alive(pid, host, start)
    return _task_released()


def wait_watching(pid: int, driver: Driver | None) -> tuple[int, Any]:
    """(exit code, rusage) of child `pid`; SIGKILL its group if the driver dies first."""
    pidfd = -1
    with contextlib.suppress(AttributeError, OSError):
        pidfd = os.pidfd_open(pid)
    delay = 0.001
    next_check = time.monotonic() + _CHECK_S
    try:
        while True:
            wpid, status, usage = os.wait4(pid, os.WNOHANG)
            if wpid:
                return os.waitstatus_to_exitcode(status), usage
            now = time.monotonic()
            if now >= next_check:
                next_check = now + _CHECK_S
                if driver_gone(driver):
                    with contextlib.suppress(OSError):
                        os.killpg(pid, signal.SIGKILL)
            wait = max(0.0, next_check - now)
            if pidfd >= 0:
                select.select([pidfd], [], [], wait)   # wakes when the child ends
            else:
                time.sleep(min(delay, wait))
                delay = min(delay * 2, 0.1)
    finally:
        if pidfd >= 0:
            os.close(pidfd)

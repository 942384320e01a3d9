"""Process trees of jobs: who they are, how to end them, and a watchdog for when we die.

    start_time(pid)          the kernel's start time of a process (clock ticks since boot),
                             which tells a live process from a later one reusing its pid
    descendants(pid)         every process below `pid` (a /proc snapshot)
    end_group(pid, pgid, t)  SIGKILL a recorded job's process group if it is still that job's
    Watchdog                 a helper process in its own session that holds the read end of a
                             pipe; the driver writes "+pgid"/"-pgid" as job groups start and
                             end. When the driver dies by any means (SIGKILL of its whole
                             group included) the pipe reaches EOF and the watchdog SIGKILLs
                             every group still registered, then exits.

The watchdog is rulekit's PR_SET_PDEATHSIG for shell jobs: posix_spawn cannot set a death
signal, and a death signal would reach only the job's first process, not its pipeline or
children. Spawning it costs one posix_spawn per run; each job costs two small writes.
Everything here is Linux-first and degrades to doing nothing where /proc is missing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterable

__all__ = ["start_time", "boot_ticks", "descendants", "group_members", "end_group", "Watchdog", "table",
           "watchdog_fd", "signal_all"]

_WATCHDOG_CODE = r"""
import os, signal, time
for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
    signal.signal(s, signal.SIG_IGN)
groups = set()
buf = b""
while True:
    try:
        chunk = os.read(0, 65536)
    except InterruptedError:
        continue
    except OSError:
        chunk = b""
    if not chunk:
        break
    buf += chunk
    *lines, buf = buf.split(b"\n")
    for line in lines:
        if line[:1] == b"+":
            groups.add(int(line[1:]))
        elif line[:1] == b"-":
            groups.discard(int(line[1:]))
    time.sleep(0.05)
for g in groups:
    try:
        os.killpg(g, signal.SIGKILL)
    except OSError:
        pass
"""

_CURRENT_FD: list[int] = []   # the write end of this process's watchdog pipe, if any


def watchdog_fd() -> int | None:
    """The watchdog pipe's write end (a forked worker closes its inherited copy)."""
    return _CURRENT_FD[0] if _CURRENT_FD else None


def start_time(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat, or None when the process is gone (or no /proc)."""
    try:
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        data = os.read(fd, 4096)
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        return int(data[data.rindex(b")") + 2:].split()[19])
    except (ValueError, IndexError):
        return None


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_BOOTTIME = getattr(time, "CLOCK_BOOTTIME", None)


def boot_ticks() -> int | None:
    """Now, in the clock ticks since boot that start_time() counts in (None off Linux).
    A process started between two equal readings has exactly this start time: the kernel
    takes it from the same clock and rounds down the same way."""
    if _BOOTTIME is None:
        return None
    return time.clock_gettime_ns(_BOOTTIME) * _TICKS // 1_000_000_000


def table() -> dict[int, tuple[int, int, int]]:
    """pid -> (ppid, pgid, start time) of every process we can see."""
    out: dict[int, tuple[int, int, int]] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return out
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                data = fh.read()
            fields = data[data.rindex(b")") + 2:].split()
            out[int(name)] = (int(fields[1]), int(fields[2]), int(fields[19]))
        except (OSError, ValueError, IndexError):
            continue
    return out


def descendants(root: int, snapshot: dict[int, tuple[int, int, int]] | None = None
                ) -> dict[int, int]:
    """pid -> start time of every process below `root`."""
    procs = table() if snapshot is None else snapshot
    children: dict[int, list[int]] = {}
    for pid, (ppid, _g, _t) in procs.items():
        children.setdefault(ppid, []).append(pid)
    found: dict[int, int] = {}
    stack = list(children.get(root, ()))
    while stack:
        pid = stack.pop()
        if pid in found:
            continue
        found[pid] = procs[pid][2]
        stack.extend(children.get(pid, ()))
    return found


def group_members(pgid: int, snapshot: dict[int, tuple[int, int, int]] | None = None
                  ) -> dict[int, int]:
    procs = table() if snapshot is None else snapshot
    return {pid: t for pid, (_p, g, t) in procs.items() if g == pgid}


def signal_all(pids: dict[int, int], sig: int) -> None:
    """Signal each pid whose start time still matches (never a stranger reusing a pid)."""
    for pid, started in pids.items():
        if pid == os.getpid():
            continue
        if start_time(pid) != started:
            continue
        with contextlib.suppress(OSError):
            os.kill(pid, sig)


def end_group(pid: int, pgid: int, started: int | None, timeout: float = 5.0) -> bool:
    """SIGKILL the process group a job left running, if it still is that job's.

    Ours when its leader `pid` lives with the recorded start time; or, the leader being
    gone, for members started no earlier than it (a pgid is only reused once the whole
    group is gone, by a new leader with a later start time). True if anything was killed.
    """
    if not pgid or pgid <= 1 or pgid == os.getpgid(0):
        return False
    members = group_members(pgid)
    if not members:
        return False
    leader = members.get(pid)
    if leader is not None and started is not None and leader != started:
        return False
    if started is not None and any(t < started for t in members.values()):
        return False
    with contextlib.suppress(OSError):
        os.killpg(pgid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.01)
    return True


class Watchdog:
    """Kill registered process groups when this process dies. One per runner."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self.fd: int | None = None
        self.groups: set[int] = set()

    def _start(self) -> bool:
        if not sys.platform.startswith("linux") or not sys.executable:
            return False
        rfd, wfd = os.pipe()
        try:
            self.pid = os.posix_spawn(
                sys.executable, [sys.executable, "-S", "-I", "-c", _WATCHDOG_CODE],
                dict(os.environ), file_actions=[(os.POSIX_SPAWN_DUP2, rfd, 0)],
                setsid=True)
        except OSError:
            os.close(wfd)
            return False
        finally:
            os.close(rfd)
        self.fd = wfd
        _CURRENT_FD[:] = [wfd]
        return True

    def _send(self, text: str) -> None:
        if self.fd is None and (self.pid is not None or not self._start()):
            return
        assert self.fd is not None
        try:
            os.write(self.fd, text.encode())
        except OSError:
            pass

    def ready(self) -> None:
        """Start the watchdog now if it is not running yet: before the first job starts,
        so no job is ever without it."""
        if self.fd is None and self.pid is None:
            self._start()

    def add(self, pgid: int) -> None:
        self.groups.add(pgid)
        self._send(f"+{pgid}\n")

    def remove(self, pgid: int) -> None:
        if pgid in self.groups:
            self.groups.discard(pgid)
            self._send(f"-{pgid}\n")

    def add_many(self, pgids: Iterable[int]) -> None:
        for g in pgids:
            self.add(g)

    def close(self) -> None:
        """Stop the watchdog (it kills whatever is still registered) and reap it."""
        fd, self.fd = self.fd, None
        if fd is None:
            return
        if [fd] == _CURRENT_FD:
            _CURRENT_FD.clear()
        os.close(fd)
        if self.pid is not None:
            with contextlib.suppress(OSError):
                os.waitpid(self.pid, 0)

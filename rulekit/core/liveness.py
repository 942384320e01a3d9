"""Whether a rulekit run recorded as (pid, host, start time) is still alive.

Used by `rulekit unlock` (never release a live run's locks by accident), by a run that finds
incomplete markers (never kill a live run's job as a leftover) and by the plan (say that a
live run is writing a file rather than that an earlier run was interrupted).
"""

from __future__ import annotations

import os
import socket

__all__ = ["run_alive"]


def _boot_time() -> float | None:
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def _process_started(pid: int) -> float | None:
    """When process `pid` started (seconds since the epoch), from /proc; None if unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
        ticks = int(data[data.rindex(b")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None
    boot = _boot_time()
    if boot is None:
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def run_alive(pid: int, host: str, start: float | None) -> bool:
    """Whether the rulekit run (pid, host, start time) still runs: its pid lives on this
    host and, when /proc tells, that process started no later than the run did (a later
    process reusing the pid is someone else). Another host's run is never known alive."""
    if host != socket.gethostname() or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:   # exists, not ours (EPERM)
        pass
    if start is None:
        return True
    started = _process_started(pid)
    return started is None or started <= start + 2.0   # boot time and ticks are coarse

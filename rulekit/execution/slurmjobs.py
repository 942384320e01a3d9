"""The SLURM side of a run's Dask workers, through SLURM's own commands.

    jobs = SlurmJobs("rulekit-3fa2b1c0", log_dir)
    jobs.check_script(text)   # `sbatch --test-only`: a bad partition or size is a UsageError
    jobs.pending()            # a worker job is waiting in the queue (cached a few seconds)
    jobs.cancel()             # scancel every job of this run, wait until squeue drops them
    jobs.ids()                # the worker jobs that ran (from their log files)

Every worker job of a run carries the run's own job name, so cancelling by name also
catches a job that dask-jobqueue submitted while the run was being stopped.
"""

from __future__ import annotations

import getpass
import os
import re
import shutil
import subprocess
import tempfile
import time

from ..core.errors import UsageError

__all__ = ["SlurmJobs", "require_sbatch"]

_PENDING_CACHE_S = 5.0    # squeue is asked at most this often (it loads slurmctld)
_GONE_WAIT_S = 15.0       # after scancel: how long to wait for squeue to drop the jobs
_COMMAND_TIMEOUT_S = 30


def require_sbatch() -> None:
    missing = [c for c in ("sbatch", "squeue", "scancel") if shutil.which(c) is None]
    if missing:
        raise UsageError(f"the slurm executor needs SLURM's commands; not found on PATH: "
                         f"{', '.join(missing)}",
                         hint="run rulekit on a SLURM login node (or see docs/cluster.md to "
                              "start a one-node test cluster)")


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=_COMMAND_TIMEOUT_S,
                          stdin=subprocess.DEVNULL)


def _sbatch_children() -> list[int]:
    """Pids of this process's `sbatch` children (Linux /proc; elsewhere none are seen)."""
    me, found = os.getpid(), []
    try:
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as fh:
                stat = fh.read()
        except OSError:
            continue
        name = stat[stat.find("(") + 1:stat.rfind(")")]
        fields = stat[stat.rfind(")") + 2:].split()
        if name == "sbatch" and len(fields) > 1 and fields[1] == str(me):
            found.append(pid)
    return found


class SlurmJobs:
    def __init__(self, name: str, log_dir: str) -> None:
        self.name = name
        self.log_dir = log_dir
        self.user = getpass.getuser()
        self._pending = False
        self._pending_at = -_PENDING_CACHE_S

    def check_script(self, script: str) -> None:
        """Let SLURM judge one worker job without queueing it."""
        with tempfile.NamedTemporaryFile("w", suffix=".sh", prefix="rulekit-worker-",
                                         delete=False) as fh:
            fh.write(script)
        try:
            try:
                done = _run(["sbatch", "--test-only", fh.name])
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise UsageError(f"cannot ask SLURM about the worker job: {exc}") from None
        finally:
            os.unlink(fh.name)
        if done.returncode != 0:
            said = "; ".join(line.removeprefix("sbatch: error: ").strip()
                            for line in done.stderr.splitlines() if line.strip())
            directives = [line.removeprefix("#SBATCH ").strip() for line in script.splitlines()
                          if line.startswith("#SBATCH") and " -e " not in line
                          and " -o " not in line]
            raise UsageError(f"SLURM refuses the worker job: {said or 'sbatch --test-only failed'}",
                             facts=[("sbatch", " ".join(directives))],
                             hint="check --slurm-partition, --slurm-account and the worker "
                                  "size (--worker-cores, --worker-mem, --worker-walltime) "
                                  "against `sinfo`")

    def listed(self) -> dict[str, str]:
        """This run's jobs that squeue lists: job id -> state (PENDING, RUNNING, ...)."""
        try:
            done = _run(["squeue", "-h", "-u", self.user, "-n", self.name, "-o", "%i %T"])
        except (OSError, subprocess.TimeoutExpired):
            return {}
        out = {}
        for line in done.stdout.splitlines():
            parts = line.split()
            if len(parts) == 2:
                out[parts[0]] = parts[1]
        return out

    def pending(self) -> bool:
        now = time.monotonic()
        if now - self._pending_at >= _PENDING_CACHE_S:
            self._pending = "PENDING" in self.listed().values()
            self._pending_at = now
        return self._pending

    def cancel(self) -> list[str]:
        """scancel the run's jobs; wait until squeue no longer lists them. Returns the ids
        still listed after the wait (normally none). An sbatch still submitting a worker
        is waited for first, so its job cannot appear after the scancel."""
        deadline = time.monotonic() + _COMMAND_TIMEOUT_S
        while _sbatch_children() and time.monotonic() < deadline:
            time.sleep(0.1)
        try:
            _run(["scancel", "--quiet", "-u", self.user, "-n", self.name])
        except (OSError, subprocess.TimeoutExpired):
            pass
        deadline = time.monotonic() + _GONE_WAIT_S
        while True:
            left = self.listed()
            if not left or time.monotonic() >= deadline:
                return sorted(left, key=int)
            time.sleep(0.25)

    def ids(self) -> list[str]:
        """Ids of the worker jobs that started (SLURM opened their log files)."""
        pattern = re.compile(re.escape(self.name) + r"-(\d+)\.err$")
        try:
            names = os.listdir(self.log_dir)
        except OSError:
            return []
        return sorted({m.group(1) for n in names if (m := pattern.match(n))}, key=int)

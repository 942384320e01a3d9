"""What a run does about earlier runs before it starts jobs (SPEC §2.4; docs/state.md).

    recover_crashed   before planning: a run that died holding its lock left a run file; if
                      the store was deleted or replaced since (its identity differs), the
                      crash markers went with it, so that run's existing outputs are marked
                      incomplete again (unless a later run recorded them)
    end_orphans       after locking: a job process a crashed run left running (recorded with
                      its incomplete marker: pid, process group, start time) is SIGKILLed
                      with its whole group before the job runs again; never one whose run
                      is alive (its locks were force-released): that is a LockError
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from ..core.errors import LockError
from ..core.liveness import run_alive
from ..core.model import Job
from ..state.locks import StaleRun, recover_stale
from ..state.store import MetadataStore
from .procs import end_group

__all__ = ["recover_crashed", "on_stale_run", "end_orphans"]


def on_stale_run(store: MetadataStore, warn: Callable[[str], None]) -> Callable[[StaleRun], None]:
    """The handler for a dead run's lock file: restore markers a lost store took along."""

    def handle(stale: StaleRun) -> None:
        if stale.store is not None and stale.store == store.identity:
            return  # its markers are in this very store
        if not stale.outputs:
            return
        records = store.get_many(stale.outputs)
        marked = store.incomplete_paths()
        suspect = sorted(
            p for p in stale.outputs
            if os.path.lexists(p) and p not in marked
            and (p not in records or records[p].end < stale.holder.start))
        if not suspect:
            return
        store.mark_incomplete(suspect, None)
        shown = ", ".join(suspect[:5]) + (f" and {len(suspect) - 5} more" if len(suspect) > 5
                                          else "")
        warn(f"run {stale.holder.describe()} died without finishing and the store "
             f"{store.path} was deleted or replaced since, taking its crash markers along: "
             f"its {len(suspect)} existing output(s) are treated as incomplete and will be "
             f"rebuilt: {shown}")

    return handle


def recover_crashed(root: str, store: MetadataStore, warn: Callable[[str], None]) -> None:
    recover_stale(root, on_stale_run(store, warn))


def end_orphans(store: MetadataStore, jobs: Sequence[Job], warn: Callable[[str], None],
                run_id: str | None = None) -> None:
    """SIGKILL the process groups crashed runs left writing these jobs' outputs (never
    those of run `run_id`, the caller's own)."""
    _refuse_live_writers(store, jobs)
    procs = store.marked_processes(exclude_run=run_id)
    if not procs:
        return
    seen: set[tuple[int, int, int | None]] = set()
    for job in jobs:
        for path in job.output:
            proc = procs.get(str(path))
            if proc is None or proc in seen:
                continue
            seen.add(proc)
            pid, pgid, started = proc
            if end_group(pid, pgid, started):
                warn(f"ended process group {pgid} (pid {pid}) that an earlier run left "
                     f"running for {job.name}; its outputs are rebuilt")


def _refuse_live_writers(store: MetadataStore, jobs: Sequence[Job]) -> None:
    """LockError when a live run (another process on this host) marked one of these jobs'
    outputs incomplete: it is writing it. Its lock records must have been removed
    (`rulekit unlock --force`), else the lock would have stopped us; its job processes are
    never killed as leftovers."""
    owners = store.marker_owners()
    if not owners:
        return
    for job in jobs:
        for path in job.output:
            owner = owners.get(str(path))
            if owner is not None and owner[0] != os.getpid() and run_alive(*owner):
                raise LockError(
                    f"output {path} is being written by another rulekit run: a live run "
                    f"(pid {owner[0]}) is running {job.name}",
                    facts=[("holder", f"pid {owner[0]} on {owner[1]}"), ("files", str(path))],
                    hint="wait for it to finish; its locks were released by 'rulekit unlock "
                         "--force', so the lock could not keep this run away")
